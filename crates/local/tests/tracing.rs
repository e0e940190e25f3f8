//! One order, one trace: the trace an order is placed in reaches every
//! function that works on it (the API functions, the outbox relay through
//! the order item, the three consumers through the `traceparent` record
//! header), and `make logs ORDER=<id>` (`foodstream-ops logs`) finds them
//! all, in time order, from the stack's function logs.

mod support;

use foodstream_harness::api::Route;
use foodstream_ops::order_logs::{self, LogLine};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use support::{Settings, Shop, TestStack};

/// Every function that works on a delivered order.
const ORDER_PATH: [&str; 8] = [
    "place-order",
    "accept-order",
    "request-delivery",
    "order-outbox-relay",
    "delivery-dispatcher",
    "order-delivery-updater",
    "notifier",
    "log-collector",
];

/// The order's lines, once every function of its path has logged for it
/// (log lines reach the files a moment after the work is done).
async fn order_lines(t: &TestStack, order: &str) -> Vec<LogLine> {
    let until = Instant::now() + Duration::from_secs(30);
    loop {
        let lines = order_logs::of_order(order_logs::read_dir(&t.log_dir).unwrap(), order);
        let functions: BTreeSet<&str> = lines.iter().map(|l| l.function.as_str()).collect();
        let missing: Vec<_> = ORDER_PATH.iter().filter(|f| !functions.contains(*f)).collect();
        if missing.is_empty() {
            return lines;
        }
        assert!(
            Instant::now() < until,
            "no line of order {order} from {missing:?} in {}",
            t.log_dir.display()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The one trace every line of the event path (the relay and the
/// consumers) carries for `order`.
fn one_trace_of_its_events(lines: &[LogLine], order: &str) -> String {
    let events = &ORDER_PATH[3..];
    let traces: BTreeSet<&str> = lines
        .iter()
        .filter(|l| events.contains(&l.function.as_str()))
        .map(|l| {
            assert_eq!(l.field("order_id"), Some(order), "{}", l.render());
            l.field("trace_id").unwrap_or_else(|| panic!("no trace: {}", l.render()))
        })
        .collect();
    let functions: BTreeSet<&str> =
        lines.iter().filter(|l| events.contains(&l.function.as_str())).map(|l| l.function.as_str()).collect();
    assert_eq!(functions.len(), events.len(), "{functions:?}");
    assert_eq!(traces.len(), 1, "{traces:?}");
    traces.into_iter().next().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_order_is_one_trace_across_every_function() {
    let t = TestStack::start(Settings::new("trace").parameter("DeliveryDurationMs", 300)).await;
    let shop = Shop::open(&t, 5, 1).await;
    let customer = t.token(&format!("customer-{}", t.run), "customer", None);

    // A client that sends its own trace has it continued.
    let client_trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let traceparent = format!("00-{client_trace}-00f067aa0ba902b7-01");
    let placed = t
        .api
        .call(Some(&customer), Route::PlaceOrder, Some(&shop.order(1)), &[("traceparent", &traceparent)])
        .await
        .unwrap();
    assert_eq!(placed.status, 201, "{}", placed.body);
    let traced = placed.body["order_id"].as_str().unwrap().to_owned();
    t.expect(&shop.owner, Route::AcceptOrder { order: &traced }, None, 200).await;
    t.expect(&shop.owner, Route::RequestDelivery { order: &traced }, None, 202).await;
    t.wait_until(&customer, &Route::GetOrder { order: &traced }.path(), Duration::from_secs(30), |o| {
        o["status"] == "DELIVERED"
    })
    .await;

    // One without starts a trace from Lambda's X-Ray trace of the request.
    let placed_at = chrono::Utc::now().timestamp();
    let untraced = shop.deliver_one(&t, &customer, Duration::from_secs(30)).await;

    let lines = order_lines(&t, &traced).await;
    let rendered: Vec<String> = lines.iter().map(LogLine::render).collect();
    let rendered = rendered.join("\n");
    assert_eq!(order_logs::order_trace(&lines, &traced), Some(client_trace), "{rendered}");
    assert!(lines.windows(2).all(|w| w[0].timestamp <= w[1].timestamp), "in time order");
    // Everything done for the order's events is in its trace, and names the
    // order; the later requests (accept, reads) are found by the order id.
    assert_eq!(one_trace_of_its_events(&lines, &traced), client_trace, "{rendered}");

    let other = order_lines(&t, &untraced).await;
    let trace = one_trace_of_its_events(&other, &untraced);
    assert_eq!(order_logs::order_trace(&other, &untraced), Some(trace.as_str()));
    assert_ne!(trace, client_trace);
    // X-Ray trace ids begin with the epoch second they were made at.
    let started = i64::from_str_radix(&trace[..8], 16).unwrap();
    assert!((started - placed_at).abs() <= 5, "{trace} was not started from the X-Ray trace of its request");
    t.stop().await;
}
