*** Settings ***
Documentation    Runs beside another suite in a second pabot process, each with a broker of its own.
Library          KafkaPersistenceLibrary
Suite Setup      Start Kafka


*** Test Cases ***
Messages Survive A Kill In Suite A
    Produce Message    parallel-a    kept
    Restart Broker    mode=kill
    Consume Should Equal    parallel-a    kept

Records Survive A Graceful Restart In Suite A
    Produce Records    volume-a    2000
    Restart Broker    mode=graceful
    ${verdict} =    Verify No Acknowledged Records Lost    volume-a
    Should Be Equal As Integers    ${verdict.lost}    0
