*** Settings ***
Documentation    Example and acceptance suites of KafkaPersistenceLibrary.
...              Each suite starts its own Kafka (one broker, or a cluster); each test uses its own topic.
