//! `tact serve`: the HTTP service moderation tools call. Laid out like
//! text-embeddings-inference: the HTTP layer (`router`: routes, the request extractor,
//! errors, auth, metrics, OpenAPI and the docs page) is kept apart from the core (`core`,
//! `queue`: the bounded queue and the batcher) and from the model, which lives on its own OS
//! thread (`model_thread`) and never runs on the async runtime. `docs/serve.md` is the
//! user's guide.

mod api;
mod docs_page;
mod engine;
mod error;
mod input;
mod lint_route;
mod listen;
mod memory;
mod metrics;
mod model_thread;
mod offload;
mod openapi;
mod queue;
mod review;
mod router;
mod schemas;
mod store_routes;
mod upkeep;

pub use model_thread::ModelStatus;
pub use router::app;

use error::AppError;
pub use lint_route::MAX_REPLY_CHARS as MAX_LINT_REPLY_CHARS;

use crate::pipeline::Pipeline;
use crate::store::{Store, StoreConfig};
use anyhow::Context;
use metrics::Metrics;
use std::future::Future;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_MAX_COMMENTS: usize = 64;
pub const DEFAULT_MAX_BODY_BYTES: usize = 4 * 1024 * 1024;
pub const DEFAULT_MAX_QUEUE: usize = 128;
pub const DEFAULT_MAX_QUEUE_WAIT_MS: u64 = 1_000;
pub const DEFAULT_MAX_BATCH_TOKENS: usize = 2048;
pub const DEFAULT_REQUEST_TIMEOUT_MS: u64 = 30_000;
pub const DEFAULT_HEADER_READ_TIMEOUT_MS: u64 = 10_000;
pub const DEFAULT_BODY_READ_TIMEOUT_MS: u64 = 10_000;
pub const DEFAULT_MAX_CONNECTIONS: usize = 512;
/// File descriptors kept for other than connections (model files, logs, the listener).
const RESERVED_DESCRIPTORS: usize = 32;

/// The service's limits and switches, as the handlers and the batcher see them.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub max_comments: usize,
    pub max_body_bytes: usize,
    pub max_queue: usize,
    pub max_queue_wait: Duration,
    /// Comments per forward pass (`--batch-size`).
    pub max_batch_size: usize,
    pub max_batch_tokens: usize,
    /// Tokens per comment (`--max-tokens`); longer comments are decided on their beginning.
    pub max_tokens: usize,
    pub request_timeout: Duration,
    pub header_read_timeout: Duration,
    pub body_read_timeout: Duration,
    pub max_connections: usize,
    pub api_key: Option<String>,
    pub strict_fields: bool,
    pub log_text: bool,
    /// How long a decide request waits for the store.
    pub store_timeout: Duration,
    /// The policy file in force, or `default`, for /v1/info.
    pub policy_source: String,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            max_comments: DEFAULT_MAX_COMMENTS,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_queue: DEFAULT_MAX_QUEUE,
            max_queue_wait: Duration::from_millis(DEFAULT_MAX_QUEUE_WAIT_MS),
            max_batch_size: 32,
            max_batch_tokens: DEFAULT_MAX_BATCH_TOKENS,
            max_tokens: crate::classify::DEFAULT_MAX_TOKENS,
            request_timeout: Duration::from_millis(DEFAULT_REQUEST_TIMEOUT_MS),
            header_read_timeout: Duration::from_millis(DEFAULT_HEADER_READ_TIMEOUT_MS),
            body_read_timeout: Duration::from_millis(DEFAULT_BODY_READ_TIMEOUT_MS),
            max_connections: DEFAULT_MAX_CONNECTIONS,
            api_key: None,
            strict_fields: false,
            log_text: false,
            store_timeout: Duration::from_millis(crate::store::DEFAULT_TIMEOUT_MS),
            policy_source: "default".to_string(),
        }
    }
}

impl ServeConfig {
    /// Rejects limits under which some valid request could never be served.
    pub fn validate(&self) -> Result<(), String> {
        let positive = [
            ("max comments", self.max_comments),
            ("max body bytes", self.max_body_bytes),
            ("batch size", self.max_batch_size),
            ("max connections", self.max_connections),
        ];
        if let Some((name, _)) = positive.iter().find(|(_, v)| *v == 0) {
            return Err(format!("{name} must be at least 1"));
        }
        if self.max_queue < self.max_comments {
            return Err(format!(
                "max queue ({}) must hold a full request of max comments ({})",
                self.max_queue, self.max_comments
            ));
        }
        if self.max_batch_tokens < self.max_tokens {
            return Err(format!(
                "max batch tokens ({}) must fit one comment of max tokens ({})",
                self.max_batch_tokens, self.max_tokens
            ));
        }
        let durations = [
            ("request timeout", self.request_timeout),
            ("max queue wait", self.max_queue_wait),
            ("header read timeout", self.header_read_timeout),
            ("body read timeout", self.body_read_timeout),
        ];
        if let Some((name, _)) = durations.iter().find(|(_, d)| d.is_zero()) {
            return Err(format!("{name} must be positive"));
        }
        Ok(())
    }
}

/// Everything the handlers share: the core (queue, model thread), the limits, the metrics.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

struct Shared {
    engine: engine::Engine,
    config: ServeConfig,
    metrics: Arc<Metrics>,
}

impl AppState {
    /// Starts the model thread, which runs `load` (the model can take seconds to load), warms
    /// the model up with one forward pass and then serves batches; /ready says when.
    pub fn start(
        config: ServeConfig,
        store: Option<Arc<Store>>,
        load: impl FnOnce() -> anyhow::Result<Arc<Pipeline>> + Send + 'static,
    ) -> anyhow::Result<AppState> {
        config.validate().map_err(anyhow::Error::msg)?;
        let metrics = Arc::new(Metrics::new());
        let memory = store.map(|s| memory::Memory::new(s, config.store_timeout, metrics.clone()));
        let engine = engine::Engine::start(&config, memory, metrics.clone(), load)?;
        Ok(AppState(Arc::new(Shared {
            engine,
            config,
            metrics,
        })))
    }

    pub fn config(&self) -> &ServeConfig {
        &self.0.config
    }

    pub fn status(&self) -> ModelStatus {
        self.0.engine.status()
    }

    /// What the handlers call.
    fn engine(&self) -> &engine::Engine {
        &self.0.engine
    }

    /// The store, unless it is off.
    fn store(&self) -> Result<&Arc<Store>, AppError> {
        self.0
            .engine
            .memory()
            .map(|m| m.store())
            .ok_or(AppError::StoreOff)
    }

    /// Waits until the model is ready; the error says why it never will be.
    pub async fn until_ready(&self) -> Result<(), String> {
        self.0.engine.until_ready().await
    }

    /// From now on, /ready and new requests to /v1/* get 503 while in-flight ones finish.
    pub fn begin_shutdown(&self) {
        self.0.engine.begin_shutdown();
    }

    /// Lets the model thread finish what is queued, then stops it and waits for it.
    pub async fn stop_model(&self) {
        self.0.engine.stop().await;
    }
}

/// Serves on `listener` until `shutdown` completes, or the model thread fails; then stops
/// accepting, answers 503 to requests still arriving on open connections, lets in-flight
/// requests finish, and stops the model thread.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let on_shutdown = state.clone();
    let model_failed = state.clone();
    let stop = async move {
        tokio::select! {
            () = shutdown => tracing::info!("shutting down: draining in-flight requests"),
            why = model_failed.0.engine.until_stopped() => tracing::error!("shutting down: {why}"),
        }
        on_shutdown.begin_shutdown();
    };
    let config = state.config();
    let max_connections =
        listen::cap_to_descriptor_limit(config.max_connections, RESERVED_DESCRIPTORS);
    if max_connections < config.max_connections {
        tracing::warn!(
            "at most {max_connections} connections, not {}: the file-descriptor limit is lower",
            config.max_connections
        );
    }
    let limits = listen::ConnectionLimits {
        max_connections,
        header_read_timeout: config.header_read_timeout,
    };
    listen::serve_connections(listener, app(state.clone()), limits, stop).await;
    state.stop_model().await;
}

/// `tact serve`: starts the model thread with `load`, listens on `listen`, and exits on
/// SIGTERM or ctrl-c once in-flight requests are answered.
pub fn run(
    config: ServeConfig,
    store: Option<StoreConfig>,
    listen: SocketAddr,
    load: impl FnOnce() -> anyhow::Result<Arc<Pipeline>> + Send + 'static,
) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("tact-http")
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        let store = match store {
            Some(store) => Some(upkeep::open(store).await?),
            None => {
                tracing::warn!("the store is off: no author history, audit log or feedback");
                None
            }
        };
        let state = AppState::start(config, store.clone(), load)?;
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("listening on {listen}"))?;
        let addr = listener.local_addr()?;
        eprintln!("tact serve: listening on http://{addr} (docs: http://{addr}/docs)");
        serve(listener, state.clone(), shutdown_signal()).await;
        if let Some(store) = store {
            store.close().await;
        }
        match state.status() {
            ModelStatus::Failed(why) => anyhow::bail!("the model failed: {why}"),
            _ => Ok(ExitCode::SUCCESS),
        }
    })
}

/// Completes on SIGTERM (how orchestrators stop a service) or ctrl-c.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sigterm) => {
                sigterm.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
