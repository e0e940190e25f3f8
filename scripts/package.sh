#!/usr/bin/env bash
# make package: every function built once, for provided.al2023 on ARCH
# (arm64, what the template deploys; ARCH=x86_64 for the other), with cargo
# lambda and the workspace's release profile. Writes dist/<arch>/:
#   <function>.zip   the artefact `make deploy` uploads (a `bootstrap` at its root)
#   bin/<function>   the same bootstrap taken back out of the zip, for
#                    `make up FUNCTIONS=package` (under qemu-aarch64 for arm64)
#   template.json    the deployable template: CodeUri = the zips, no build step left
# then checks each bootstrap (the architecture, linked only to glibc at a
# version provided.al2023 has: 2.34 at most), lints the packaged template on
# both forms with the pinned cfn-lint, and prints every zip's size. Offline.
set -euo pipefail
cd "$(dirname "$0")/.."
arch=${ARCH:-arm64}
case "$arch" in
  arm64) cargo_flag=--arm64; elf_machine=AArch64 ;;
  x86_64) cargo_flag=--x86-64; elf_machine="X86-64" ;;
  *) echo "ARCH must be arm64 or x86_64, not $arch" >&2; exit 2 ;;
esac
scripts/install-tools.sh --lambda
export PATH="$PWD/.local/venv/bin:$PATH"
target_dir=${CARGO_TARGET_DIR:-target}
# PACKAGE_OUT: another output folder (scripts/measure-release-profiles.sh).
out=${PACKAGE_OUT:-dist/$arch}
log() { printf '[package] %s\n' "$*" >&2; }

packages=()
for dir in functions/*/; do packages+=(--package "$(basename "$dir")"); done

build_env=()
if [ "$arch" = arm64 ]; then
  rustup target add aarch64-unknown-linux-gnu >/dev/null
  # librdkafka builds with its own configure/make, which reads CC and CXX
  # and knows nothing of cargo's target: zig (from cargo-lambda's venv) is
  # the aarch64 C and C++ compiler, the host compilers stay for build
  # scripts. lld refuses librdkafka's version script for the shared library
  # it also builds (only the static one is linked): relax that one check.
  mkdir -p .local/bin
  for tool in "zigcc-aarch64 cc" "zigcxx-aarch64 c++"; do
    set -- $tool
    cat >".local/bin/$1" <<WRAPPER
#!/usr/bin/env bash
extra=()
for arg in "\$@"; do [ "\$arg" = "-shared" ] && extra=(-Wl,--undefined-version); done
exec "$PWD/.local/venv/bin/python" -m ziglang $2 -target aarch64-linux-gnu.2.17 "\$@" "\${extra[@]}"
WRAPPER
    chmod +x ".local/bin/$1"
  done
  build_env=(CC="$PWD/.local/bin/zigcc-aarch64" CXX="$PWD/.local/bin/zigcxx-aarch64"
    HOST_CC=cc HOST_CXX=c++ CC_x86_64_unknown_linux_gnu=cc CXX_x86_64_unknown_linux_gnu=c++)
fi

log "building $((${#packages[@]} / 2)) functions for $arch (release; the first build takes a long while)"
timing=$(mktemp)
# Wall and CPU seconds of the build, the CPU figure being what stays
# comparable when something else runs on the machine.
python3 - "$timing" env "${build_env[@]}" cargo lambda build --release "$cargo_flag" "${packages[@]}" \
  --lambda-dir "$target_dir/lambda/$arch" <<'TIMED'
import json, resource, subprocess, sys, time
started = time.monotonic()
status = subprocess.call(sys.argv[2:])
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
json.dump({"wall_seconds": round(time.monotonic() - started), "cpu_seconds": round(usage.ru_utime + usage.ru_stime)},
          open(sys.argv[1], "w"))
sys.exit(status)
TIMED
log "built: $(cat "$timing") (wall and CPU seconds)"

rm -rf "$out"
mkdir -p "$out/bin"
mv "$timing" "$out/build.json"  # this build's times (cold or not), for the profile table
printf '%-24s %12s %12s\n' function bootstrap zip
for dir in functions/*/; do
  name=$(basename "$dir")
  bootstrap="$target_dir/lambda/$arch/$name/bootstrap"
  [ -f "$bootstrap" ] || { echo "no bootstrap for $name at $bootstrap" >&2; exit 1; }
  (cd "$(dirname "$bootstrap")" && rm -f bootstrap.zip && zip -q -X -9 bootstrap.zip bootstrap)
  mv "$(dirname "$bootstrap")/bootstrap.zip" "$out/$name.zip"
  unzip -p "$out/$name.zip" bootstrap >"$out/bin/$name"
  chmod +x "$out/bin/$name"
  printf '%-24s %12s %12s\n' "$name" "$(stat -c %s "$out/bin/$name")" "$(stat -c %s "$out/$name.zip")"
done

# What provided.al2023 can run: the right machine, glibc and nothing else.
python3 - "$out/bin" "$elf_machine" <<'CHECK'
import re, subprocess, sys
from pathlib import Path
bin_dir, machine = Path(sys.argv[1]), sys.argv[2]
glibc = {"libc.so.6", "libm.so.6", "libpthread.so.0", "libdl.so.2", "librt.so.1", "libgcc_s.so.1",
         "ld-linux-aarch64.so.1", "ld-linux-x86-64.so.2"}
bad = []
for binary in sorted(bin_dir.iterdir()):
    header = subprocess.run(["readelf", "-h", binary], capture_output=True, text=True, check=True).stdout
    if machine not in header:
        bad.append(f"{binary.name}: not {machine}")
    dynamic = subprocess.run(["readelf", "-d", binary], capture_output=True, text=True, check=True).stdout
    needed = set(re.findall(r"Shared library: \[([^\]]+)\]", dynamic))
    if needed - glibc:
        bad.append(f"{binary.name}: links {sorted(needed - glibc)}")
    # Lambda's deployment package limits: 50 MB zipped for an upload, 250 MB unzipped.
    zipped = bin_dir.parent / f"{binary.name}.zip"
    if zipped.exists() and zipped.stat().st_size > 50 * 1024 * 1024:
        bad.append(f"{binary.name}: {zipped.stat().st_size} bytes zipped, over Lambda's 50 MB")
    if binary.stat().st_size > 250 * 1024 * 1024:
        bad.append(f"{binary.name}: {binary.stat().st_size} bytes unzipped, over Lambda's 250 MB")
    symbols = subprocess.run(["readelf", "--dyn-syms", "-W", binary], capture_output=True, text=True, check=True).stdout
    versions = {tuple(int(p) for p in v.split(".")) for v in re.findall(r"GLIBC_([0-9.]+)", symbols)}
    if versions and max(versions) > (2, 34):
        bad.append(f"{binary.name}: needs glibc {'.'.join(map(str, max(versions)))} (provided.al2023 has 2.34)")
if bad:
    print("\n".join(bad), file=sys.stderr)
    sys.exit(1)
print(f"[package] {len(list(bin_dir.iterdir()))} bootstraps: {machine}, glibc only, at most GLIBC_2.34, within Lambda's size limits")
CHECK

# The deployable template, linted like the source one (both forms).
scripts/lint-infra.sh --tools-only
cfn=.local/cfn-venv/bin
"$cfn/python" infra/tools/package_template.py infra/template.yaml "$out/template.json" "$arch"
expanded=$(mktemp --suffix=.json)
trap 'rm -f "$expanded"' EXIT
"$cfn/cfn-lint" "$out/template.json"
"$cfn/python" infra/tools/expand_template.py "$out/template.json" "$expanded" >/dev/null
"$cfn/cfn-lint" "$expanded"
log "packaged template lint-clean on both forms; zips: $out/*.zip ($(du -ch "$out"/*.zip | tail -1 | cut -f1) in all; the bootstraps taken out of them are in $out/bin)"
