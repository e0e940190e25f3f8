//! The local stack's console: a web page on loopback that shows what the
//! stack does as it happens, where otherwise only its logs would tell.
//!
//! - functions: instances warm and busy, invocations, errors, throttles,
//!   init and duration percentiles, their last log lines (and one
//!   function's log, a click away);
//! - event source mappings: each Kafka partition's committed offset, end
//!   and lag and the batch in flight, each stream shard's position and
//!   iterator age, retries, bisections and failures ([`model`]);
//! - the latest records of each topic, decoded, filtered by order
//!   ([`topics`]);
//! - the failure bucket's records, each with a Replay button (what
//!   `make replay KEY=` does);
//! - one order: its item, timeline and log lines across functions;
//! - the OpenAPI document in Swagger UI (vendored by
//!   `scripts/vendor-assets.sh`), its requests sent to the local API
//!   through the console.
//!
//! Pages are rendered on the server ([`pages`]); each page follows one
//! view on `/events`, a stream of server-sent events that carries a
//! fragment whenever it changed: no polling in the page. The console
//! answers loopback only: it binds there, and refuses a peer or a `Host`
//! that is not loopback (a page elsewhere rebinding its name to
//! 127.0.0.1 cannot read it).

mod api;
mod app;
mod failures;
mod guard;
mod logs;
pub mod model;
pub mod pages;
mod routes;
pub mod topics;

pub use failures::{SHOWN_FAILURES, SHOWN_PAYLOAD_BYTES, orders_in_payload};
pub use guard::{check_console_address, is_loopback_host, is_same_origin};
pub use logs::{ORDER_LOG_WINDOW, SHOWN_LOG_LINES, tail_lines};

use crate::activity::{Activity, StackEvent};
use crate::provision::Names;
use crate::runtime::FunctionPool;
use crate::stack::StackError;
use app::App;
use foodstream_template::Template;
use model::Model;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use topics::TopicTail;

/// What the console knows from the stack's reports; fed before the stack
/// starts (see [`Console::tap`]), served once it runs.
#[derive(Default)]
pub struct Console {
    model: Mutex<Model>,
}

impl Console {
    /// A console that has seen nothing yet.
    pub fn new() -> Arc<Console> {
        Arc::new(Console::default())
    }

    /// Takes in one event the stack reported.
    pub fn observe(&self, event: &StackEvent) {
        let now = chrono::Utc::now().timestamp_millis();
        self.model.lock().unwrap_or_else(|p| p.into_inner()).observe(event, now);
    }

    /// An [`Activity`] that reports to the console, then to `inner`.
    pub fn tap(self: &Arc<Self>, inner: Activity) -> Activity {
        let console = self.clone();
        Arc::new(move |event: StackEvent| {
            console.observe(&event);
            inner(event);
        })
    }

    fn with_model<T>(&self, read: impl FnOnce(&Model) -> T) -> T {
        read(&self.model.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// Where the console serves and what it reads.
#[derive(Clone)]
pub struct ConsoleConfig {
    /// The stack's template, with its parameters.
    pub template: Template,
    /// The local names of its resources.
    pub names: Names,
    /// The local API, which the try-it panel's requests go to.
    pub api_url: String,
    /// The AWS emulator (the failure bucket, the orders table).
    pub aws_endpoint: String,
    /// The broker (the topics followed, replays produced).
    pub kafka_bootstrap: String,
    /// The functions' logs (`<function>.log`), when the stack writes them.
    pub log_dir: Option<PathBuf>,
    /// The bucket of failure records the page lists, if any.
    pub failure_bucket: Option<String>,
    /// `docs/openapi.yaml`.
    pub openapi: PathBuf,
    /// The vendored Swagger UI (`.local/vendor/swagger-ui`).
    pub swagger_ui: PathBuf,
}

impl ConsoleConfig {
    /// The console of a running `stack` started with `config`;
    /// `workspace`: where `docs/` and `.local/` are.
    pub fn of_stack(
        stack: &crate::stack::Stack,
        config: &crate::stack::StackConfig,
        workspace: &std::path::Path,
    ) -> Result<ConsoleConfig, StackError> {
        Ok(ConsoleConfig {
            template: Template::load_with(&config.template, &config.parameters)?,
            names: stack.names.clone(),
            api_url: stack.api_url.clone(),
            aws_endpoint: config.aws_endpoint.clone(),
            kafka_bootstrap: config.kafka_bootstrap.clone(),
            log_dir: config.log_dir.clone(),
            failure_bucket: stack.failure_bucket.clone(),
            openapi: workspace.join("docs/openapi.yaml"),
            swagger_ui: workspace.join(".local/vendor/swagger-ui"),
        })
    }
}

/// The console, serving.
pub struct RunningConsole {
    /// Where it serves (`http://127.0.0.1:3001`).
    pub url: String,
    stop: watch::Sender<bool>,
    server: JoinHandle<()>,
    follower: JoinHandle<()>,
}

impl RunningConsole {
    /// Stops serving and following the topics.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        self.server.abort();
        let abort = self.follower.abort_handle();
        if tokio::time::timeout(Duration::from_secs(5), self.follower).await.is_err() {
            abort.abort();
        }
    }
}

impl Console {
    /// The console's listener on `addr`: loopback only (port 0: any free
    /// one). Bound before the stack starts, so a taken port fails at once.
    pub async fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener, StackError> {
        check_console_address(addr)?;
        tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| StackError::Bind { addr, reason: e.to_string() })
    }

    /// Serves the console on `listener` (see [`Console::bind`]) for the stack's
    /// `pools`, and follows the topics.
    pub async fn serve(
        self: Arc<Self>,
        listener: tokio::net::TcpListener,
        config: ConsoleConfig,
        pools: HashMap<String, Arc<FunctionPool>>,
    ) -> Result<RunningConsole, StackError> {
        let address = listener.local_addr().map_err(|e| StackError::Other(e.to_string()))?;
        check_console_address(address)?;
        let tail = Arc::new(TopicTail::default());
        let app = App::new(self, &config, pools, tail.clone()).await?;
        let followed = config
            .template
            .topics
            .iter()
            .map(|t| topics::Followed {
                name: t.name.clone(),
                full_name: config.names.topic(&t.name),
                partitions: i32::try_from(t.partitions).unwrap_or(1),
            })
            .collect();
        let (stop, stopped) = watch::channel(false);
        let follower = tokio::spawn(topics::follow(tail, config.kafka_bootstrap.clone(), followed, stopped));
        let router = routes::router(app);
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>()).await;
        });
        Ok(RunningConsole { url: format!("http://{address}"), stop, server, follower })
    }
}
