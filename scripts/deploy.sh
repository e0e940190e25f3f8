#!/usr/bin/env bash
# make deploy / make destroy: the SAM CLI builds every function with cargo
# lambda (arm64) and deploys infra/template.yaml as one stack.
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
rustup target add aarch64-unknown-linux-gnu >/dev/null
if ! aws_identity=$("$venv/bin/python" -c 'import boto3; print(boto3.client("sts").get_caller_identity()["Arn"])' 2>&1); then
  echo "[deploy] no AWS credentials: configure a profile or AWS_* variables first ($aws_identity)" >&2
  exit 1
fi
echo "[deploy] deploying as $aws_identity" >&2
config=infra/samconfig.toml
case "${1:-deploy}" in
  deploy)
    sam build --template-file infra/template.yaml --build-dir .aws-sam/build --beta-features
    if [ -f "$config" ]; then
      sam deploy --template-file .aws-sam/build/template.yaml --config-file "$PWD/$config"
    else
      sam deploy --template-file .aws-sam/build/template.yaml --guided --capabilities CAPABILITY_IAM \
        --config-file "$PWD/$config"
    fi
    ;;
  destroy)
    sam delete --config-file "$PWD/$config"
    ;;
  *) echo "usage: $0 deploy|destroy" >&2; exit 2 ;;
esac
