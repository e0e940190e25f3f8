"""Static check of infra/local/compose.yaml (Redpanda, and LocalStack opt-in).

No Docker engine is needed: the file must parse as YAML, every service must
use a pinned image (a version tag or a digest, never `latest`), publish ports
on 127.0.0.1 only, have a health check and no host networking. Redpanda must
publish 9092. LocalStack must be in the opt-in `localstack` profile, take
its auth token from the environment, and publish 4566 with DynamoDB,
DynamoDB Streams, S3 and SQS. When a `docker compose` plugin is present,
`docker compose config` must accept the file too.

Usage: check_compose.py [FILE]   (exit 1 with the reasons when it fails)
"""

import re
import shutil
import subprocess
import sys

import yaml

NEEDED_AWS_SERVICES = {"dynamodb", "dynamodbstreams", "s3", "sqs"}


def pinned(image: str) -> bool:
    if "@sha256:" in image:
        return True
    name, _, tag = image.rpartition(":")
    if not name or "/" in tag:  # no tag at all (the colon was a registry port)
        return False
    return tag != "latest" and re.search(r"\d", tag) is not None


def published(port) -> tuple[str, str]:
    """(host ip, host port) of a ports entry, short or long form."""
    if isinstance(port, dict):
        return str(port.get("host_ip", "")), str(port.get("published", ""))
    parts = str(port).split(":")
    if len(parts) == 3:
        return parts[0], parts[1]
    return "", parts[0] if len(parts) == 2 else ""


def problems(document) -> list[str]:
    found = []
    services = (document or {}).get("services") or {}
    if not services:
        return ["no services"]
    host_ports = set()
    for name, service in services.items():
        image = str(service.get("image", ""))
        if not pinned(image):
            found.append(f"{name}: image {image!r} is not pinned to a version or digest")
        if service.get("network_mode") == "host":
            found.append(f"{name}: host networking publishes on every address")
        if not (service.get("healthcheck") or {}).get("test"):
            found.append(f"{name}: no health check")
        for port in service.get("ports") or []:
            ip, host_port = published(port)
            if ip != "127.0.0.1":
                found.append(f"{name}: port {port!r} is not bound to 127.0.0.1")
            host_ports.add(host_port)
    if "9092" not in host_ports:
        found.append("nothing publishes 127.0.0.1:9092")
    localstack = services.get("localstack") or {}
    if "localstack" not in (localstack.get("profiles") or []):
        found.append("localstack: must be opt-in (profile localstack): it needs an auth token")
    token = str((localstack.get("environment") or {}).get("LOCALSTACK_AUTH_TOKEN", ""))
    if not token.startswith("${LOCALSTACK_AUTH_TOKEN"):
        found.append("localstack: LOCALSTACK_AUTH_TOKEN must be required from the environment, never written here")
    if "127.0.0.1:4566:4566" not in [str(p) for p in localstack.get("ports") or []]:
        found.append("localstack: must publish 127.0.0.1:4566")
    env = localstack.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    declared = {s.strip() for s in str(env.get("SERVICES", "")).split(",")}
    if not NEEDED_AWS_SERVICES <= declared:
        found.append(f"localstack: SERVICES lacks {sorted(NEEDED_AWS_SERVICES - declared)}")
    return found


def main() -> int:
    path = sys.argv[1] if len(sys.argv) > 1 else "infra/local/compose.yaml"
    try:
        with open(path, encoding="utf-8") as f:
            document = yaml.safe_load(f)
    except (OSError, yaml.YAMLError) as e:
        print(f"{path}: {e}", file=sys.stderr)
        return 1
    found = problems(document)
    docker = shutil.which("docker")
    compose = docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0
    if compose:
        result = subprocess.run([docker, "compose", "-f", path, "config", "--quiet"], capture_output=True, text=True)
        if result.returncode != 0:
            found.append(f"docker compose config: {result.stderr.strip()}")
    for problem in found:
        print(f"{path}: {problem}", file=sys.stderr)
    if not found:
        how = "docker compose config and the static rules" if compose else "the static rules (no docker compose plugin here)"
        print(f"{path}: passes {how}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
