*** Settings ***
Documentation    Interrupted on purpose by unit_tests/real/test_consumer_leaks.py with Ctrl-C (SIGINT) while a
...              consumer group's members run: no member process nor its logs may be left afterwards.
Library          KafkaPersistenceLibrary


*** Test Cases ***
Interrupted While Members Consume
    Start Kafka
    Create Topic    t    partitions=2
    Produce Records    t    100
    Start Background Consumer    t    group=g    members=2    processing=1 s
    Log To Console    GO
    Sleep    5 min
