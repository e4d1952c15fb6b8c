*** Settings ***
Documentation    Every acknowledged record survives every restart, graceful and hard,
...              while a background producer keeps writing through the restarts.
...
...              Short form (CI): 5 graceful and 5 kill cycles of 5,000 records each.
...              Long form:    robot --variable CYCLES:20 robot_tests/durability.robot

Library          KafkaPersistenceLibrary

Suite Setup      Start Kafka


*** Variables ***
${CYCLES}               5
${RECORDS PER CYCLE}    5000
${RECORD SIZE}          200
${BACKGROUND RATE}      500


*** Test Cases ***
No Acknowledged Record Lost Across Graceful Restarts
    Restart Cycles    graceful

No Acknowledged Record Lost Across Hard Kills
    Restart Cycles    kill


*** Keywords ***
Restart Cycles
    [Documentation]    ${CYCLES} cycles of: produce ${RECORDS PER CYCLE} records, restart with ``mode``.
    ...    A background producer writes to a second topic throughout; both are verified at the end.
    [Arguments]    ${mode}
    Create Topic    ${mode}-cycles    partitions=3
    Create Topic    ${mode}-load    partitions=3
    Start Background Producer    ${mode}-load    size=${RECORD SIZE}    rate=${BACKGROUND RATE}
    FOR    ${_}    IN RANGE    ${CYCLES}
        ${sent} =    Produce Records    ${mode}-cycles    ${RECORDS PER CYCLE}    size=${RECORD SIZE}    keys=16
        Should Be Equal As Integers    ${sent.acknowledged}    ${RECORDS PER CYCLE}
        Restart Broker    mode=${mode}
    END
    ${load} =    Stop Background Producer    ${mode}-load
    Should Be True    ${load.acknowledged} > 0
    ${verdict} =    Verify No Acknowledged Records Lost    ${mode}-cycles
    Should Be Equal As Integers    ${verdict.lost}    0
    Should Be Equal As Integers    ${verdict.order_violations}    0
    Should Be True    ${verdict.acknowledged} >= ${CYCLES} * ${RECORDS PER CYCLE}
    ${under load} =    Verify No Acknowledged Records Lost    ${mode}-load
    Should Be Equal As Integers    ${under load.lost}    0
    Should Be Equal As Integers    ${under load.order_violations}    0
