*** Settings ***
Documentation    Random faults, as Jepsen's nemesis makes them: kills, graceful stops, power cuts, pauses and
...              network cuts on random brokers of a 3-broker cluster with a 3-controller quorum, one after the
...              other, under an acks=all load. Nothing acknowledged may be lost. A fixed seed repeats the
...              schedule; the long form runs 5 minutes: --variable RANDOM_FAULT_SECONDS:300

Library          KafkaPersistenceLibrary

Suite Setup      Start Kafka    brokers=3    controllers=3    power_loss=True


*** Variables ***
${RANDOM_FAULT_SECONDS}    60
${KINDS}                   kill,graceful,pause,power-loss,isolate
${SEED}                    146    # with these kinds in this order, its first five faults are the five kinds


*** Test Cases ***
Random Faults Of Every Kind Lose Nothing With acks=all
    Create Topic    orders    partitions=3
    Start Background Producer    orders    rate=300
    Start Random Faults    kinds=${KINDS}    seed=${SEED}
    Sleep    ${RANDOM_FAULT_SECONDS}    let the schedule run under load
    ${schedule} =    Stop Random Faults
    Should Not Be Empty    ${schedule.faults}
    Stop Background Producer    orders
    ${verdict} =    Verify No Acknowledged Records Lost    orders
    Should Be Equal As Integers    ${verdict.lost}    0
    Should Be Equal As Integers    ${verdict.duplicated}    0
    Should Be Equal As Integers    ${verdict.order_violations}    0
