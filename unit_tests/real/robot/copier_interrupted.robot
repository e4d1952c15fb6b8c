*** Settings ***
Documentation    Interrupted on purpose by unit_tests/real/test_copier_leaks.py with Ctrl-C (SIGINT) while a
...              copier's members copy: no member process nor its logs may be left afterwards.
Library          KafkaPersistenceLibrary


*** Test Cases ***
Interrupted While A Copier Copies
    Start Kafka
    Create Topic    source    partitions=2
    Create Topic    target    partitions=2
    Start Copier    source    target    group=copier    members=2
    Start Background Producer    source    rate=100
    Log To Console    GO
    Sleep    5 min
