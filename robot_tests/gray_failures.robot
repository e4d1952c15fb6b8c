*** Settings ***
Documentation    Gray failures: links that work, slowly or lossily, and clocks that jump. A follower on a
...              link slower than the producer falls out of the ISR, and nothing acknowledged is lost
...              when the leader dies; a leader that drops 10% of its packets for 30 s loses nothing
...              either; a broker whose clock jumps 8 days deletes acknowledged records by retention,
...              and the verdict counts them (issue 21).

Library          KafkaPersistenceLibrary

Suite Teardown   Stop Kafka


*** Test Cases ***
A Follower On A Slow Link Leaves The ISR And Nothing Is Lost
    [Setup]    Start Kafka    brokers=3    replica.lag.time.max.ms=4000
    Create Topic    slow    min.insync.replicas=2
    Produce Records    slow    100
    Wait Until Replicas In Sync    slow
    Start Background Producer    slow    size=1000    rate=300
    ${slowed} =    Slow Down Network    broker=follower    topic=slow    bandwidth=256kbit
    Wait Until Keyword Succeeds    30s    1s    Node Should Not Be In ISR    slow    ${slowed.node}
    Restart Broker    mode=kill    broker=leader    topic=slow
    Heal Network
    Wait Until Keyword Succeeds    60s    1s    Node Should Be In ISR    slow    ${slowed.node}
    Stop Background Producer    slow
    ${verdict} =    Verify No Acknowledged Records Lost    slow
    Should Be Equal As Integers    ${verdict.lost}    0
    [Teardown]    Heal Network

A Lossy Leader Loses Nothing
    [Setup]    Start Kafka    brokers=3    replica.lag.time.max.ms=4000
    Create Topic    lossy    min.insync.replicas=2
    Wait Until Replicas In Sync    lossy
    Start Background Producer    lossy    rate=300
    Sleep    5s    reason=a clean baseline for the fault table
    Slow Down Network    broker=leader    topic=lossy    loss=10%
    Sleep    30s    reason=30 s of a lossy link under load
    Heal Network
    Sleep    5s    reason=back to the baseline
    Stop Background Producer    lossy
    ${verdict} =    Verify No Acknowledged Records Lost    lossy
    Should Be Equal As Integers    ${verdict.lost}    0
    [Teardown]    Heal Network

A Clock Jump Makes Retention Delete Acknowledged Records
    [Setup]    Start Clock Skew Cluster
    Create Topic    week    retention.ms=604800000
    Produce Records    week    200
    Create Topic    forever    retention.ms=-1
    Produce Records    forever    200
    Skew Clock    by=+8d
    Sleep    8s    reason=retention checks every 500 ms; libfaketime re-reads the offset within a second
    Run Keyword And Expect Error    FAIL: 200 acknowledged records lost*
    ...    Verify No Acknowledged Records Lost    week    timeout=20s
    ${verdict} =    Verify No Acknowledged Records Lost    forever    timeout=20s
    Should Be Equal As Integers    ${verdict.lost}    0
    [Teardown]    Restore Clock


*** Keywords ***
Start Clock Skew Cluster
    [Documentation]    One broker whose clock can jump, checking retention every 500 ms from the start.
    Stop Kafka
    Start Kafka    clock_skew=True    log.retention.check.interval.ms=500    log.initial.task.delay.ms=0

Node Should Not Be In ISR
    [Documentation]    Fails while ``node`` is in the ISR of partition 0 of ``topic``, as the cluster's metadata says.
    [Arguments]    ${topic}    ${node}
    ${state} =    Get Partition State    ${topic}
    Should Not Contain    ${state.isr}    ${node}

Node Should Be In ISR
    [Documentation]    Fails while ``node`` is not in the ISR of partition 0 of ``topic``.
    [Arguments]    ${topic}    ${node}
    ${state} =    Get Partition State    ${topic}
    Should Contain    ${state.isr}    ${node}
