#!/usr/bin/env bash
# What each release-profile setting buys and costs, for docs/performance.md:
# every candidate is a cold `make package` (arm64, the 21 functions) in its
# own target folder, with the profile changed through cargo's
# CARGO_PROFILE_RELEASE_* variables, then the cold starts of its bootstraps
# under qemu-aarch64 next to a hello-world built the same way.
#
#   scripts/measure-release-profiles.sh build [candidate...]   the cold builds (about 15-25 min each on 2 cores)
#   scripts/measure-release-profiles.sh measure [candidate...] cold starts under qemu (needs the emulators up)
#   scripts/measure-release-profiles.sh table                  the markdown table from what was measured
#
# Results go to .local/profiles/<candidate>/ (git-ignored). Build times are
# printed as wall and CPU seconds: the CPU figure stays comparable when the
# machine is doing something else at the same time.
set -euo pipefail
cd "$(dirname "$0")/.."
base=${PROFILES_DIR:-$PWD/.local/profiles}
export PATH="$PWD/.local/venv/bin:$PATH"  # cargo-lambda and its zig

# name | settings (cargo profile variables, space-separated) | what it is
candidates=(
  "thin-cgu1|LTO=thin CODEGEN_UNITS=1|thin LTO, one codegen unit (the profile until 2026-11-29)"
  "shipped||the workspace's [profile.release]: cargo's defaults, stripped"
  "thin-cgu16|LTO=thin CODEGEN_UNITS=16|thin LTO with 16 codegen units"
  "size|LTO=thin CODEGEN_UNITS=1 OPT_LEVEL=s|thin LTO, one codegen unit, opt-level \"s\""
)

settings_of() {
  local entry
  for entry in "${candidates[@]}"; do
    IFS='|' read -r name settings _ <<<"$entry"
    [ "$name" = "$1" ] && { echo "$settings"; return; }
  done
  echo "unknown candidate: $1" >&2
  exit 2
}

selected() {
  if [ $# -gt 0 ]; then printf '%s\n' "$@"; else
    for entry in "${candidates[@]}"; do echo "${entry%%|*}"; done
  fi
}

build() {
  local name settings overrides=()
  for name in $(selected "$@"); do
    settings=$(settings_of "$name")
    for setting in $settings; do overrides+=("CARGO_PROFILE_RELEASE_$setting"); done
    echo "== $name: ${settings:-as shipped}"
    rm -rf "${base:?}/$name"
    mkdir -p "$base/$name"
    env "${overrides[@]}" CARGO_TARGET_DIR="$base/$name/target" PACKAGE_OUT="$base/$name/dist" ARCH=arm64 \
      scripts/package.sh >"$base/$name/package.log" 2>&1
    # The floor, built with the same profile (its dependencies are a subset).
    env "${overrides[@]}" CARGO_TARGET_DIR="$base/$name/target" cargo lambda build \
      --release --arm64 -p lambda-floor --lambda-dir "$base/$name/target/lambda/arm64" >>"$base/$name/package.log" 2>&1
    cp "$base/$name/target/lambda/arm64/hello-lambda/bootstrap" "$base/$name/dist/bin/hello-lambda"
    cat "$base/$name/dist/build.json"
    # Only the artefacts are kept: a release target folder is several GB.
    rm -rf "$base/$name/target"
    overrides=()
  done
}

measure() {
  local name
  cargo build --locked -p foodstream-harness --bin foodstream-harness
  local target
  target=$(cargo metadata --format-version 1 --no-deps --locked | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
  for name in $(selected "$@"); do
    [ -f "$base/$name/dist/build.json" ] || { echo "$name: not built yet" >&2; continue; }
    echo "== $name"
    "$target/debug/foodstream-harness" bench --bin-dir "$base/$name/dist/bin" --cold-starts-only \
      --launcher "qemu-aarch64 -L /usr/aarch64-linux-gnu" --json "$base/$name/cold-starts.json"
  done
}

table() {
  python3 - "$base" "${candidates[@]}" <<'PY'
import json, os, statistics, sys
base, candidates = sys.argv[1], [c.split("|") for c in sys.argv[2:]]
print("| profile | settings | cold build, wall / CPU | the 22 zips | median init (x floor) | median first call | median warm call |")
print("|---|---|---|---|---|---|---|")
for name, settings, what in candidates:
    folder = os.path.join(base, name)
    try:
        build = json.load(open(os.path.join(folder, "dist", "build.json")))
    except FileNotFoundError:
        continue
    zips = sum(os.path.getsize(os.path.join(folder, "dist", f)) for f in os.listdir(os.path.join(folder, "dist")) if f.endswith(".zip"))
    try:
        cold = json.load(open(os.path.join(folder, "cold-starts.json")))
        rows = cold["functions"]
        init = statistics.median(r["init_ms"] for r in rows)
        first = statistics.median(r["first_ms"] for r in rows)
        warm = statistics.median(r["warm_ms"] for r in rows)
        starts = f"{init:.1f} ms (x{init / cold['floor']['init_ms']:.1f}) | {first:.1f} ms | {warm:.1f} ms"
    except FileNotFoundError:
        starts = "not measured | | "
    label = ", ".join(f"{k.lower().replace('_', '-')} = {v.lower()}" for k, v in (p.split("=") for p in settings.split())) \
        if settings else "Cargo.toml: lto = false, codegen-units = 16, opt-level = 3"
    print(f"| {name} ({what}) | {label} | {build['wall_seconds'] / 60:.1f} / {build['cpu_seconds'] / 60:.1f} min | "
          f"{zips / 1e6:.1f} MB | {starts} |")
PY
}

command=${1:-}
shift || true
case "$command" in
  build) build "$@" ;;
  measure) measure "$@" ;;
  table) table ;;
  *) sed -n 2,14p "$0"; exit 2 ;;
esac
