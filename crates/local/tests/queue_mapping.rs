//! The SQS event source mapping (the delivery timer's trigger) against
//! moto's SQS and a real function process behind the Runtime API: one
//! test per property of the parity table (batch size, batching window,
//! per-message delay, visibility timeout, partial batch responses,
//! `maxReceiveCount` to the dead-letter queue, maximum concurrency).
//! Each test has its own queues; every poller stops by itself.

use foodstream_local::queue_mapping::{QueuePoller, run_queue};
use foodstream_local::runtime::{FunctionPool, FunctionSpec};
use foodstream_template::{Mapping, Source};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn echo_pool(invocations: &Path, max_instances: usize) -> Arc<FunctionPool> {
    Arc::new(FunctionPool::new(FunctionSpec {
        name: "echo".into(),
        binary: PathBuf::from(env!("CARGO_BIN_EXE_local-echo-function")),
        environment: BTreeMap::from([(
            "ECHO_INVOCATIONS_FILE".to_string(),
            invocations.display().to_string(),
        )]),
        timeout: Duration::from_secs(10),
        memory_mb: 128,
        max_instances,
        log_file: None,
        launcher: Vec::new(),
        active_tracing: false,
    }))
}

fn mapping(batch_size: u64, window: Duration, concurrency: Option<u64>) -> Mapping {
    Mapping {
        function: "echo".into(),
        source: Source::Queue { queue: "Timer".into() },
        batch_size,
        batching_window: window,
        filters: vec![],
        max_retries: -1,
        max_record_age_seconds: -1,
        bisect_on_error: false,
        starting_position: "TRIM_HORIZON".into(),
        on_failure: None,
        report_batch_item_failures: true,
        maximum_concurrency: concurrency,
    }
}

/// A queue (visibility `visibility` s) redriving to its own dead-letter
/// queue after `max_receives` receives: their URLs.
async fn queues(sqs: &aws_sdk_sqs::Client, visibility: u64, max_receives: u64) -> (String, String) {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let name = foodstream_testkit::unique("timer");
    let dlq = sqs.create_queue().queue_name(format!("{name}-dlq")).send().await.unwrap();
    let dlq_url = dlq.queue_url().unwrap().to_owned();
    let dlq_arn = foodstream_local::provision::queue_arn(sqs, &format!("{name}-dlq")).await.unwrap();
    let policy = serde_json::json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receives});
    let queue = sqs
        .create_queue()
        .queue_name(&name)
        .attributes(A::VisibilityTimeout, visibility.to_string())
        .attributes(A::RedrivePolicy, policy.to_string())
        .send()
        .await
        .unwrap();
    (queue.queue_url().unwrap().to_owned(), dlq_url)
}

async fn send(sqs: &aws_sdk_sqs::Client, url: &str, body: &str, delay: i32) {
    sqs.send_message().queue_url(url).message_body(body).delay_seconds(delay).send().await.unwrap();
}

/// Runs the mapping until `done` holds for the invocations (or `limit`
/// passes), then stops it: the events it got, each with when it came.
struct Run {
    events: Vec<(Duration, Value)>,
}

impl Run {
    fn bodies(&self) -> Vec<Vec<String>> {
        self.events
            .iter()
            .filter_map(|(_, e)| e["Records"].as_array())
            .map(|records| records.iter().map(|r| r["body"].as_str().unwrap().to_owned()).collect())
            .collect()
    }

    fn when(&self, body: &str) -> Vec<Duration> {
        self.events
            .iter()
            .filter(|(_, e)| e["Records"].as_array().into_iter().flatten().any(|r| r["body"] == body))
            .map(|(at, _)| *at)
            .collect()
    }
}

async fn run_mapping(
    mapping: Mapping,
    sqs: &aws_sdk_sqs::Client,
    url: &str,
    prepare: impl std::future::Future<Output = ()>,
    limit: Duration,
    done: impl Fn(&Run) -> bool,
) -> Run {
    let dir = std::env::temp_dir().join(foodstream_testkit::unique("queue-mapping"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("invocations.jsonl");
    let pool = echo_pool(&file, 10);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let poller = QueuePoller {
        mapping,
        pool: pool.clone(),
        sqs: sqs.clone(),
        queue_url: url.to_owned(),
        queue_arn: "arn:aws:sqs:us-east-1:000000000000:timer".into(),
        activity: Arc::new(|_| {}),
    };
    // A warm instance first: the timings below are the mapping's, not a
    // cold start's (the warm-up's own line carries no records).
    let warm = pool.invoke(b"{}".to_vec()).await;
    assert!(matches!(warm.outcome, foodstream_local::runtime::InvokeOutcome::Response(_)));
    let started = Instant::now();
    prepare.await;
    let task = tokio::spawn(run_queue(poller, stopped));
    // Each line's arrival time, as first seen by this loop (polled every 20 ms).
    let mut seen: Vec<(Duration, Value)> = Vec::new();
    loop {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        // Only whole lines: the last one may still be being written.
        let whole = text.rfind('\n').map_or("", |end| &text[..end]);
        for line in whole.lines().skip(seen.len()) {
            seen.push((started.elapsed(), serde_json::from_str(line).unwrap()));
        }
        let run = Run { events: seen.clone() };
        if done(&run) || started.elapsed() > limit {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(15), task).await.unwrap().unwrap();
    pool.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
    Run { events: seen }
}

async fn visible(sqs: &aws_sdk_sqs::Client, url: &str) -> usize {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let out = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(A::ApproximateNumberOfMessages)
        .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
        .attribute_names(A::ApproximateNumberOfMessagesDelayed)
        .send()
        .await
        .unwrap();
    let attributes = out.attributes().unwrap();
    [
        A::ApproximateNumberOfMessages,
        A::ApproximateNumberOfMessagesNotVisible,
        A::ApproximateNumberOfMessagesDelayed,
    ]
    .iter()
    .map(|a| attributes.get(a).unwrap().parse::<usize>().unwrap())
    .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn batches_hold_at_most_the_batch_size_and_the_window_gathers_them() {
    let sqs = aws_sdk_sqs::Client::new(&foodstream_testkit::config().await);
    let (url, _) = queues(&sqs, 30, 5).await;
    let sent = async {
        for i in 0..25 {
            send(&sqs, &url, &format!("m{i}"), 0).await;
        }
    };
    let all = |r: &Run| r.bodies().iter().map(Vec::len).sum::<usize>() >= 25;
    let run = run_mapping(
        mapping(10, Duration::from_secs(1), Some(1)),
        &sqs,
        &url,
        sent,
        Duration::from_secs(20),
        all,
    )
    .await;
    let sizes: Vec<usize> = run.bodies().iter().map(Vec::len).collect();
    assert!(sizes.iter().all(|n| *n <= 10), "{sizes:?}");
    // Everything was in the queue before polling began: the window fills
    // each batch to its size (ten per receive at most).
    assert_eq!(sizes, [10, 10, 5], "{sizes:?}");
    let mut bodies: Vec<String> = run.bodies().concat();
    bodies.sort();
    bodies.dedup();
    assert_eq!(bodies.len(), 25, "each message once");
    assert_eq!(visible(&sqs, &url).await, 0, "every message done with was deleted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn without_a_window_a_batch_is_what_one_receive_brings_at_once() {
    let sqs = aws_sdk_sqs::Client::new(&foodstream_testkit::config().await);
    let (url, _) = queues(&sqs, 30, 5).await;
    let one = |r: &Run| !r.bodies().is_empty();
    let sent = send(&sqs, &url, "alone", 0);
    let run =
        run_mapping(mapping(10, Duration::ZERO, None), &sqs, &url, sent, Duration::from_secs(10), one).await;
    assert_eq!(run.bodies(), [["alone"]]);
    // No window: handed over on the poll that found it.
    assert!(run.when("alone")[0] < Duration::from_millis(900), "{:?}", run.when("alone"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_delayed_message_is_handed_over_after_its_delay_and_not_before() {
    let sqs = aws_sdk_sqs::Client::new(&foodstream_testkit::config().await);
    let (url, _) = queues(&sqs, 30, 5).await;
    let sent = async {
        send(&sqs, &url, "now", 0).await;
        send(&sqs, &url, "in-two-seconds", 2).await;
    };
    let both = |r: &Run| !r.when("in-two-seconds").is_empty();
    let run =
        run_mapping(mapping(10, Duration::ZERO, None), &sqs, &url, sent, Duration::from_secs(10), both).await;
    let at = run.when("in-two-seconds")[0];
    assert!(at >= Duration::from_secs(2), "handed over {at:?} after it was sent");
    assert!(at < Duration::from_millis(2800), "the poller is slow to see it: {at:?}");
    assert!(run.when("now")[0] < Duration::from_secs(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_message_named_in_the_answer_comes_back_after_the_visibility_timeout_then_goes_to_the_dead_letter_queue()
 {
    let sqs = aws_sdk_sqs::Client::new(&foodstream_testkit::config().await);
    let (url, dlq) = queues(&sqs, 2, 2).await;
    let sent = async {
        send(&sqs, &url, "fine", 0).await;
        send(&sqs, &url, "fail-me", 0).await;
    };
    // Two receives of the failing message, then a wait long enough for a
    // third, which the redrive policy turns into a move.
    let run =
        run_mapping(mapping(10, Duration::ZERO, None), &sqs, &url, sent, Duration::from_secs(9), |_| false)
            .await;
    let fails = run.when("fail-me");
    assert_eq!(fails.len(), 2, "received maxReceiveCount times: {fails:?}");
    // Times are taken when the function is called, some milliseconds
    // after the receive that starts the 2 s timeout, and that lag varies
    // between the two calls; a message back before its timeout would be
    // back within one 50 ms poll.
    assert!(
        fails[1] - fails[0] >= Duration::from_millis(1900),
        "back only after its visibility timeout: {fails:?}"
    );
    // The partial batch response: only the named message came back.
    assert_eq!(run.when("fine").len(), 1);
    let moved = sqs.receive_message().queue_url(&dlq).max_number_of_messages(10).send().await.unwrap();
    let moved: Vec<&str> = moved.messages().iter().filter_map(|m| m.body()).collect();
    assert_eq!(moved, ["fail-me"], "on the dead-letter queue");
    assert_eq!(visible(&sqs, &url).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failed_call_or_an_unreadable_answer_deletes_nothing_and_without_reports_the_answer_is_not_read() {
    let sqs = aws_sdk_sqs::Client::new(&foodstream_testkit::config().await);
    // A call that fails (`error`), or an answer naming a message not in the
    // batch (`garble`): the whole batch failed, and both messages come back.
    let back = |r: &Run| r.when("along").len() >= 2;
    for spoiler in ["error", "garble"] {
        let (url, _) = queues(&sqs, 2, 5).await;
        let sent = async {
            send(&sqs, &url, "along", 0).await;
            send(&sqs, &url, spoiler, 0).await;
        };
        let window = mapping(10, Duration::from_millis(500), None);
        let run = run_mapping(window, &sqs, &url, sent, Duration::from_secs(8), back).await;
        assert!(run.when("along").len() >= 2, "{spoiler}: {:?}", run.bodies());
    }
    // Without ReportBatchItemFailures the answer is not read: a message it
    // names is done all the same, and never comes back.
    let (url, _) = queues(&sqs, 2, 5).await;
    let sent = send(&sqs, &url, "fail-but-unread", 0);
    let mut unread = mapping(10, Duration::ZERO, None);
    unread.report_batch_item_failures = false;
    let twice = |r: &Run| r.when("fail-but-unread").len() >= 2;
    let run = run_mapping(unread, &sqs, &url, sent, Duration::from_secs(4), twice).await;
    assert_eq!(run.when("fail-but-unread").len(), 1);
    assert_eq!(visible(&sqs, &url).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_more_batches_run_at_once_than_the_maximum_concurrency() {
    let sqs = aws_sdk_sqs::Client::new(&foodstream_testkit::config().await);
    let (url, _) = queues(&sqs, 30, 5).await;
    let sent = async {
        for i in 0..6 {
            send(&sqs, &url, &format!("slow-{i}"), 0).await;
        }
    };
    let done = |r: &Run| r.events.iter().filter(|(_, e)| e["slow_call_done"] == true).count() >= 6;
    let run =
        run_mapping(mapping(1, Duration::ZERO, Some(2)), &sqs, &url, sent, Duration::from_secs(15), done)
            .await;
    // Calls in flight, from the starts and ends the function wrote in order.
    let (mut in_flight, mut most) = (0_i32, 0_i32);
    for (_, event) in &run.events {
        if event["slow_call_done"] == true {
            in_flight -= 1;
        } else if event["Records"].is_array() {
            in_flight += 1;
            most = most.max(in_flight);
        }
    }
    assert_eq!(most, 2, "two at once, never more");
    assert_eq!(run.bodies().len(), 6);
}
