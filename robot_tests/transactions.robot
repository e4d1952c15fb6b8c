*** Settings ***
Documentation    Transactions (issue 18): a transactional producer's records judged per transaction by a
...              read_committed reader, through leader and transaction-coordinator kills; aborted
...              transactions caught when a read_uncommitted reader is asked for committed records only.
...              (The copier's cases join this suite and share its cluster.)
...
...              Short form (CI): one leader kill and one coordinator kill; the copier through one member
...              kill, a leader kill and a kill of its group's coordinator.
...              Long form (the issue's cases 1 and 2): robot --variable LEADER_KILLS:3
...              --variable COORDINATOR_KILLS:2 --variable COPIER_KILLS:3 robot_tests/transactions.robot

Library          KafkaPersistenceLibrary

Suite Setup      Start Kafka    brokers=3


*** Variables ***
${LEADER KILLS}         1
${COORDINATOR KILLS}    1
${COPIER KILLS}         1


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
    Should Be True    ${sent.aborted} > 0
    ${committed} =    Verify No Acknowledged Records Lost    refunds
    Should Be Equal As Integers    ${committed.aborted_reads}    0
    ${seen} =    Verify No Acknowledged Records Lost    refunds    isolation=read_uncommitted
    Should Be Equal As Integers    ${seen.aborted_reads}    ${committed.aborted_records}
    Run Keyword And Expect Error    FAIL: ${committed.aborted_records} aborted reads*
    ...    Verify No Acknowledged Records Lost    refunds    isolation=read_uncommitted    committed_only=True

Transactional Arguments That Cannot Work Say So
    Run Keyword And Expect Error    Invalid per_transaction 0: a transaction holds at least 1 record.
    ...    Produce Records    t    10    transactional=True    per_transaction=0
    Run Keyword And Expect Error    Invalid abort 1.5: *
    ...    Produce Records    t    10    transactional=True    abort=1.5
    Run Keyword And Expect Error    A transactional producer needs acks=all and idempotence, not acks=1*
    ...    Start Background Producer    t    transactional=True    acks=1

An Exactly Once Copier Copies Each Record Once Through Kills
    [Documentation]    Case 2 (short form; --variable COPIER_KILLS:3 for the issue's three member kills): a
    ...    2-member exactly-once copier, members killed between produce and commit, a leader and the
    ...    coordinator of the copier's group killed: nothing missing, nothing duplicated.
    Copy Through Member And Broker Kills    orders    orders-copy    copier    exactly-once
    ${verdict} =    Verify Copied Exactly Once    orders    orders-copy
    Should Be Equal As Integers    ${verdict.missing}    0
    Should Be Equal As Integers    ${verdict.duplicated}    0
    Should Be True    ${verdict.aborted_batches} >= ${COPIER KILLS}

An At Least Once Copier Duplicates And The Verdict Says So
    [Documentation]    Case 3, both ways: the same faults at-least-once; each member killed before its commit
    ...    leaves a batch that is copied again, so the exactly-once verdict fails and counts the
    ...    duplicates, while the same target judged at-least-once passes with nothing missing.
    Copy Through Member And Broker Kills    audit    audit-copy    audit-copier    at-least-once
    Run Keyword And Expect Error    FAIL: * records copied more than once*
    ...    Verify Copied Exactly Once    audit    audit-copy
    ${verdict} =    Verify Copied Exactly Once    audit    audit-copy    guarantee=at-least-once
    Should Be Equal As Integers    ${verdict.missing}    0
    Should Be True    ${verdict.duplicated} > 0

Copier Mistakes Say So
    Run Keyword And Expect Error    No copier copied 'nowhere' to 'copy': start one with 'Start Copier'*
    ...    Verify Copied Exactly Once    nowhere    copy
    Run Keyword And Expect Error    The copier's source topic 'nowhere' does not exist on *
    ...    Start Copier    nowhere    copy    group=lost
    Run Keyword And Expect Error    Invalid mode 'twice': use one of exactly-once, at-least-once.
    ...    Start Copier    a    b    group=g    mode=twice


*** Keywords ***
Copy Through Member And Broker Kills
    [Documentation]    A background producer on ${source}, a 2-member copier to ${target}; ${COPIER KILLS} member
    ...    kill(s) between produce and commit, a leader kill of ${source} after the first and a kill of the
    ...    coordinator of the copier's group after the second (or the first, if it is the only one); then
    ...    the copier is stopped once it has copied every acknowledged record.
    [Arguments]    ${source}    ${target}    ${group}    ${mode}
    Create Topic    ${source}    partitions=3
    Create Topic    ${target}    partitions=3
    Start Background Producer    ${source}    rate=200
    Start Copier    ${source}    ${target}    group=${group}    mode=${mode}    members=2
    FOR    ${kill}    IN RANGE    ${COPIER KILLS}
        Restart Copier    group=${group}    member=${{$kill % 2 + 1}}    mode=kill    when=before-commit
        IF    ${kill} == 0
            Restart Broker    mode=kill    broker=leader    topic=${source}    partition=1
        END
        IF    ${kill} == 1 or ${COPIER KILLS} == 1
            Restart Broker    mode=kill    broker=coordinator    group=${group}
        END
    END
    Stop Background Producer    ${source}
    ${counts} =    Stop Copier    ${group}    timeout=5 min
    Should Be True    ${counts.caught_up}

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
