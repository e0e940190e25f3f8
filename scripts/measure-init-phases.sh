#!/usr/bin/env bash
# Where an API function's init goes: runs the release build of
# crates/handlers/examples/init_phases.rs (place-order's main, phase by
# phase) in RUNS fresh processes against the AWS emulator and prints the
# median of each phase in microseconds. The emulators this script starts
# it stops (by PID); ones already answering are used as they are.
#
#   scripts/measure-init-phases.sh            # RUNS=15
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-15}
owned=.local/run/init-phases.owned
cargo build --release --locked -p foodstream-handlers --example init_phases
target=$(cargo metadata --format-version 1 --no-deps --locked | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
scripts/emulators.sh up --owned "$owned"
trap 'scripts/emulators.sh down --owned "$owned"' EXIT
out=$(mktemp)
trap 'scripts/emulators.sh down --owned "$owned"; rm -f "$out"' EXIT
for _ in $(seq "$runs"); do
  env AWS_ENDPOINT_URL=http://127.0.0.1:4566 AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test \
    ORDERS_TABLE=init-phases-orders CATALOG_TABLE=init-phases-catalog IDEMPOTENCY_TABLE=init-phases-keys \
    RUST_LOG=off "$target/release/examples/init_phases" >>"$out"
done
python3 - "$out" "$runs" <<'PY'
import statistics, sys
phases = {}
for line in open(sys.argv[1]):
    name, micros = line.split()
    phases.setdefault(name, []).append(int(micros))
init = ["logging", "aws_config", "dynamodb_client", "adapters"]
total = sum(statistics.median(phases[p]) for p in init)
print(f"\nmedian of {sys.argv[2]} fresh processes (us):")
for name, values in phases.items():
    share = f"{statistics.median(values) / total:6.1%} of init" if name in init else "(not init)"
    print(f"  {name:16} {statistics.median(values):8.0f}  {share}")
print(f"  {'init in main':16} {total:8.0f}")
PY
