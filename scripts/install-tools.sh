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

# Rust toolchain with rustfmt and clippy: the channel rust-toolchain.toml
# pins (the tested toolchain); the minimum is Cargo.toml's rust-version.
repo=$(cd "$(dirname "$0")/.." && pwd)
channel=$(sed -n 's/^[[:space:]]*channel[[:space:]]*=[[:space:]]*"\([^"]*\)".*/\1/p' "$repo/rust-toolchain.toml" | head -n 1)
msrv=$(sed -n 's/^[[:space:]]*rust-version[[:space:]]*=[[:space:]]*"\([^"]*\)".*/\1/p' "$repo/Cargo.toml" | head -n 1)
: "${channel:?no channel in rust-toolchain.toml}" "${msrv:?no rust-version in Cargo.toml}"

# Whether version $1 is at least $2 (numerically: 1.94 is 1.94.0 < 1.94.1).
version_at_least() { [ "$(printf '%s\n' "$2" "$1" | sort -V | head -n 1)" = "$2" ]; }
# The version a rustc binary reports: "rustc 1.95.0 (59807616e 2026-04-14)" -> 1.95.0.
rustc_version() { { "$1" --version 2>/dev/null || true; } | awk '{print $2}' | sed 's/-.*//'; }

# Inside the repo every cargo, rustc and rustup command goes through rustup's
# proxy, which reads rust-toolchain.toml and tries to download a channel that
# is missing (and fails on a machine that cannot download). So the pinned
# channel is made to exist first: an installed toolchain of exactly that
# version (stable, most often) is linked under the channel's name, else the
# channel is installed. rustup's own `toolchain link` refuses a release
# channel's name ("invalid custom toolchain name"), so the matching
# toolchain is copied under the channel's name in rustup's toolchains
# directory, as hard links (no space taken, and a later `rustup update` of
# the original, which writes new files, leaves the copy as it was).
is_release() { # rustc channel: prints nothing, succeeds when rustc is exactly that release
  local out
  out=$("$1" --version 2>/dev/null) || return 1
  [[ "$out" == "rustc $2 ("* ]]
}
ensure_pinned_toolchain() {
  local home names name dir host
  home=${RUSTUP_HOME:-$HOME/.rustup}
  # From /: no rust-toolchain.toml there to redirect rustup.
  names=$(cd / && { rustup default 2>/dev/null || true; rustup toolchain list 2>/dev/null || true; } | awk '{print $1}')
  for name in $names; do
    if [ "$name" = "$channel" ] || [[ "$name" == "$channel"-* ]]; then
      if is_release "$home/toolchains/$name/bin/rustc" "$channel"; then
        return 0
      fi
      # A copy or link whose original went away, or that changed under it.
      log "toolchain $name is not rustc $channel any more: replacing it"
      rm -rf "${home:?}/toolchains/$name"
    fi
  done
  for name in $names; do
    dir="$home/toolchains/$name"
    if is_release "$dir/bin/rustc" "$channel"; then
      host=$("$dir/bin/rustc" -vV | sed -n 's/^host: //p')
      log "toolchain $channel (rust-toolchain.toml): $name is rustc $channel, copied (hard links) as $channel-$host"
      rm -rf "${home:?}/toolchains/$channel-$host"
      cp -al "$(readlink -f "$dir")" "$home/toolchains/$channel-$host"
      return 0
    fi
  done
  log "installing toolchain $channel (rust-toolchain.toml) with rustfmt and clippy"
  (cd / && rustup toolchain install "$channel" --profile minimal -c rustfmt -c clippy)
}

if ! command -v cargo >/dev/null 2>&1; then
  if [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
  else
    log "installing the Rust toolchain $channel with rustup"
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs \
      | sh -s -- -y --profile minimal --default-toolchain "$channel" -c rustfmt -c clippy
    export PATH="$HOME/.cargo/bin:$PATH"
  fi
fi
if command -v rustup >/dev/null 2>&1; then
  ensure_pinned_toolchain
else
  # A rustc without rustup (Debian's, say) ignores rust-toolchain.toml: it
  # must at least be the minimum the locked dependencies need.
  have=$(rustc_version rustc)
  if [ -z "$have" ] || ! version_at_least "$have" "$msrv"; then
    log "foodstream needs rustc >= $msrv (Cargo.toml rust-version); you have ${have:-no rustc};" \
      "install rustup: https://rustup.rs, then run make tools again" >&2
    exit 1
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

# cargo-machete, pinned, for `make lint` only: a dependency no crate uses fails it.
machete_root="$repo/.local/cargo-tools"
if [ "${1:-}" = "--machete" ] && ! "$machete_root/bin/cargo-machete" --version 2>/dev/null | grep -qx "0.9.2"; then
  log "installing cargo-machete 0.9.2 into $machete_root (compiles it: about two minutes)"
  cargo install --locked --version 0.9.2 --root "$machete_root" cargo-machete
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
