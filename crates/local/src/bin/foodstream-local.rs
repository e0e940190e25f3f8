//! `foodstream-local`: the local stack's command line.
//!
//! - `up`: provisions what `infra/template.yaml` declares and serves the
//!   stack in the foreground until SIGINT or SIGTERM (`make up` runs it in
//!   the background);
//! - `token`: mints a bearer token the local gateway accepts (`make token`).
//!
//! The scenario (`make demo`) and the bench (`make bench`) drive the stack
//! from outside: `foodstream-harness`.

use clap::{Parser, Subcommand};
use foodstream_config::emulators;
use foodstream_local::console::{Console, ConsoleConfig};
use foodstream_local::jwt::{self, Claims};
use foodstream_local::stack::{Stack, StackConfig};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Parser)]
#[command(about = "foodstream's local stack")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Parsed once per run: the size of the larger variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Run the stack in the foreground until interrupted.
    Up {
        #[arg(long, default_value = "infra/template.yaml")]
        template: PathBuf,
        /// Where the function binaries are; default: next to this binary.
        #[arg(long)]
        bin_dir: Option<PathBuf>,
        #[arg(long, env = "FOODSTREAM_API_ADDR", default_value = "127.0.0.1:3000")]
        api: SocketAddr,
        /// The console's address: loopback only (port 0: any free one).
        #[arg(long, env = "FOODSTREAM_CONSOLE_ADDR", default_value = "127.0.0.1:3001")]
        console: SocketAddr,
        #[arg(long, default_value = foodstream_aws::schema::local::NAMESPACE)]
        namespace: String,
        /// Before every topic name (the template's names when empty).
        #[arg(long, env = "KAFKA_TOPIC_PREFIX", default_value = "")]
        topic_prefix: String,
        /// Before every consumer group name (the template's names when
        /// empty), so stacks that share a broker keep their groups apart.
        #[arg(long, default_value = "")]
        group_prefix: String,
        #[arg(long, env = "AWS_ENDPOINT_URL", default_value = emulators::AWS_ENDPOINT_URL)]
        aws_endpoint: String,
        #[arg(long, env = "KAFKA_BOOTSTRAP_SERVERS", default_value = emulators::KAFKA_BOOTSTRAP_SERVERS)]
        kafka: String,
        /// Instances per function that may run at once.
        #[arg(long, default_value_t = 4)]
        max_instances: usize,
        /// One log file per function.
        #[arg(long, default_value = ".local/logs/functions")]
        log_dir: PathBuf,
        /// Stream checkpoints and the stack's settings (read by `scenario`).
        #[arg(long, default_value = ".local/run")]
        state_dir: PathBuf,
        #[arg(long, env = "REFUND_WINDOW_SECONDS")]
        refund_window_seconds: Option<u64>,
        #[arg(long, env = "DELIVERY_DURATION_MS")]
        delivery_duration_ms: Option<u64>,
        /// The template's ConsumerBatchingWindowSeconds: 0 (low latency) or 1 (economical, the default).
        #[arg(long, env = "CONSUMER_BATCHING_WINDOW_SECONDS")]
        consumer_batching_window_seconds: Option<u64>,
        /// Serve the API beyond loopback (then LOCAL_JWT_SECRET must be your own).
        #[arg(long)]
        allow_non_loopback: bool,
        /// Run every function binary under this command, e.g.
        /// "qemu-aarch64 -L /usr/aarch64-linux-gnu" for the arm64 package.
        #[arg(long, default_value = "")]
        launcher: String,
    },
    /// Print a bearer token for the local API (HS256, LOCAL_JWT_SECRET).
    Token {
        /// customer, owner or operator
        #[arg(long, value_parser = ["customer", "owner", "operator"])]
        role: String,
        /// The user id (the token's `sub`).
        #[arg(long)]
        sub: String,
        /// The store an owner runs (required for owners).
        #[arg(long)]
        store: Option<String>,
        /// Lifetime in seconds.
        #[arg(long, default_value_t = 3600)]
        ttl: u64,
    },
    /// Run one function once against the running stack's emulators, with
    /// the environment the stack gives it (`make invoke`): its answer on
    /// stdout, init and duration on stderr.
    Invoke {
        /// The function's binary name, e.g. list-menu.
        #[arg(long)]
        function: String,
        /// A file with the event (JSON), e.g. events/list-menu.json; default
        /// `{}` (an API function needs one).
        #[arg(long)]
        event: Option<PathBuf>,
        #[command(flatten)]
        target: foodstream_local::invoke::Target,
    },
    /// Print one function's environment on the running stack, KEY=VALUE
    /// lines (`make watch`).
    Env {
        /// The function's binary name, e.g. list-menu.
        #[arg(long)]
        function: String,
        #[command(flatten)]
        target: foodstream_local::invoke::Target,
    },
}

/// Ends the command at a second signal, while the stack stops.
fn exit_without_waiting(code: i32) -> ! {
    say("signalled again: exiting without waiting for the stack to stop".into());
    std::process::exit(code)
}

/// One line of the stack's log on stdout; a closed stdout loses the line,
/// it does not stop the stack.
fn say(line: String) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout().lock(), "{} {line}", chrono::Utc::now().format("%H:%M:%S%.3f"));
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    match Cli::parse().command {
        Command::Token { role, sub, store, ttl } => {
            if role == "owner" && store.is_none() {
                return Err("an owner token needs --store (the store the owner runs)".into());
            }
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs();
            let claims = Claims::new(&sub, &role, store.as_deref(), now, ttl);
            println!("{}", jwt::mint(&claims, &jwt::secret_from_env())?);
        }
        Command::Up {
            template,
            bin_dir,
            api,
            console,
            namespace,
            topic_prefix,
            group_prefix,
            aws_endpoint,
            kafka,
            max_instances,
            log_dir,
            state_dir,
            refund_window_seconds,
            delivery_duration_ms,
            consumer_batching_window_seconds,
            allow_non_loopback,
            launcher,
        } => {
            let bin_dir = match bin_dir {
                Some(dir) => dir,
                None => std::env::current_exe()?.parent().ok_or("no binary directory")?.to_path_buf(),
            };
            let mut parameters = BTreeMap::new();
            if let Some(s) = refund_window_seconds {
                parameters.insert("RefundWindowSeconds".to_string(), s.to_string());
            }
            if let Some(s) = consumer_batching_window_seconds {
                parameters.insert("ConsumerBatchingWindowSeconds".to_string(), s.to_string());
            }
            if let Some(ms) = delivery_duration_ms {
                parameters.insert("DeliveryDurationMs".to_string(), ms.to_string());
            }
            std::fs::create_dir_all(&state_dir)?;
            // Listened for from the start, so a Ctrl-C or SIGTERM is never
            // missed: while the stack starts it ends the command, once the
            // stack has started it stops the stack first.
            use tokio::signal::unix::{SignalKind, signal};
            let (mut interrupt, mut terminate) =
                (signal(SignalKind::interrupt())?, signal(SignalKind::terminate())?);
            // Bound first: a taken port fails before anything is provisioned.
            let console_listener = Console::bind(console).await?;
            let console_model = Console::new();
            let config = StackConfig {
                template: template.clone(),
                bin_dir,
                namespace: namespace.clone(),
                group_prefix,
                topic_prefix: topic_prefix.clone(),
                api_addr: api,
                aws_endpoint,
                kafka_bootstrap: kafka,
                parameters: parameters.clone(),
                max_instances,
                log_dir: Some(log_dir),
                state_dir: Some(state_dir.clone()),
                jwt_secret: jwt::secret_from_env(),
                // Every event to the console; the progress of each batch
                // (in flight, committed) only there, not to the log.
                activity: console_model.tap(Arc::new(|event| {
                    if !event.is_progress() {
                        say(event.to_string())
                    }
                })),
                first_retry_backoff: Duration::from_millis(200),
                schedule_every: None,
                allow_non_loopback,
                launcher: launcher.split_whitespace().map(String::from).collect(),
            };
            // A signal while the stack starts ends the command there (what
            // started is dropped with the process: instances are killed on drop).
            let stack = tokio::select! {
                started = Stack::start(config.clone()) => started?,
                _ = interrupt.recv() => return Err("interrupted while the stack was starting".into()),
                _ = terminate.recv() => return Err("terminated while the stack was starting".into()),
            };
            // From here on, every way out stops what was started: the
            // console (once serving), then the stack and its functions.
            let served: Result<(), Box<dyn std::error::Error>> = async {
                let console = async {
                    let console_config = ConsoleConfig::of_stack(&stack, &config, std::path::Path::new("."))?;
                    console_model.serve(console_listener, console_config, stack.pools().clone()).await
                }
                .await
                .map_err(|e| {
                    say("stopping".into());
                    format!("the console: {e}")
                })?;
                let ready: Result<(), Box<dyn std::error::Error>> = async {
                    for created in &stack.provisioned.created {
                        say(format!("created {created}"));
                    }
                    say(format!("{} resources already there", stack.provisioned.existing.len()));
                    let settings_of = |name: &str| {
                        parameters.get(name).cloned().or_else(|| {
                            foodstream_template::Template::load(&template)
                                .ok()
                                .and_then(|t| t.parameters.get(name).cloned().flatten())
                        })
                    };
                    let settings = serde_json::json!({
                        "api_url": stack.api_url,
                        "namespace": namespace,
                        "topic_prefix": topic_prefix,
                        "refund_window_seconds": settings_of("RefundWindowSeconds").and_then(|v| v.parse::<u64>().ok()),
                        "delivery_duration_ms": settings_of("DeliveryDurationMs").and_then(|v| v.parse::<u64>().ok()),
                        "console_url": console.url,
                        // Where `make invoke` finds the same emulators.
                        "aws_endpoint": config.aws_endpoint,
                        "kafka_bootstrap": config.kafka_bootstrap,
                        "pid": std::process::id(),
                    });
                    let settings_file = state_dir.join("stack.json");
                    std::fs::write(&settings_file, serde_json::to_vec_pretty(&settings)?)
                        .map_err(|e| format!("{}: {e}", settings_file.display()))?;
                    say(format!("ready: API {} console {}", stack.api_url, console.url));
                    tokio::select! {
                        _ = interrupt.recv() => {}
                        _ = terminate.recv() => {}
                    }
                    Ok(())
                }
                .await;
                say("stopping".into());
                console.stop().await;
                ready
            }
            .await;
            // The stack stops its pollers one after another (each within
            // 30 s); a second signal does not wait for that. The terminal's
            // Ctrl-C and `make down` signal the whole process group, so the
            // function instances get it too.
            tokio::select! {
                _ = stack.stop() => {}
                _ = interrupt.recv() => exit_without_waiting(130),
                _ = terminate.recv() => exit_without_waiting(143),
            }
            let _ = std::fs::remove_file(state_dir.join("stack.json"));
            say("stopped".into());
            served?;
        }
        Command::Invoke { function, event, target } => {
            use foodstream_local::invoke;
            match invoke::invoke(&target, &function, event.as_deref()).await {
                Ok(invocation) => {
                    if !invoke::report(&function, &invocation, &target.log_dir) {
                        std::process::exit(1);
                    }
                }
                Err(e) => {
                    eprintln!("foodstream-local invoke: {e}");
                    std::process::exit(1);
                }
            }
        }
        Command::Env { function, target } => {
            match foodstream_local::invoke::function_spec(&target, &function).await {
                Ok(spec) => {
                    for (key, value) in &spec.environment {
                        println!("{key}={value}");
                    }
                }
                Err(e) => {
                    eprintln!("foodstream-local env: {e}");
                    std::process::exit(1);
                }
            }
        }
    }
    Ok(())
}
