#!/usr/bin/env bash
# Set up everything this project needs, then run the given command in it.
#
#   ./run.sh python -m unittest      # the library's tests
#   ./run.sh robot robot_tests       # the example and acceptance suites
#   ./run.sh true                    # set-up only
#
# Stages (each reused when already done, with its time printed):
#   venv   .venv with the library (editable) and its tested dependency set, constraints.txt
#          (refreshed when setup.cfg, pyproject.toml or constraints.txt change)
#   docker an engine that answers: DOCKER_HOST or the default socket is used as is;
#          otherwise, as root on Debian/Ubuntu, docker.io is installed and dockerd started
#   tools  Debian's docker-compose, which the tests use to start a user-style stack
#   image  the Kafka image (python -m KafkaPersistenceLibrary.image ensure)
#
# apt's output (needrestart, debconf) goes to $APT_LOG; its tail is shown only when apt fails.
# Sourced (by unit_tests/fast/test_run_sh.py), it only defines its functions.
set -euo pipefail

DOCKERD_LOG=${DOCKERD_LOG:-/var/log/kafka-persistence-dockerd.log}
APT_LOG=${APT_LOG:-/var/log/kafka-persistence-apt.log}
ENGINE_WAIT_SECONDS=${ENGINE_WAIT_SECONDS:-90}

say() { printf '[run.sh] %s\n' "$*" >&2; }
fail() { say "ERROR: $*"; exit 1; }
now() { echo "$EPOCHREALTIME"; }
took() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f s", b - a }'; }

stage_venv() {
    local t0 stamp
    t0=$(now)
    stamp=$(cat setup.cfg pyproject.toml constraints.txt | sha256sum | cut -c1-16)
    if [ -x .venv/bin/python ] && [ "$(cat .venv/.setup-stamp 2>/dev/null)" = "$stamp" ]; then
        say "venv: reused ($(took "$t0"))"
        return
    fi
    command -v python3 >/dev/null || fail "python3 not found: install Python 3.11 or newer."
    [ -x .venv/bin/python ] || python3 -m venv .venv || fail "could not create .venv (on Debian: apt-get install python3-venv)."
    .venv/bin/python -m pip install --quiet --upgrade pip setuptools >/dev/null
    # setuptools prints a long note about editable installs even with --quiet: keep pip's
    # output in a file and show it only when the install fails.
    if ! .venv/bin/python -m pip install --quiet -c constraints.txt -e '.[dev]' >.venv/pip-install.log 2>&1; then
        tail -n 20 .venv/pip-install.log >&2
        fail "pip could not install the dependencies of setup.cfg (with constraints.txt)."
    fi
    echo "$stamp" > .venv/.setup-stamp
    say "venv: installed ($(took "$t0"))"
}

apt_install() {
    [ -n "${APT_UPDATED:-}" ] || { apt_get update -qq; APT_UPDATED=1; }
    apt_get install -y -qq "$@"
}

# apt-get with both its streams in $APT_LOG (needrestart and debconf write to stderr even with -qq);
# when it fails, the lines this call added are shown, then one error line naming the log.
apt_get() {
    local start
    mkdir -p "$(dirname "$APT_LOG")" && touch "$APT_LOG" || fail "cannot write apt's log $APT_LOG (set APT_LOG)."
    start=$(($(wc -c <"$APT_LOG") + 1))
    if ! DEBIAN_FRONTEND=noninteractive NEEDRESTART_MODE=a NEEDRESTART_SUSPEND=1 \
            apt-get "$@" >>"$APT_LOG" 2>&1 </dev/null; then
        tail -c +"$start" "$APT_LOG" | tail -n 20 >&2
        fail "apt-get $* failed; its log: $APT_LOG"
    fi
}

engine_answers() { timeout 10 docker info >/dev/null 2>&1; }

stage_docker() {
    local t0 waited=0
    t0=$(now)
    if command -v docker >/dev/null && engine_answers; then
        say "docker: engine answers ($(took "$t0"))"
        return
    fi
    if [ -n "${DOCKER_HOST:-}" ]; then
        fail "DOCKER_HOST=$DOCKER_HOST does not answer: start that engine, or unset DOCKER_HOST."
    fi
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
        fail "no Docker engine answers: install Docker (https://docs.docker.com/engine/install/) and start it."
    fi
    if ! command -v dockerd >/dev/null; then
        say "docker: installing Debian's docker.io"
        apt_install docker.io
    fi
    command -v docker >/dev/null || fail "docker.io is installed but no docker client is on PATH."
    if ! pgrep -x dockerd >/dev/null; then
        # A dockerd that was killed leaves its pid file; if that pid is reused, dockerd refuses to start.
        rm -f /var/run/docker.pid
        say "docker: starting dockerd (log: $DOCKERD_LOG)"
        mkdir -p "$(dirname "$DOCKERD_LOG")"
        setsid nohup dockerd >>"$DOCKERD_LOG" 2>&1 < /dev/null &
    fi
    until engine_answers; do
        waited=$((waited + 1))
        [ "$waited" -lt "$ENGINE_WAIT_SECONDS" ] \
            || fail "dockerd did not answer within ${ENGINE_WAIT_SECONDS} s; last log lines: $(tail -n 3 "$DOCKERD_LOG" | tr '\n' ' ')"
        sleep 1
    done
    say "docker: engine started ($(took "$t0"))"
}

stage_test_tools() {
    # The tests drive a docker compose project (Connect Kafka driver=compose): Debian's docker-compose.
    if ! command -v docker-compose >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        local t0
        t0=$(now)
        apt_install docker-compose
        say "test tools: installed docker-compose ($(took "$t0"))"
    fi
}

stage_image() {
    local t0 image
    t0=$(now)
    # The offline build needs debootstrap and Maven: install them where we can,
    # else the build itself says what is missing.
    local missing=()
    command -v debootstrap >/dev/null || missing+=(debootstrap)
    command -v mvn >/dev/null || missing+=(maven)
    if [ "${#missing[@]}" -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        say "image: installing ${missing[*]} for the offline build"
        apt_install "${missing[@]}"
    fi
    # Progress (per build stage, with times) goes to stderr; stdout is the image name. The name is
    # not exported: the library finds the same image itself, and Start Kafka's version= (or
    # $KAFKA_PERSISTENCE_VERSION) must still choose another; a KAFKA_PERSISTENCE_IMAGE you set is kept.
    image=$(.venv/bin/python -m KafkaPersistenceLibrary.image ensure | tail -n 1) || fail "no Kafka image (see above)."
    say "image: $image ($(took "$t0"))"
}

main() {
    cd "$(dirname "$0")"
    stage_venv
    stage_docker
    stage_test_tools
    stage_image
    [ "$#" -gt 0 ] || exit 0
    export PATH="$PWD/.venv/bin:$PATH"
    exec "$@"
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    main "$@"
fi
