*** Settings ***
Documentation    A rolling upgrade under an acks=all load: every node onto the new Kafka version with its
...              data, each node's version read from what it answers itself, then the feature levels
...              finalized, after which Kafka refuses to go back. Nothing acknowledged may be lost.
...              (unit_tests/real/test_upgrade.py adds a consumer group, and two brokers upgraded at once.)
...
...              CI runs the cheap form: one combined node from 3.9.1 to the default version. The long
...              forms (issue 19): case 1, 3 brokers and 3 controllers:
...              --variable BROKERS:3 --variable CONTROLLERS:3
...              case 2, the same from 4.1.1: add --variable FROM:4.1.1

Library          KafkaPersistenceLibrary

# Kafka's own session timeout: the library's 1.5 s for one combined node fenced it again and again while its
# new JVM warmed up beside two CPU burners (controller event queue overloaded), and nothing then served.
Suite Setup      Start Kafka    brokers=${BROKERS}    controllers=${CONTROLLERS}    version=${FROM}
...              broker.session.timeout.ms=9000    broker.heartbeat.interval.ms=2000


*** Variables ***
${FROM}           3.9.1
${TO}             ${{ __import__('KafkaPersistenceLibrary.versions').versions.KAFKA_VERSION }}    # the default
${BROKERS}        1
${CONTROLLERS}    ${None}


*** Test Cases ***
Rolling Upgrade Under Load Loses Nothing
    Create Topic    orders
    Start Background Producer    orders    rate=200
    ${upgrade} =    Upgrade Kafka    version=${TO}
    IF    ${BROKERS} >= 3    Should Be Empty    ${upgrade.leaderless}
    Every Node Answers As The New Version
    ${features} =    Finalize Kafka Upgrade
    Should Be Equal    ${features.release}    ${{ ".".join($TO.split(".")[:2]) }}
    Stop Background Producer    orders
    ${verdict} =    Verify No Acknowledged Records Lost    orders
    Should Be Equal As Integers    ${verdict.lost}    0
    Run Keyword And Expect Error    Kafka cannot downgrade to ${FROM}: the cluster's finalized metadata.version is*
    ...    Downgrade Kafka    version=${FROM}


*** Keywords ***
Every Node Answers As The New Version
    [Documentation]    The version each node reports of itself (ApiVersions), not the image it was given.
    ${brokers} =    Get Brokers
    FOR    ${node}    IN    @{brokers}
        Should Be Equal    ${node.version}    ${{ ".".join($TO.split(".")[:2]) }}    node ${node.id}
    END
