//! The delivery timer: a delivery's completion, due at a planned time,
//! handed by the dispatcher to a durable timer (a delayed queue message)
//! so that no function waits the delivery out. The message names the
//! delivery only; whoever receives it reads the delivery's record, which
//! stays the one truth about its state and its time.

use crate::Timestamp;
use crate::delivery::{Delivery, DeliveryStatus};
use crate::events::bounds;
use chrono::{Datelike, SecondsFormat};
use serde::{Deserialize, Serialize};

/// A delivery's completion, due at `completes_at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompletionDue {
    /// The delivery to complete: [`Delivery::id`].
    pub delivery_id: String,
    /// When the food is at the door.
    pub completes_at: Timestamp,
}

/// The longest wait a completer does for a message that came early: the
/// timer keeps whole seconds and rounds up, so a message of ours is never
/// early; one earlier than this (a clock far off) is left for a later
/// receive rather than slept through, which keeps the completer's calls
/// short.
pub const MAX_EARLY_MS: i64 = 2_000;

/// The longest message body read: a real one is under 200 bytes.
pub const MAX_MESSAGE_BYTES: usize = 4096;

/// A delivery id is `{order_id}#{request_version}`: an order id of at most
/// 128 characters, `#`, and a version of at most 16 digits.
pub const MAX_DELIVERY_ID_CHARS: usize = bounds::MAX_ID_CHARS + 1 + 16;

impl CompletionDue {
    /// The completion of an assigned delivery; `None` for any other.
    pub fn of(delivery: &Delivery) -> Option<CompletionDue> {
        match (delivery.status, delivery.completes_at) {
            (DeliveryStatus::Assigned, Some(at)) => {
                Some(CompletionDue { delivery_id: delivery.id(), completes_at: at })
            }
            _ => None,
        }
    }

    /// The message body the timer carries.
    pub fn encode(&self) -> String {
        serde_json::json!({
            "delivery_id": self.delivery_id,
            "completes_at": self.completes_at.to_rfc3339_opts(SecondsFormat::Millis, true),
        })
        .to_string()
    }

    /// Reads a message body, whatever it holds: anything but a completion
    /// of the expected shape and bounds is an error naming the field.
    pub fn decode(body: &str) -> Result<CompletionDue, String> {
        if body.len() > MAX_MESSAGE_BYTES {
            return Err(format!("the message is {} bytes, over {MAX_MESSAGE_BYTES}", body.len()));
        }
        let due: CompletionDue = serde_json::from_str(body).map_err(|e| e.to_string())?;
        let id = &due.delivery_id;
        let chars = id.chars().count();
        if chars == 0 || chars > MAX_DELIVERY_ID_CHARS {
            return Err(format!("delivery_id: {chars} characters, not 1..={MAX_DELIVERY_ID_CHARS}"));
        }
        if id.chars().any(char::is_control) {
            return Err("delivery_id: holds a control character".into());
        }
        let Some((order, version)) = id.rsplit_once('#') else {
            return Err("delivery_id: not {order_id}#{version}".into());
        };
        if order.is_empty() || version.is_empty() || !version.bytes().all(|b| b.is_ascii_digit()) {
            return Err("delivery_id: not {order_id}#{version}".into());
        }
        if !bounds::YEARS.contains(&due.completes_at.year()) {
            return Err(format!("completes_at: outside years {:?}", bounds::YEARS));
        }
        Ok(due)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::{DeliveryRequest, DeliverySettings, Zone};
    use proptest::prelude::*;

    fn assigned() -> Delivery {
        let request = DeliveryRequest {
            order_id: "o-1".into(),
            request_version: 4,
            customer_id: "u".into(),
            store_id: "s".into(),
            zone: Zone::from_district("Gangnam"),
            redelivery: false,
            trace: None,
        };
        let at = chrono::DateTime::parse_from_rfc3339("2026-12-02T10:00:00Z").unwrap().to_utc();
        request.assign("r".into(), at, &DeliverySettings::default())
    }

    #[test]
    fn an_assigned_delivery_round_trips_and_no_other_is_due() {
        let delivery = assigned();
        let due = CompletionDue::of(&delivery).unwrap();
        assert_eq!(due.delivery_id, "o-1#4");
        assert_eq!(Some(due.completes_at), delivery.completes_at);
        assert_eq!(CompletionDue::decode(&due.encode()), Ok(due));
        assert_eq!(CompletionDue::of(&delivery.completed().unwrap()), None);
    }

    #[test]
    fn hostile_bodies_are_refused_naming_the_field() {
        let at = "2026-12-02T10:00:01Z";
        for (body, field) in [
            ("not json".to_string(), "expected"),
            (format!(r#"{{"delivery_id": "", "completes_at": "{at}"}}"#), "delivery_id"),
            (format!(r#"{{"delivery_id": "o-1", "completes_at": "{at}"}}"#), "delivery_id"),
            (format!(r#"{{"delivery_id": "o-1#x", "completes_at": "{at}"}}"#), "delivery_id"),
            (format!(r##"{{"delivery_id": "#4", "completes_at": "{at}"}}"##), "delivery_id"),
            (format!(r#"{{"delivery_id": "o\n1#4", "completes_at": "{at}"}}"#), "delivery_id"),
            (format!(r#"{{"delivery_id": "{}#4", "completes_at": "{at}"}}"#, "o".repeat(200)), "delivery_id"),
            (r#"{"delivery_id": "o-1#4", "completes_at": "9999-01-01T00:00:00Z"}"#.into(), "completes_at"),
            (r#"{"delivery_id": "o-1#4", "completes_at": 12}"#.into(), "invalid type"),
            (format!(r#"{{"delivery_id": "o-1#4", "completes_at": "{at}", "extra": 1}}"#), "unknown field"),
            (" ".repeat(MAX_MESSAGE_BYTES + 1), "bytes"),
        ] {
            let refused = CompletionDue::decode(&body).unwrap_err();
            assert!(refused.contains(field), "{body:.80}: {refused}");
        }
    }

    proptest! {
        #[test]
        fn any_body_is_read_or_refused_never_a_panic(body in ".{0,300}") {
            let _ = CompletionDue::decode(&body);
        }

        #[test]
        fn any_json_shaped_body_is_read_or_refused(id in ".{0,200}", secs in any::<i64>()) {
            let body = serde_json::json!({"delivery_id": id, "completes_at": secs.to_string()}).to_string();
            let _ = CompletionDue::decode(&body);
        }
    }
}
