*** Settings ***
Documentation    Faults a restart cannot make. Power loss: unsynced writes are gone, so one broker with
...              Kafka's default flush settings loses acknowledged records (its documented design) and
...              one that fsyncs each record does not. A network partition: a leader cut off from its
...              peers but not from clients keeps acknowledging acks=1 writes nobody else has.

Library          KafkaPersistenceLibrary

Test Teardown    Stop Kafka


*** Test Cases ***
Power Loss Loses What Kafka Had Not Fsynced
    Start Kafka    power_loss=True
    Produce Records    unsynced    2000
    Restart Broker    mode=power-loss
    Run Keyword And Expect Error    FAIL: 2000 acknowledged records lost*
    ...    Verify No Acknowledged Records Lost    unsynced

Fsync Per Record Survives Power Loss
    Start Kafka    power_loss=True    log.flush.interval.messages=1
    Produce Records    synced    500
    Restart Broker    mode=power-loss
    ${verdict} =    Verify No Acknowledged Records Lost    synced
    Should Be Equal As Integers    ${verdict.lost}    0

An Isolated Leader Loses acks=1 Records
    Start Kafka    brokers=3
    Create Topic    split
    Produce Records    split    100
    Wait Until Replicas In Sync    split
    Start Background Producer    split    rate=300    acks=1
    Isolate Broker    leader    topic=split
    Sleep    8s    reason=well past broker.session.timeout.ms: the others elect a new leader meanwhile
    Heal Network
    Wait Until Replicas In Sync    split
    Stop Background Producer    split
    Run Keyword And Expect Error    FAIL: * acknowledged records lost*
    ...    Verify No Acknowledged Records Lost    split
