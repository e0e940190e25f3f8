//! The whole local stack from the template: provisioning, a function pool
//! per function, the gateway on its address and a poller per event source
//! mapping.

use crate::activity::{Activity, StackEvent};
use crate::gateway::{Gateway, RouteSpec};
use crate::mappings::{self, Deliverer, FailureTarget, KafkaPollerSettings};
use crate::provision::{self, Names};
use crate::queue_mapping::{self, QueuePoller};
use crate::runtime::{FunctionPool, FunctionSpec};
use aws_config::SdkConfig;
use foodstream_template::{FailureDestination, Mapping, Source, Template};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How to run the stack: the template, where the binaries and the
/// emulators are, names, limits and where to report.
#[derive(Clone)]
pub struct StackConfig {
    /// The SAM template (`infra/template.yaml`).
    pub template: PathBuf,
    /// Where the function binaries are (`target/debug`).
    pub bin_dir: PathBuf,
    /// Prefix of every local resource name.
    pub namespace: String,
    /// Prefix of every consumer group (empty: the template's names).
    pub group_prefix: String,
    /// Prefix of every topic (empty: the template's names); given to the
    /// functions as `KAFKA_TOPIC_PREFIX`. With its own prefix a stack shares
    /// a broker with others without seeing their events.
    pub topic_prefix: String,
    /// Where the gateway listens (port 0: any free one).
    pub api_addr: SocketAddr,
    /// The AWS emulator's endpoint (`AWS_ENDPOINT_URL`).
    pub aws_endpoint: String,
    /// The Kafka-protocol broker (`KAFKA_BOOTSTRAP_SERVERS`).
    pub kafka_bootstrap: String,
    /// Template parameter values that replace the defaults.
    pub parameters: BTreeMap<String, String>,
    /// Instances per function that may run at once.
    pub max_instances: usize,
    /// One log file per function here, when set.
    pub log_dir: Option<PathBuf>,
    /// Stream checkpoints live here, when set.
    pub state_dir: Option<PathBuf>,
    /// The secret the gateway verifies tokens with.
    pub jwt_secret: String,
    /// Where the stack reports what it does.
    pub activity: Activity,
    /// The first retry of a failed batch waits this long.
    pub first_retry_backoff: Duration,
    /// Every `Schedule` event fires this often instead of at its rate
    /// (tests; EventBridge rates are a minute at least).
    pub schedule_every: Option<Duration>,
    /// Serve the API on an address other than loopback (then never with
    /// the well-known default token secret).
    pub allow_non_loopback: bool,
    /// The command every function binary runs under (empty: none); see
    /// [`FunctionSpec::launcher`].
    pub launcher: Vec<String>,
}

/// Why the stack (or its console) could not start.
#[derive(Debug, thiserror::Error)]
pub enum StackError {
    /// The template does not load.
    #[error(transparent)]
    Template(#[from] foodstream_template::TemplateError),
    /// A resource could not be provisioned.
    #[error(transparent)]
    Provision(#[from] provision::ProvisionError),
    /// Function binaries not built.
    #[error(
        "function binaries missing in {dir}: {missing} (build them with `cargo build --workspace --bins`)"
    )]
    MissingBinaries {
        /// Where they were looked for.
        dir: String,
        /// Their names, comma-separated.
        missing: String,
    },
    /// An address that cannot be served, or may not be.
    #[error("cannot serve the API on {addr}: {reason}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why not.
        reason: String,
    },
    /// Anything else (an emulator's answer, a missing queue or stream).
    #[error("{0}")]
    Other(String),
}

/// The running stack: its API, names and function pools; pollers and
/// schedules run until [`Stack::stop`].
pub struct Stack {
    /// The gateway's base URL (`http://127.0.0.1:3000`).
    pub api_url: String,
    /// The local names of the template's resources.
    pub names: Names,
    /// The bucket the event source mappings write failure records to, and
    /// the consumers park the records they can never process in.
    pub failure_bucket: Option<String>,
    /// What provisioning created and found.
    pub provisioned: provision::Provisioned,
    pools: HashMap<String, Arc<FunctionPool>>,
    stop: watch::Sender<bool>,
    pollers: Vec<JoinHandle<()>>,
    server: JoinHandle<()>,
}

/// Where the gateway may listen: loopback, or elsewhere only when asked
/// for and never with the secret everyone knows.
pub fn check_api_address(
    addr: SocketAddr,
    allow_non_loopback: bool,
    jwt_secret: &str,
) -> Result<(), StackError> {
    if addr.ip().is_loopback() {
        return Ok(());
    }
    let refuse = |reason: &str| Err(StackError::Bind { addr, reason: reason.to_owned() });
    if !allow_non_loopback {
        return refuse("not a loopback address (pass --allow-non-loopback to serve beyond this machine)");
    }
    if jwt_secret == crate::jwt::DEFAULT_SECRET {
        return refuse(
            "beyond loopback the well-known default LOCAL_JWT_SECRET would let anyone in: set your own",
        );
    }
    Ok(())
}

impl Stack {
    /// Provisions what the template declares, starts a pool per function,
    /// serves the API and starts every mapping and schedule.
    pub async fn start(config: StackConfig) -> Result<Stack, StackError> {
        check_api_address(config.api_addr, config.allow_non_loopback, &config.jwt_secret)?;
        let template = Template::load_with(&config.template, &config.parameters)?;
        check_binaries(&template, &config.bin_dir)?;
        let names = Names { namespace: config.namespace.clone(), topic_prefix: config.topic_prefix.clone() };
        let aws = foodstream_aws::emulator_config(&config.aws_endpoint).await;
        let provisioned = provision::provision(&template, &names, &aws, &config.kafka_bootstrap).await?;
        if let Some(dir) = &config.log_dir {
            std::fs::create_dir_all(dir).map_err(|e| StackError::Other(format!("{}: {e}", dir.display())))?;
        }
        let queue_urls = queue_urls(&aws, &template, &names).await?;
        let mut pools = HashMap::new();
        for function in &template.functions {
            let spec = function_spec(&template, function, &config, &names, &queue_urls)?;
            pools.insert(function.binary.clone(), Arc::new(FunctionPool::new(spec)));
        }
        let (address, server) = serve_api(&template, &pools, &config).await?;
        let (stop, stopped) = watch::channel(false);
        let wiring = Wiring {
            sqs: aws_sdk_sqs::Client::new(&aws),
            s3: aws_sdk_s3::Client::from_conf(
                aws_sdk_s3::config::Builder::from(&aws).force_path_style(true).build(),
            ),
            template: &template,
            config: &config,
            names: &names,
            aws: &aws,
            queue_urls: &queue_urls,
            pools: &pools,
        };
        let mut pollers = Vec::new();
        let mut failure_bucket = None;
        for mapping in &template.mappings {
            let (poller, bucket) = wiring.start_mapping(mapping, stopped.clone()).await?;
            pollers.push(poller);
            failure_bucket = bucket.or(failure_bucket);
        }
        // The consumers' bucket, should no mapping write to one.
        let failure_bucket =
            failure_bucket.or_else(|| parking_bucket(&template).map(|bucket| names.bucket(&bucket)));
        for schedule in &template.schedules {
            let pool = wiring.pool(&schedule.function)?;
            let every = config.schedule_every.unwrap_or(schedule.every);
            pollers.push(tokio::spawn(run_schedule(pool, every, config.activity.clone(), stopped.clone())));
        }
        Ok(Stack {
            api_url: format!("http://{address}"),
            failure_bucket,
            names,
            provisioned,
            pools,
            stop,
            pollers,
            server,
        })
    }

    /// Every function's pool, by binary name.
    pub fn pools(&self) -> &HashMap<String, Arc<FunctionPool>> {
        &self.pools
    }

    /// The instances of one function (by its binary name).
    pub fn pool(&self, function: &str) -> Option<Arc<FunctionPool>> {
        self.pools.get(function).cloned()
    }

    /// Stops the pollers (a batch in flight finishes first), the gateway and
    /// every function instance.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for poller in self.pollers {
            let abort = poller.abort_handle();
            if tokio::time::timeout(Duration::from_secs(30), poller).await.is_err() {
                abort.abort();
            }
        }
        self.server.abort();
        for pool in self.pools.values() {
            pool.shutdown().await;
        }
    }
}

/// Every function's binary is there, or the error names the missing ones.
fn check_binaries(template: &Template, bin_dir: &std::path::Path) -> Result<(), StackError> {
    let missing: Vec<&str> = template
        .functions
        .iter()
        .filter(|f| !bin_dir.join(&f.binary).is_file())
        .map(|f| f.binary.as_str())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(StackError::MissingBinaries { dir: bin_dir.display().to_string(), missing: missing.join(", ") })
}

/// Each queue's URL: what `!Ref` of a queue is, as CloudFormation resolves it.
async fn queue_urls(
    aws: &SdkConfig,
    template: &Template,
    names: &Names,
) -> Result<HashMap<String, String>, StackError> {
    let sqs = aws_sdk_sqs::Client::new(aws);
    let mut urls = HashMap::new();
    for queue in &template.queues {
        let queue = &queue.logical_id;
        let answer = sqs
            .get_queue_url()
            .queue_name(names.queue(queue))
            .send()
            .await
            .map_err(|e| StackError::Other(format!("queue {queue}: {e}")))?;
        urls.insert(queue.clone(), answer.queue_url().unwrap_or_default().to_owned());
    }
    Ok(urls)
}

/// The bucket the consumers park records in: the one their
/// `FAILURE_BUCKET` names.
fn parking_bucket(template: &Template) -> Option<String> {
    use foodstream_aws::schema::FAILURE_BUCKET_ENV;
    template.functions.iter().find_map(|f| match f.environment.get(FAILURE_BUCKET_ENV) {
        Some(foodstream_template::EnvValue::Ref(bucket)) => Some(bucket.clone()),
        _ => None,
    })
}

/// One function as [`Stack::start`] runs it (environment, binary, timeout,
/// log file), for a stack already provisioned under `config`'s names:
/// `foodstream-local invoke` and `env` ([`crate::invoke`]).
pub async fn provisioned_function_spec(
    template: &Template,
    function: &foodstream_template::Function,
    config: &StackConfig,
) -> Result<FunctionSpec, StackError> {
    let names = Names { namespace: config.namespace.clone(), topic_prefix: config.topic_prefix.clone() };
    let aws = foodstream_aws::emulator_config(&config.aws_endpoint).await;
    let queue_urls = queue_urls(&aws, template, &names).await?;
    function_spec(template, function, config, &names, &queue_urls)
}

/// A function as the local Runtime API host runs it: its template
/// environment resolved to the local resources, plus the emulators'
/// endpoints and credentials.
fn function_spec(
    template: &Template,
    function: &foodstream_template::Function,
    config: &StackConfig,
    names: &Names,
    queue_urls: &HashMap<String, String>,
) -> Result<FunctionSpec, StackError> {
    let mut environment = template.resolve(function, &config.parameters, |target| {
        if template.tables.iter().any(|t| t.logical_id == target) {
            Some(names.table(target))
        } else if template.buckets.iter().any(|b| b == target) {
            Some(names.bucket(target))
        } else {
            // A queue is its URL; the MSK cluster has no value here
            // (locally the broker is named directly).
            queue_urls.get(target).cloned()
        }
    })?;
    let (key, secret) = foodstream_aws::EMULATOR_CREDENTIALS;
    environment.extend([
        ("AWS_ENDPOINT_URL".to_string(), config.aws_endpoint.clone()),
        ("AWS_REGION".to_string(), crate::ids::LOCAL_REGION.to_string()),
        ("AWS_DEFAULT_REGION".to_string(), crate::ids::LOCAL_REGION.to_string()),
        ("AWS_ACCESS_KEY_ID".to_string(), key.to_string()),
        ("AWS_SECRET_ACCESS_KEY".to_string(), secret.to_string()),
        ("KAFKA_BOOTSTRAP_SERVERS".to_string(), config.kafka_bootstrap.clone()),
        ("KAFKA_TOPIC_PREFIX".to_string(), config.topic_prefix.clone()),
    ]);
    Ok(FunctionSpec {
        name: function.binary.clone(),
        binary: config.bin_dir.join(&function.binary),
        environment,
        timeout: Duration::from_secs(function.timeout_seconds),
        memory_mb: function.memory_mb,
        max_instances: config.max_instances,
        log_file: config.log_dir.as_ref().map(|d| d.join(format!("{}.log", function.binary))),
        launcher: config.launcher.clone(),
        active_tracing: function.active_tracing,
    })
}

/// The gateway on `config.api_addr`, serving the template's routes.
async fn serve_api(
    template: &Template,
    pools: &HashMap<String, Arc<FunctionPool>>,
    config: &StackConfig,
) -> Result<(SocketAddr, JoinHandle<()>), StackError> {
    let routes = template
        .routes
        .iter()
        .map(|r| RouteSpec { method: r.method.clone(), path: r.path.clone(), function: r.function.clone() })
        .collect();
    let gateway = Arc::new(
        Gateway::new(routes, pools.clone(), config.jwt_secret.clone()).with_activity(config.activity.clone()),
    );
    let listener = tokio::net::TcpListener::bind(config.api_addr)
        .await
        .map_err(|e| StackError::Bind { addr: config.api_addr, reason: e.to_string() })?;
    let address = listener.local_addr().map_err(|e| StackError::Other(e.to_string()))?;
    let server = tokio::spawn(async move {
        let _ =
            axum::serve(listener, gateway.router().into_make_service_with_connect_info::<SocketAddr>()).await;
    });
    Ok((address, server))
}

/// What starting a mapping needs from the stack being built.
struct Wiring<'a> {
    template: &'a Template,
    /// The failure destinations' clients, shared by every mapping.
    sqs: aws_sdk_sqs::Client,
    s3: aws_sdk_s3::Client,
    config: &'a StackConfig,
    names: &'a Names,
    aws: &'a SdkConfig,
    queue_urls: &'a HashMap<String, String>,
    pools: &'a HashMap<String, Arc<FunctionPool>>,
}

impl Wiring<'_> {
    fn pool(&self, function: &str) -> Result<Arc<FunctionPool>, StackError> {
        self.pools.get(function).cloned().ok_or_else(|| StackError::Other(format!("no function {function}")))
    }

    /// The mapping's poller, running until `stopped`; and its failure
    /// bucket's name, when it writes to one.
    async fn start_mapping(
        &self,
        mapping: &Mapping,
        stopped: watch::Receiver<bool>,
    ) -> Result<(JoinHandle<()>, Option<String>), StackError> {
        let (failure, bucket) = self.failure_target(mapping)?;
        let pool = self.pool(&mapping.function)?;
        let config = self.config;
        let deliverer = |envelope: mappings::EventBuilder, source_arn: String| Deliverer {
            mapping: mapping.clone(),
            pool,
            failure,
            envelope,
            source_arn,
            activity: config.activity.clone(),
            first_backoff: config.first_retry_backoff,
        };
        let poller = match &mapping.source {
            Source::Kafka { topic, consumer_group } => {
                let cluster = crate::ids::msk_cluster_name(&config.namespace);
                let source_arn = crate::ids::msk_cluster_arn(&cluster);
                let (arn, bootstrap) = (source_arn.clone(), config.kafka_bootstrap.clone());
                let envelope = Box::new(move |records: &[mappings::Record]| {
                    mappings::kafka_event(&arn, &bootstrap, records)
                });
                let settings = KafkaPollerSettings {
                    bootstrap: config.kafka_bootstrap.clone(),
                    group_prefix: config.group_prefix.clone(),
                };
                tokio::spawn(mappings::run_kafka(
                    deliverer(envelope, source_arn),
                    self.names.topic(topic),
                    consumer_group.clone(),
                    settings,
                    stopped,
                ))
            }
            Source::Queue { queue } => {
                let url = self
                    .queue_urls
                    .get(queue)
                    .cloned()
                    .ok_or_else(|| StackError::Other(format!("no queue {queue} in the template")))?;
                // The event names the queue as Lambda does, in the stack's account.
                let queue_arn = crate::ids::queue_arn(&self.names.queue(queue));
                tokio::spawn(queue_mapping::run_queue(
                    QueuePoller {
                        mapping: mapping.clone(),
                        pool: self.pool(&mapping.function)?,
                        sqs: self.sqs.clone(),
                        queue_url: url,
                        queue_arn,
                        activity: config.activity.clone(),
                    },
                    stopped,
                ))
            }
            Source::TableStream { table } => {
                let stream_arn = self.stream_arn(table).await?;
                let checkpoint = config.state_dir.as_ref().map(|d| {
                    d.join(format!("{}-{}.stream-checkpoint.json", config.namespace, mapping.function))
                });
                tokio::spawn(mappings::run_table_stream(
                    // The events and failure records name the stream in AWS's
                    // format; the poller reads it by the emulator's ARN.
                    deliverer(Box::new(mappings::stream_event), crate::ids::event_stream_arn(&stream_arn)),
                    aws_sdk_dynamodbstreams::Client::new(self.aws),
                    stream_arn,
                    checkpoint,
                    stopped,
                ))
            }
        };
        Ok((poller, bucket))
    }

    /// Where the mapping's failed batches go, and the bucket's name when
    /// that is a bucket.
    fn failure_target(
        &self,
        mapping: &Mapping,
    ) -> Result<(Option<FailureTarget>, Option<String>), StackError> {
        match self.template.failure_destination(mapping) {
            Some(FailureDestination::Queue(queue)) => {
                let url = self
                    .queue_urls
                    .get(&queue)
                    .cloned()
                    .ok_or_else(|| StackError::Other(format!("no queue {queue} in the template")))?;
                Ok((Some(FailureTarget::Queue { sqs: self.sqs.clone(), url }), None))
            }
            Some(FailureDestination::Bucket(bucket)) => {
                let bucket = self.names.bucket(&bucket);
                Ok((
                    Some(FailureTarget::Bucket { s3: self.s3.clone(), bucket: bucket.clone() }),
                    Some(bucket),
                ))
            }
            None if mapping.on_failure.is_some() => Err(StackError::Other(format!(
                "{}: its on-failure destination {:?} is neither a bucket nor a queue of the template",
                mapping.function, mapping.on_failure
            ))),
            None => Ok((None, None)),
        }
    }

    /// The current stream of a template table.
    async fn stream_arn(&self, table: &str) -> Result<String, StackError> {
        let table_name = self.names.table(table);
        let described = aws_sdk_dynamodb::Client::new(self.aws)
            .describe_table()
            .table_name(&table_name)
            .send()
            .await
            .map_err(|e| StackError::Other(format!("table {table_name}: {e}")))?;
        described
            .table()
            .and_then(|t| t.latest_stream_arn())
            .map(String::from)
            .ok_or_else(|| StackError::Other(format!("table {table_name} has no stream")))
    }
}

/// A `Type: Schedule` event: every `every`, the function is invoked with
/// the event EventBridge sends a scheduled rule's target. A failed run is
/// not retried (the next tick comes anyway), as with EventBridge's
/// asynchronous invocation once its own retries are spent.
async fn run_schedule(
    pool: Arc<FunctionPool>,
    every: Duration,
    activity: Activity,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            _ = tokio::time::sleep(every) => {}
        }
        let now = chrono::Utc::now();
        let event = serde_json::json!({
            "version": "0",
            "id": uuid::Uuid::new_v4().to_string(),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": crate::ids::LOCAL_ACCOUNT_ID,
            "time": now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "region": crate::ids::LOCAL_REGION,
            "resources": [crate::ids::schedule_rule_arn(&format!("{}-schedule", pool.spec().name))],
            "detail": {},
        });
        let report = pool.invoke(serde_json::to_vec(&event).unwrap_or_default()).await;
        let answer = match &report.outcome {
            crate::runtime::InvokeOutcome::Response(body) => Ok(String::from_utf8_lossy(body).into_owned()),
            other => Err(other.clone()),
        };
        activity(StackEvent::Scheduled {
            function: pool.spec().name.clone(),
            duration: report.duration,
            answer,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gateway_leaves_loopback_only_when_asked_and_never_with_the_default_secret() {
        let loopback: SocketAddr = "127.0.0.1:3000".parse().unwrap();
        let everywhere: SocketAddr = "0.0.0.0:3000".parse().unwrap();
        assert!(check_api_address(loopback, false, crate::jwt::DEFAULT_SECRET).is_ok());
        assert!(check_api_address("[::1]:3000".parse().unwrap(), false, crate::jwt::DEFAULT_SECRET).is_ok());
        let refused = check_api_address(everywhere, false, "mine").unwrap_err().to_string();
        assert!(refused.contains("--allow-non-loopback"), "{refused}");
        let refused =
            check_api_address(everywhere, true, crate::jwt::DEFAULT_SECRET).unwrap_err().to_string();
        assert!(refused.contains("LOCAL_JWT_SECRET"), "{refused}");
        assert!(check_api_address(everywhere, true, "a secret of my own").is_ok());
    }
    /// `foodstream-ops replay` defaults to these names
    /// (`foodstream_aws::schema`); the stack provisions what the template says.
    #[test]
    fn the_names_the_operator_cli_defaults_to_are_the_ones_the_stack_provisions() {
        use foodstream_aws::schema;
        use foodstream_template::FailureDestination;
        let template = foodstream_template::project_template().unwrap();
        assert_eq!(parking_bucket(&template).as_deref(), Some(schema::FAILURE_BUCKET));
        for mapping in &template.mappings {
            let bucket = match template.failure_destination(mapping) {
                Some(FailureDestination::Bucket(bucket)) => bucket,
                // The timer queue's mapping: its failures stay on the queue
                // until its redrive policy moves them (checked below).
                None if mapping.on_failure.is_none() => continue,
                other => panic!("{}: its failures go to {other:?}, not the failure bucket", mapping.function),
            };
            assert_eq!(bucket, schema::FAILURE_BUCKET, "{}", mapping.function);
        }
        let timer = template.queue_named(schema::DELIVERY_TIMER_QUEUE).expect("the timer queue");
        let dead_letters = timer.redrive.as_ref().map(|r| r.dead_letter_queue.as_str());
        assert_eq!(dead_letters, Some(schema::DELIVERY_TIMER_DEAD_LETTER_QUEUE));
    }
}
