*** Settings ***
Documentation    The consumer half (issue 17): a consumer group of our own, one OS process per member,
...              killed for real beside a killed group coordinator, judged against what the producer
...              had acknowledged: nothing skipped, redeliveries allowed. Both rebalance protocols:
...              the classic one and KIP-848's (``protocol=consumer``, Kafka 4).
...
...              KIP-848 needs no broker setting on Kafka 4.1.1; its session timeout is the broker's
...              (``group.consumer.session.timeout.ms``, 45 s by default, and no less than
...              ``group.consumer.min.session.timeout.ms``). The suite sets both to 10 s, as the
...              classic members' own ``session_timeout`` is, so a killed member is noticed as soon.
...
...              Short form (CI): the issue's example, one member kill and one coordinator kill.
...              Long form (issue case 1 with both protocols):
...              robot --variable LEADER_KILLS:3 --variable MEMBER_KILLS:3 robot_tests/consumers.robot

Library          KafkaPersistenceLibrary

Suite Setup      Start Kafka    brokers=3
...                  group.consumer.session.timeout.ms=10000    group.consumer.min.session.timeout.ms=10000


*** Variables ***
${LEADER KILLS}     0
${MEMBER KILLS}     1


*** Test Cases ***
A Killed Member And A Killed Coordinator Skip Nothing
    [Documentation]    The issue's example, with the classic protocol.
    Kill A Member And The Coordinator    orders    billing    classic

The Same With The Consumer Rebalance Protocol (KIP-848)
    Kill A Member And The Coordinator    orders-848    billing-848    consumer

Restarting A Consumer Before Any Was Started Says So
    Run Keyword And Expect Error
    ...    No consumer group 'nobody' was started: call 'Start Background Consumer' first*
    ...    Restart Consumer    group=nobody    member=random    mode=kill


*** Keywords ***
Kill A Member And The Coordinator
    [Documentation]    Background producer and a 2-member group; leaders and members killed in turn, then
    ...    the group's coordinator.
    [Arguments]    ${topic}    ${group}    ${protocol}
    Create Topic    ${topic}    partitions=3
    Start Background Producer    ${topic}    rate=300
    Start Background Consumer    ${topic}    group=${group}    members=2    commit=after-processing
    ...    protocol=${protocol}
    FOR    ${round}    IN RANGE    ${{max(int($LEADER_KILLS), int($MEMBER_KILLS))}}
        IF    ${round} < ${LEADER KILLS}
            Restart Broker    mode=kill    broker=leader    topic=${topic}    partition=${{$round % 3}}
        END
        IF    ${round} < ${MEMBER KILLS}
            Restart Consumer    group=${group}    member=random    mode=kill
        END
    END
    Restart Broker    mode=kill    broker=coordinator    group=${group}
    Stop Background Producer    ${topic}
    ${counts} =    Stop Background Consumer    ${topic}    group=${group}
    Should Be True    ${counts.caught_up}
    ${verdict} =    Verify Consumer Group Missed Nothing    ${topic}    group=${group}
    Should Be Equal As Integers    ${verdict.skipped}    0
    Log    ${verdict.redelivered} redelivered after ${counts.member_kills} member kill(s): allowed (at least once)
