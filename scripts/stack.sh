#!/usr/bin/env bash
# The local stack in the background.
#
#   scripts/stack.sh up       emulators (unless something answers), build the binaries, start
#                             `foodstream-local up` in its own process group, wait until it serves,
#                             print the API's and the console's URLs; reuses a stack already running
#   scripts/stack.sh down     stop the stack (its whole process group, by PID), then the
#                             emulators its `up` started
#   scripts/stack.sh logs     follow the stack's log (FUNCTION=<name> for one function's log)
#   scripts/stack.sh status
#
# Settings from the environment: FOODSTREAM_API_ADDR (127.0.0.1:3000),
# FOODSTREAM_CONSOLE_ADDR (127.0.0.1:3001, loopback only), AWS_ENDPOINT_URL,
# KAFKA_BOOTSTRAP_SERVERS, REFUND_WINDOW_SECONDS, DELIVERY_DURATION_MS,
# CONSUMER_BATCHING_WINDOW_SECONDS (0: low latency, 1: economical), LOCAL_JWT_SECRET,
# FUNCTIONS: debug (the default: `cargo build` binaries) or package (the bootstraps of
# `make package`, ARCH=arm64 by default, run under qemu-aarch64: what `make deploy` uploads).
set -euo pipefail
cd "$(dirname "$0")/.."
run_dir=.local/run
log_dir=.local/logs
pidfile=$run_dir/stack.pid
owned=$run_dir/stack.owned
api_addr=${FOODSTREAM_API_ADDR:-127.0.0.1:3000}
console_addr=${FOODSTREAM_CONSOLE_ADDR:-127.0.0.1:3001}

log() { printf '[stack] %s\n' "$*" >&2; }

# The console's URL as the running stack wrote it (its real port).
console_url() {
  python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["console_url"])' "$run_dir/stack.json" 2>/dev/null \
    || echo "http://$console_addr"
}

running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

# Prints the stack log's lines after the first $1 to stderr; echoes how
# many lines the log has now.
progress() {
  local total
  total=$(wc -l <"$log_dir/stack.log" 2>/dev/null || echo 0)
  if [ "$total" -gt "$1" ]; then
    sed -n "$(($1 + 1)),${total}p" "$log_dir/stack.log" | sed 's/^/[stack] /' >&2
  fi
  echo "$total"
}

target_dir() {
  cargo metadata --format-version 1 --no-deps --locked \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])'
}

up() {
  if running; then
    log "already running (pid $(cat "$pidfile")): reusing it"
    echo "API: http://$api_addr"
    echo "Console: $(console_url)"
    return
  fi
  scripts/emulators.sh up --owned "$owned"
  # The console's Swagger UI, from disk: without it the console still runs.
  scripts/vendor-assets.sh || log "Swagger UI not vendored: the console's API page will say how to"
  log "building the function binaries and the stack (debug profile; about half an hour the first time on 2 cores)"
  cargo build --workspace --bins --locked
  mkdir -p "$run_dir" "$log_dir"
  local binary functions=(--launcher "")
  binary="$(target_dir)/debug/foodstream-local"
  case "${FUNCTIONS:-debug}" in
    debug) ;;
    package)
      local arch=${ARCH:-arm64}
      if [ ! -f "dist/$arch/template.json" ]; then
        log "no package for $arch yet: make package"
        ARCH=$arch scripts/package.sh
      fi
      functions=(--bin-dir "dist/$arch/bin" --launcher "")
      if [ "$arch" = arm64 ] && [ "$(uname -m)" != aarch64 ]; then
        scripts/install-tools.sh --qemu
        functions=(--bin-dir "dist/$arch/bin" --launcher "qemu-aarch64 -L /usr/aarch64-linux-gnu")
      fi
      log "functions: the $arch package (dist/$arch/bin, taken out of the zips make deploy uploads)"
      ;;
    *) log "FUNCTIONS must be debug or package"; exit 2 ;;
  esac
  # Its own session and process group: `down` stops it and every function
  # instance it started with one signal to the group.
  setsid "$binary" up --api "$api_addr" --console "$console_addr" "${functions[@]}" >"$log_dir/stack.log" 2>&1 < /dev/null &
  echo $! >"$pidfile"
  local deadline=$((SECONDS + 120)) shown=0
  # What the stack does while it comes up (tables, buckets, queues and
  # topics created), printed as it happens rather than only to its log.
  until shown=$(progress "$shown"); grep -q "ready: API" "$log_dir/stack.log" 2>/dev/null; do
    if ! running || [ $SECONDS -ge $deadline ]; then
      log "the stack did not come up; its log:"
      tail -n 40 "$log_dir/stack.log" >&2 || true
      down
      exit 1
    fi
    sleep 0.2
  done
  log "log: $log_dir/stack.log (make logs); function logs: $log_dir/functions/"
  echo "API: http://$api_addr"
  echo "Console: $(console_url)"
}

down() {
  if running; then
    local pid
    pid=$(cat "$pidfile")
    log "stopping the stack (process group $pid)"
    kill -TERM -- "-$pid" 2>/dev/null || true
    local deadline=$((SECONDS + 40))
    while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
    # Whatever is left of the group (an instance that ignored TERM).
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
  scripts/emulators.sh down --owned "$owned"
}

logs() {
  if [ -n "${FUNCTION:-}" ]; then
    exec tail -n 100 -F "$log_dir/functions/$FUNCTION.log"
  fi
  exec tail -n 100 -F "$log_dir/stack.log"
}

status() {
  if running; then echo "stack: up (pid $(cat "$pidfile")), API http://$api_addr, console $(console_url)"; else echo "stack: down"; fi
  scripts/emulators.sh status
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  logs) logs ;;
  status) status ;;
  *) echo "usage: $0 up|down|logs|status" >&2; exit 2 ;;
esac
