*** Settings ***
Documentation     Wrong expectations and wrong input fail with messages a tester can act on.
...               Each message is pinned with Run Keyword And Expect Error.
Library           KafkaPersistenceLibrary
Suite Setup       Start Kafka


*** Test Cases ***
Missing Record After Restart Is Reported With Positions
    Produce Message    failures-few    a
    Restart Broker
    Run Keyword And Expect Error
    ...    STARTS: Topic 'failures-few' holds 1 record(s), expected 2:\n  #0  ok        'a' at partition 0 offset 0\n  #1  missing   expected 'b'
    ...    Consume Should Equal    failures-few    a    b    timeout=1s

Different Record Fails At Once
    Produce Message    failures-diff    a
    Run Keyword And Expect Error
    ...    STARTS: Topic 'failures-diff' holds 1 record(s), expected 1 with other values:\n  #0  differs   expected 'x', found 'a' at partition 0 offset 0
    ...    Consume Should Equal    failures-diff    x

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
    Run Keyword And Expect Error    Unknown restart mode 'reboot': use one of graceful, kill.
    ...    Restart Broker    mode=reboot

Invalid Topic Name
    Run Keyword And Expect Error    Invalid topic name 'has space': *
    ...    Produce Message    has space    value

Value Larger Than The Broker Accepts
    ${big} =    Evaluate    b"x" * (2 * 1024 * 1024)
    Run Keyword And Expect Error    Record of 2097152 bytes to topic 'failures-big' is larger than the broker accepts*
    ...    Produce Message    failures-big    ${big}
