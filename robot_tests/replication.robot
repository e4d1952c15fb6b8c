*** Settings ***
Documentation    A replicated cluster (3 brokers, 1 controller; RF 3, min.insync.replicas 2):
...              with acks=all, killing and bouncing the leader loses nothing; with acks=1, a leader
...              that dies alone with its records loses them, and the verdict says so.

Library          KafkaPersistenceLibrary

Suite Setup      Start Kafka    brokers=3


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

A Leader That Dies Alone Loses acks=1 Records
    [Documentation]    Both followers are frozen while the leader acknowledges alone; the leader dies before
    ...    the followers are fenced, one of them is elected, and the old leader truncates on its return.
    Create Topic    risky
    Produce Records    risky    100
    Wait Until Replicas In Sync    risky
    ${leader} =    Wait Until Partition Has Leader    risky
    Pause Broker    followers    topic=risky
    Produce Records    risky    3000    acks=1
    Stop Broker    ${leader}    mode=kill
    Resume Broker    all
    Wait Until Partition Has Leader    risky
    Start Broker    ${leader}
    Run Keyword And Expect Error    FAIL: * acknowledged records lost*
    ...    Verify No Acknowledged Records Lost    risky

Too Few Replicas Refuse acks=all Instead Of Losing
    Create Topic    careful
    Produce Records    careful    100
    Stop Broker    followers    topic=careful
    Run Keyword And Expect Error    *not enough in-sync replicas*
    ...    Produce Message    careful    refused    timeout=5s
    Start Broker    all
    ${verdict} =    Verify No Acknowledged Records Lost    careful
    Should Be Equal As Integers    ${verdict.lost}    0
