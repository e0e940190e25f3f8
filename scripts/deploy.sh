#!/usr/bin/env bash
# make deploy / make destroy: deploys exactly what `make package` built (the
# arm64 zips and dist/arm64/template.json, which points at them) as one
# stack with the SAM CLI. Nothing is built here: what ships is what
# `make up FUNCTIONS=package` runs.
#   scripts/deploy.sh deploy    guided on the first run (writes infra/samconfig.toml), then repeatable
#   scripts/deploy.sh destroy   deletes the stack (tables and the photo bucket are retained: delete them by hand)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-tools.sh --lambda
venv=.local/venv
SAM_VERSION="1.170.0"
if ! "$venv/bin/sam" --version 2>/dev/null | grep -q "$SAM_VERSION"; then
  echo "[deploy] installing aws-sam-cli==$SAM_VERSION into $venv" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check "aws-sam-cli==$SAM_VERSION"
fi
export PATH="$PWD/$venv/bin:$PATH"
if ! aws_identity=$("$venv/bin/python" -c 'import boto3; print(boto3.client("sts").get_caller_identity()["Arn"])' 2>&1); then
  echo "[deploy] no AWS credentials: configure a profile or AWS_* variables first ($aws_identity)" >&2
  exit 1
fi
echo "[deploy] deploying as $aws_identity" >&2
config=infra/samconfig.toml
case "${1:-deploy}" in
  deploy)
    packaged=dist/arm64/template.json
    if [ ! -f "$packaged" ]; then
      echo "[deploy] no package yet: building it (make package)" >&2
      ARCH=arm64 scripts/package.sh
    fi
    if [ -f "$config" ]; then
      sam deploy --template-file "$packaged" --config-file "$PWD/$config"
    else
      sam deploy --template-file "$packaged" --guided --capabilities CAPABILITY_IAM \
        --config-file "$PWD/$config"
    fi
    ;;
  destroy)
    sam delete --config-file "$PWD/$config"
    ;;
  *) echo "usage: $0 deploy|destroy" >&2; exit 2 ;;
esac
