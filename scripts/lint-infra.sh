#!/usr/bin/env bash
# Offline validation of infra/template.yaml:
#   1. cfn-lint (pinned 1.53.x, the last line with the SAM transform) on the template;
#   2. cfn-lint on its SAM-expanded form (plain CloudFormation: IAM action names,
#      generated roles, event source mappings);
#   3. the consistency check against SPEC (infra/tools/check_template.py; the
#      code side is crates/local/tests/wiring.rs and crates/template/tests/sources.rs,
#      run by make test);
#   4. checkov (pinned), the IaC security scanner, on the SAM-expanded form;
#   5. the static check of the compose file: Redpanda, LocalStack opt-in (infra/tools/check_compose.py).
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
# `--tools-only`: install the pinned cfn-lint and stop (scripts/package.sh lints
# its own template with it, and needs no scanner).
[ "${1:-}" = "--tools-only" ] && exit 0
# checkov in a venv of its own: its dependencies would otherwise move cfn-lint's.
checkov_venv=.local/checkov-venv
CHECKOV_VERSION="3.3.30"
if [ ! -x "$checkov_venv/bin/checkov" ] || [ "$("$checkov_venv/bin/checkov" --version 2>/dev/null)" != "$CHECKOV_VERSION" ]; then
  echo "[lint-infra] installing checkov==$CHECKOV_VERSION into $checkov_venv" >&2
  python3 -m venv "$checkov_venv"
  "$checkov_venv/bin/pip" install --quiet --disable-pip-version-check "checkov==$CHECKOV_VERSION"
fi
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

# checkov on the SAM-expanded form only. Every check it runs on the template
# itself (AWS::Serverless::Function, AWS::Serverless::HttpApi) it also runs on
# the expanded form, on the resources SAM makes of them, with the same
# properties (Globals merged in, which it cannot see in the SAM form) and the
# same Metadata (SAM copies a function's Metadata to its AWS::Lambda::Function,
# not to its role):
# the expanded form adds the generated roles, permissions, event source mappings
# and API stage. A pass on the template itself would find nothing more.
# Findings are fixed in the template or skipped, with the reason, in the
# resource's Metadata (checkov: skip:); no check is skipped here (docs/infra.md,
# "Security posture"). Offline: no download from Prisma Cloud, no update check.
"$checkov_venv/bin/checkov" --version
report=$(CKV_SKIP_PACKAGE_UPDATE_CHECK=true "$checkov_venv/bin/checkov" --file "$expanded" \
  --framework cloudformation --skip-download --compact --quiet) || { echo "$report"; exit 1; }
echo "$report" | sed '/^$/d'
# A file checkov did not read as a template gives no results and exit 0.
if ! grep -Eq 'Passed checks: [1-9][0-9]*, Failed checks: 0,' <<<"$report"; then
  echo "checkov: no checks ran on the SAM-expanded template" >&2
  exit 1
fi
echo "checkov: SAM-expanded template: no failed checks"

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
