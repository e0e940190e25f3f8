"""Writes the deployable form of infra/template.yaml for the zips `make package` built.

Every function's CodeUri becomes its zip (`<function>.zip`, next to the written
template), its cargo-lambda build metadata goes (there is nothing left to build:
`sam deploy` uploads the zips as they are), and every function's architecture is
the one the zips were built for. Written as JSON (CloudFormation reads either),
from cfn-lint's parser, so the short-form tags come out as their long forms.

usage: python package_template.py infra/template.yaml dist/arm64/template.json arm64
"""

import json
import sys
from pathlib import Path

from cfnlint.decode import decode

ARCHITECTURES = {"arm64": "arm64", "x86_64": "x86_64"}


def main() -> int:
    source, target, arch = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
    if arch not in ARCHITECTURES:
        print(f"unknown architecture {arch}: arm64 or x86_64", file=sys.stderr)
        return 2
    template, matches = decode(source)
    if matches:
        for match in matches:
            print(match, file=sys.stderr)
        return 1
    globals_ = template.get("Globals", {}).get("Function", {})
    globals_.pop("CodeUri", None)
    globals_["Architectures"] = [ARCHITECTURES[arch]]
    missing = []
    for logical, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        binary = resource.get("Metadata", {}).get("BuildProperties", {}).get("Binary")
        resource.pop("Metadata", None)
        zip_name = f"{binary}.zip"
        if not (target.parent / zip_name).is_file():
            missing.append(zip_name)
        resource["Properties"]["CodeUri"] = zip_name
        resource["Properties"].pop("Architectures", None)
    if missing:
        print(f"no zip for {', '.join(missing)} in {target.parent}", file=sys.stderr)
        return 1
    target.write_text(json.dumps(template, indent=1, default=str), encoding="utf-8")
    print(f"packaged template: {target} ({arch}, CodeUri = the zips beside it)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
