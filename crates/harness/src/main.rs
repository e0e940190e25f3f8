//! `foodstream-harness`: drives the local stack from outside.
//!
//! - `scenario`: plays SPEC section 2 against a running stack and prints the
//!   timeline (`make demo`);
//! - `bench`: cold starts, the emulators' ceilings, load with both batching
//!   profiles, DynamoDB requests per order and the throughput search
//!   (`make bench`), then its SVG charts and run.txt (`--plots-dir`).

use clap::{Parser, Subcommand};
use foodstream_harness::scenario::{self, ScenarioConfig};
use foodstream_local::jwt;
use foodstream_local::stack::{Stack, StackConfig};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Parser)]
#[command(about = "drives foodstream's local stack: the scenario and the bench")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Play the whole scenario against a running stack and print its timeline.
    Scenario {
        /// Default: the running stack's (from --settings), else http://127.0.0.1:3000.
        #[arg(long)]
        api: Option<String>,
        #[arg(long, env = "KAFKA_BOOTSTRAP_SERVERS", default_value = "127.0.0.1:9092")]
        kafka: String,
        /// The settings `up` wrote (refund window, delivery time).
        #[arg(long, default_value = ".local/run/stack.json")]
        settings: PathBuf,
    },
    /// Measure cold starts, end-to-end load and cost (`make bench`).
    Bench(BenchArgs),
}

#[derive(clap::Args)]
struct BenchArgs {
    #[arg(long, default_value = "infra/template.yaml")]
    template: PathBuf,
    /// Where the (release) function binaries and hello-lambda are.
    #[arg(long)]
    bin_dir: PathBuf,
    #[arg(long, default_value = "events")]
    events: PathBuf,
    #[arg(long, env = "AWS_ENDPOINT_URL", default_value = "http://127.0.0.1:4566")]
    aws_endpoint: String,
    #[arg(long, env = "KAFKA_BOOTSTRAP_SERVERS", default_value = "127.0.0.1:9092")]
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

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    match Cli::parse().command {
        Command::Bench(args) => bench(args).await?,
        Command::Scenario { api, kafka, settings } => {
            let settings: serde_json::Value = std::fs::read(&settings)
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok())
                .unwrap_or_default();
            let api = api
                .or_else(|| settings["api_url"].as_str().map(String::from))
                .unwrap_or_else(|| "http://127.0.0.1:3000".into());
            let config = ScenarioConfig {
                api,
                kafka_bootstrap: kafka,
                topic_prefix: settings["topic_prefix"].as_str().unwrap_or_default().to_owned(),
                jwt_secret: jwt::secret_from_env(),
                delivery_duration: Duration::from_millis(
                    settings["delivery_duration_ms"].as_u64().unwrap_or(1000),
                ),
                refund_window: Duration::from_secs(settings["refund_window_seconds"].as_u64().unwrap_or(600)),
                settle_timeout: Duration::from_secs(60),
                run_id: uuid::Uuid::new_v4().simple().to_string()[..8].to_owned(),
            };
            println!("Playing SPEC section 2 against {} (run {}) ...", config.api, config.run_id);
            let report = scenario::play(&config).await?;
            println!("\n{}", report.timeline());
            if config.refund_window > Duration::from_secs(30) {
                println!(
                    "(The refund window is {} s, too long to wait out here; `make down` then \
                     `make demo REFUND_WINDOW_SECONDS=5` plays the late refund too.)",
                    config.refund_window.as_secs()
                );
            }
        }
    }
    Ok(())
}

async fn bench(args: BenchArgs) -> Result<(), Box<dyn std::error::Error>> {
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
    use foodstream_harness::bench;
    use foodstream_harness::plots;
    use foodstream_local::runtime::FunctionSpec;
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
        bench::COLD_START_SAMPLES
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
    let (floor, rows) = bench::cold_starts(&stack, &events, floor).await;
    bench::print_cold_starts(&floor, &rows);
    let cold_starts = bench::cold_starts_json(&floor, &rows);
    let cold_start_bar = |c: &bench::ColdStart| plots::ColdStartBar {
        function: c.function.clone(),
        init_ms: c.init.as_secs_f64() * 1000.0,
        first_ms: c.first.as_secs_f64() * 1000.0,
    };
    let cold_start_chart = plots::ColdStartChart {
        title: format!(
            "Cold start: init and first call per function, median of {} fresh instances",
            bench::COLD_START_SAMPLES
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
    let ceilings = bench::ceilings(&shape, &aws, &kafka, &format!("{run}.ceiling"), concurrency, 5).await;
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
        let settings = bench::LoadSettings {
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
        let report = bench::load(&stack, &settings).await;
        bench::print_load(&report, ceilings, rate);
        let invocations_before = |name: &str| before.get(name).map(|s| s.invocations).unwrap_or(0);
        let dispatcher = match stack.pool("delivery-dispatcher") {
            Some(pool) => {
                let from = invocations_before("delivery-dispatcher");
                bench::Billed {
                    p50_ms: bench::billed_ms(&pool, from, 0.5),
                    p99_ms: bench::billed_ms(&pool, from, 0.99),
                    invocations: pool.stats().invocations - from,
                }
            }
            None => bench::Billed::default(),
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
            bench::cost_per_million_orders(&stack, report.orders, api_requests, &before);
        let completer_batches = stack
            .pool("delivery-completer")
            .map(|pool| pool.stats().invocations - invocations_before("delivery-completer"))
            .unwrap_or(0);
        let sqs = bench::sqs_cost_per_million_orders(delivered, completer_batches, report.orders);
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
        profiles.push(bench::profile_json(profile, window, &report, total, dispatcher));
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
        throughput(&start_stack, ceilings.0, concurrency, &kafka, &secret, &aws_endpoint).await?;

    let prices = &bench::PRICES;
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
        "machine": bench::machine(),
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
                value: bench::DELIVERY_FLOOR_MS as f64,
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

/// DynamoDB writes per order (moto's recorder), the order rate moto's
/// PutItem ceiling allows at that many writes, and the highest open-loop
/// rate, as a share of that ceiling, at which the pipeline keeps up: every
/// order notified and every delivery done within 5 s of the last order.
async fn throughput<F, Fut>(
    start_stack: &F,
    moto_put_items_per_s: f64,
    concurrency: usize,
    kafka: &str,
    secret: &str,
    aws_endpoint: &str,
) -> Result<(serde_json::Value, foodstream_harness::plots::ThroughputChart), Box<dyn std::error::Error>>
where
    F: Fn(BTreeMap<String, String>) -> Fut,
    Fut: std::future::Future<Output = Result<(Stack, String), foodstream_local::stack::StackError>>,
{
    use foodstream_harness::{bench, plots};
    let (stack, run) = start_stack(BTreeMap::new()).await?;
    let settings = |step: &str, rate: f64, seconds: u64, settle: u64, record: bool| bench::LoadSettings {
        seconds,
        concurrency,
        rate,
        deliver_share: 0.2,
        kafka_bootstrap: kafka.to_owned(),
        topic_prefix: format!("{run}."),
        jwt_secret: secret.to_owned(),
        run: format!("{run}-{step}"),
        settle: Duration::from_secs(settle),
        record_dynamodb_at: record.then(|| aws_endpoint.to_owned()),
    };
    println!(
        "\n== Throughput: DynamoDB requests per order (moto's recorder, 10 s at 5 orders/s, economical profile)\n"
    );
    let counted = bench::load(&stack, &settings("count", 5.0, 10, 90, true)).await;
    let counts = counted.dynamodb.unwrap_or_default();
    let orders = counted.orders.max(1) as f64;
    let dynamodb_dollars = bench::dynamodb_cost_per_million_orders(&counts, orders);
    let writes_per_order = counts.item_writes as f64 / orders;
    let ceiling = moto_put_items_per_s / writes_per_order.max(0.001);
    println!(
        "per order (one in 5 delivered): {writes_per_order:.1} item writes ({:.1} of them transactional), {:.1} reads, {:.1} requests",
        counts.transactional_item_writes as f64 / orders,
        counts.reads as f64 / orders,
        counts.requests as f64 / orders
    );
    println!(
        "DynamoDB on demand: ${dynamodb_dollars:.2} per million orders (transactional writes at twice the units, reads as strongly consistent)"
    );
    println!(
        "ceiling: moto's {moto_put_items_per_s:.0} PutItem/s / {writes_per_order:.1} writes = {ceiling:.1} orders/s"
    );
    let mut steps = Vec::new();
    let mut searched = Vec::new();
    let mut highest = 0.0;
    // Up from a quarter of the ceiling; if even that falls behind, one step
    // at an eighth, so the figure is a rate that kept up, not a zero.
    let mut shares = vec![0.25, 0.5, 0.75, 1.0];
    let mut next = 0;
    while let Some(&share) = shares.get(next) {
        next += 1;
        let rate = ceiling * share;
        let placing = |stack: &Stack| stack.pools().get("place-order").map(|pool| pool.stats());
        let before = placing(&stack);
        let report =
            bench::load(&stack, &settings(&format!("{}", (share * 100.0) as u32), rate, 10, 5, false)).await;
        // Where a placement's time goes: inside the function (its DynamoDB
        // calls) or before it.
        let place_order_ms = match (before, placing(&stack)) {
            (Some(b), Some(a)) if a.invocations > b.invocations => {
                Some((a.busy - b.busy).as_secs_f64() * 1000.0 / (a.invocations - b.invocations) as f64)
            }
            _ => None,
        };
        let placed = report.orders as f64 / report.seconds.max(0.001);
        // Open loop: the rate offered must also be the rate placed.
        let kept_up = report.errors == 0 && placed >= 0.9 * rate && report.drained_after_seconds.is_some();
        searched.push(plots::ThroughputStep { offered_per_s: rate, placed_per_s: placed, kept_up });
        println!(
            "offered {rate:.1} orders/s ({:.0}% of the ceiling): placed {placed:.1}/s (place-order: {} ms a call in the function, warm-up included), {} failed, {}",
            share * 100.0,
            place_order_ms.map_or("?".to_owned(), |ms| format!("{ms:.0}")),
            report.errors,
            match report.drained_after_seconds {
                Some(s) => format!("drained {s:.1} s after the last order"),
                None => format!(
                    "still behind 5 s after the last order ({} not notified, {} not delivered)",
                    report.lost_notifications, report.lost_deliveries
                ),
            }
        );
        steps.push(serde_json::json!({
            "offered_orders_per_s": rate, "share_of_ceiling": share, "placed_orders_per_s": placed,
            "failed_requests": report.errors, "drained_after_seconds": report.drained_after_seconds,
            "place_order_ms_in_function": place_order_ms,
            "kept_up": kept_up,
        }));
        if !kept_up {
            if highest == 0.0 && share > 0.125 {
                (shares, next) = (vec![0.125], 0);
                continue;
            }
            break;
        }
        highest = rate;
    }
    println!(
        "highest rate that kept up (placed at 90% of the offered rate or more, drained within 5 s): \
         {highest:.1} orders/s = {:.0}% of the ceiling (goal: 50%)",
        100.0 * highest / ceiling.max(0.001)
    );
    stack.stop().await;
    let chart = plots::ThroughputChart {
        title: format!(
            "Throughput search, 10 s per step, 1 order in 5 delivered: highest that kept up {highest:.1} orders/s"
        ),
        ceiling: Some(plots::Reference {
            label: format!("ceiling (moto PutItem / {writes_per_order:.1} writes per order)"),
            value: ceiling,
        }),
        steps: searched,
    };
    let summary = serde_json::json!({
        "dynamodb_per_order": {
            "item_writes": writes_per_order,
            "transactional_item_writes": counts.transactional_item_writes as f64 / orders,
            "reads": counts.reads as f64 / orders,
            "requests": counts.requests as f64 / orders,
        },
        "dynamodb_dollars_per_million_orders": dynamodb_dollars,
        "ceiling_orders_per_s": ceiling,
        "highest_kept_up_orders_per_s": highest,
        "share_of_ceiling": highest / ceiling.max(0.001),
        "steps": steps,
    });
    Ok((summary, chart))
}
