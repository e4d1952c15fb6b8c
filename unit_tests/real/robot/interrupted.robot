*** Settings ***
Documentation    Interrupted on purpose by unit_tests/real/test_no_leaks.py with Ctrl-C (SIGINT) while
...              ${ACTION} runs; whatever the moment, nothing of ours may be left afterwards.
Library          KafkaPersistenceLibrary


*** Variables ***
${ACTION}    start


*** Test Cases ***
Interrupted
    IF    $ACTION == "start"
        Log To Console    GO
        Start Kafka    brokers=3
    ELSE
        ${disk} =    Set Variable If    $ACTION == "produce"    faulty    plain
        Start Kafka    disk=${disk}
        Produce Message    t    before
        IF    $ACTION == "produce"    Slow Down Disk    write=1ms    # a disk fault in place at the Ctrl-C
        Log To Console    GO
        IF    $ACTION == "restart"
            Restart Broker    mode=kill
        ELSE
            Produce Records    volume    5000000
        END
    END
