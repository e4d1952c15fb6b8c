*** Settings ***
Documentation    Example and acceptance suites of KafkaPersistenceLibrary.
...              Each suite starts one broker in its Suite Setup; each test uses its own topic.
