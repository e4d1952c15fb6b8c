*** Settings ***
Documentation    Runs beside another suite in a second pabot process, each with a broker of its own.
Library          KafkaPersistenceLibrary
Suite Setup      Start Kafka


*** Test Cases ***
Messages Survive A Kill In Suite B
    Produce Message    parallel-b    kept
    Restart Broker    mode=kill
    Consume Should Equal    parallel-b    kept

Records Survive A Graceful Restart In Suite B
    Produce Records    volume-b    2000
    Restart Broker    mode=graceful
    ${verdict} =    Verify No Acknowledged Records Lost    volume-b
    Should Be Equal As Integers    ${verdict.lost}    0
