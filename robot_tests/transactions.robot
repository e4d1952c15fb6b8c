*** Settings ***
Documentation    Transactions (issue 18): a transactional producer's records judged per transaction by a
...              read_committed reader, through leader and transaction-coordinator kills; aborted
...              transactions caught when a read_uncommitted reader is asked for committed records only.
...              (The copier's cases join this suite and share its cluster.)
...
...              Short form (CI): one leader kill and one coordinator kill.
...              Long form (the issue's case 1):
...              robot --variable LEADER_KILLS:3 --variable COORDINATOR_KILLS:2 robot_tests/transactions.robot

Library          KafkaPersistenceLibrary

Suite Setup      Start Kafka    brokers=3


*** Variables ***
${LEADER KILLS}         1
${COORDINATOR KILLS}    1


*** Test Cases ***
Killed Leaders And Coordinators Lose No Committed Transaction
    [Documentation]    Case 1: a transactional background producer aborts a fifth of its transactions on
    ...    purpose while partition leaders and its transaction coordinator are killed: no committed
    ...    record lost, no transaction torn, no aborted record visible; the aborted ones counted.
    Create Topic    payments    partitions=3
    Start Background Producer    payments    rate=500    transactional=True    per_transaction=20    abort=0.2
    Kill Leaders And The Transaction Coordinator    payments
    Stop Background Producer    payments
    ${verdict} =    Verify No Acknowledged Records Lost    payments
    Should Be Equal As Integers    ${verdict.lost_committed}    0
    Should Be Equal As Integers    ${verdict.torn}    0
    Should Be Equal As Integers    ${verdict.aborted_reads}    0
    Should Be True    ${verdict.aborted} > 0
    Log    ${verdict.committed} committed, ${verdict.aborted} aborted, ${verdict.in_doubt} in doubt

A Read Uncommitted Reader Sees Aborted Transactions
    [Documentation]    Case 4, both ways: read_committed hides every aborted record; read_uncommitted sees
    ...    them all, and the verdict fails when asked for committed records only.
    Create Topic    refunds    partitions=3
    ${sent} =    Produce Records    refunds    300    transactional=True    per_transaction=10    abort=0.5
    ${committed} =    Verify No Acknowledged Records Lost    refunds
    Should Be Equal As Integers    ${committed.aborted_reads}    0
    ${aborted records} =    Evaluate    ${sent.aborted} * 10
    ${seen} =    Verify No Acknowledged Records Lost    refunds    isolation=read_uncommitted
    Should Be Equal As Integers    ${seen.aborted_reads}    ${aborted records}
    Run Keyword And Expect Error    FAIL: ${aborted records} aborted reads*
    ...    Verify No Acknowledged Records Lost    refunds    isolation=read_uncommitted    committed_only=True

Transactional Arguments That Cannot Work Say So
    Run Keyword And Expect Error    Invalid per_transaction 0: a transaction holds at least 1 record.
    ...    Produce Records    t    10    transactional=True    per_transaction=0
    Run Keyword And Expect Error    Invalid abort 1.5: *
    ...    Produce Records    t    10    transactional=True    abort=1.5
    Run Keyword And Expect Error    A transactional producer needs acks=all and idempotence, not acks=1*
    ...    Start Background Producer    t    transactional=True    acks=1


*** Keywords ***
Kill Leaders And The Transaction Coordinator
    [Documentation]    ${LEADER KILLS} leader kills (partitions in turn), then ${COORDINATOR KILLS} kills of the
    ...    coordinator of the topic's transactional id, with 2 s of sending before each and after the last.
    [Arguments]    ${topic}
    ${id} =    Get Transactional Id    ${topic}
    FOR    ${round}    IN RANGE    ${LEADER KILLS}
        Sleep    2s    reason=sending between faults
        Restart Broker    mode=kill    broker=leader    topic=${topic}    partition=${{$round % 3}}
    END
    FOR    ${_}    IN RANGE    ${COORDINATOR KILLS}
        Sleep    2s    reason=sending between faults
        Restart Broker    mode=kill    broker=coordinator    transactional_id=${id}
    END
    Sleep    2s    reason=transactions after the last fault
