#!/usr/bin/env bash
# Builds every function with `cargo lambda build --release` into
# target/lambda/<function>/bootstrap(.zip), for x86_64 and, when the
# aarch64 target can be installed, arm64 (what the template deploys).
# Prints each binary's and zip's size.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-tools.sh --lambda
export PATH="$PWD/.local/venv/bin:$PATH"
target_dir=${CARGO_TARGET_DIR:-target}

sizes() { # arch dir
  printf '%-24s %10s %10s  (%s)\n' function binary zip "$1"
  for dir in "$2"/*/; do
    name=$(basename "$dir")
    [ -f "$dir/bootstrap" ] || continue
    (cd "$dir" && rm -f bootstrap.zip && zip -q -9 bootstrap.zip bootstrap)
    printf '%-24s %10s %10s\n' "$name" "$(stat -c %s "$dir/bootstrap")" "$(stat -c %s "$dir/bootstrap.zip")"
  done
}

# Only the function packages (the workspace has other binaries: the local stack's).
packages=()
for dir in functions/*/; do packages+=(--package "$(basename "$dir")"); done

cargo lambda build --release --x86-64 "${packages[@]}" --lambda-dir "$target_dir/lambda/x86_64"
sizes x86_64 "$target_dir/lambda/x86_64"

# librdkafka builds with its own configure/make, which reads CC and CXX and
# knows nothing of cargo's target: give it zig (from cargo-lambda's venv) as
# the aarch64 C and C++ compiler, keeping the host compilers for build
# scripts. lld refuses librdkafka's version script for the shared library it
# also builds (only the static one is linked): relax that one check.
zig_wrapper() { # name zig-command
  cat >".local/bin/$1" <<WRAPPER
#!/usr/bin/env bash
extra=()
for arg in "\$@"; do [ "\$arg" = "-shared" ] && extra=(-Wl,--undefined-version); done
exec "$PWD/.local/venv/bin/python" -m ziglang $2 -target aarch64-linux-gnu.2.17 "\$@" "\${extra[@]}"
WRAPPER
  chmod +x ".local/bin/$1"
}
mkdir -p .local/bin
zig_wrapper zigcc-aarch64 cc
zig_wrapper zigcxx-aarch64 c++

if rustup target add aarch64-unknown-linux-gnu >/dev/null 2>&1; then
  if env CC="$PWD/.local/bin/zigcc-aarch64" CXX="$PWD/.local/bin/zigcxx-aarch64" \
      HOST_CC=cc HOST_CXX=c++ CC_x86_64_unknown_linux_gnu=cc CXX_x86_64_unknown_linux_gnu=c++ \
      cargo lambda build --release --arm64 "${packages[@]}" --lambda-dir "$target_dir/lambda/arm64"; then
    sizes arm64 "$target_dir/lambda/arm64"
  else
    echo "arm64 build failed (see above); x86_64 artifacts are ready" >&2
    exit 1
  fi
else
  echo "the aarch64-unknown-linux-gnu target could not be installed: arm64 skipped" >&2
fi
