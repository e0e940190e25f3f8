//! One function of the template on its own, against the emulators of the
//! stack `make up` started and with the environment that stack gives it:
//! its template environment resolved to the stack's tables, buckets, queues
//! and topics (`up`'s `stack.json` names them), the emulators' endpoints and
//! credentials. `foodstream-local invoke` (`make invoke`) runs it once
//! through the same Runtime API host as the stack ([`crate::runtime`]);
//! `foodstream-local env` prints that environment, for `cargo lambda
//! watch` (`make watch`).

use crate::activity::StackEvent;
use crate::runtime::{FunctionPool, FunctionSpec, Invocation, InvokeOutcome};
use crate::stack::{self, StackConfig, StackError};
use foodstream_config::emulators;
use foodstream_template::{Function, Template, TemplateError};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Where the running stack is and how to run its functions: the options
/// `invoke` and `env` share, with `up`'s defaults.
#[derive(Debug, Clone, clap::Args)]
pub struct Target {
    /// The SAM template.
    #[arg(long, default_value = "infra/template.yaml")]
    pub template: PathBuf,
    /// Where the function binaries are; default: next to this binary.
    #[arg(long)]
    pub bin_dir: Option<PathBuf>,
    /// Where `up` wrote stack.json (the stack's namespace, topic prefix and settings).
    #[arg(long, default_value = ".local/run")]
    pub state_dir: PathBuf,
    /// The AWS emulator; default: the running stack's (stack.json), else 127.0.0.1:4566.
    #[arg(long, env = "AWS_ENDPOINT_URL")]
    pub aws_endpoint: Option<String>,
    /// The broker; default: the running stack's (stack.json), else 127.0.0.1:9092.
    #[arg(long, env = "KAFKA_BOOTSTRAP_SERVERS")]
    pub kafka: Option<String>,
    /// The function's output is appended to `<log_dir>/<function>.log`, as on the stack.
    #[arg(long, default_value = ".local/logs/functions")]
    pub log_dir: PathBuf,
    /// Run the binary under this command (as `up --launcher`).
    #[arg(long, default_value = "")]
    pub launcher: String,
}

/// Why a function could not be run (or its environment given).
#[derive(Debug, thiserror::Error)]
pub enum InvokeError {
    /// The template has no such function.
    #[error("no function {name} in {template}; the functions: {known}")]
    UnknownFunction {
        /// The name asked for.
        name: String,
        /// The template's path.
        template: String,
        /// The template's functions, comma-separated.
        known: String,
    },
    /// No `stack.json`, an unreadable one, or its stack's process is gone.
    #[error("the local stack is not up: make up ({reason})")]
    NotUp {
        /// What was found instead.
        reason: String,
    },
    /// An API function invoked without an event.
    #[error("{function} answers API Gateway HTTP API (2.0) requests: give EVENT=events/<file> ({sample})")]
    NeedsEvent {
        /// The function.
        function: String,
        /// Where a sample event is.
        sample: String,
    },
    /// The event file cannot be read or is not JSON.
    #[error("the event {path}: {reason}")]
    Event {
        /// The file.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The template does not load.
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// The function's environment cannot be resolved.
    #[error(transparent)]
    Stack(#[from] StackError),
    /// Anything else (no binary directory, no log directory).
    #[error("{0}")]
    Other(String),
}

/// What `foodstream-local up` wrote to `<state dir>/stack.json`: the names
/// and the settings of the running stack's functions.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct StackSettings {
    /// Before every table, bucket and queue name.
    pub namespace: String,
    /// Before every topic name.
    #[serde(default)]
    pub topic_prefix: String,
    /// The `RefundWindowSeconds` parameter the stack runs with.
    pub refund_window_seconds: Option<u64>,
    /// The `DeliveryDurationMs` parameter the stack runs with.
    pub delivery_duration_ms: Option<u64>,
    /// The stack's process.
    pub pid: Option<u32>,
    /// The AWS emulator the stack runs against.
    pub aws_endpoint: Option<String>,
    /// The broker the stack runs against.
    pub kafka_bootstrap: Option<String>,
}

impl StackSettings {
    /// The settings of the stack running now, or why there is none.
    pub fn read(state_dir: &Path) -> Result<StackSettings, InvokeError> {
        let path = state_dir.join("stack.json");
        let not_up = |reason: String| InvokeError::NotUp { reason };
        let bytes = std::fs::read(&path).map_err(|e| not_up(format!("{}: {e}", path.display())))?;
        let settings: StackSettings =
            serde_json::from_slice(&bytes).map_err(|e| not_up(format!("{}: {e}", path.display())))?;
        // Left behind by a stack that was killed rather than stopped.
        if let Some(pid) = settings.pid
            && Path::new("/proc/self").exists()
            && !Path::new(&format!("/proc/{pid}")).exists()
        {
            return Err(not_up(format!("{} names process {pid}, which is gone", path.display())));
        }
        Ok(settings)
    }

    /// The template parameters the stack runs with (those `up` takes that
    /// reach a function's environment).
    pub fn parameters(&self) -> BTreeMap<String, String> {
        let mut parameters = BTreeMap::new();
        if let Some(seconds) = self.refund_window_seconds {
            parameters.insert("RefundWindowSeconds".to_string(), seconds.to_string());
        }
        if let Some(ms) = self.delivery_duration_ms {
            parameters.insert("DeliveryDurationMs".to_string(), ms.to_string());
        }
        parameters
    }
}

/// The template's function `name`, or an error naming them all.
fn find_function<'t>(template: &'t Template, path: &Path, name: &str) -> Result<&'t Function, InvokeError> {
    template.function(name).ok_or_else(|| {
        let mut known: Vec<&str> = template.functions.iter().map(|f| f.binary.as_str()).collect();
        known.sort_unstable();
        InvokeError::UnknownFunction {
            name: name.to_owned(),
            template: path.display().to_string(),
            known: known.join(", "),
        }
    })
}

/// Function `name` as the running stack runs it (one instance at a time).
pub async fn function_spec(target: &Target, name: &str) -> Result<FunctionSpec, InvokeError> {
    find_function(&Template::load(&target.template)?, &target.template, name)?;
    let settings = StackSettings::read(&target.state_dir)?;
    let parameters = settings.parameters();
    let template = Template::load_with(&target.template, &parameters)?;
    let function = find_function(&template, &target.template, name)?;
    let bin_dir = match &target.bin_dir {
        Some(dir) => dir.clone(),
        None => std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(Path::to_path_buf))
            .ok_or_else(|| InvokeError::Other("no directory of this binary: give --bin-dir".into()))?,
    };
    let config = StackConfig {
        template: target.template.clone(),
        bin_dir,
        namespace: settings.namespace,
        group_prefix: String::new(),
        topic_prefix: settings.topic_prefix,
        api_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        aws_endpoint: target
            .aws_endpoint
            .clone()
            .or(settings.aws_endpoint)
            .unwrap_or_else(|| emulators::AWS_ENDPOINT_URL.to_owned()),
        kafka_bootstrap: target
            .kafka
            .clone()
            .or(settings.kafka_bootstrap)
            .unwrap_or_else(|| emulators::KAFKA_BOOTSTRAP_SERVERS.to_owned()),
        parameters,
        max_instances: 1,
        log_dir: Some(target.log_dir.clone()),
        state_dir: Some(target.state_dir.clone()),
        jwt_secret: String::new(),
        activity: Arc::new(|_: StackEvent| {}),
        first_retry_backoff: Duration::ZERO,
        schedule_every: None,
        allow_non_loopback: false,
        launcher: target.launcher.split_whitespace().map(String::from).collect(),
    };
    stack::provisioned_function_spec(&template, function, &config).await.map_err(InvokeError::from)
}

/// The event for `name`: the file's bytes (JSON, as Lambda's Invoke
/// requires), or `{}` without one; an API function needs one.
fn payload(
    template: &Template,
    target: &Target,
    name: &str,
    event: Option<&Path>,
) -> Result<Vec<u8>, InvokeError> {
    let Some(path) = event else {
        if template.routes.iter().any(|route| route.function == name) {
            let root =
                target.template.parent().and_then(Path::parent).map(Path::to_path_buf).unwrap_or_default();
            let sample = root.join("events").join(format!("{name}.json"));
            let sample = if sample.is_file() {
                format!("{} is one", sample.display())
            } else {
                "events/ has samples".to_string()
            };
            return Err(InvokeError::NeedsEvent { function: name.to_owned(), sample });
        }
        return Ok(b"{}".to_vec());
    };
    let failed = |reason: String| InvokeError::Event { path: path.display().to_string(), reason };
    let bytes = std::fs::read(path).map_err(|e| failed(e.to_string()))?;
    serde_json::from_slice::<serde_json::Value>(&bytes).map_err(|e| failed(format!("not JSON: {e}")))?;
    Ok(bytes)
}

/// Runs function `name` once on the event in `event` (`{}` without one), on
/// a new instance that is stopped afterwards, against the running stack.
pub async fn invoke(target: &Target, name: &str, event: Option<&Path>) -> Result<Invocation, InvokeError> {
    let template = Template::load(&target.template)?;
    find_function(&template, &target.template, name)?;
    let payload = payload(&template, target, name, event)?;
    let spec = function_spec(target, name).await?;
    std::fs::create_dir_all(&target.log_dir)
        .map_err(|e| InvokeError::Other(format!("{}: {e}", target.log_dir.display())))?;
    let pool = FunctionPool::new(spec);
    let invocation = pool.invoke(payload).await;
    pool.shutdown().await;
    Ok(invocation)
}

/// Prints what an invocation of `name` came to: the response on stdout as
/// the function gave it; init and duration on stderr, with the error when
/// it failed. Whether it succeeded.
pub fn report(name: &str, invocation: &Invocation, log_dir: &Path) -> bool {
    let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1000.0);
    let timing = match invocation.init {
        Some(init) => format!("init {}, duration {}", ms(init), ms(invocation.duration)),
        None => format!("duration {}", ms(invocation.duration)),
    };
    let log = log_dir.join(format!("{name}.log"));
    match &invocation.outcome {
        InvokeOutcome::Response(body) => {
            println!("{}", String::from_utf8_lossy(body));
            eprintln!("{name}: {timing}; its log: {}", log.display());
            true
        }
        failed => {
            eprintln!("{name} failed: {} ({timing}; its log: {})", failed.describe(), log.display());
            false
        }
    }
}
