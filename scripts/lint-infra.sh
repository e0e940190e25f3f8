#!/usr/bin/env bash
# Offline validation of infra/template.yaml:
#   1. cfn-lint (pinned 1.53.x, the last line with the SAM transform) on the template;
#   2. cfn-lint on its SAM-expanded form (plain CloudFormation: IAM action names,
#      generated roles, event source mappings);
#   3. the consistency check against SPEC (infra/tools/check_template.py; the
#      code side is crates/local/tests/wiring.rs, run by make test);
#   4. the static check of the compose file: Redpanda, LocalStack opt-in (infra/tools/check_compose.py).
# Zero errors and zero warnings; a suppressed rule is explained where it is suppressed.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.local/cfn-venv
CFN_LINT_VERSION="1.53.3"
if [ ! -x "$venv/bin/cfn-lint" ] || ! "$venv/bin/cfn-lint" --version | grep -q "$CFN_LINT_VERSION"; then
  echo "[lint-infra] installing cfn-lint==$CFN_LINT_VERSION into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "cfn-lint==$CFN_LINT_VERSION"
fi
# `--tools-only`: install the pinned cfn-lint and stop (scripts/package.sh lints its own template).
[ "${1:-}" = "--tools-only" ] && exit 0
expanded=$(mktemp --suffix=.json)
trap 'rm -f "$expanded"' EXIT
"$venv/bin/cfn-lint" --version
"$venv/bin/cfn-lint" infra/template.yaml
echo "cfn-lint: infra/template.yaml: no errors, no warnings"
"$venv/bin/python" infra/tools/expand_template.py infra/template.yaml "$expanded" >/dev/null
"$venv/bin/cfn-lint" "$expanded"
echo "cfn-lint: SAM-expanded template: no errors, no warnings"
"$venv/bin/python" infra/tools/check_template.py
"$venv/bin/python" infra/tools/check_template.py --self-test

# The compose file (Redpanda; LocalStack opt-in): pinned images, loopback ports,
# health checks. The checker must also refuse a broken file, or it proves nothing.
"$venv/bin/python" infra/tools/check_compose.py infra/local/compose.yaml
broken=$(mktemp --suffix=.yaml)
trap 'rm -f "$expanded" "$broken"' EXIT
sed -e 's/"127.0.0.1:9092:9092"/"9092:9092"/' -e 's/redpanda:v24.3.11/redpanda:latest/' infra/local/compose.yaml >"$broken"
if "$venv/bin/python" infra/tools/check_compose.py "$broken" 2>/dev/null; then
  echo "check_compose.py accepted a compose file with a port on every address and an unpinned image" >&2
  exit 1
fi
