#!/usr/bin/env bash
# Vendors the console's front-end assets into .local/vendor (git-ignored),
# once: Swagger UI's prebuilt bundle from the npm registry, pinned by
# version and checked against its registry checksum. The console serves
# them from disk: nothing is fetched when a page loads.
#
#   scripts/vendor-assets.sh          fetch what is missing (idempotent)
set -euo pipefail
cd "$(dirname "$0")/.."

SWAGGER_UI_VERSION=5.35.0
# `npm view swagger-ui-dist@5.35.0 dist.integrity`, the registry's own.
SWAGGER_UI_SHA512=U06rpMtW9V3XPGOBeamTUSr0Z09jMX4IJuANpE/EZbAhw0G8CgwrzU4YmXkn/h0wCDNsXdGarTNNHC3sU8yVUQ==
dir=.local/vendor/swagger-ui
files=(swagger-ui-bundle.js swagger-ui.css LICENSE NOTICE)

if [ -f "$dir/VERSION" ] && [ "$(cat "$dir/VERSION")" = "$SWAGGER_UI_VERSION" ]; then
  exit 0
fi
echo "[vendor-assets] Swagger UI $SWAGGER_UI_VERSION into $dir"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
registry=${NPM_CONFIG_REGISTRY:-https://registry.npmjs.org}
curl -sSfL --retry 3 -o "$work/ui.tgz" \
  "${registry%/}/swagger-ui-dist/-/swagger-ui-dist-$SWAGGER_UI_VERSION.tgz"
got=$(openssl dgst -sha512 -binary "$work/ui.tgz" | base64 -w0)
if [ "$got" != "$SWAGGER_UI_SHA512" ]; then
  echo "[vendor-assets] swagger-ui-dist $SWAGGER_UI_VERSION: checksum mismatch (got sha512-$got)" >&2
  exit 1
fi
tar -xzf "$work/ui.tgz" -C "$work" "${files[@]/#/package/}"
mkdir -p "$dir"
for f in "${files[@]}"; do cp "$work/package/$f" "$dir/$f"; done
echo "$SWAGGER_UI_VERSION" >"$dir/VERSION"
