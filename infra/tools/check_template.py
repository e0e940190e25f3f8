"""Consistency of infra/template.yaml with the code and the product contract.

- every binary under functions/ is a function of the template, and back;
- every route is an HttpApi event of one function only;
- every MSK event reads one topic of the stack with a consumer group of its
  own, which a consumer-lag alarm that notifies watches on that topic, and
  every such alarm watches a group an MSK event has; the outbox relay has
  the orders table's stream;
- the three topics of SPEC section 4 are AWS::MSK::Topic resources, each
  with at least one partition;
- the tables, the buckets and the user pool are retained on delete and on
  replacement;
- a stream mapping gives a record up, with its payload, before the stream
  trims it: its maximum record age is below 24 hours and its on-failure
  destination is a bucket;
- every alarm can notify: the topics its actions name are not encrypted
  with an AWS-managed key (`alias/aws/sns`, which CloudWatch cannot use:
  the alarm's publish fails, silently), and a topic encrypted with a key of
  the stack's has a key policy that lets `cloudwatch.amazonaws.com` call
  `kms:Decrypt` and `kms:GenerateDataKey*`.
- the cluster fits every VPC shape the parameters allow: for one to four
  subnets and each `BrokersPerZone`, the template's own conditions are
  evaluated. One subnet is refused while the conditions are evaluated
  (before any resource); otherwise the broker count is a multiple of the
  zones the cluster uses (two or three), at most six (the brokers the disk
  alarm watches), and each topic's replication factor is 2 or 3 and at most
  the broker count. The rule that the subnets are in `VpcId` refuses a
  subnet of another VPC and accepts the subnets of `VpcId`.

What each function reads and calls against its Environment and Policies,
and the tables against the adapters' schema, are checked by the code itself
(crates/local/tests/wiring.rs); which route each function serves and which
topic each consumer reads, by crates/template/tests/sources.rs (each main
held to the template): this script reads no Rust source, and keeps no copy
of the routes or the consumer groups.

usage: python check_template.py [--self-test]   (from the repository root;
--self-test shows that each alarm-topic, zone, stream, queue and event rule
fails a template that breaks it)
"""

import sys
from pathlib import Path

from cfnlint.decode import decode

ROOT = Path(__file__).resolve().parents[2]

# The three topics of docs/spec.md, section 4 ("Three topics"). The routes
# and the consumer groups are the template's alone: each main is held to
# them by crates/template/tests/sources.rs.
SPEC_TOPICS = {"order-events", "delivery-events", "log-events"}

failures = []


def fail(message):
    failures.append(message)


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

    check_events(template)
    # What a redeploy or `make destroy` must not take with it: the data and
    # the users (orders are keyed by the users' Cognito `sub`).
    for logical, resource in resources.items():
        if resource["Type"] in ("AWS::DynamoDB::Table", "AWS::S3::Bucket", "AWS::Cognito::UserPool"):
            for policy in ("DeletionPolicy", "UpdateReplacePolicy"):
                if resource.get(policy) != "Retain":
                    fail(f"{logical}: {policy} must be Retain (data or users would go with the stack)")
    check_alarm_topics(resources)
    check_stream_record_age(template)
    check_queues(template)
    check_zones(template)


def check_events(template):
    """The routes, consumer groups and topics, from the template itself: a
    route is served by one function; every MSK event reads one topic of the
    stack with a group of its own, which a lag alarm watches; the topics are
    SPEC's, each with a partition at least; the outbox relay has the orders
    table's stream."""
    resources = template["Resources"]
    routes, groups, streams = {}, {}, []
    for logical, fn in resources.items():
        if fn["Type"] != "AWS::Serverless::Function":
            continue
        function = fn.get("Metadata", {}).get("BuildProperties", {}).get("Binary") or logical
        for event in fn["Properties"].get("Events", {}).values():
            props = event.get("Properties", {})
            if event["Type"] == "HttpApi":
                routes.setdefault(f"{str(props.get('Method')).upper()} {props.get('Path')}", []).append(function)
            elif event["Type"] == "MSK":
                groups.setdefault(props.get("ConsumerGroupId"), []).append((props.get("Topics"), function))
            elif event["Type"] == "DynamoDB":
                streams.append((function, props.get("Stream")))
    for route, served in sorted(routes.items()):
        if len(served) != 1:
            fail(f"route {route}: served by {served}; a route is one function's")
    topics = [r.get("Properties", {}) for r in resources.values() if r["Type"] == "AWS::MSK::Topic"]
    names = [t.get("TopicName") for t in topics]
    if sorted(map(str, names)) != sorted(SPEC_TOPICS):
        fail(f"AWS::MSK::Topic resources {sorted(map(str, names))} != SPEC section 4's {sorted(SPEC_TOPICS)}")
    for topic in topics:
        partitions = parameter_floor(template, topic.get("PartitionCount"))
        if not isinstance(partitions, int) or partitions < 1:
            fail(
                f"topic {topic.get('TopicName')}: PartitionCount can be {partitions} "
                "(a number of at least 1, or a parameter with MinValue 1 at least)"
            )
    # What each lag alarm that notifies watches: (consumer group, topic).
    watched = set()
    for alarm in resources.values():
        props = alarm.get("Properties", {})
        if alarm["Type"] != "AWS::CloudWatch::Alarm" or props.get("MetricName") != "SumOffsetLag":
            continue
        dimensions = {d.get("Name"): d.get("Value") for d in props.get("Dimensions", [])}
        if props.get("AlarmActions"):
            watched.add((str(dimensions.get("Consumer Group")), str(dimensions.get("Topic"))))
    consumed = set()
    for group, readers in groups.items():
        if group is None or len(readers) != 1:
            fail(
                f"consumer group {group}: on {readers}; every consumer has a named group of its own "
                "(consumers that share one split the topic's records between them)"
            )
        for read, function in readers:
            if not isinstance(read, list) or len(read) != 1 or read[0] not in names:
                fail(f"{function}: its MSK event (group {group}) must read one topic of the stack, found {read}")
                continue
            consumed.add((str(group), str(read[0])))
            if (str(group), str(read[0])) not in watched:
                fail(f"{function}: no SumOffsetLag alarm with actions watches its group {group} on {read[0]}")
    for group, topic in sorted(watched - consumed):
        fail(f"a SumOffsetLag alarm watches group {group} on {topic}, which no MSK event reads: it can never fire")
    if streams != [("order-outbox-relay", {"Fn::GetAtt": ["OrdersTable", "StreamArn"]})]:
        fail(f"expected exactly the orders table stream on order-outbox-relay, found {streams}")


class Refused(Exception):
    """CloudFormation would refuse the stack at this point."""


def evaluate(value, parameters, conditions, world=None):
    """`value` with the intrinsic functions CloudFormation resolves from
    parameters alone (conditions, rules and the properties that only read
    parameters); a `Ref` to a resource is left as it is. `world` answers
    `Fn::ValueOfAll` in rules: (parameter type, attribute) -> values."""
    again = lambda v: evaluate(v, parameters, conditions, world)
    if isinstance(value, list):
        return [again(v) for v in value]
    if not isinstance(value, dict) or len(value) != 1:
        return value
    ((function, argument),) = value.items()
    if function == "Ref":
        return parameters.get(argument, value)
    if function == "Condition":
        return conditions(argument)
    if function == "Fn::If":
        name, when_true, when_false = argument
        return again(when_true if conditions(name) else when_false)
    if function == "Fn::Equals":
        left, right = again(argument)
        return str(left) == str(right)
    if function == "Fn::Not":
        return not again(argument[0])
    if function == "Fn::And":
        return all(again(a) for a in argument)
    if function == "Fn::Or":
        return any(again(a) for a in argument)
    if function == "Fn::Join":
        separator, items = argument
        return separator.join(str(i) for i in again(items))
    if function == "Fn::Split":
        separator, text = argument
        return again(text).split(separator)
    if function == "Fn::Select":
        index, items = int(again(argument[0])), again(argument[1])
        if not 0 <= index < len(items):
            raise Refused(f"Fn::Select cannot select index {index} of {items}")
        return items[index]
    if function == "Fn::Sub":
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        names = {**{k: str(v) for k, v in parameters.items() if not isinstance(v, list)}, **{k: str(again(v)) for k, v in variables.items()}}
        for name, text_value in names.items():
            text = text.replace("${" + name + "}", text_value)
        return text
    if function == "Fn::ValueOfAll":
        return (world or {})[tuple(argument)]
    if function == "Fn::EachMemberEquals":
        members, wanted = again(argument)
        return all(m == wanted for m in members)
    return value


def conditions_of(template, parameters):
    """Every condition of the template, evaluated as CloudFormation does
    before it creates anything (a `Refused` here refuses the stack)."""
    known = {}
    definitions = template.get("Conditions", {})

    def condition(name):
        if name not in known:
            known[name] = bool(evaluate(definitions[name], parameters, condition))
        return known[name]

    for name in definitions:
        condition(name)
    return condition


def default_parameters(template, subnets, brokers_per_zone):
    parameters = {name: p["Default"] for name, p in template.get("Parameters", {}).items() if "Default" in p}
    parameters.update(VpcId="vpc-1", PrivateSubnetIds=subnets, PrivateRouteTableIds=["rtb-1"],
                      BrokersPerZone=brokers_per_zone)
    return parameters


def check_zones(template):
    """The cluster and its topics fit every shape the parameters allow."""
    resources = template["Resources"]
    cluster = next((v for v in resources.values() if v["Type"] == "AWS::MSK::Cluster"), None)
    topics = [v for v in resources.values() if v["Type"] == "AWS::MSK::Topic"]
    if cluster is None:
        fail("no AWS::MSK::Cluster")
        return
    per_zone = template.get("Parameters", {}).get("BrokersPerZone", {}).get("AllowedValues")
    if not per_zone:
        fail("BrokersPerZone must list its allowed values, so every broker count can be checked")
        return
    for count in range(1, 5):
        subnets = [f"subnet-{i}" for i in range(count)]
        for brokers_per_zone in per_zone:
            shape = f"{count} subnet(s), BrokersPerZone {brokers_per_zone}"
            parameters = default_parameters(template, subnets, brokers_per_zone)
            try:
                condition = conditions_of(template, parameters)
            except Refused:
                if count >= 2:
                    fail(f"{shape}: refused, though two or more zones must deploy")
                continue
            if count == 1:
                fail(f"{shape}: not refused before any resource (MSK would refuse it minutes later)")
                continue
            try:
                props = cluster["Properties"]
                nodes = int(evaluate(props["NumberOfBrokerNodes"], parameters, condition))
                clients = evaluate(props["BrokerNodeGroupInfo"]["ClientSubnets"], parameters, condition)
                factors = [int(evaluate(t["Properties"]["ReplicationFactor"], parameters, condition)) for t in topics]
            except (Refused, KeyError, TypeError, ValueError) as error:
                fail(f"{shape}: the cluster or a topic cannot be resolved: {error}")
                continue
            zones = len(set(clients))
            if zones != min(count, 3) or not set(clients) <= set(subnets):
                fail(f"{shape}: the cluster's client subnets {clients} must be the first {min(count, 3)} given")
            elif nodes % zones or not 0 < nodes <= 6:
                fail(f"{shape}: {nodes} brokers is not a multiple of {zones} zones from 1 to 6 (MSK refuses it, or the disk alarm misses one)")
            for factor in factors:
                if not 2 <= factor <= min(nodes, 3):
                    fail(f"{shape}: replication factor {factor} with {nodes} brokers (must be 2 or 3, and at most the brokers)")
    check_vpc_rule(template)


def check_vpc_rule(template):
    """A rule refuses subnets outside `VpcId`, and accepts those inside."""
    def assertions_hold(world):
        parameters = default_parameters(template, ["subnet-0", "subnet-1"], 1)
        no_condition = lambda name: False
        return all(
            evaluate(a["Assert"], parameters, no_condition, world)
            for rule in template.get("Rules", {}).values()
            for a in rule.get("Assertions", [])
        )

    vpc_of = lambda vpcs: {("AWS::EC2::Subnet::Id", "VpcId"): vpcs}
    try:
        if not assertions_hold(vpc_of(["vpc-1", "vpc-1"])):
            fail("the template's rules refuse two subnets of VpcId")
        if assertions_hold(vpc_of(["vpc-1", "vpc-2"])):
            fail("no rule refuses a subnet outside VpcId (MSK and the endpoints would fail after minutes)")
    except (KeyError, ValueError, TypeError) as error:
        fail(f"the template's rules cannot be evaluated: {error}")


def parameter_floor(template, value):
    """A number, or the MinValue of the parameter a `!Ref` names."""
    name = ref_of(value)
    if name and name in template.get("Parameters", {}):
        return template["Parameters"][name].get("MinValue")
    return value


def check_queues(template):
    """Every dead-letter queue has an alarm that notifies, and every SQS
    trigger's queue hides a message longer than the function's timeout
    (Lambda refuses the trigger otherwise)."""
    resources = template["Resources"]
    queues = {k: v for k, v in resources.items() if v["Type"] == "AWS::SQS::Queue"}
    dead_letter_queues = set()
    for logical, queue in queues.items():
        redrive = queue.get("Properties", {}).get("RedrivePolicy")
        if redrive:
            dead_letter_queues.add(ref_of(redrive.get("deadLetterTargetArn")))
    alarmed = set()
    for alarm in resources.values():
        if alarm["Type"] != "AWS::CloudWatch::Alarm":
            continue
        props = alarm.get("Properties", {})
        if props.get("Namespace") != "AWS/SQS" or not props.get("AlarmActions"):
            continue
        if props.get("MetricName") != "ApproximateNumberOfMessagesVisible":
            continue
        for dimension in props.get("Dimensions", []):
            alarmed.add(ref_of(dimension.get("Value")))
    for queue in sorted(q for q in dead_letter_queues if q):
        if queue not in alarmed:
            fail(f"{queue}: a dead-letter queue without an ApproximateNumberOfMessagesVisible alarm that notifies")
    for logical, fn in resources.items():
        if fn["Type"] != "AWS::Serverless::Function":
            continue
        timeout = fn["Properties"].get("Timeout", template.get("Globals", {}).get("Function", {}).get("Timeout", 3))
        for event in fn["Properties"].get("Events", {}).values():
            if event["Type"] != "SQS":
                continue
            queue = queues.get(ref_of(event["Properties"].get("Queue")))
            if queue is None:
                fail(f"{logical}: an SQS trigger on a queue that is not of this stack")
                continue
            visibility = parameter_floor(template, queue["Properties"].get("VisibilityTimeout", 30))
            if not isinstance(visibility, int) or visibility < timeout:
                fail(f"{logical}: its queue's VisibilityTimeout can be {visibility}, below its Timeout {timeout}")


# DynamoDB Streams keeps a record 24 hours.
STREAM_RETENTION_SECONDS = 24 * 3600


def check_stream_record_age(template):
    """A stream mapping gives its records up to its on-failure destination
    before the stream trims them: its maximum record age is set, below the
    retention, and its destination is a bucket (which keeps the payload)."""
    parameters = template.get("Parameters", {})
    for logical, fn in template["Resources"].items():
        if fn["Type"] != "AWS::Serverless::Function":
            continue
        for name, event in fn["Properties"].get("Events", {}).items():
            if event["Type"] != "DynamoDB":
                continue
            props = event.get("Properties", {})
            age = props.get("MaximumRecordAgeInSeconds", -1)
            parameter = ref_of(age)
            if parameter:
                age = parameters.get(parameter, {}).get("MaxValue", -1)
            if not isinstance(age, int) or not 0 < age < STREAM_RETENTION_SECONDS:
                fail(
                    f"{logical}.{name}: MaximumRecordAgeInSeconds must be set below the stream's "
                    f"24 hours (its largest value is {age}), or records are trimmed unseen"
                )
            destination = ref_of(props.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination"))
            target = template["Resources"].get(destination, {})
            if target.get("Type") != "AWS::S3::Bucket":
                fail(f"{logical}.{name}: its on-failure destination must be a bucket, which keeps the payload")


def ref_of(value):
    """The logical id a `!Ref` or `!GetAtt X.Arn` names, else None."""
    if isinstance(value, dict):
        if "Ref" in value:
            return value["Ref"]
        if "Fn::GetAtt" in value:
            target = value["Fn::GetAtt"]
            return target[0] if isinstance(target, list) else str(target).split(".")[0]
    return None


def as_list(value):
    return value if isinstance(value, list) else [value]


def cloudwatch_may_use(key):
    """Whether a key's policy lets CloudWatch encrypt for an SNS topic."""
    wanted = {"kms:Decrypt", "kms:GenerateDataKey*"}
    allowed = set()
    for statement in key.get("Properties", {}).get("KeyPolicy", {}).get("Statement", []):
        principal = statement.get("Principal", {})
        services = as_list(principal.get("Service", [])) if isinstance(principal, dict) else []
        if statement.get("Effect") == "Allow" and "cloudwatch.amazonaws.com" in services:
            allowed |= set(as_list(statement.get("Action", [])))
    return wanted <= allowed or "kms:*" in allowed


def check_alarm_topics(resources):
    alarms = {k: v for k, v in resources.items() if v["Type"] == "AWS::CloudWatch::Alarm"}
    for logical, alarm in alarms.items():
        props = alarm.get("Properties", {})
        for action in props.get("AlarmActions", []) + props.get("OKActions", []):
            topic_id = ref_of(action)
            topic = resources.get(topic_id) if topic_id else None
            if not topic or topic["Type"] != "AWS::SNS::Topic":
                fail(f"{logical}: an alarm action that is not a topic of this stack: {action}")
                continue
            key = topic.get("Properties", {}).get("KmsMasterKeyId")
            if key is None:
                continue
            if isinstance(key, str) and key.startswith("alias/aws/"):
                fail(
                    f"{logical}: its topic {topic_id} is encrypted with the AWS-managed {key}, "
                    "which CloudWatch cannot use: the alarm would never notify"
                )
                continue
            key_id = ref_of(key)
            if key_id not in resources or resources[key_id]["Type"] != "AWS::KMS::Key":
                fail(f"{logical}: its topic {topic_id} is encrypted with {key}, not a key of this stack")
            elif not cloudwatch_may_use(resources[key_id]):
                fail(
                    f"{logical}: the key {key_id} of its topic {topic_id} does not let "
                    "cloudwatch.amazonaws.com call kms:Decrypt and kms:GenerateDataKey*"
                )


def self_test():
    """Each alarm-topic, zone, stream, queue and event rule fails a
    template that breaks it."""
    import copy

    template, _ = decode(str(ROOT / "infra/template.yaml"))
    resources = template["Resources"]
    cases = {
        "AWS-managed key": lambda r: r["AlarmTopic"]["Properties"].update(KmsMasterKeyId="alias/aws/sns"),
        "key without CloudWatch": lambda r: r["AlarmTopicKey"]["Properties"]["KeyPolicy"].update(
            Statement=[s for s in r["AlarmTopicKey"]["Properties"]["KeyPolicy"]["Statement"]
                       if "cloudwatch.amazonaws.com" not in str(s.get("Principal"))]
        ),
    }
    relay_stream = lambda t: t["Resources"]["OrderOutboxRelayFunction"]["Properties"]["Events"]["OrdersStream"][
        "Properties"
    ]
    stream_cases = {
        "records kept past the stream's retention": lambda t: relay_stream(t).update(MaximumRecordAgeInSeconds=-1),
        "an age parameter that allows 24 hours": lambda t: t["Parameters"]["OutboxRecordMaxAgeSeconds"].update(
            MaxValue=86400
        ),
        "a destination without the payload": lambda t: relay_stream(t).update(
            DestinationConfig={"OnFailure": {"Destination": {"Fn::GetAtt": ["DeliveryTimerDeadLetterQueue", "Arn"]}}}
        ),
    }
    queue_cases = {
        "a dead-letter queue without its alarm": lambda t: t["Resources"].pop("DeliveryTimerDeadLettersAlarm"),
        "a visibility timeout below the completer's timeout": lambda t: t["Parameters"][
            "DeliveryTimerRetrySeconds"
        ].update(MinValue=5),
    }
    cluster = lambda t: t["Resources"]["MskCluster"]["Properties"]
    zone_cases = {
        "a fixed broker count": lambda t: cluster(t).update(NumberOfBrokerNodes=3),
        "a replication factor above two brokers": lambda t: t["Resources"]["OrderEventsTopic"]["Properties"].update(
            ReplicationFactor=3
        ),
        "one subnet refused only by MSK": lambda t: t["Conditions"].update(
            HasTwoSubnets={"Fn::Equals": ["a", "a"]}
        ),
        "every subnet given to the cluster": lambda t: cluster(t)["BrokerNodeGroupInfo"].update(
            ClientSubnets={"Ref": "PrivateSubnetIds"}
        ),
        "no rule on the subnets' VPC": lambda t: t.pop("Rules"),
    }
    events = lambda t, function: t["Resources"][function]["Properties"]["Events"]
    notifier = lambda t: events(t, "NotifierFunction")["Records"]["Properties"]

    def stray_lag_alarm(t):
        alarm = copy.deepcopy(t["Resources"]["MessageGroupLagAlarm"])
        for dimension in alarm["Properties"]["Dimensions"]:
            if dimension["Name"] == "Consumer Group":
                dimension["Value"] = "nobody"
        t["Resources"]["StrayLagAlarm"] = alarm

    event_cases = {
        "a route served by two functions": lambda t: events(t, "PlaceOrderFunction").update(
            Twice=copy.deepcopy(events(t, "GetOrderFunction")["Api"])
        ),
        "two consumers in one group": lambda t: notifier(t).update(
            ConsumerGroupId=events(t, "DeliveryDispatcherFunction")["Records"]["Properties"]["ConsumerGroupId"]
        ),
        "a consumer without a group": lambda t: notifier(t).pop("ConsumerGroupId"),
        "a consumer of a topic the stack lacks": lambda t: notifier(t).update(Topics=["no-such-topic"]),
        "a group no lag alarm watches": lambda t: notifier(t).update(ConsumerGroupId="renamed"),
        "a lag alarm without actions": lambda t: t["Resources"]["MessageGroupLagAlarm"]["Properties"].pop(
            "AlarmActions"
        ),
        "a lag alarm on a group no event reads": stray_lag_alarm,
        "a topic SPEC does not name": lambda t: t["Resources"]["LogEventsTopic"]["Properties"].update(
            TopicName="logs"
        ),
        "a partition count that can be 0": lambda t: t["Parameters"]["TopicPartitions"].update(MinValue=0),
    }
    checks = (
        [(c, check_alarm_topics, "resources") for c in cases.items()]
        + [(c, check_zones, "template") for c in zone_cases.items()]
        + [(c, check_stream_record_age, "template") for c in stream_cases.items()]
        + [(c, check_queues, "template") for c in queue_cases.items()]
        + [(c, check_events, "template") for c in event_cases.items()]
    )
    for (name, breaks), check, scope in checks:
        broken = copy.deepcopy(template)
        breaks(broken["Resources"] if scope == "resources" else broken)
        failures.clear()
        check(broken["Resources"] if scope == "resources" else broken)
        if not failures:
            print(f"check_template self-test: '{name}' was not caught", file=sys.stderr)
            sys.exit(1)
    failures.clear()
    check_alarm_topics(resources)
    check_stream_record_age(template)
    check_queues(template)
    check_zones(template)
    check_events(template)
    if failures:
        print(f"check_template self-test: the template itself fails: {failures}", file=sys.stderr)
        sys.exit(1)
    print(f"check_template self-test: each of the {len(checks)} alarm-topic, zone, stream, queue and event rules fails a template that breaks it")


if __name__ == "__main__":
    if sys.argv[1:] == ["--self-test"]:
        self_test()
        sys.exit(0)
    main()
    if failures:
        for f in failures:
            print(f"check_template: {f}", file=sys.stderr)
        sys.exit(1)
    print("check_template: template, functions, routes, consumer groups and topics agree")
