//! `make bench`'s measurements on the local stack: cold starts of every
//! function next to a hello-world `lambda_runtime` binary, end-to-end load
//! through the gateway next to the emulators' own ceilings, and a cost per
//! million orders from the measured durations. Every figure is printed next
//! to its floor or ceiling as a ratio.
//!
//! `cold_starts`, the cold starts; `load`, load through the gateway,
//! the emulators' ceilings and the throughput search; `moto`, the DynamoDB
//! requests counted from moto's recorder; `cost`, prices and the cost per
//! million orders. Here: the shared statistics, the run that ties them
//! together (`run`), and its summary.

mod cold_starts;
mod cost;
mod load;
mod moto;

pub use cold_starts::{COLD_START_SAMPLES, ColdStart, cold_starts, cold_starts_json, print_cold_starts};
pub use cost::{
    Billed, PRICES, Prices, billed_ms, cost_per_million_orders, dynamodb_cost_per_million_orders,
    sqs_cost_per_million_orders,
};
pub use load::{DELIVERY_FLOOR_MS, LoadReport, LoadSettings, ceilings, load, print_load};
pub use moto::{DynamoCounts, count_dynamodb_requests};

use crate::plots;
use foodstream_config::emulators;
use foodstream_local::jwt;
use foodstream_local::runtime::FunctionSpec;
use foodstream_local::stack::{Stack, StackConfig};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// The `p` quantile (0 to 1) of sorted values, by the nearest index; NaN
/// when there are none. The bench's figures and its charts share it.
pub(crate) fn percentile(sorted: &[f64], p: f64) -> f64 {
    let index = (sorted.len().saturating_sub(1) as f64 * p).round() as usize;
    sorted.get(index).copied().unwrap_or(f64::NAN)
}

/// The `bench` subcommand's arguments.
#[derive(clap::Args)]
pub struct BenchArgs {
    #[arg(long, default_value = "infra/template.yaml")]
    template: PathBuf,
    /// Where the (release) function binaries and hello-lambda are.
    #[arg(long)]
    bin_dir: PathBuf,
    #[arg(long, default_value = "events")]
    events: PathBuf,
    #[arg(long, env = "AWS_ENDPOINT_URL", default_value = emulators::AWS_ENDPOINT_URL)]
    aws_endpoint: String,
    #[arg(long, env = "KAFKA_BOOTSTRAP_SERVERS", default_value = emulators::KAFKA_BOOTSTRAP_SERVERS)]
    kafka: String,
    /// How long the load runs.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Clients placing orders at once.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Orders per second offered during the load.
    #[arg(long, default_value_t = 5.0)]
    rate: f64,
    /// Run every binary under this command ("qemu-aarch64 -L
    /// /usr/aarch64-linux-gnu" for arm64 bootstraps).
    #[arg(long, default_value = "")]
    launcher: String,
    /// Measure the cold starts only (scripts/measure-release-profiles.sh).
    #[arg(long)]
    cold_starts_only: bool,
    /// The share of orders also delivered (1.0: every one).
    #[arg(long, env = "BENCH_DELIVER_SHARE", default_value_t = 1.0)]
    deliver_share: f64,
    /// Also write the cold starts to this JSON file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Write every figure of the run, with its floor or ceiling and the
    /// machine, to this JSON file (`make bench` prints it as its
    /// `bench-summary:` line).
    #[arg(long)]
    summary_json: Option<PathBuf>,
    /// Where the run's SVG charts go, with run.txt (the run's date and
    /// settings); relative to the current directory.
    #[arg(long, env = "BENCH_PLOTS_DIR", default_value = "docs/bench")]
    plots_dir: PathBuf,
}

/// The `bench` subcommand: cold starts, the emulators' ceilings, load with
/// each batching profile and its cost, the throughput search, then the
/// summary, the charts and run.txt.
pub async fn run(args: BenchArgs) -> Result<(), Box<dyn std::error::Error>> {
    let BenchArgs {
        template,
        bin_dir,
        events,
        aws_endpoint,
        kafka,
        seconds,
        concurrency,
        rate,
        launcher,
        cold_starts_only,
        deliver_share,
        json,
        summary_json,
        plots_dir,
    } = args;
    let started = chrono::Utc::now();
    let launcher: Vec<String> = launcher.split_whitespace().map(String::from).collect();
    let secret = jwt::secret_from_env();
    let start_stack = |parameters: BTreeMap<String, String>| {
        let run = format!("bench{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
        let config = StackConfig {
            template: template.clone(),
            bin_dir: bin_dir.clone(),
            namespace: run.clone(),
            group_prefix: format!("{run}-"),
            topic_prefix: format!("{run}."),
            api_addr: "127.0.0.1:0".parse().expect("a socket address"),
            aws_endpoint: aws_endpoint.clone(),
            kafka_bootstrap: kafka.clone(),
            parameters,
            max_instances: concurrency.max(1),
            log_dir: Some(PathBuf::from(".local/logs/bench").join(&run)),
            state_dir: None,
            jwt_secret: secret.clone(),
            activity: Arc::new(|_| {}),
            first_retry_backoff: Duration::from_millis(200),
            schedule_every: None,
            allow_non_loopback: false,
            launcher: launcher.clone(),
        };
        async move { Stack::start(config).await.map(|stack| (stack, run)) }
    };
    let (stack, run) = start_stack(BTreeMap::new()).await?;

    println!(
        "== Cold start: init and first call of every function on its events/ payload, under the local Runtime API host (median of {} fresh instances each, the floor sampled in the same rounds)\n",
        COLD_START_SAMPLES
    );
    let floor = FunctionSpec {
        name: "hello-lambda (floor)".into(),
        binary: bin_dir.join("hello-lambda"),
        environment: BTreeMap::new(),
        timeout: Duration::from_secs(10),
        memory_mb: 128,
        max_instances: 1,
        log_file: None,
        launcher: launcher.clone(),
        active_tracing: false,
    };
    let (floor, rows) = cold_starts(&stack, &events, floor).await;
    print_cold_starts(&floor, &rows);
    let cold_starts = cold_starts_json(&floor, &rows);
    let cold_start_bar = |c: &ColdStart| plots::ColdStartBar {
        function: c.function.clone(),
        init_ms: c.init.as_secs_f64() * 1000.0,
        first_ms: c.first.as_secs_f64() * 1000.0,
    };
    let cold_start_chart = plots::ColdStartChart {
        title: format!(
            "Cold start: init and first call per function, median of {} fresh instances",
            COLD_START_SAMPLES
        ),
        floor: cold_start_bar(&floor),
        functions: rows.iter().map(cold_start_bar).collect(),
    };
    if let Some(path) = json {
        std::fs::write(&path, cold_starts.to_string())?;
    }
    for pool in stack.pools().values() {
        pool.shutdown().await;
    }
    if cold_starts_only {
        stack.stop().await;
        return Ok(());
    }

    println!("\n== Ceilings of the emulators at concurrency {concurrency} (5 s each)\n");
    let aws = foodstream_aws::emulator_config(&aws_endpoint).await;
    // PutItem into a copy of a table of the template with a single string key.
    let shape = foodstream_template::Template::load(&template)?
        .table("IdempotencyTable")
        .cloned()
        .ok_or("the template has no IdempotencyTable")?;
    let ceilings = ceilings(&shape, &aws, &kafka, &format!("{run}.ceiling"), concurrency, 5).await;
    println!(
        "moto PutItem: {:.0} items/s; broker produce (acks=all, 512 B): {:.0} msgs/s",
        ceilings.0, ceilings.1
    );
    stack.stop().await;

    // The same load on a fresh stack per batching profile of the template,
    // then one partition per topic at 10 deliveries a second (the most a
    // single partition is asked to hold here).
    let mut profiles = Vec::new();
    // For the charts and run.txt.
    let (mut paid_series, mut delivered_series, mut cost_bars) = (Vec::new(), Vec::new(), Vec::new());
    let mut profile_settings = Vec::new();
    let runs =
        [("low-latency", "0", "3", rate), ("economical", "1", "3", rate), ("one-partition", "0", "1", 10.0)];
    for (profile, window, partitions, rate) in runs {
        let share = if profile == "one-partition" { 1.0 } else { deliver_share };
        let parameters = BTreeMap::from([
            ("ConsumerBatchingWindowSeconds".to_string(), window.to_string()),
            ("TopicPartitions".to_string(), partitions.to_string()),
        ]);
        let (stack, run) = start_stack(parameters).await?;
        println!(
            "\n== {profile} (ConsumerBatchingWindowSeconds={window}, TopicPartitions={partitions}): end-to-end load through the gateway, \
             {rate} orders/s offered by {concurrency} clients for {seconds} s, {:.0}% of them delivered\n",
            share * 100.0
        );
        let before: BTreeMap<String, foodstream_local::runtime::PoolStats> =
            stack.pools().iter().map(|(name, pool)| (name.clone(), pool.stats())).collect();
        let settings = LoadSettings {
            seconds,
            concurrency,
            rate,
            deliver_share: share,
            kafka_bootstrap: kafka.clone(),
            topic_prefix: format!("{run}."),
            jwt_secret: secret.clone(),
            run: run.clone(),
            settle: Duration::from_secs(90),
            record_dynamodb_at: None,
        };
        let report = load(&stack, &settings).await;
        print_load(&report, ceilings, rate);
        let invocations_before = |name: &str| before.get(name).map(|s| s.invocations).unwrap_or(0);
        let dispatcher = match stack.pool("delivery-dispatcher") {
            Some(pool) => {
                let from = invocations_before("delivery-dispatcher");
                Billed {
                    p50_ms: billed_ms(&pool, from, 0.5),
                    p99_ms: billed_ms(&pool, from, 0.99),
                    invocations: pool.stats().invocations - from,
                }
            }
            None => Billed::default(),
        };
        println!(
            "delivery-dispatcher billed per invocation: p50 {:.0} ms, p99 {:.0} ms over {} invocations",
            dispatcher.p50_ms, dispatcher.p99_ms, dispatcher.invocations
        );

        println!(
            "\n{profile}: cost per million orders on AWS (Lambda, API Gateway and the timer's SQS), from the durations measured under load\n"
        );
        let delivered = report.delivered_latency_ms.len();
        // Per order: POST /orders; per delivered order also accept and delivery-requests.
        let api_requests = report.orders + 2 * delivered;
        let (lambda_and_api, mut per_function) =
            cost_per_million_orders(&stack, report.orders, api_requests, &before);
        let completer_batches = stack
            .pool("delivery-completer")
            .map(|pool| pool.stats().invocations - invocations_before("delivery-completer"))
            .unwrap_or(0);
        let sqs = sqs_cost_per_million_orders(delivered, completer_batches, report.orders);
        // By service for the chart: the functions' entries are Lambda, the
        // rest of `lambda_and_api` API Gateway.
        let lambda: f64 = per_function
            .iter()
            .filter(|(name, _)| stack.pools().contains_key(name.as_str()))
            .map(|(_, dollars)| dollars)
            .sum();
        per_function.insert("SQS (the delivery timer's requests)".into(), sqs);
        let total = lambda_and_api + sqs;
        for (name, dollars) in &per_function {
            println!("  {name:<36} ${dollars:>8.2}");
        }
        println!("  {:<36} ${total:>8.2} per million orders", "total");
        println!(
            "  {:<36} ${:>8.2} per million delivered orders",
            "",
            total * report.orders as f64 / delivered.max(1) as f64
        );
        profiles.push(profile_json(profile, window, &report, total, dispatcher));
        let label = format!("{profile}, {rate} orders/s");
        paid_series
            .push(plots::LatencySeries { label: label.clone(), samples_ms: report.paid_latency_ms.clone() });
        delivered_series
            .push(plots::LatencySeries { label, samples_ms: report.delivered_latency_ms.clone() });
        cost_bars.push(plots::CostBar {
            profile: profile.to_owned(),
            services: vec![
                ("Lambda".to_owned(), lambda),
                ("API Gateway (HTTP API)".to_owned(), lambda_and_api - lambda),
                ("SQS (delivery timer)".to_owned(), sqs),
            ],
        });
        profile_settings.push(format!(
            "  {profile}: ConsumerBatchingWindowSeconds={window}, TopicPartitions={partitions}, \
             {rate} orders/s offered, {:.0}% delivered",
            share * 100.0
        ));
        stack.stop().await;
    }
    let (throughput, throughput_chart) =
        load::throughput(&start_stack, ceilings.0, concurrency, &kafka, &secret, &aws_endpoint).await?;

    let prices = &PRICES;
    println!(
        "  (prices, us-east-1 on demand: Lambda arm64 ${}/GB-s and ${}/M requests, HTTP API ${}/M requests; \
         SQS ${}/M requests; durations measured on this machine's x86_64 CPU, billed rounded up to 1 ms at each function's MemorySize; \
         DynamoDB, MSK, S3 and data transfer not included)",
        prices.lambda_gb_second,
        prices.lambda_per_million_requests,
        prices.http_api_per_million_requests,
        prices.sqs_per_million_requests
    );
    let summary = serde_json::json!({
        "machine": machine(),
        "settings": {"seconds": seconds, "concurrency": concurrency, "rate_offered": rate, "deliver_share": deliver_share},
        "cold_starts": cold_starts,
        "ceilings": {"moto_put_item_per_s": ceilings.0, "broker_produce_msgs_per_s": ceilings.1},
        "profiles": profiles,
        "throughput": throughput,
    });
    if let Some(path) = summary_json {
        std::fs::write(&path, summary.to_string())?;
    }

    // The run's charts, and run.txt: when and how it ran (docs/performance.md
    // dates its charts by it).
    let machine = &summary["machine"];
    let run_txt = format!(
        "make bench (foodstream-harness bench), started {} UTC, finished {} UTC\n\
         settings: BENCH_SECONDS={seconds} (per profile), BENCH_CONCURRENCY={concurrency}, \
         BENCH_RATE={rate} (orders/s offered), BENCH_DELIVER_SHARE={deliver_share}\n\
         profiles:\n{}\n\
         machine: {} CPUs, {}, {}\n",
        started.format("%Y-%m-%d %H:%M:%S"),
        chrono::Utc::now().format("%Y-%m-%d %H:%M:%S"),
        profile_settings.join("\n"),
        machine["cpus"],
        machine["cpu"].as_str().unwrap_or("unknown"),
        machine["arch"].as_str().unwrap_or("unknown"),
    );
    let charts = plots::BenchCharts {
        paid: plots::LatencyCdf {
            title: format!("Placement → PAID notification ({concurrency} clients, {seconds} s per profile)"),
            series: paid_series,
            floor: None,
        },
        delivered: plots::LatencyCdf {
            title: format!("Delivery request → DELIVERED ({concurrency} clients, {seconds} s per profile)"),
            series: delivered_series,
            floor: Some(plots::Reference {
                label: "floor: the delivery time".into(),
                value: DELIVERY_FLOOR_MS as f64,
            }),
        },
        cost: plots::CostChart {
            title: "Cost per million orders on AWS by service (DynamoDB, MSK, S3, transfer not included)"
                .into(),
            bars: cost_bars,
        },
        cold_starts: cold_start_chart,
        throughput: throughput_chart,
    };
    let written = plots::write_all(&plots_dir, &charts, &run_txt)?;
    println!();
    for path in &written.charts {
        println!("chart: {}", path.display());
    }
    println!("run: {}", written.run.display());
    Ok(())
}

/// One batching profile's figures, next to their floors, for the summary.
pub fn profile_json(
    profile: &str,
    window: &str,
    report: &LoadReport,
    cost_per_million: f64,
    dispatcher: Billed,
) -> Value {
    let p = |v: &[f64], q: f64| percentile(v, q);
    let delivered = report.delivered_latency_ms.len();
    let per_delivered = cost_per_million * report.orders as f64 / delivered.max(1) as f64;
    json!({
        "profile": profile,
        "consumer_batching_window_seconds": window,
        "delivered_orders": delivered,
        "dispatcher_billed_ms": {"p50": dispatcher.p50_ms, "p99": dispatcher.p99_ms, "invocations": dispatcher.invocations},
        "lambda_api_gateway_sqs_dollars_per_million_delivered_orders": per_delivered,
        "orders": report.orders,
        "orders_per_s": report.orders as f64 / report.seconds.max(0.001),
        "failed_requests": report.errors,
        "paid_notification_ms": {"p50": p(&report.paid_latency_ms, 0.5), "p99": p(&report.paid_latency_ms, 0.99), "never": report.lost_notifications},
        "delivered_ms": {"p50": p(&report.delivered_latency_ms, 0.5), "p99": p(&report.delivered_latency_ms, 0.99), "never": report.lost_deliveries, "floor": DELIVERY_FLOOR_MS},
        "lambda_api_gateway_sqs_dollars_per_million_orders": cost_per_million,
    })
}

/// What the figures were measured on.
pub fn machine() -> Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name").and_then(|r| r.split(':').nth(1)))
        .map(str::trim)
        .unwrap_or("unknown");
    json!({
        "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "cpu": model,
        "arch": std::env::consts::ARCH,
        "date": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    })
}
