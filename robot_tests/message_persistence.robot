*** Settings ***
Documentation    The seed scenario and its variations: what was acknowledged before a
...              restart is read back after it, from the same broker at the same address.

Library          KafkaPersistenceLibrary

Suite Setup      Start Kafka


*** Test Cases ***
Persistent Message Survives A Graceful Restart
    [Documentation]    The pytest seed as a table: produce, restart, read back.
    Produce Message    test_topic    Persistent Message
    Restart Broker
    Consume Should Equal    test_topic    Persistent Message

Several Messages With Keys And Headers Survive
    VAR    &{headers} =    source=robot    attempt=1
    FOR    ${i}    IN RANGE    5
        Produce Message    orders-keyed    order-${i}    key=customer-${i}    headers=${headers}
    END
    Restart Broker    mode=graceful
    Consume Should Equal    orders-keyed    order-0    order-1    order-2    order-3    order-4
    ${records} =    Read Messages    orders-keyed
    Should Be Equal    ${records}[3][key]    customer-3
    Should Be Equal    ${records}[3][headers][source]    robot

Acknowledged Messages Survive A Hard Kill
    ${stored} =    Produce Message    killed-topic    before the kill
    Should Be Equal As Integers    ${stored.offset}    0
    ${restart} =    Restart Broker    mode=kill    downtime=1s
    Should Be Equal As Integers    ${restart.exit_code}    137
    Consume Should Equal    killed-topic    before the kill
    Produce Message    killed-topic    after the kill
    Consume Should Equal    killed-topic    before the kill    after the kill

The Address Stays Valid Across Restarts
    ${before} =    Get Bootstrap Servers
    Restart Broker    mode=kill
    Restart Broker    mode=graceful
    ${after} =    Get Bootstrap Servers
    Should Be Equal    ${before}    ${after}
    Produce Message    address-topic    still here
    Consume Should Equal    address-topic    still here

Start Kafka Twice Reuses The Broker
    ${first} =    Get Bootstrap Servers
    ${second} =    Start Kafka
    Should Be Equal    ${first}    ${second}

A Tombstone Survives A Restart
    [Documentation]    A null value deletes a key in a compacted topic; it is a record like any other.
    Create Topic    compacted    cleanup.policy=compact
    Produce Message    compacted    v1    key=k1
    Produce Message    compacted    ${None}    key=k1
    Restart Broker    mode=kill
    Consume Should Equal    compacted    v1    ${None}

Messages In Several Partitions
    Create Topic    partitioned    partitions=3
    Produce Message    partitioned    p2    partition=2
    Produce Message    partitioned    p0    partition=0
    Restart Broker    mode=kill
    Consume Should Equal    partitioned    p0    p2
