#!/usr/bin/env bash
# Keeps docs/rules.md true: a row for every SPEC section 2 rule (1-14), every
# test it names exists where it says, and every `rule_` test is listed.
set -euo pipefail
cd "$(dirname "$0")/.."
table=docs/rules.md
status=0

for rule in $(seq 1 14); do
  if ! grep -qE "^\| ${rule} \| .*\`rule_" "$table"; then
    echo "docs/rules.md: rule ${rule} has no row naming a test" >&2
    status=1
  fi
done

# Every `path`: `test` pair in the table points at a real test function.
while IFS=$'\t' read -r path test; do
  if [ ! -f "$path" ] || ! grep -qE "fn ${test}\(" "$path"; then
    echo "docs/rules.md: ${test} not found in ${path}" >&2
    status=1
  fi
done < <(grep -oE '`[^`]+\.rs`: `[a-z0-9_]+`' "$table" | sed -E 's/`([^`]+)`: `([^`]+)`/\1\t\2/')

# Every rule_ test in the code is in the table.
while IFS=: read -r path test; do
  if ! grep -qF "\`${path}\`: \`${test}\`" "$table"; then
    echo "docs/rules.md: ${path}: ${test} is not listed" >&2
    status=1
  fi
done < <(grep -roE 'fn rule_[a-z0-9_]+' crates --include='*.rs' | sed -E 's/:fn /:/')

if [ "$status" -eq 0 ]; then
  echo "docs/rules.md: every rule 1-14 is mapped to existing tests"
fi
exit "$status"
