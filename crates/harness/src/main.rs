//! `foodstream-harness`: drives the local stack from outside.
//!
//! - `scenario`: plays SPEC section 2 against a running stack and prints the
//!   timeline (`make demo`);
//! - `bench`: cold starts, the emulators' ceilings, load with both batching
//!   profiles, DynamoDB requests per order and the throughput search
//!   (`make bench`), then its SVG charts and run.txt (`--plots-dir`).

use clap::{Parser, Subcommand};
use foodstream_config::emulators;
use foodstream_harness::bench::{self, BenchArgs};
use foodstream_harness::scenario::{self, ScenarioConfig};
use foodstream_local::jwt;
use std::path::PathBuf;
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
        #[arg(long, env = "KAFKA_BOOTSTRAP_SERVERS", default_value = emulators::KAFKA_BOOTSTRAP_SERVERS)]
        kafka: String,
        /// The settings `up` wrote (refund window, delivery time).
        #[arg(long, default_value = ".local/run/stack.json")]
        settings: PathBuf,
    },
    /// Measure cold starts, end-to-end load and cost (`make bench`).
    Bench(BenchArgs),
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    match Cli::parse().command {
        Command::Bench(args) => bench::run(args).await?,
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
