#!/usr/bin/env bash
# make bench: the figures, each next to its floor or ceiling.
#   1. criterion: a Kafka batch decoded and handled, and an API request
#      handled, with the in-memory adapters, next to plain serde_json parsing;
#   2. the release binaries on the local stack (foodstream-harness bench):
#      cold starts next to a hello-world lambda_runtime binary, the emulators'
#      ceilings, then for each batching profile of the template (low latency,
#      economical) the end-to-end load and its cost per million orders;
#      then it writes the run's SVG charts (latency CDFs, cost per million
#      by service, cold starts, throughput search) and run.txt (the run's
#      UTC date and settings) to BENCH_PLOTS_DIR, one `chart: <path>` line
#      each;
#   3. one last line, `bench-summary: {...}`: every figure as JSON, with its
#      floor or ceiling and the machine.
# Settings: BENCH_SECONDS (20, per profile), BENCH_CONCURRENCY (8),
# BENCH_RATE (orders/s offered, 5), BENCH_PLOTS_DIR (docs/bench, relative
# to the repository's root, where this script runs). Starts the emulators
# it needs and stops what it started. The first run builds release binaries
# (about 10 minutes on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
owned=.local/run/bench.owned
target=$(cargo metadata --format-version 1 --no-deps --locked | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')

echo "== criterion (release profile, in-memory adapters)"
cargo bench --locked -p foodstream-handlers --bench handlers -- --warm-up-time 1 --measurement-time 3 \
  | grep -E "^(kafka|API)|time:|thrpt:" || true
summary_dir=$(mktemp -d)
trap 'rm -rf "$summary_dir"' EXIT
python3 - "$target/criterion" "$summary_dir/criterion.json" <<'PY'
import json, os, sys
root = sys.argv[1]
figures = []
def mean_ns(group, bench):
    path = os.path.join(root, group, bench, "new", "estimates.json")
    return json.load(open(path))["mean"]["point_estimate"]
rows = [
    ("kafka batch of 100 order events", "notifier_ decode + handle (in-memory adapters)", "floor_ serde_json parse of the batch", 100, "records"),
    ("API request POST _orders", "place-order_ decode + handle (in-memory adapters)", "floor_ serde_json parse of the request event", 1, "requests"),
]
print()
for group, bench, floor, n, unit in rows:
    ours, base = mean_ns(group, bench), mean_ns(group, floor)
    print(f"{group.replace('_', '/')}: {n / ours * 1e9:,.0f} {unit}/s handled, "
          f"{n / base * 1e9:,.0f} {unit}/s parsed by serde_json alone: x{ours / base:.1f} the floor's time "
          f"({ours / 1000:.1f} us vs {base / 1000:.1f} us)")
    figures.append({"what": group.replace('_', '/'), f"{unit}_per_s": n / ours * 1e9,
                     f"floor_{unit}_per_s": n / base * 1e9, "x_floor": ours / base})
json.dump(figures, open(sys.argv[2], "w"))
PY

echo
echo "== building the release binaries (functions, hello-lambda, the stack)"
packages=(-p lambda-floor -p foodstream-harness)
for dir in functions/*/; do packages+=(-p "$(basename "$dir")"); done
cargo build --release --locked --bins "${packages[@]}"

scripts/emulators.sh up --owned "$owned"
trap 'scripts/emulators.sh down --owned "$owned"; rm -rf "$summary_dir"' EXIT
"$target/release/foodstream-harness" bench --bin-dir "$target/release" \
  --seconds "${BENCH_SECONDS:-20}" --concurrency "${BENCH_CONCURRENCY:-8}" --rate "${BENCH_RATE:-5}" \
  --summary-json "$summary_dir/stack.json" --plots-dir "${BENCH_PLOTS_DIR:-docs/bench}"

# One line with every figure, its floor or ceiling, and the machine.
python3 - "$summary_dir" <<'PY'
import json, os, sys
d = sys.argv[1]
summary = json.load(open(os.path.join(d, "stack.json")))
summary["handlers"] = json.load(open(os.path.join(d, "criterion.json")))
print()
print("bench-summary: " + json.dumps(summary, separators=(",", ":")))
PY
