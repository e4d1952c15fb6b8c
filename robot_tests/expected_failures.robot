*** Settings ***
Documentation    Wrong expectations and wrong input fail with messages a tester can act on.
...              Each message is pinned with Run Keyword And Expect Error.

Library          Collections
Library          KafkaPersistenceLibrary

Suite Setup      Start Kafka And Remember Its Address


*** Test Cases ***
Missing Record After Restart Is Reported With Positions
    Produce Message    failures-few    a
    Restart Broker
    Run Keyword And Expect Error
    ...    STARTS: Topic 'failures-few' holds 1 record(s), expected 2: 1 match, 0 differ, 1 missing, 0 extra. First differences:\n${SPACE * 2}#1${SPACE * 2}missing${SPACE * 3}expected 'b'
    ...    Consume Should Equal
    ...    failures-few
    ...    a
    ...    b
    ...    timeout=10s

Different Record Fails At Once
    Produce Message    failures-diff    a
    Run Keyword And Expect Error
    ...    STARTS: Topic 'failures-diff' holds 1 record(s), expected 1: 0 match, 1 differ, 0 missing, 0 extra. First differences:\n${SPACE * 2}#0${SPACE * 2}differs${SPACE * 3}expected 'x', found 'a' at partition 0 offset 0
    ...    Consume Should Equal
    ...    failures-diff
    ...    x

One Wrong Record Among A Hundred Leads The Message
    [Documentation]    Robot cuts failure messages over 40 lines: the record that differs must come first.
    VAR    @{expected} =    @{EMPTY}
    FOR    ${i}    IN RANGE    100
        Produce Message    failures-hundred    v-${i}
        Append To List    ${expected}    v-${i}
    END
    Set List Value    ${expected}    50    WRONG
    ${error} =    Run Keyword And Expect Error    *
    ...    Consume Should Equal    failures-hundred    @{expected}
    ${shown} =    Catenate
    ...    SEPARATOR=\n
    ...    Topic 'failures-hundred' holds 100 record(s), expected 100: 99 match, 1 differ, 0 missing, 0 extra. First differences:
    ...    ${SPACE * 2}#50${SPACE * 2}differs${SPACE * 3}expected 'WRONG', found 'v-50' at partition 0 offset 50
    ...    (read from ${BOOTSTRAP}, waited up to 10 s)
    Should Be Equal    ${error}    ${shown}

Message Replaces The Failure Text
    Produce Message    failures-message    a
    Run Keyword And Expect Error    the order was not stored
    ...    Consume Should Equal    failures-message    b    message=the order was not stored

Extra Record Fails
    Produce Message    failures-extra    a
    Produce Message    failures-extra    b
    Run Keyword And Expect Error    GLOB: *extra*found 'b' at partition 0 offset 1*
    ...    Consume Should Equal    failures-extra    a

Missing Topic
    Run Keyword And Expect Error    STARTS: Topic 'never-written' does not exist; expected 1 record(s): 'x'.
    ...    Consume Should Equal    never-written    x    timeout=1s

Empty Topic
    Create Topic    failures-empty
    Run Keyword And Expect Error    STARTS: Topic 'failures-empty' is empty; expected 1 record(s): 'x'.
    ...    Consume Should Equal    failures-empty    x    timeout=1s

Unknown Restart Mode
    Run Keyword And Expect Error    Invalid restart mode 'reboot': use one of graceful, kill, power-loss.
    ...    Restart Broker    mode=reboot

A Null Value Needs A Key
    Run Keyword And Expect Error    A record to topic 'failures-null' needs a key or a value: *
    ...    Produce Message    failures-null    ${None}

Invalid Topic Name
    Run Keyword And Expect Error    Invalid topic name 'has space': *
    ...    Produce Message    has space    value

Value Larger Than The Broker Accepts
    ${big} =    Evaluate    b"x" * (2 * 1024 * 1024)
    Run Keyword And Expect Error    Record of 2097152 bytes to topic 'failures-big' is larger than the broker accepts*
    ...    Produce Message    failures-big    ${big}


*** Keywords ***
Start Kafka And Remember Its Address
    [Documentation]    Failure messages name the address they read from.
    ${bootstrap} =    Start Kafka
    VAR    ${BOOTSTRAP} =    ${bootstrap}    scope=SUITE    # robocop: off=VAR05
