//! `foodstream-ops replay`: the failure records of the failure bucket (the
//! event source mappings' and the records the consumers parked), listed
//! and re-driven. Works against the local stack (the
//! default endpoints) and against AWS alike (your credentials; run it
//! where it can reach the brokers, i.e. inside the VPC, with
//! MSK_CLUSTER_ARN set).
//!
//! `foodstream-ops logs --order <id>`: one order's log lines across every
//! function of the local stack, in time order.

use clap::{Parser, Subcommand};
use foodstream_aws::schema::{self, local};
use foodstream_domain::events::topics;
use foodstream_kafka::KafkaPublisher;

#[derive(Parser)]
#[command(name = "foodstream-ops", about = "Operate foodstream: replay failure records, follow one order")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List the failure records (the event source mappings' and the parked
    /// ones), or re-drive some (`--key`, or `--all`).
    Replay {
        /// The failure bucket: the stack's `FailureBucketName` output on AWS.
        #[arg(long, env = "FAILURE_BUCKET", default_value_t = local::bucket(local::NAMESPACE, schema::FAILURE_BUCKET))]
        bucket: String,
        /// Re-drive the record at this key (repeatable).
        #[arg(long)]
        key: Vec<String>,
        /// Re-drive every record of the event source mappings (and, with
        /// `--parked`, the records the consumers parked).
        #[arg(long)]
        all: bool,
        /// With `--all`, re-drive the parked records too. They failed
        /// their consumer's own checks: fix the cause first, or they are
        /// parked again.
        #[arg(long)]
        parked: bool,
        /// Keep the records in the bucket after re-driving them.
        #[arg(long)]
        keep: bool,
        /// The delivery timer's dead-letter queue (name or URL): the
        /// stack's `DeliveryTimerDeadLetterQueueName` output on AWS. With
        /// `--all`, its messages go back to the timer queue.
        #[arg(
            long,
            env = "TIMER_DEAD_LETTER_QUEUE",
            default_value_t = local::name(local::NAMESPACE, schema::DELIVERY_TIMER_DEAD_LETTER_QUEUE)
        )]
        timer_dead_letters: String,
        /// The delivery timer's queue (name or URL): `DeliveryTimerQueueName` on AWS.
        #[arg(long, env = "TIMER_QUEUE", default_value_t = local::name(local::NAMESPACE, schema::DELIVERY_TIMER_QUEUE))]
        timer_queue: String,
    },
    /// One order's log lines across every function, in time order.
    Logs {
        /// The order's id.
        #[arg(long)]
        order: String,
        /// The function logs of the local stack (`make up` writes them here).
        #[arg(long, default_value = ".local/logs/functions")]
        dir: std::path::PathBuf,
    },
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("foodstream-ops: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    match Cli::parse().command {
        Command::Replay { bucket, key, all, parked, keep, timer_dead_letters, timer_queue } => {
            let timer = TimerQueues { dead_letters: timer_dead_letters, queue: timer_queue };
            replay(bucket, key, all, parked, keep, timer).await
        }
        Command::Logs { order, dir } => logs(&order, &dir),
    }
}

fn logs(order: &str, dir: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
    use foodstream_ops::order_logs;
    let all = order_logs::read_dir(dir)
        .map_err(|e| format!("{}: {e} (is the stack up? make up)", dir.display()))?;
    let mine = order_logs::of_order(all, order);
    if mine.is_empty() {
        return Err(format!("no log line names order {order} in {}", dir.display()).into());
    }
    for line in &mine {
        println!("{}", line.render());
    }
    let trace = order_logs::order_trace(&mine, order).unwrap_or("unknown");
    println!("{} line(s) of order {order}, placed in trace {trace}", mine.len());
    Ok(())
}

/// The delivery timer's queue and its dead-letter queue, by name or URL.
struct TimerQueues {
    dead_letters: String,
    queue: String,
}

/// The most messages one `make replay ALL=1` moves back to the timer.
const MAX_TIMER_REDRIVE: usize = 100_000;

async fn replay(
    bucket: String,
    key: Vec<String>,
    all: bool,
    parked: bool,
    keep: bool,
    timer: TimerQueues,
) -> Result<(), Box<dyn std::error::Error>> {
    use foodstream_ops::ReplayError;
    let config = foodstream_aws::load_config().await;
    let s3 = foodstream_aws::s3_client(&config);
    let sqs = aws_sdk_sqs::Client::new(&config);
    if key.is_empty() {
        // The timer's dead-letter queue: completions the completer failed
        // five times (their deliveries were finished by the sweeper).
        match foodstream_ops::queue_url(&sqs, &timer.dead_letters).await {
            Err(missing) => {
                println!("no delivery timer dead-letter queue ({missing}): set TIMER_DEAD_LETTER_QUEUE")
            }
            Ok(dead_letters) if all => {
                let queue = foodstream_ops::queue_url(&sqs, &timer.queue).await?;
                let moved =
                    foodstream_ops::redrive_queue(&sqs, &dead_letters, &queue, MAX_TIMER_REDRIVE).await?;
                println!(
                    "{} delivery completion(s) moved back from {} to {}",
                    moved.moved, timer.dead_letters, timer.queue
                );
            }
            Ok(dead_letters) => {
                let waiting = foodstream_ops::waiting(&sqs, &dead_letters).await?;
                println!(
                    "{waiting} delivery completion(s) in {} (ALL=1 moves them back)",
                    timer.dead_letters
                );
            }
        }
    }
    if key.is_empty() && !all {
        // The bucket is walked a page at a time and each record printed as
        // it is read: never held whole.
        let (mut records, mut strays) = (0, 0);
        foodstream_ops::each_key(&s3, &bucket, async |key| {
            match foodstream_ops::read(&s3, &bucket, key).await {
                Ok(r) => {
                    records += 1;
                    let function = r.function_arn.rsplit(':').next().unwrap_or_default();
                    let why = if r.reason.is_empty() { String::new() } else { format!(": {}", r.reason) };
                    println!(
                        "{}  {}  {function}  {} record(s) from {}  {}{why}",
                        r.key, r.timestamp, r.batch_size, r.source, r.condition
                    );
                }
                Err(stray @ ReplayError::NotARecord { .. }) => {
                    strays += 1;
                    eprintln!("skipped {stray}");
                }
                Err(other) => return Err(other),
            }
            Ok(())
        })
        .await?;
        println!("{records} failure record(s) in {bucket}, {strays} other object(s) skipped");
        if records > 0 {
            println!("re-drive: make replay KEY=<key>, or make replay ALL=1");
        }
        return Ok(());
    }
    let publisher = KafkaPublisher::from_env(
        &config,
        &[topics::ORDER_EVENTS, topics::DELIVERY_EVENTS, topics::LOG_EVENTS],
    )
    .await?;
    let (mut done, mut failed, mut strays) = (0, 0, 0);
    let mut redrive =
        async |key: &str| match foodstream_ops::replay(&s3, &bucket, key, &publisher, &sqs, keep).await {
            Ok(replayed) => {
                done += 1;
                println!(
                    "{key}: {} produced again, {} relayed again, {} sent again",
                    replayed.produced, replayed.relayed, replayed.resent
                );
                Ok(())
            }
            // Reported and skipped: the walk goes on.
            Err(stray @ ReplayError::NotARecord { .. }) => {
                strays += 1;
                eprintln!("skipped {stray}");
                Ok(())
            }
            Err(still @ ReplayError::StillFailing { .. }) => {
                failed += 1;
                eprintln!("{still}");
                Ok(())
            }
            Err(storage) => Err(storage),
        };
    if all {
        // Parked records stay unless asked for: re-driven before their
        // cause is fixed, they would only be parked again.
        let mut skipped_parked = 0;
        foodstream_ops::each_key(&s3, &bucket, async |key: &str| {
            if !parked && key.starts_with(foodstream_aws::PARKED_PREFIX) {
                skipped_parked += 1;
                return Ok(());
            }
            redrive(key).await
        })
        .await?;
        if skipped_parked > 0 {
            println!(
                "{skipped_parked} parked record(s) left in place: make replay ALL=1 PARKED=1 re-drives them too"
            );
        }
    } else {
        // KEY=: that one object (or those), fetched alone.
        for key in &key {
            redrive(key).await?;
        }
    }
    println!("{done} re-driven, {failed} still failing, {strays} other object(s) skipped");
    if failed > 0 {
        return Err(format!("{failed} record(s) could not be re-driven").into());
    }
    if !all && strays > 0 {
        return Err(format!("{strays} of the keys named are not failure records").into());
    }
    Ok(())
}
