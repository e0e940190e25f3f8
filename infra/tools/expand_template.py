"""Writes the SAM-expanded (plain CloudFormation) form of a template, offline.

Uses cfn-lint's own SAM transform (aws-sam-translator with the bundled managed
policy map, local CodeUri values replaced), so the expanded form is exactly what
cfn-lint lints internally, written out so a second cfn-lint pass can check it
as plain CloudFormation, IAM action names included.

usage: python expand_template.py infra/template.yaml out.json
"""

import json
import sys

from cfnlint.decode import decode
from cfnlint.template.transforms._sam import Transform


def main() -> int:
    source, target = sys.argv[1], sys.argv[2]
    template, matches = decode(source)
    if matches:
        for match in matches:
            print(match, file=sys.stderr)
        return 1
    transform = Transform(source, template, "us-east-1")
    problems = transform.transform_template()
    if problems:
        for problem in problems:
            print(problem, file=sys.stderr)
        return 1
    expanded = transform.template()
    with open(target, "w", encoding="utf-8") as out:
        json.dump(expanded, out, indent=1, sort_keys=True, default=str)
    resources = expanded.get("Resources", {})
    kinds = {}
    for resource in resources.values():
        kinds[resource["Type"]] = kinds.get(resource["Type"], 0) + 1
    print(f"expanded {source}: {len(resources)} resources -> {target}")
    for kind in sorted(kinds):
        print(f"  {kinds[kind]:3d} {kind}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
