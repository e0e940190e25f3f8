#!/usr/bin/env bash
# Fails when a crate of the workspace declares a dependency it never uses
# (cargo-machete, installed by `scripts/install-tools.sh --machete`), and
# when cargo-machete cannot read a manifest: it reports that and still
# exits 0, which would pass the check without checking.
set -euo pipefail
cd "$(dirname "$0")/.."
machete=.local/cargo-tools/bin/cargo-machete
[ -x "$machete" ] || { echo "check-unused-deps: $machete missing: run scripts/install-tools.sh --machete" >&2; exit 1; }
status=0
out=$("$machete" 2>&1) || status=$?
printf '%s\n' "$out"
if grep -q "^error when handling " <<<"$out"; then
  echo "check-unused-deps: cargo-machete could not read every manifest" >&2
  exit 1
fi
exit "$status"
