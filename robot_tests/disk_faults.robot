*** Settings ***
Documentation    The disk as a fault (issue 20). A failed disk makes Kafka 4.1.1 take its log directory
...              offline and, as it is the broker's only one, halt; another replica leads and nothing
...              acknowledged with acks=all is lost. A slow fsync slows a flush-per-message producer and
...              loses nothing. A disk that lies about fsync loses what Kafka acknowledged as durable on
...              the next power cut, and the verdict counts it (the honest disk's 0 lost:
...              power_loss_and_partitions.robot, Fsync Per Record Survives Power Loss).

Library          KafkaPersistenceLibrary

Suite Setup      Start Kafka    brokers=3    disk=faulty
Suite Teardown   Stop Kafka


*** Test Cases ***
A Failed Disk Takes The Log Directory Offline And Nothing Is Lost
    Create Topic    failing    min.insync.replicas=2
    Wait Until Replicas In Sync    failing
    Start Background Producer    failing    rate=300
    Sleep    2s    reason=acknowledged records before the fault
    ${failed} =    Fail Disk    broker=leader    topic=failing
    Wait Until Keyword Succeeds    60s    1s    Leader Should Not Be    failing    ${failed.node}
    Wait Until Keyword Succeeds    60s    1s    Broker Log Should Contain    ${failed.node}
    ...    Shutdown broker because all log dirs in /var/lib/kafka/data have failed
    Broker Log Should Contain    ${failed.node}    Stopping serving replicas in dir /var/lib/kafka/data
    Repair Disk
    Start Broker    broker=${failed.node}
    Wait Until Replicas In Sync    failing    timeout=90s
    Stop Background Producer    failing
    ${verdict} =    Verify No Acknowledged Records Lost    failing
    Should Be Equal As Integers    ${verdict.lost}    0
    [Teardown]    Bring Back Every Node

A Slow Fsync Slows A Flush-Per-Message Producer And Nothing Is Lost
    Create Topic    slow    min.insync.replicas=2    flush.messages=1
    Wait Until Replicas In Sync    slow
    Start Background Producer    slow    rate=200
    Sleep    3s    reason=the baseline in the fault table
    Slow Down Disk    broker=leader    topic=slow    fsync=200ms
    Sleep    6s    reason=every append of the leader waits 200 ms
    Restore Disk
    Sleep    3s    reason=back to the baseline
    Stop Background Producer    slow
    ${verdict} =    Verify No Acknowledged Records Lost    slow
    Should Be Equal As Integers    ${verdict.lost}    0

The Verdict Catches A Disk That Lies About Fsync
    [Setup]    Start One Broker On A Lying Disk
    Create Topic    lied
    Sleep    6.5s    reason=the lying disk's cache writes back what is 5 s old: the topic's files first
    Produce Records    lied    300
    Restart Broker    mode=power-loss
    Run Keyword And Expect Error    FAIL: 300 acknowledged records lost*
    ...    Verify No Acknowledged Records Lost    lied    timeout=30s


*** Keywords ***
Start One Broker On A Lying Disk
    [Documentation]    One broker that fsyncs every record, on a disk whose fsync syncs nothing.
    Stop Kafka
    Start Kafka    disk=lying    log.flush.interval.messages=1

Leader Should Not Be
    [Documentation]    Fails while ``node`` leads partition 0 of ``topic`` or is in its ISR.
    [Arguments]    ${topic}    ${node}
    ${state} =    Get Partition State    ${topic}
    Should Not Be Equal As Integers    ${state.leader}    ${node}
    Should Not Be Equal As Integers    ${state.leader}    -1
    Should Not Contain    ${state.isr}    ${node}

Broker Log Should Contain
    [Documentation]    Fails until the log of node ``node`` contains ``text``.
    [Arguments]    ${node}    ${text}
    ${logs} =    Get Broker Logs    broker=${node}
    Should Contain    ${logs}    ${text}

Bring Back Every Node
    [Documentation]    What a test stopped (or its disk halted) runs again for the next one, also when it failed
    ...    halfway: its disk repaired first (the listener heals a failed test's disks only after the teardown).
    Run Keyword And Ignore Error    Repair Disk
    ${nodes} =    Get Brokers
    ${states} =    Evaluate    {node.state for node in $nodes}
    IF    'stopped' in $states    Start Broker
