#!/usr/bin/env bash
# Runs one of the workspace's binaries as `cargo build --workspace --bins`
# builds it, the build `make up` and `make test` make: `cargo run -p X`
# would resolve the features of X alone and compile much of the tree again
# (minutes on 2 cores) before `make demo`, `make token` or `make replay`.
#
#   scripts/run-bin.sh <binary> [args...]   build (a no-op when built), then run it
#   scripts/run-bin.sh --check-no-rebuild   fail if that build, offline, compiles anything
set -euo pipefail
cd "$(dirname "$0")/.."

build() { cargo build --workspace --bins --locked "$@"; }

if [ "${1:-}" = "--check-no-rebuild" ]; then
  # After `make test`'s build: the build every make target runs its
  # binaries from must find everything built, compile nothing and fetch
  # nothing. The Makefile must run no binary any other way.
  out=$(build --offline 2>&1) || { echo "$out" >&2; exit 1; }
  if grep -q "Compiling" <<<"$out"; then
    echo "run-bin: the workspace build compiled again:" >&2
    echo "$out" >&2
    exit 1
  fi
  if grep -nE '\$\(CARGO\) run|cargo run' Makefile; then
    echo "run-bin: the Makefile runs a binary with cargo run (it would compile again): use scripts/run-bin.sh" >&2
    exit 1
  fi
  echo "run-bin: make demo, token, replay and logs run what the workspace build built: nothing compiled again"
  exit 0
fi

bin=${1:?usage: scripts/run-bin.sh <binary> [args...]}
shift
# Cargo's progress goes to stderr, so a binary's own output (a token) stays
# alone on stdout.
build >&2
target=$(cargo metadata --format-version 1 --no-deps --locked \
  | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
exec "$target/debug/$bin" "$@"
