*** Settings ***
Documentation    A replicated cluster (3 brokers, 1 controller; RF 3, min.insync.replicas 2):
...              with acks=all, killing and bouncing the leader loses nothing; with acks=1, a leader
...              that dies alone with its records loses them, and the verdict says so. An unclean
...              election loses what only the old leader had; without it the partition waits instead.

Library          KafkaPersistenceLibrary

Suite Setup      Start Kafka    brokers=3
Test Teardown    Bring Back Every Node


*** Variables ***
${FAULTS}    2    # leader kills and as many graceful leader restarts; the long form: --variable FAULTS:5


*** Test Cases ***
Leader Failover Loses Nothing With acks=all
    Create Topic    orders
    Start Background Producer    orders    rate=300
    FOR    ${_}    IN RANGE    ${FAULTS}
        FOR    ${mode}    IN    kill    graceful
            ${restart} =    Restart Broker    mode=${mode}    broker=leader    topic=orders
            Should Not Be Equal    ${restart.leader}    ${restart.node}
            Wait Until Replicas In Sync    orders
        END
    END
    Stop Background Producer    orders
    ${verdict} =    Verify No Acknowledged Records Lost    orders
    Should Be Equal As Integers    ${verdict.lost}    0
    Should Be Equal As Integers    ${verdict.duplicated}    0
    Should Be Equal As Integers    ${verdict.order_violations}    0

A Leader That Dies Alone Loses acks=1 Records
    [Documentation]    Both followers are frozen while the leader acknowledges alone; the leader dies before
    ...    the followers are fenced, one of them is elected, and the old leader truncates on its return.
    Let The Leader Acknowledge Alone, Then Kill It    risky    acks=1
    Run Keyword And Expect Error    FAIL: * acknowledged records lost*
    ...    Verify No Acknowledged Records Lost    risky

The Same Steps With acks=all Lose Nothing
    [Documentation]    The lone leader cannot acknowledge with acks=all: those sends wait and fail instead.
    Let The Leader Acknowledge Alone, Then Kill It    safe    acks=all
    ${verdict} =    Verify No Acknowledged Records Lost    safe
    Should Be Equal As Integers    ${verdict.lost}    0
    Should Be Equal As Integers    ${verdict.acknowledged}    100

Too Few Replicas Refuse acks=all Instead Of Losing
    Create Topic    careful
    Produce Records    careful    100
    Stop Broker    followers    topic=careful
    Run Keyword And Expect Error    *not enough in-sync replicas*
    ...    Produce Message    careful    refused    timeout=5s
    Start Broker    all
    ${verdict} =    Verify No Acknowledged Records Lost    careful
    Should Be Equal As Integers    ${verdict.lost}    0

An Unclean Election Loses What Only The Old Leader Had
    Create Topic    unclean    min.insync.replicas=1    unclean.leader.election.enable=true
    ${stale} =    Write To A Lone Leader, Then Stop It    unclean
    Start Broker    ${stale}
    ${leader} =    Wait Until Partition Has Leader    unclean
    Should Be Equal As Integers    ${leader}    ${stale}    an out-of-sync replica leads
    Start Broker    all
    Run Keyword And Expect Error    FAIL: 500 acknowledged records lost*
    ...    Verify No Acknowledged Records Lost    unclean

Without Unclean Election The Partition Waits For Its Leader
    Create Topic    clean    min.insync.replicas=1
    ${stale} =    Write To A Lone Leader, Then Stop It    clean
    Start Broker    ${stale}
    Run Keyword And Expect Error    Partition clean-0 has no leader after 5 s*
    ...    Wait Until Partition Has Leader    clean    timeout=5s
    Start Broker    all
    ${verdict} =    Verify No Acknowledged Records Lost    clean
    Should Be Equal As Integers    ${verdict.lost}    0


*** Keywords ***
Bring Back Every Node
    [Documentation]    What a test paused or stopped runs again for the next one, also when it failed halfway.
    ${nodes} =    Get Brokers
    ${states} =    Evaluate    {node.state for node in $nodes}
    IF    'paused' in $states    Resume Broker
    IF    'stopped' in $states    Start Broker

Let The Leader Acknowledge Alone, Then Kill It
    [Documentation]    Freeze both followers, write with ``acks``, kill the leader and thaw the followers
    ...    before their sessions expire; a follower is elected and the old leader returns as one.
    [Arguments]    ${topic}    ${acks}
    Create Topic    ${topic}
    Produce Records    ${topic}    100
    Wait Until Replicas In Sync    ${topic}
    ${leader} =    Wait Until Partition Has Leader    ${topic}
    Pause Broker    followers    topic=${topic}
    Produce Records    ${topic}    3000    acks=${acks}    timeout=1s
    Stop Broker    ${leader}    mode=kill
    Resume Broker    all
    Wait Until Partition Has Leader    ${topic}
    Start Broker    ${leader}
    Wait Until Replicas In Sync    ${topic}

Write To A Lone Leader, Then Stop It
    [Documentation]    Stop both followers, let the leader acknowledge 500 records alone, stop it too.
    ...    Returns a follower that lacks those records.
    [Arguments]    ${topic}
    Produce Records    ${topic}    100
    Wait Until Replicas In Sync    ${topic}
    ${state} =    Get Partition State    ${topic}
    Stop Broker    followers    topic=${topic}
    ${sent} =    Produce Records    ${topic}    500
    Should Be Equal As Integers    ${sent.acknowledged}    500
    Stop Broker    ${state.leader}
    RETURN    ${state.followers}[0]
