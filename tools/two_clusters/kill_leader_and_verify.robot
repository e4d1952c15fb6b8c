*** Settings ***
Documentation    One of two clusters at once (tools/two_clusters_at_once.py): kill the leader under load and
...              judge with it still down, then once it is back.

Library          KafkaPersistenceLibrary

Suite Setup      Start Kafka    brokers=3


*** Test Cases ***
Kill The Leader Under Load, Then Verify
    Create Topic    orders    partitions=3
    Start Background Producer    orders    rate=300
    Produce Records    warm-up    500
    Stop Broker    broker=leader    topic=orders    mode=kill
    Stop Background Producer    orders
    ${verdict} =    Verify No Acknowledged Records Lost    orders    timeline=off
    Should Be Equal As Integers    ${verdict.lost}    0
    Start Broker
    ${verdict} =    Verify No Acknowledged Records Lost    orders    timeline=off
    Should Be Equal As Integers    ${verdict.lost}    0
