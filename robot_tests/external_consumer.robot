*** Settings ***
Documentation    Your application's consumer group, judged from outside (issue 17, case 5): a plain
...              confluent-kafka consumer in its own process (``unit_tests/real/external_consumer.py``,
...              started with the Process library) reads an ``acks=all`` background producer's topic while
...              ``Watch Consumer Group`` samples its committed offsets; the process is killed twice and
...              started again, and once rewinds its committed offset to 0 (an application "replaying" the
...              topic). The verdict reports the backwards commit (by how much) and the final lag. It cannot
...              see what the application processed: only its committed offsets.

Library          OperatingSystem
Library          Process
Library          KafkaPersistenceLibrary

Suite Setup      Start Kafka    offsets.topic.num.partitions=1
Test Teardown    Terminate All Processes    kill=True


*** Variables ***
${APPLICATION}      ${CURDIR}/../unit_tests/real/external_consumer.py


*** Test Cases ***
An Application Group Watched Through Kills Of Its Process
    Create Topic    app-orders
    Watch Consumer Group    group=app    topic=app-orders
    Start Background Producer    app-orders    rate=200
    Start Application    first    --rewind-after    300
    Wait Until Application Says    first    rewound
    Kill The Application And Start It Again    first    second
    Kill The Application And Start It Again    second    third
    Stop Background Producer    app-orders
    ${verdict} =    Verify Consumer Group Missed Nothing    app-orders    group=app    timeout=60 s
    Should Be True    ${verdict.went_backwards} >= 1
    Should Be Equal As Integers    ${verdict.lag}    0
    Should Be Equal As Integers    ${verdict.past_end}    0

An Unknown Group Is Named
    Run Keyword And Expect Error
    ...    No consumer group 'nobody' is known*: start one with 'Start Background Consumer', or watch*
    ...    Verify Consumer Group Missed Nothing    app-orders    group=nobody


*** Keywords ***
Start Application
    [Documentation]    One process of the application, its output in a file of its own.
    [Arguments]    ${name}    @{flags}
    ${bootstrap} =    Get Bootstrap Servers
    ${python} =    Evaluate    sys.executable    modules=sys
    Start Process    ${python}    ${APPLICATION}    ${bootstrap}    app-orders    app    --max-seconds    120
    ...    @{flags}    alias=${name}    stdout=${OUTPUT DIR}/app-${name}.out    stderr=STDOUT

Kill The Application And Start It Again
    [Documentation]    SIGKILL, then a new process that has committed (after the group's 6 s session timeout).
    [Arguments]    ${old}    ${new}
    Terminate Process    ${old}    kill=True
    Start Application    ${new}
    Wait Until Application Says    ${new}    committed

Wait Until Application Says
    [Documentation]    Until the process printed ``text`` (bounded): it reads, commits, or rewound.
    [Arguments]    ${name}    ${text}
    Wait Until Keyword Succeeds    60 s    0.2 s    Grep Says    ${OUTPUT DIR}/app-${name}.out    ${text}

Grep Says
    [Documentation]    Fails until ``path`` holds ``text``.
    [Arguments]    ${path}    ${text}
    ${said} =    Grep File    ${path}    ${text}
    Should Not Be Empty    ${said}
