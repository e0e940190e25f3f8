"""Consistency of infra/template.yaml with the code and the product contract.

- every binary under functions/ is a function of the template, and back;
- every route of SPEC section 3 is an HttpApi event exactly once, on the
  function that serves it, and there is no other route;
- every consumer group of SPEC section 4 is an MSK event exactly once, on
  its topic and function; the outbox relay has the orders table's stream;
- the three topics are AWS::MSK::Topic resources;
- every environment variable a function reads is set for it, and nothing
  else (RUST_LOG aside): what it reads is derived from its main.rs and the
  crates it calls (crates/handlers/src/deps.rs, crates/aws/src/lib.rs,
  crates/aws/src/schema.rs, crates/application/src/settings.rs,
  crates/application/src/sweeper.rs,
  crates/kafka/src/auth.rs);
- the tables match crates/aws/src/schema.rs (keys, indexes, stream, TTL).

usage: python check_template.py   (from the repository root)
"""

import re
import sys
from pathlib import Path

from cfnlint.decode import decode

ROOT = Path(__file__).resolve().parents[2]

# SPEC section 3: method, path, the function that serves it.
ROUTES = {
    ("PUT", "/stores/{storeId}/menu/{productId}"): "put-menu-item",
    ("GET", "/stores/{storeId}/menu"): "list-menu",
    ("POST", "/orders"): "place-order",
    ("GET", "/orders"): "list-my-orders",
    ("GET", "/orders/{orderId}"): "get-order",
    ("POST", "/orders/{orderId}/cancel"): "cancel-order",
    ("GET", "/stores/{storeId}/orders"): "list-store-orders",
    ("POST", "/orders/{orderId}/accept"): "accept-order",
    ("POST", "/orders/{orderId}/reject"): "reject-order",
    ("POST", "/orders/{orderId}/delivery-requests"): "request-delivery",
    ("POST", "/orders/{orderId}/refund-photos"): "create-refund-photo",
    ("POST", "/orders/{orderId}/refund-request"): "request-refund",
    ("POST", "/orders/{orderId}/refund-request/decision"): "decide-refund",
    ("GET", "/me/notifications"): "list-my-notifications",
    ("PUT", "/riders/{riderId}"): "register-rider",
    ("GET", "/ops/logs"): "list-logs",
}

# SPEC section 4: consumer group -> (topic, function).
GROUPS = {
    "delivery": ("order-events", "delivery-dispatcher"),
    "message": ("order-events", "notifier"),
    "order": ("delivery-events", "order-delivery-updater"),
    "log": ("log-events", "log-collector"),
}
TOPICS = {"order-events", "delivery-events", "log-events"}

failures = []


def fail(message):
    failures.append(message)


def read(path):
    return (ROOT / path).read_text(encoding="utf-8")


def env_reads():
    """What each call in a main.rs makes the function read from its environment."""
    schema = read("crates/aws/src/schema.rs")
    consts = dict(re.findall(r'pub const (\w+): TableSpec = TableSpec \{.*?env: "(\w+)"', schema, re.S))
    consts.update(dict(re.findall(r'pub const (\w+_ENV): &str = "(\w+)"', schema)))
    aws = read("crates/aws/src/lib.rs")
    calls = {}
    for name, body in re.findall(r"pub fn (\w+)\(&self\)[^{]*\{(.*?)\n    \}", aws, re.S):
        names = re.findall(r"schema::(\w+?)(?:\.env\b|\))", body)
        calls[f"aws.{name}()"] = {consts[n] for n in names}
    settings = set(re.findall(r'lookup\("(\w+)"\)', read("crates/application/src/settings.rs")))
    calls["Settings::from_env()"] = settings
    calls["SweepSettings::from_env()"] = set(re.findall(r'lookup\("(\w+)"\)', read("crates/application/src/sweeper.rs")))
    auth = read("crates/kafka/src/auth.rs")
    kafka = set(re.findall(r'lookup\("(\w+)"\)', auth)) - {"AWS_LAMBDA_FUNCTION_NAME"}
    # On AWS the brokers come from MSK_CLUSTER_ARN; KAFKA_BOOTSTRAP_SERVERS and KAFKA_TOPIC_PREFIX are
    # read with std::env::var, not lookup(), on purpose: local-only, never in the template.
    calls["KafkaPublisher::from_env("] = kafka | {"MSK_CLUSTER_ARN"}
    return calls


def reads_of(text, calls, bodies, seen=()):
    """The variables `text` reads, following `X::from_env(` into crates/handlers/src/deps.rs."""
    names = set()
    for call, variables in calls.items():
        # Whole calls only: `SweepSettings::from_env()` is not `Settings::from_env()`.
        if re.search(r"(?<![\w])" + re.escape(call), text):
            names |= variables
    for struct, body in bodies.items():
        if f"{struct}::from_env(" in text and struct not in seen:
            names |= reads_of(body, calls, bodies, seen + (struct,))
    return names


def main():
    template, matches = decode(str(ROOT / "infra/template.yaml"))
    if matches:
        for m in matches:
            fail(str(m))
        return
    resources = template["Resources"]
    functions = {k: v for k, v in resources.items() if v["Type"] == "AWS::Serverless::Function"}
    binary_of = {}
    for logical, fn in functions.items():
        binary = fn.get("Metadata", {}).get("BuildProperties", {}).get("Binary")
        if fn.get("Metadata", {}).get("BuildMethod") != "rust-cargolambda" or not binary:
            fail(f"{logical}: needs Metadata BuildMethod rust-cargolambda and BuildProperties.Binary")
        binary_of[logical] = binary
    binaries = {p.name for p in (ROOT / "functions").iterdir() if (p / "src/main.rs").exists()}
    in_template = set(binary_of.values())
    for missing in sorted(binaries - in_template):
        fail(f"functions/{missing} has no function in the template")
    for extra in sorted(in_template - binaries):
        fail(f"the template's function {extra} has no binary under functions/")

    seen_routes, seen_groups, streams = {}, {}, []
    for logical, fn in functions.items():
        for event in fn["Properties"].get("Events", {}).values():
            props = event.get("Properties", {})
            if event["Type"] == "HttpApi":
                key = (props.get("Method"), props.get("Path"))
                seen_routes.setdefault(key, []).append(binary_of[logical])
            elif event["Type"] == "MSK":
                group = props.get("ConsumerGroupId")
                seen_groups.setdefault(group, []).append((props.get("Topics"), binary_of[logical]))
            elif event["Type"] == "DynamoDB":
                streams.append((binary_of[logical], props.get("Stream")))
    for route, function in ROUTES.items():
        served = seen_routes.get(route, [])
        if served != [function]:
            fail(f"route {route[0]} {route[1]}: expected once on {function}, found {served}")
    for route in set(seen_routes) - set(ROUTES):
        fail(f"route {route} is not in SPEC section 3")
    for group, (topic, function) in GROUPS.items():
        found = seen_groups.get(group, [])
        if found != [([topic], function)]:
            fail(f"consumer group {group}: expected once on {topic} by {function}, found {found}")
    for group in set(seen_groups) - set(GROUPS):
        fail(f"consumer group {group} is not in SPEC section 4")
    if streams != [("order-outbox-relay", {"Fn::GetAtt": ["OrdersTable", "StreamArn"]})]:
        fail(f"expected exactly the orders table stream on order-outbox-relay, found {streams}")
    topics = {r["Properties"]["TopicName"] for r in resources.values() if r["Type"] == "AWS::MSK::Topic"}
    if topics != TOPICS:
        fail(f"AWS::MSK::Topic resources {sorted(topics)} != {sorted(TOPICS)}")

    reads = env_reads()
    deps = read("crates/handlers/src/deps.rs")
    bodies = dict(re.findall(r"impl (\w+) \{\s*pub fn from_env\(aws: &Aws\)[^{]*\{(.*?)\n    \}", deps, re.S))
    if set(bodies) != {"OrderChanges", "RefundPhotos"}:
        fail(f"crates/handlers/src/deps.rs: expected the from_env of OrderChanges and RefundPhotos, found {sorted(bodies)}")
    global_env = set(template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {}))
    for logical, fn in functions.items():
        binary = binary_of[logical]
        main_rs = read(f"functions/{binary}/src/main.rs")
        needed = reads_of(main_rs, reads, bodies)
        if not needed:
            fail(f"{binary}: reads no table, setting or broker? (main.rs calls nothing known)")
        env = set(fn["Properties"].get("Environment", {}).get("Variables", {})) | global_env
        for name in sorted(needed - env):
            fail(f"{binary} reads {name} but the template does not set it")
        for name in sorted(env - needed - {"RUST_LOG"}):
            fail(f"{binary}: the template sets {name}, which the function never reads")

    schema = read("crates/aws/src/schema.rs")
    for logical, body in re.findall(r'logical_id: "(\w+)",(.*?)\n\};', schema, re.S):
        table = resources.get(logical)
        if not table or table["Type"] != "AWS::DynamoDB::Table":
            fail(f"schema.rs table {logical} is not a table of the template")
            continue
        props = table["Properties"]
        keys = [(k["AttributeName"], k["KeyType"]) for k in props["KeySchema"]]
        partition = re.search(r'\n    partition: "(\w+)"', body).group(1)
        sort = re.search(r'\n    sort: (?:Some\("(\w+)"\)|None)', body).group(1)
        expected = [(partition, "HASH")] + ([(sort, "RANGE")] if sort else [])
        if keys != expected:
            fail(f"{logical}: keys {keys} != schema.rs {expected}")
        indexes = {
            i["IndexName"]: [(k["AttributeName"], k["KeyType"]) for k in i["KeySchema"]]
            for i in props.get("GlobalSecondaryIndexes", [])
        }
        wanted = {}
        for name, p, s in re.findall(r'IndexSpec \{ name: "([\w-]+)", partition: "(\w+)", sort: (?:Some\("(\w+)"\)|None) \}', body):
            wanted[name] = [(p, "HASH")] + ([(s, "RANGE")] if s else [])
        if indexes != wanted:
            fail(f"{logical}: indexes {indexes} != schema.rs {wanted}")
        stream = "stream: true" in body
        if stream != ("StreamSpecification" in props):
            fail(f"{logical}: stream in template and schema.rs differ")
        ttl = re.search(r'ttl: Some\("(\w+)"\)', body)
        template_ttl = props.get("TimeToLiveSpecification", {}).get("AttributeName")
        if (ttl.group(1) if ttl else None) != template_ttl:
            fail(f"{logical}: TTL {template_ttl} != schema.rs {ttl.group(1) if ttl else None}")


if __name__ == "__main__":
    main()
    if failures:
        for f in failures:
            print(f"check_template: {f}", file=sys.stderr)
        sys.exit(1)
    print("check_template: template, functions, routes, groups, environment and tables agree")
