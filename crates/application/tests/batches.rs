//! The batch policy with in-memory twins: what is parked, what is retried
//! and what is done, by position.

use foodstream_application::batches::{self, BatchItem, RecordUseCase};
use foodstream_application::consumers::{ConsumeError, Outcome};
use foodstream_domain::ports::PortError;
use foodstream_domain::trace::TraceParent;
use foodstream_memory::InMemoryDeadLetters;

/// A record: its group, and what handling it does (or why it cannot be decoded).
struct Item {
    group: &'static str,
    event: Result<&'static str, &'static str>,
}

impl BatchItem for Item {
    type Event = &'static str;
    fn event(&self) -> Result<&&'static str, &str> {
        self.event.as_ref().map_err(|reason| *reason)
    }
    fn trace(&self) -> Option<&TraceParent> {
        None
    }
    fn group(&self) -> &str {
        self.group
    }
    fn span(&self) -> tracing::Span {
        tracing::Span::none()
    }
    fn write_name(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{:?}", self.group, self.event)
    }
    fn payload(&self) -> serde_json::Value {
        serde_json::json!({ "group": self.group })
    }
}

/// The use case: what each event's name says.
struct ByName;

impl RecordUseCase<&'static str> for ByName {
    async fn handle(
        &self,
        event: &&'static str,
        _trace: Option<&TraceParent>,
    ) -> Result<Outcome, ConsumeError> {
        match *event {
            "ok" => Ok(Outcome::Applied),
            "again" => Ok(Outcome::Duplicate),
            "poison" => {
                Err(ConsumeError::Unprocessable { event_id: "e".into(), reason: "no such order".into() })
            }
            _ => Err(ConsumeError::Port(PortError::Unavailable("DynamoDB throttled".into()))),
        }
    }
}

#[tokio::test]
async fn poison_is_parked_and_a_dependency_failure_retries_the_rest_of_its_group_only() {
    let items = [
        Item { group: "a", event: Ok("ok") },
        Item { group: "b", event: Err("not JSON") },
        Item { group: "a", event: Ok("down") },
        Item { group: "b", event: Ok("poison") },
        Item { group: "a", event: Ok("ok") },
        Item { group: "b", event: Ok("again") },
    ];
    let dead_letters = InMemoryDeadLetters::new();
    let outcome = batches::consume("test", &ByName, &dead_letters, &items).await;
    // Group a: the failure and the record after it; group b moves on.
    assert_eq!(outcome.retry, [2, 4]);
    let s = &outcome.summary;
    assert_eq!((s.records, s.applied, s.duplicates, s.parked, s.retried), (6, 1, 1, 2, 2));
    let parked: Vec<String> = dead_letters.letters().into_iter().map(|l| l.reason).collect();
    assert_eq!(parked, ["not JSON", "no such order"]);
}
