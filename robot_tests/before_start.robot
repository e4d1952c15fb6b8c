*** Settings ***
Documentation    Keywords used before Start Kafka say what to do; nothing is started here.

Library          KafkaPersistenceLibrary


*** Test Cases ***
Produce Before Start Kafka
    Run Keyword And Expect Error    No Kafka broker is running: call 'Start Kafka' first (e.g. in Suite Setup).
    ...    Produce Message    orders    too early

Restart Before Start Kafka
    Run Keyword And Expect Error    No Kafka broker is running: call 'Start Kafka' first (e.g. in Suite Setup).
    ...    Restart Broker

Missing Image Says How To Build It
    Import Library    KafkaPersistenceLibrary    image=kafka-persistence-library/no-such-image:0    AS    NoImage
    Run Keyword And Expect Error
    ...    Image 'kafka-persistence-library/no-such-image:0' is not on this Docker engine: build it with*
    ...    NoImage.Start Kafka
