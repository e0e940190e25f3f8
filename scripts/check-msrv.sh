#!/usr/bin/env bash
# Holds the MSRV claim to the lockfile (make lint): Cargo.toml's
# `rust-version` ([workspace.package], taken by every member) must be
# exactly the highest `rust-version` among the packages Cargo.lock resolves
# to, outside the workspace: lower and the claim is false (a locked
# dependency would not build with it), higher and it claims more than
# needed. rust-toolchain.toml's channel (the tested toolchain) must be at
# least that. Runs cargo metadata offline on the lockfile as it is.
set -euo pipefail
cd "$(dirname "$0")/.."

metadata=$(mktemp)
trap 'rm -f "$metadata"' EXIT
cargo metadata --format-version 1 --locked --offline >"$metadata"

python3 - "$metadata" rust-toolchain.toml <<'EOF'
import json
import re
import sys


def version(text):
    """'1.94.1' -> (1, 94, 1); '1.88' -> (1, 88, 0): compared as numbers."""
    parts = [int(p) for p in text.strip().split("-")[0].split(".")]
    return tuple((parts + [0, 0, 0])[:3])


def verdict(members, dependencies, channel):
    """members: {name: rust_version or None}; dependencies: [(name, version,
    rust_version or None)] outside the workspace; channel: the toolchain's.
    Returns (ok, message)."""
    claims = set(members.values())
    if len(claims) != 1 or None in claims:
        odd = ", ".join(f"{n} {r or 'none'}" for n, r in sorted(members.items()))
        return False, (
            "msrv: every workspace member must take rust-version.workspace = true; found: " + odd
        )
    claim = claims.pop()
    declared = [(n, v, r) for n, v, r in dependencies if r]
    if not declared:
        return False, "msrv: no locked dependency declares a rust-version: nothing to check against"
    needed = max(version(r) for _, _, r in declared)
    needed_text = max((r for _, _, r in declared), key=version)
    at_max = sorted({f"{n} {r}" for n, _, r in declared if version(r) == needed})
    named = ", ".join(at_max[:3]) + (f" and {len(at_max) - 3} more" if len(at_max) > 3 else "")
    if version(claim) < needed:
        above = sorted({f"{n} {v} (rust-version {r})" for n, v, r in declared if version(r) > version(claim)})
        return False, (
            f"msrv: Cargo.toml says rust-version {claim}, but the lockfile needs more: "
            + "; ".join(above)
            + f". rust-version must be what the lockfile needs: {needed_text} ({named})"
        )
    if version(claim) > needed:
        return False, (
            f"msrv: Cargo.toml says rust-version {claim}, more than any locked dependency needs. "
            f"rust-version must be what the lockfile needs: {needed_text} ({named})"
        )
    if channel is None:
        return False, "msrv: no channel in rust-toolchain.toml"
    if re.fullmatch(r"\d+(\.\d+){0,2}", channel) and version(channel) < version(claim):
        return False, (
            f"msrv: rust-toolchain.toml's channel {channel} is older than rust-version {claim}: "
            "the tested toolchain must be able to build the workspace"
        )
    return True, f"msrv: rust-version {claim} = what the lockfile needs ({named}); toolchain {channel}"


def main(metadata_path, toolchain_path):
    with open(metadata_path) as f:
        metadata = json.load(f)
    member_ids = set(metadata["workspace_members"])
    resolved = {node["id"] for node in (metadata.get("resolve") or {}).get("nodes", [])}
    members, dependencies = {}, []
    for package in metadata["packages"]:
        if package["id"] in member_ids:
            members[package["name"]] = package.get("rust_version")
        elif not resolved or package["id"] in resolved:
            dependencies.append((package["name"], package["version"], package.get("rust_version")))
    with open(toolchain_path) as f:
        found = re.search(r'^\s*channel\s*=\s*"([^"]+)"', f.read(), re.M)
    ok, message = verdict(members, dependencies, found.group(1) if found else None)
    print(message, file=sys.stdout if ok else sys.stderr)
    return 0 if ok else 1


sys.exit(main(sys.argv[1], sys.argv[2]))
EOF
