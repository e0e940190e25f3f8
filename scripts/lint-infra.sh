#!/usr/bin/env bash
# Offline validation of infra/template.yaml:
#   1. cfn-lint (pinned 1.53.x, the last line with the SAM transform) on the template;
#   2. cfn-lint on its SAM-expanded form (plain CloudFormation: IAM action names,
#      generated roles, event source mappings);
#   3. the consistency check against the code and SPEC (infra/tools/check_template.py).
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
expanded=$(mktemp --suffix=.json)
trap 'rm -f "$expanded"' EXIT
"$venv/bin/cfn-lint" --version
"$venv/bin/cfn-lint" infra/template.yaml
echo "cfn-lint: infra/template.yaml: no errors, no warnings"
"$venv/bin/python" infra/tools/expand_template.py infra/template.yaml "$expanded" >/dev/null
"$venv/bin/cfn-lint" "$expanded"
echo "cfn-lint: SAM-expanded template: no errors, no warnings"
"$venv/bin/python" infra/tools/check_template.py
