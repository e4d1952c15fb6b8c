*** Settings ***
Documentation    Run by unit_tests/real/test_console_chatter.py: kafka-python's connection chatter while the
...              only broker is down belongs at DEBUG in the log, never on the console or in the error list.
Library          KafkaPersistenceLibrary
Suite Setup      Start Kafka
Suite Teardown   Stop Kafka


*** Test Cases ***
Produce While The Broker Is Up
    Produce Message    chatter    up

Produce While The Broker Is Down
    Stop Broker
    Run Keyword And Expect Error    *    Produce Message    chatter    down    timeout=5s
