//! The Lambda Runtime API host: each function instance is its own process
//! with `AWS_LAMBDA_RUNTIME_API` pointing at a listener of ours on
//! 127.0.0.1, exactly as the Lambda service hands invocations to a custom
//! runtime (`provided.al2023`). Overlapping invocations start more
//! instances, up to a limit; an invocation past its timeout kills its
//! instance and is reported as Lambda reports it; init and invocation
//! durations are recorded for every call.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::process::{Child, Command};
use tokio::sync::{Mutex, mpsc, oneshot};

/// How to run one function.
#[derive(Debug, Clone)]
pub struct FunctionSpec {
    /// The function's name (`AWS_LAMBDA_FUNCTION_NAME`, and in its ARN).
    pub name: String,
    /// The bootstrap executable each instance runs.
    pub binary: PathBuf,
    /// The instance's environment, on top of `PATH`, `HOME` and the
    /// variables the Lambda runtime sets.
    pub environment: BTreeMap<String, String>,
    /// How long an invocation (or an instance's init) may take before the
    /// instance is killed.
    pub timeout: Duration,
    /// `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`: reported only, not enforced.
    pub memory_mb: u64,
    /// Instances that may run at once.
    pub max_instances: usize,
    /// Where the instances' stdout and stderr go (appended); inherited when
    /// `None`.
    pub log_file: Option<PathBuf>,
    /// A command the binary runs under (its first word the program, then
    /// its arguments, then the binary): `qemu-aarch64 -L /usr/aarch64-linux-gnu`
    /// for arm64 bootstraps on an x86_64 machine. Empty: the binary itself.
    pub launcher: Vec<String>,
    /// `Tracing: Active`: invocations come sampled for X-Ray.
    pub active_tracing: bool,
}

/// Lambda's limit on a synchronous invocation's request and response
/// payloads: 6 MB (6,291,456 bytes).
pub const MAX_INVOKE_PAYLOAD_BYTES: usize = 6 * 1024 * 1024;

/// How an invocation ended, as the Lambda service would report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvokeOutcome {
    /// The function's answer, as it posted it.
    Response(Vec<u8>),
    /// The function reported an error (`/invocation/{id}/error`), or Lambda
    /// refused a payload over the limit.
    Error {
        /// `errorType`, e.g. [`REQUEST_TOO_LARGE`].
        error_type: String,
        /// `errorMessage`.
        message: String,
    },
    /// Past its timeout: the instance was killed.
    TimedOut {
        /// The timeout that ran out.
        after: Duration,
    },
    /// The process died or never reached the Runtime API.
    Crashed {
        /// What happened, for the log.
        reason: String,
    },
}

/// Fault injection for the reliability tests: what happens to the next
/// invocation of a pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sabotage {
    /// The instance is killed as it answers: all its work done, the answer
    /// lost, so the caller sees a crash and retries work already applied.
    Crash,
    /// The call gets this timeout instead of the template's.
    Timeout {
        /// The timeout the call gets.
        after: Duration,
    },
    /// The call never reaches the function: its environment dies before
    /// running anything (reported as a crash; nothing was done).
    Refuse,
}

/// What a pool's calls added up to (for the benchmarks' cost figures).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Calls handed to an instance (Lambda's `Invocations`, less
    /// `failed_starts`).
    pub invocations: u64,
    /// Time spent in invocations (init excluded).
    pub busy: Duration,
    /// Instances started that reached the Runtime API (cold starts).
    pub inits: u64,
    /// Those instances' init time, summed.
    pub init_time: Duration,
    /// Calls that did not answer: the function's error, a timeout or a crash
    /// (Lambda's `Errors`).
    pub errors: u64,
    /// Calls that found every instance busy at the limit and waited for
    /// one (Lambda would throttle them past its concurrency).
    pub throttles: u64,
    /// Calls that never reached the handler (refused, or the instance died
    /// or timed out in init): not in `invocations`, whose durations they
    /// lack, but in `errors`.
    pub failed_starts: u64,
}

/// What one invocation took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// How it ended.
    pub outcome: InvokeOutcome,
    /// The `Lambda-Runtime-Aws-Request-Id` the call was given (empty when
    /// no instance could be started).
    pub request_id: String,
    /// Process start to its first `next`, when this call started the instance.
    pub init: Option<Duration>,
    /// From handing the event over to the answer.
    pub duration: Duration,
}

struct Pending {
    id: String,
    payload: Vec<u8>,
    deadline_ms: u128,
}

/// The Runtime API of one instance.
#[derive(Clone)]
struct InstanceApi {
    function_arn: String,
    active_tracing: bool,
    /// Invocations for this instance; `next` waits on it.
    queue: Arc<Mutex<mpsc::Receiver<Pending>>>,
    /// Answers by request id.
    answers: Arc<Mutex<HashMap<String, oneshot::Sender<InvokeOutcome>>>>,
    /// Told once, on the first `next`.
    ready: Arc<Mutex<Option<oneshot::Sender<Instant>>>>,
}

async fn next(State(api): State<InstanceApi>) -> Response {
    if let Some(ready) = api.ready.lock().await.take() {
        let _ = ready.send(Instant::now());
    }
    let Some(pending) = api.queue.lock().await.recv().await else {
        return StatusCode::GONE.into_response();
    };
    let mut headers = HeaderMap::new();
    let put = |h: &mut HeaderMap, k: &'static str, v: String| {
        h.insert(k, HeaderValue::from_str(&v).expect("ASCII header"));
    };
    put(&mut headers, "lambda-runtime-aws-request-id", pending.id);
    put(&mut headers, "lambda-runtime-deadline-ms", pending.deadline_ms.to_string());
    put(&mut headers, "lambda-runtime-invoked-function-arn", api.function_arn.clone());
    put(&mut headers, "lambda-runtime-trace-id", xray_trace_header(api.active_tracing));
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    (StatusCode::OK, headers, pending.payload).into_response()
}

/// A new X-Ray trace header, as Lambda gives every invocation that came
/// without one: `Root=1-<epoch seconds, 8 hex>-<96 random bits>`, sampled
/// when the function's tracing is active.
fn xray_trace_header(active_tracing: bool) -> String {
    let seconds =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs();
    let random = uuid::Uuid::new_v4().as_u128();
    format!(
        "Root=1-{:08x}-{:024x};Parent={:016x};Sampled={}",
        seconds as u32,
        random >> 32,
        (random as u64) | 1,
        u8::from(active_tracing)
    )
}

/// The error Lambda's Invoke answers for a request over the limit.
pub const REQUEST_TOO_LARGE: &str = "RequestEntityTooLargeException";
/// The invocation error of a function whose response is over the limit.
pub const RESPONSE_TOO_LARGE: &str = "Function.ResponseSizeTooLarge";

async fn respond(State(api): State<InstanceApi>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    match api.answers.lock().await.remove(&id) {
        Some(tx) => {
            let outcome = if body.len() > MAX_INVOKE_PAYLOAD_BYTES {
                InvokeOutcome::Error {
                    error_type: RESPONSE_TOO_LARGE.into(),
                    message: format!(
                        "Response payload size ({} bytes) exceeded maximum allowed payload size ({MAX_INVOKE_PAYLOAD_BYTES} bytes).",
                        body.len()
                    ),
                }
            } else {
                InvokeOutcome::Response(body.to_vec())
            };
            let _ = tx.send(outcome);
            StatusCode::ACCEPTED
        }
        None => StatusCode::BAD_REQUEST,
    }
}

async fn fail(State(api): State<InstanceApi>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    let (error_type, message) = error_of(&body);
    match api.answers.lock().await.remove(&id) {
        Some(tx) => {
            let _ = tx.send(InvokeOutcome::Error { error_type, message });
            StatusCode::ACCEPTED
        }
        None => StatusCode::BAD_REQUEST,
    }
}

async fn init_error(State(api): State<InstanceApi>, body: Bytes) -> StatusCode {
    let (error_type, message) = error_of(&body);
    let mut answers = api.answers.lock().await;
    for (_, tx) in answers.drain() {
        let _ = tx.send(InvokeOutcome::Crashed { reason: format!("init error {error_type}: {message}") });
    }
    StatusCode::ACCEPTED
}

fn error_of(body: &[u8]) -> (String, String) {
    let value: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let text = |k: &str| value.get(k).and_then(|v| v.as_str()).unwrap_or_default().to_owned();
    (text("errorType"), text("errorMessage"))
}

/// A running process and the way to hand it work.
struct Instance {
    child: Child,
    sender: mpsc::Sender<Pending>,
    api: InstanceApi,
    server: tokio::task::JoinHandle<()>,
    ready: Option<oneshot::Receiver<Instant>>,
    started: Instant,
}

impl Instance {
    async fn start(spec: &FunctionSpec) -> std::io::Result<Instance> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let (sender, receiver) = mpsc::channel(1);
        let (ready_tx, ready_rx) = oneshot::channel();
        let api = InstanceApi {
            function_arn: crate::ids::function_arn(&spec.name),
            active_tracing: spec.active_tracing,
            queue: Arc::new(Mutex::new(receiver)),
            answers: Arc::new(Mutex::new(HashMap::new())),
            ready: Arc::new(Mutex::new(Some(ready_tx))),
        };
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route("/2018-06-01/runtime/invocation/{id}/response", post(respond))
            .route("/2018-06-01/runtime/invocation/{id}/error", post(fail))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            // axum's own 2 MB default would refuse answers Lambda takes; the
            // 6 MB rule is applied by `respond`, as Lambda applies it.
            .layer(axum::extract::DefaultBodyLimit::max(4 * MAX_INVOKE_PAYLOAD_BYTES))
            .with_state(api.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let mut command = match spec.launcher.split_first() {
            Some((program, args)) => {
                let mut command = Command::new(program);
                command.args(args).arg(&spec.binary);
                command
            }
            None => Command::new(&spec.binary),
        };
        if let Some(path) = &spec.log_file {
            let file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
            command.stdout(file.try_clone()?).stderr(file);
        }
        let child = command
            .env_clear()
            .envs(std::env::vars().filter(|(k, _)| k == "PATH" || k == "HOME"))
            .envs(&spec.environment)
            .env("AWS_LAMBDA_RUNTIME_API", address.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", &spec.name)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", spec.memory_mb.to_string())
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{}", spec.name))
            .env("AWS_LAMBDA_LOG_STREAM_NAME", crate::ids::log_stream_name(chrono::Utc::now()))
            .kill_on_drop(true)
            .spawn()?;
        Ok(Instance { child, sender, api, server, ready: Some(ready_rx), started: Instant::now() })
    }

    async fn stop(mut self) {
        let _ = self.child.kill().await;
        self.server.abort();
    }
}

/// The instances of one function.
pub struct FunctionPool {
    spec: FunctionSpec,
    idle: Mutex<Vec<Instance>>,
    /// One permit per call in progress, for the limit: an instance starts
    /// only when none is idle, so instances alive stay within it too.
    permits: Arc<tokio::sync::Semaphore>,
    /// What happens to the next invocations, in order.
    sabotage: Mutex<std::collections::VecDeque<Sabotage>>,
    stats: std::sync::Mutex<PoolStats>,
    /// Each invocation's duration, in order (the first [`MAX_KEPT_DURATIONS`]).
    durations: std::sync::Mutex<Vec<Duration>>,
    /// Each instance's init, in order (the first [`MAX_KEPT_DURATIONS`]).
    inits: std::sync::Mutex<Vec<Duration>>,
}

/// How many invocation durations a pool keeps for percentiles (the
/// bench's runs stay far below it).
pub const MAX_KEPT_DURATIONS: usize = 1_000_000;

impl FunctionPool {
    /// A pool with no instance yet: the first call starts one.
    pub fn new(spec: FunctionSpec) -> FunctionPool {
        let permits = Arc::new(tokio::sync::Semaphore::new(spec.max_instances.max(1)));
        FunctionPool {
            spec,
            idle: Mutex::new(Vec::new()),
            permits,
            sabotage: Mutex::new(std::collections::VecDeque::new()),
            stats: std::sync::Mutex::new(PoolStats::default()),
            durations: std::sync::Mutex::new(Vec::new()),
            inits: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// Every instance's init so far, in order (the first
    /// [`MAX_KEPT_DURATIONS`]).
    pub fn init_durations(&self) -> Vec<Duration> {
        self.inits.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    /// Instances running a call now.
    pub fn busy_instances(&self) -> usize {
        self.spec.max_instances.max(1).saturating_sub(self.permits.available_permits())
    }

    /// The durations of the invocations from the `from`-th on (as counted
    /// by [`PoolStats::invocations`]), init excluded.
    pub fn durations_since(&self, from: u64) -> Vec<Duration> {
        let durations = self.durations.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        durations.iter().skip(from as usize).copied().collect()
    }

    /// What the pool's calls added up to so far.
    pub fn stats(&self) -> PoolStats {
        *self.stats.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Resident memory (KiB) of each idle instance, from /proc.
    pub async fn idle_rss_kib(&self) -> Vec<u64> {
        let idle = self.idle.lock().await;
        idle.iter()
            .filter_map(|instance| instance.child.id())
            .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/status")).ok())
            .filter_map(|status| {
                status
                    .lines()
                    .find(|l| l.starts_with("VmRSS:"))
                    .and_then(|l| l.split_whitespace().nth(1).and_then(|kib| kib.parse().ok()))
            })
            .collect()
    }

    /// Makes the next invocation not yet sabotaged crash, time out or be
    /// refused (tests only); called again, it queues up the one after.
    pub async fn sabotage_next(&self, sabotage: Sabotage) {
        self.sabotage.lock().await.push_back(sabotage);
    }

    /// How the pool runs its function.
    pub fn spec(&self) -> &FunctionSpec {
        &self.spec
    }

    /// Invokes the function with `payload`, on an idle instance or a new
    /// one (waiting for one to free when at the limit).
    pub async fn invoke(&self, payload: Vec<u8>) -> Invocation {
        if payload.len() > MAX_INVOKE_PAYLOAD_BYTES {
            // Refused by Lambda itself: the function never sees it.
            return Invocation {
                outcome: InvokeOutcome::Error {
                    error_type: REQUEST_TOO_LARGE.into(),
                    message: format!(
                        "Request must be smaller than {MAX_INVOKE_PAYLOAD_BYTES} bytes for the InvokeFunction operation"
                    ),
                },
                request_id: uuid::Uuid::new_v4().to_string(),
                init: None,
                duration: Duration::ZERO,
            };
        }
        let sabotage = self.sabotage.lock().await.pop_front();
        if sabotage == Some(Sabotage::Refuse) {
            self.count_unanswered();
            return Invocation {
                outcome: InvokeOutcome::Crashed {
                    reason: "refused: the environment died before the call".into(),
                },
                request_id: uuid::Uuid::new_v4().to_string(),
                init: None,
                duration: Duration::ZERO,
            };
        }
        let permit = match self.permits.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                self.stats.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).throttles += 1;
                self.permits.clone().acquire_owned().await.expect("the semaphore is never closed")
            }
        };
        let reused = self.idle.lock().await.pop();
        let mut instance = match reused {
            Some(instance) => instance,
            None => match Instance::start(&self.spec).await {
                Ok(instance) => instance,
                Err(e) => {
                    self.count_unanswered();
                    return Invocation {
                        outcome: InvokeOutcome::Crashed {
                            reason: format!("cannot start {}: {e}", self.spec.binary.display()),
                        },
                        request_id: String::new(),
                        init: None,
                        duration: Duration::ZERO,
                    };
                }
            },
        };
        let request_id = uuid::Uuid::new_v4().to_string();
        let mut init = None;
        if let Some(ready) = instance.ready.take() {
            // A new instance: wait for its first `next` (that is its init),
            // within the timeout, or for its death.
            tokio::select! {
                at = ready => match at {
                    Ok(at) => init = Some(at - instance.started),
                    Err(_) => return { self.count_unanswered(); self.discard(instance, permit, request_id, InvokeOutcome::Crashed { reason: "the runtime API went away".into() }, None, Duration::ZERO).await },
                },
                status = instance.child.wait() => {
                    let reason = format!("exited during init: {}", status.map(|s| s.to_string()).unwrap_or_else(|e| e.to_string()));
                    return { self.count_unanswered(); self.discard(instance, permit, request_id, InvokeOutcome::Crashed { reason }, None, Duration::ZERO).await };
                }
                _ = tokio::time::sleep(self.spec.timeout) => {
                    return { self.count_unanswered(); self.discard(instance, permit, request_id, InvokeOutcome::TimedOut { after: self.spec.timeout }, None, self.spec.timeout).await };
                }
            }
        }
        let (tx, rx) = oneshot::channel();
        instance.api.answers.lock().await.insert(request_id.clone(), tx);
        let deadline_ms = (SystemTime::now() + self.spec.timeout)
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis();
        let started = Instant::now();
        let timeout = match sabotage {
            Some(Sabotage::Timeout { after }) => after,
            _ => self.spec.timeout,
        };
        let pending = Pending { id: request_id.clone(), payload, deadline_ms };
        if instance.sender.send(pending).await.is_err() {
            return self
                .discard(
                    instance,
                    permit,
                    request_id,
                    InvokeOutcome::Crashed { reason: "instance gone".into() },
                    init,
                    Duration::ZERO,
                )
                .await;
        }
        let outcome = tokio::select! {
            answer = rx => answer.unwrap_or(InvokeOutcome::Crashed { reason: "no answer".into() }),
            status = instance.child.wait() => InvokeOutcome::Crashed {
                reason: format!("exited during the invocation: {}", status.map(|s| s.to_string()).unwrap_or_else(|e| e.to_string())),
            },
            _ = tokio::time::sleep(timeout) => InvokeOutcome::TimedOut { after: timeout },
        };
        let outcome = match (outcome, sabotage) {
            // `discard` below kills the instance.
            (InvokeOutcome::Response(_), Some(Sabotage::Crash)) => {
                InvokeOutcome::Crashed { reason: "killed as it answered".into() }
            }
            (outcome, _) => outcome,
        };
        let duration = started.elapsed();
        {
            let mut stats = self.stats.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            stats.invocations += 1;
            stats.busy += duration;
            if let Some(init) = init {
                stats.inits += 1;
                stats.init_time += init;
                let mut inits = self.inits.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                if inits.len() < MAX_KEPT_DURATIONS {
                    inits.push(init);
                }
            }
            if !matches!(outcome, InvokeOutcome::Response(_)) {
                stats.errors += 1;
            }
            let mut durations = self.durations.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if durations.len() < MAX_KEPT_DURATIONS {
                durations.push(duration);
            }
        }
        match outcome {
            InvokeOutcome::Response(_) | InvokeOutcome::Error { .. } => {
                self.idle.lock().await.push(instance);
                drop(permit);
                Invocation { outcome, request_id, init, duration }
            }
            // Lambda does not reuse an environment after a timeout or crash.
            other => self.discard(instance, permit, request_id, other, init, duration).await,
        }
    }

    /// A call that never reached the function's handler (refused, or its
    /// instance died or timed out in init): an error, as Lambda counts it.
    fn count_unanswered(&self) {
        let mut stats = self.stats.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        stats.failed_starts += 1;
        stats.errors += 1;
    }

    async fn discard(
        &self,
        instance: Instance,
        permit: tokio::sync::OwnedSemaphorePermit,
        request_id: String,
        outcome: InvokeOutcome,
        init: Option<Duration>,
        duration: Duration,
    ) -> Invocation {
        instance.stop().await;
        drop(permit);
        Invocation { outcome, request_id, init, duration }
    }

    /// Stops every idle instance (busy ones stop when their call ends).
    pub async fn shutdown(&self) {
        let instances: Vec<Instance> = self.idle.lock().await.drain(..).collect();
        for instance in instances {
            instance.stop().await;
        }
    }

    /// Instances alive and waiting for a call (warm).
    pub async fn idle_instances(&self) -> usize {
        self.idle.lock().await.len()
    }
}

impl InvokeOutcome {
    /// The outcome as one line, in Lambda's words where it has them
    /// (`Task timed out after 3.00 seconds`); `ok` for a response.
    pub fn describe(&self) -> String {
        match self {
            InvokeOutcome::Response(_) => "ok".into(),
            InvokeOutcome::Error { error_type, message } => format!("{error_type}: {message}"),
            InvokeOutcome::TimedOut { after } => {
                format!("Task timed out after {:.2} seconds", after.as_secs_f64())
            }
            InvokeOutcome::Crashed { reason } => format!("Runtime exited: {reason}"),
        }
    }
}
