*** Settings ***
Documentation    Our broker with SASL_SSL, used by a second library instance as another team's client would.
...              Run by unit_tests/real/test_secured_keywords.py at TRACE log level; that test then
...              reads output.xml and log.html for the password.
Library          KafkaPersistenceLibrary    AS    Ours
Library          KafkaPersistenceLibrary    seed=2    AS    Theirs    # other arguments: another instance
Suite Setup      Ours.Start Kafka    security=sasl_ssl


*** Variables ***
${PASSWORD FILE}    ${OUTPUT DIR}/password.txt
${WRONG PASSWORD FILE}    ${OUTPUT DIR}/wrong-password.txt


*** Test Cases ***
The Right Credentials Work
    ${settings} =    Ours.Get Client Settings
    Evaluate    pathlib.Path($PASSWORD_FILE).write_text($settings.password.value)
    Theirs.Connect Kafka    &{settings}
    Theirs.Produce Message    secured    hello
    Theirs.Consume Should Equal    secured    hello
    Ours.Consume Should Equal    secured    hello
    [Teardown]    Theirs.Disconnect Kafka

A Wrong Password Is Named
    ${settings} =    Ours.Get Client Settings
    # A wrong password that is a Secret too, so the test can look for it in the log afterwards.
    ${wrong} =    Evaluate    robot.api.types.Secret($settings.password.value[::-1] + 'x')
    Evaluate    pathlib.Path($WRONG_PASSWORD_FILE).write_text($wrong.value)
    Run Keyword And Expect Error
    ...    Authentication failed for user 'tester' with SCRAM-SHA-512 on 127.0.0.1:* (wrong password, or no such user?)*
    ...    Theirs.Connect Kafka    ${settings.bootstrap}    security_protocol=SASL_SSL    sasl_mechanism=SCRAM-SHA-512
    ...    username=tester    password=${wrong}    ca_file=${settings.ca_file}

No TLS Is Named
    ${settings} =    Ours.Get Client Settings
    Run Keyword And Expect Error    The broker expects TLS on 127.0.0.1:*: use security_protocol=SASL_SSL (with ca_file).
    ...    Theirs.Connect Kafka    ${settings.bootstrap}

An Untrusted CA Is Named
    ${settings} =    Ours.Get Client Settings
    Run Keyword And Expect Error
    ...    TLS handshake with 127.0.0.1:* failed: the broker's certificate is not trusted by the system's trusted CAs*
    ...    Theirs.Connect Kafka    ${settings.bootstrap}    security_protocol=SASL_SSL    sasl_mechanism=SCRAM-SHA-512
    ...    username=${settings.username}    password=${settings.password}
