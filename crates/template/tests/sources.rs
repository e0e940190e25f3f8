//! The routes, topics and consumer groups have one source,
//! `infra/template.yaml` (read by this crate): each function's `main.rs` is
//! held to it here, and nothing else keeps a copy of them.
//!
//! - A route function's main passes its route to `http::serve` as a label,
//!   `http::serve("GET /orders/{orderId}", ...)`: the label is the one route
//!   the template gives the function, `"<Method> <Path>"`, and a main with a
//!   label has a route.
//! - A Kafka consumer reads the topic of the event type it decodes its
//!   records as (`kafka_records::<K, _>` in the handler of
//!   `crates/handlers/src/batch/consumers.rs` its main calls, or in the main
//!   itself): `K::TOPIC` is the topic of the function's MSK event, and a
//!   function that decodes Kafka records has one.
//! - The code names no consumer group (the event source mapping joins the
//!   group, the function never does). The one place a consumer states it is
//!   its main's doc line, `` //! `notifier`: order-events (group message) ``:
//!   its topic and group are the template's `Topics` and `ConsumerGroupId`.
//!
//! The sources are read as text, with the patterns written in each helper;
//! the last test shows that each check fails a main that disagrees.

use foodstream_domain::events::{DeliveryEventType, EventType, LogEventType, OrderEventType};
use foodstream_template::{Source, Template, project_template_path};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn template() -> Template {
    let path = project_template_path();
    Template::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Each `functions/<name>/src/main.rs`, by the function's name.
fn mains() -> BTreeMap<String, String> {
    let mut mains = BTreeMap::new();
    for entry in std::fs::read_dir(workspace().join("functions")).unwrap() {
        let dir = entry.unwrap().path();
        let main = dir.join("src/main.rs");
        if main.exists() {
            let name = dir.file_name().unwrap().to_string_lossy().into_owned();
            mains.insert(name, std::fs::read_to_string(&main).unwrap());
        }
    }
    mains
}

/// The source without its comment lines, so that a call quoted in a
/// comment is not read as one.
fn code_lines(source: &str) -> String {
    source.lines().filter(|line| !line.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n")
}

/// The labels a main serves with: the string literal right after each
/// `http::serve(`. Anything else there is kept as it is, to be reported.
fn route_labels(main: &str) -> Vec<String> {
    let code = code_lines(main);
    code.match_indices("http::serve(")
        .map(|(at, call)| {
            let rest = code[at + call.len()..].trim_start();
            match rest.strip_prefix('"').and_then(|r| r.split_once('"')) {
                Some((label, _)) => label.to_owned(),
                None => format!("<not a string literal: {}>", rest.lines().next().unwrap_or_default()),
            }
        })
        .collect()
}

/// What is wrong between a main's labels and the template's routes of that
/// function (`"<Method> <Path>"` each), if anything.
fn route_mismatch(function: &str, labels: &[String], routes: &[String]) -> Option<String> {
    match (labels, routes) {
        ([], []) => None,
        ([label], [route]) if label == route => None,
        ([], _) => Some(format!(
            "{function}: its main passes no label to http::serve; the template routes {routes:?} to it"
        )),
        (_, []) => Some(format!(
            "{function}: its main serves {labels:?} (http::serve); the template has no route to it"
        )),
        _ => Some(format!(
            "{function}: its main serves {labels:?} (http::serve); the template routes {routes:?} to it"
        )),
    }
}

/// The topic of an event type a consumer decodes, from the type itself.
fn topic_of(event_type: &str) -> Option<&'static str> {
    Some(match event_type {
        "OrderEventType" => OrderEventType::TOPIC,
        "DeliveryEventType" => DeliveryEventType::TOPIC,
        "LogEventType" => LogEventType::TOPIC,
        _ => return None,
    })
}

/// The event types `code` decodes Kafka records as: the first type
/// argument of each `kafka_records::<`.
fn kafka_event_types(code: &str) -> Vec<String> {
    code.match_indices("kafka_records::<")
        .map(|(at, call)| {
            code[at + call.len()..].split([',', '>']).next().unwrap_or_default().trim().to_owned()
        })
        .collect()
}

/// The handlers a main calls: each `consumers::<name>(`.
fn handlers_called(main: &str) -> Vec<String> {
    let code = code_lines(main);
    code.match_indices("consumers::")
        .filter_map(|(at, path)| {
            let rest = &code[at + path.len()..];
            let name: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            rest[name.len()..].starts_with('(').then_some(name)
        })
        .collect()
}

/// `pub async fn <name>(` (or `pub fn`) in `source`, to the first line
/// that starts with `}` after it.
fn function_body<'a>(source: &'a str, name: &str) -> Option<&'a str> {
    let start = [format!("pub async fn {name}("), format!("pub fn {name}(")]
        .iter()
        .find_map(|head| source.find(head.as_str()))?;
    let body = &source[start..];
    Some(body.find("\n}").map_or(body, |end| &body[..end]))
}

/// The topics a main reads from Kafka, each with where the code says so,
/// and what could not be followed.
fn topics_read(main: &str, handlers: &str) -> (Vec<(String, &'static str)>, Vec<String>) {
    let mut unreadable = Vec::new();
    let mut places = vec![("its main".to_owned(), code_lines(main))];
    for handler in handlers_called(main) {
        match function_body(handlers, &handler) {
            Some(body) => places.push((format!("consumers::{handler}"), code_lines(body))),
            None => unreadable.push(format!(
                "its main calls consumers::{handler}, which crates/handlers/src/batch/consumers.rs does not define"
            )),
        }
    }
    let mut read = Vec::new();
    for (place, code) in &places {
        for event_type in kafka_event_types(code) {
            match topic_of(&event_type) {
                Some(topic) => read.push((format!("{place} decodes kafka_records::<{event_type}>"), topic)),
                None => unreadable.push(format!(
                    "{place} decodes kafka_records::<{event_type}>, a type topic_of \
                     (crates/template/tests/sources.rs) does not know"
                )),
            }
        }
    }
    (read, unreadable)
}

/// What a consumer's main states of itself in its doc lines:
/// `` //! `notifier`: order-events (group message) -> ... `` gives
/// `("order-events", "message")`.
fn stated_topic_and_group(main: &str) -> Option<(String, String)> {
    main.lines().take_while(|line| line.starts_with("//!")).find_map(|line| {
        let (before, after) = line.split_once(" (group ")?;
        let topic = before.rsplit(' ').next()?;
        let (group, _) = after.split_once(')')?;
        Some((topic.to_owned(), group.to_owned()))
    })
}

/// What is wrong between a main (with the handlers it calls) and the
/// template's MSK events of that function, `(topic, consumer group)` each.
fn consumer_mismatch(function: &str, main: &str, handlers: &str, mapped: &[(&str, &str)]) -> Vec<String> {
    let (read, unreadable) = topics_read(main, handlers);
    let mut failures: Vec<String> = unreadable.into_iter().map(|why| format!("{function}: {why}")).collect();
    let mut code_topics: Vec<&str> = read.iter().map(|(_, topic)| *topic).collect();
    code_topics.sort_unstable();
    let mut template_topics: Vec<&str> = mapped.iter().map(|(topic, _)| *topic).collect();
    template_topics.sort_unstable();
    if code_topics != template_topics {
        failures.push(format!(
            "{function}: its code reads {read:?}; \
             the template's MSK events give it the topics {template_topics:?}"
        ));
    }
    let stated = stated_topic_and_group(main);
    let stated = stated.as_ref().map(|(topic, group)| (topic.as_str(), group.as_str()));
    match (stated, mapped) {
        (None, []) => {}
        (Some(said), [event]) if said == *event => {}
        _ => failures.push(format!(
            "{function}: its main's doc line states (topic, group) {stated:?}; \
             the template's MSK events give it (topic, group) {mapped:?}"
        )),
    }
    failures
}

#[test]
fn each_main_serves_the_route_the_template_gives_it() {
    let template = template();
    let mut routes: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for route in &template.routes {
        routes.entry(route.function.as_str()).or_default().push(format!("{} {}", route.method, route.path));
    }
    let mains = mains();
    let mut failures = Vec::new();
    for (function, main) in &mains {
        let function_routes = routes.get(function.as_str()).map(Vec::as_slice).unwrap_or_default();
        failures.extend(route_mismatch(function, &route_labels(main), function_routes));
    }
    for (function, function_routes) in &routes {
        if !mains.contains_key(*function) {
            failures.push(format!(
                "{function}: the template routes {function_routes:?} to it; \
                 there is no functions/{function}/src/main.rs"
            ));
        }
    }
    assert!(failures.is_empty(), "the mains' routes against infra/template.yaml:\n{}", failures.join("\n"));
}

#[test]
fn each_consumer_reads_the_topic_and_group_the_template_gives_it() {
    let template = template();
    let handlers_path = workspace().join("crates/handlers/src/batch/consumers.rs");
    let handlers = std::fs::read_to_string(&handlers_path)
        .unwrap_or_else(|e| panic!("{}: {e}", handlers_path.display()));
    let mut mapped: BTreeMap<&str, Vec<(&str, &str)>> = BTreeMap::new();
    for mapping in &template.mappings {
        if let Source::Kafka { topic, consumer_group } = &mapping.source {
            mapped
                .entry(mapping.function.as_str())
                .or_default()
                .push((topic.as_str(), consumer_group.as_str()));
        }
    }
    let mains = mains();
    let mut failures = Vec::new();
    for (function, main) in &mains {
        let function_events = mapped.get(function.as_str()).map(Vec::as_slice).unwrap_or_default();
        failures.extend(consumer_mismatch(function, main, &handlers, function_events));
    }
    for (function, events) in &mapped {
        if !mains.contains_key(*function) {
            failures.push(format!(
                "{function}: the template gives it the MSK events {events:?}; \
                 there is no functions/{function}/src/main.rs"
            ));
        }
    }
    assert!(failures.is_empty(), "the consumers against infra/template.yaml:\n{}", failures.join("\n"));
}

/// The checks above fail a main that disagrees, and say both sides.
#[test]
fn a_main_that_disagrees_with_the_template_is_named_with_both_sides() {
    let main = "//! `GET /orders/{orderId}`\nasync fn main() {\n    \
                http::serve(\"GET /orders/{id}\", |r| routes::get_order(r)).await\n}\n";
    assert_eq!(route_labels(main), ["GET /orders/{id}"]);
    let route = ["GET /orders/{orderId}".to_owned()];
    let failure = route_mismatch("get-order", &route_labels(main), &route).unwrap();
    for side in ["get-order", "\"GET /orders/{id}\"", "\"GET /orders/{orderId}\""] {
        assert!(failure.contains(side), "{failure}");
    }
    let fixed = main.replace("{id}\"", "{orderId}\"");
    assert_eq!(route_mismatch("get-order", &route_labels(&fixed), &route), None);
    assert!(route_mismatch("get-order", &route_labels(&fixed), &[]).is_some(), "a label without a route");
    assert!(route_mismatch("get-order", &[], &route).is_some(), "a route without a label");
    let twice = format!("{fixed}\nhttp::serve(\"GET /orders\", h)");
    assert!(route_mismatch("get-order", &route_labels(&twice), &route).is_some(), "two labels");
    assert!(route_labels("// http::serve(\"GET /x\", h)\n").is_empty(), "a comment is not a label");

    let handlers = "pub async fn notify(batch: &KafkaEvent) -> BatchReport {\n    \
                    let records = kafka_records::<OrderEventType, OrderEventData>(batch);\n}\n";
    let consumer = "//! `notifier`: order-events (group message) -> notifications. Config, clients, run.\n\
                    fn main() {\n    consumer::serve(\"notifier\", |b| consumers::notify(&b))\n}\n";
    let agreed = consumer_mismatch("notifier", consumer, handlers, &[("order-events", "message")]);
    assert!(agreed.is_empty(), "{agreed:?}");
    let topic = consumer_mismatch("notifier", consumer, handlers, &[("log-events", "message")]);
    assert!(topic.iter().any(|f| f.contains("OrderEventType") && f.contains("\"log-events\"")), "{topic:?}");
    let group = consumer_mismatch("notifier", consumer, handlers, &[("order-events", "notes")]);
    assert!(
        group.len() == 1 && group[0].contains("\"message\"") && group[0].contains("\"notes\""),
        "{group:?}"
    );
    let unmapped = consumer_mismatch("notifier", consumer, handlers, &[]);
    assert_eq!(unmapped.len(), 2, "a consumer without an MSK event: {unmapped:?}");
    let unknown = consumer_mismatch("notifier", &consumer.replace("notify(", "notify_all("), handlers, &[]);
    assert!(unknown.iter().any(|f| f.contains("does not define")), "{unknown:?}");
}
