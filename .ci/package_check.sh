#!/usr/bin/env bash
# CI: the package as a user gets it. Builds the wheel, installs it into fresh virtual
# environments outside the checkout, and from there:
#   1. with the tested dependency set (constraints.txt): the image command (console script and
#      python -m) and a .robot suite in another folder pass against a real broker;
#   2. beside robotframework-confluentkafkalibrary (which pins confluent-kafka exactly): both
#      install into one environment, pip finds no conflict, both import, and the same suite passes.
# Needs the Docker engine and image that ./run.sh set up. Prints one line per step.
set -euo pipefail
cd "$(dirname "$0")/.."
CHECKOUT=$PWD
WORK=$(mktemp -d /tmp/kpl-package-check.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
say() { printf '[package] %s\n' "$*"; }

.venv/bin/python -m pip wheel --quiet --no-deps -w "$WORK/dist" . >/dev/null
WHEEL=$(ls "$WORK"/dist/*.whl)
say "built $(basename "$WHEEL")"

mkdir -p "$WORK/suite"
cat > "$WORK/suite/installed.robot" <<'ROBOT'
*** Settings ***
Documentation    The installed package, used from a folder that is not the checkout.
Library          KafkaPersistenceLibrary
Suite Setup      Start Kafka


*** Test Cases ***
A Message Survives A Kill
    Produce Message    installed    kept
    Restart Broker    mode=kill
    Consume Should Equal    installed    kept

Acknowledged Records Are Verified
    ${sent} =    Produce Records    installed-volume    2000
    Should Be Equal As Integers    ${sent.acknowledged}    2000
    ${verdict} =    Verify No Acknowledged Records Lost    installed-volume
    Should Be Equal As Integers    ${verdict.lost}    0
ROBOT

run_suite() {  # $1: venv, $2: name of this environment
    (cd "$WORK/suite" && "$1/bin/robot" --outputdir "$WORK/out-$2" --console dotted installed.robot >"$WORK/robot-$2.log" 2>&1) \
        || { tail -n 20 "$WORK/robot-$2.log"; say "FAILED: the suite in the $2 environment"; exit 1; }
    say "$2: $(grep -E '^[0-9]+ tests?, ' "$WORK/robot-$2.log" | tail -n 1)"
}

# 1. The tested set, from the wheel alone.
python3 -m venv "$WORK/venv"
"$WORK/venv/bin/python" -m pip install --quiet --upgrade pip >/dev/null
"$WORK/venv/bin/python" -m pip install --quiet -c "$CHECKOUT/constraints.txt" "$WHEEL"
image=$(cd "$WORK/suite" && "$WORK/venv/bin/kafka-persistence-image" ensure 2>/dev/null | tail -n 1)
say "console script: kafka-persistence-image ensure -> $image"
built=$(cd "$WORK/suite" && "$WORK/venv/bin/python" -m KafkaPersistenceLibrary.image build 2>/dev/null | tail -n 1)
say "python -m KafkaPersistenceLibrary.image build -> $built"
run_suite "$WORK/venv" installed

# 2. Beside the most used Robot Kafka library.
python3 -m venv "$WORK/venv-both"
"$WORK/venv-both/bin/python" -m pip install --quiet --upgrade pip >/dev/null
"$WORK/venv-both/bin/python" -m pip install --quiet "$WHEEL" robotframework-confluentkafkalibrary
"$WORK/venv-both/bin/python" -m pip check >/dev/null || { "$WORK/venv-both/bin/python" -m pip check; exit 1; }
versions=$("$WORK/venv-both/bin/python" -c "
import confluent_kafka, ConfluentKafkaLibrary, KafkaPersistenceLibrary
print('confluent-kafka', confluent_kafka.__version__, '| both libraries import')")
say "beside ConfluentKafkaLibrary: pip check clean; $versions"
run_suite "$WORK/venv-both" beside-confluentkafkalibrary
