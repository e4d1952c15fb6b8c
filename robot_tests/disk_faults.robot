*** Settings ***
Documentation    The disk as a fault (issue 20), on one broker that fsyncs every record. A slow fsync
...              slows the producer and loses nothing; a power cut loses nothing on an honest disk, and
...              on a disk that lies about fsync it loses what Kafka acknowledged as durable: the verdict
...              fails and counts it. The failed and full disks of a 3-broker cluster (the log directory
...              goes offline, the broker halts, nothing acknowledged is lost) are shown in
...              unit_tests/real/test_disk_faults.py, to keep this suite short.

Library          KafkaPersistenceLibrary

Suite Setup      Start Kafka    disk=faulty    log.flush.interval.messages=1
Suite Teardown   Stop Kafka


*** Test Cases ***
A Slow Fsync Slows The Producer And Nothing Is Lost
    Start Background Producer    slow    rate=200
    Sleep    3s    reason=the baseline in the fault table
    Slow Down Disk    fsync=200ms
    Sleep    5s    reason=every append waits 200 ms: acks come in batches, each 200 ms or more late
    Restore Disk
    Sleep    3s    reason=back to the baseline
    Stop Background Producer    slow
    ${verdict} =    Verify No Acknowledged Records Lost    slow
    Should Be Equal As Integers    ${verdict.lost}    0

An Honest Disk Keeps What Was Fsynced Through A Power Cut
    Produce Records    honest    300
    Restart Broker    mode=power-loss
    ${verdict} =    Verify No Acknowledged Records Lost    honest
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
    [Documentation]    The same broker, on a disk whose fsync reports success and syncs nothing.
    Stop Kafka
    Start Kafka    disk=lying    log.flush.interval.messages=1
