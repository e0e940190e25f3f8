#!/usr/bin/env bash
# Installs what building and testing foodstream needs on a fresh machine,
# skipping whatever is already there. Safe to run again.
set -euo pipefail

log() { printf '[install-tools] %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# C toolchain and make: rdkafka's vendored librdkafka and OpenSSL build from source.
missing_apt=()
for tool in cc make perl; do
  command -v "$tool" >/dev/null 2>&1 || missing_apt+=("$tool")
done
if [ ${#missing_apt[@]} -gt 0 ]; then
  log "installing build-essential and perl (missing: ${missing_apt[*]})"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq build-essential perl >/dev/null
fi

# Rust toolchain with rustfmt and clippy.
if ! command -v cargo >/dev/null 2>&1; then
  if [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
  else
    log "installing the Rust toolchain with rustup"
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
    export PATH="$HOME/.cargo/bin:$PATH"
  fi
fi
if command -v rustup >/dev/null 2>&1; then
  installed=$(rustup component list --installed 2>/dev/null || true)
  for component in rustfmt clippy; do
    if ! grep -q "^${component}" <<<"$installed"; then
      log "adding rustup component $component"
      rustup component add "$component"
    fi
  done
fi
# zip for Lambda artifacts; python3-venv for the project's Python tools.
missing_apt=()
command -v zip >/dev/null 2>&1 || missing_apt+=(zip)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || missing_apt+=(python3-venv)
if [ ${#missing_apt[@]} -gt 0 ]; then
  log "installing ${missing_apt[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing_apt[@]}" >/dev/null
fi

# cargo-lambda (brings zig) in the project's venv, for `make package`.
if [ "${1:-}" = "--lambda" ]; then
  venv="$(cd "$(dirname "$0")/.." && pwd)/.local/venv"
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  if ! "$venv/bin/cargo-lambda" lambda --version 2>/dev/null | grep -q "1.9.2"; then
    log "installing cargo-lambda 1.9.2 into $venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "cargo-lambda==1.9.2"
  fi
fi
# qemu-user and the aarch64 glibc, for the arm64 package run locally
# (`make up FUNCTIONS=package`, `make test-package`).
if [ "${1:-}" = "--qemu" ] && { ! command -v qemu-aarch64 >/dev/null 2>&1 || [ ! -e /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1 ]; }; then
  log "installing qemu-user and libc6-arm64-cross"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-user libc6-arm64-cross >/dev/null
fi
log "ok: $(cargo --version)"
