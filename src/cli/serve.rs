//! The flags of `tact serve`, and how they become the service's [`ServeConfig`].

use super::store::{parse_location, StoreArgs, StoreChoice};
use super::{ModelArgs, PolicyArgs};
use crate::serve::{
    ServeConfig, DEFAULT_BODY_READ_TIMEOUT_MS, DEFAULT_HEADER_READ_TIMEOUT_MS, DEFAULT_LISTEN,
    DEFAULT_MAX_BATCH_TOKENS, DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_COMMENTS,
    DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_QUEUE, DEFAULT_MAX_QUEUE_WAIT_MS,
    DEFAULT_REQUEST_TIMEOUT_MS,
};
use crate::store::DEFAULT_TIMEOUT_MS;
use clap::Args;
use std::net::SocketAddr;
use std::time::Duration;

/// The flags of `tact serve` (besides the model and policy flags it shares with the CLI).
#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// Address and port to listen on.
    #[arg(long, env = "TACT_LISTEN", default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    /// Require `Authorization: Bearer KEY` on /v1/* and /metrics.
    #[arg(long, env = "TACT_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// Comments per request, at most.
    #[arg(long, env = "TACT_MAX_COMMENTS", default_value_t = DEFAULT_MAX_COMMENTS)]
    pub max_comments: usize,
    /// Request body size, at most (bytes).
    #[arg(long, env = "TACT_MAX_BODY_BYTES", default_value_t = DEFAULT_MAX_BODY_BYTES)]
    pub max_body_bytes: usize,
    /// Comments waiting for the model, at most; beyond it requests get 429.
    #[arg(long, env = "TACT_MAX_QUEUE", default_value_t = DEFAULT_MAX_QUEUE)]
    pub max_queue: usize,
    /// Expected queueing time, at most: a request that would wait longer (judging by the
    /// model's recent speed) gets 429, so admitted requests keep their latency.
    #[arg(long, env = "TACT_MAX_QUEUE_WAIT_MS", default_value_t = DEFAULT_MAX_QUEUE_WAIT_MS)]
    pub max_queue_wait_ms: u64,
    /// Padded tokens per forward pass (comments × longest comment), at most.
    #[arg(long, env = "TACT_MAX_BATCH_TOKENS", default_value_t = DEFAULT_MAX_BATCH_TOKENS)]
    pub max_batch_tokens: usize,
    /// Time a request may take, queueing included, before it gets 504.
    #[arg(long, env = "TACT_REQUEST_TIMEOUT_MS", default_value_t = DEFAULT_REQUEST_TIMEOUT_MS)]
    pub request_timeout_ms: u64,
    /// Time a connection has to send a request's headers, counted from when it starts waiting
    /// for them: half-sent headers and idle keep-alive connections are closed after it.
    #[arg(long, env = "TACT_HEADER_READ_TIMEOUT_MS", default_value_t = DEFAULT_HEADER_READ_TIMEOUT_MS)]
    pub header_read_timeout_ms: u64,
    /// Time a request has to send its whole body once its headers are in; then 408.
    #[arg(long, env = "TACT_BODY_READ_TIMEOUT_MS", default_value_t = DEFAULT_BODY_READ_TIMEOUT_MS)]
    pub body_read_timeout_ms: u64,
    /// Open connections, at most (lowered to fit the file-descriptor limit); more wait to be
    /// accepted.
    #[arg(long, env = "TACT_MAX_CONNECTIONS", default_value_t = DEFAULT_MAX_CONNECTIONS)]
    pub max_connections: usize,
    /// Refuse (422) a comment with a field tact does not know, rather than ignore it with an
    /// `x-tact-warning` header.
    #[arg(long, env = "TACT_STRICT_FIELDS")]
    pub strict_fields: bool,
    /// Write comment texts to the log (debug level); off by default, texts are personal data.
    #[arg(long, env = "TACT_LOG_TEXT")]
    pub log_text: bool,
    /// Where authors' histories, the audit log and feedback are kept: `sqlite` (a file in the
    /// user's data directory, created on first use), `sqlite:PATH`, `postgres://USER@HOST/DB`
    /// (shared by replicas), or `off`.
    #[arg(long, env = "TACT_STORE", default_value = "sqlite", value_parser = parse_location)]
    pub store: StoreChoice,
    #[command(flatten)]
    pub store_args: StoreArgs,
    /// Time a decide request waits for the store, at most; past it the decision is returned
    /// without history (`"history": "unavailable"`).
    #[arg(long, env = "TACT_STORE_TIMEOUT_MS", default_value_t = DEFAULT_TIMEOUT_MS,
          value_parser = clap::value_parser!(u64).range(1..=600_000))]
    pub store_timeout_ms: u64,
}

impl ServeArgs {
    /// The store's configuration; `None` where `--store` is `off`.
    pub fn store_config(&self) -> Option<crate::store::StoreConfig> {
        let timeout = Duration::from_millis(self.store_timeout_ms);
        self.store_args.config(&self.store, timeout)
    }
}

/// The service's configuration from its flags and the model's and policy's.
pub fn serve_config(args: &ServeArgs, model: &ModelArgs, policy: &PolicyArgs) -> ServeConfig {
    ServeConfig {
        max_comments: args.max_comments,
        max_body_bytes: args.max_body_bytes,
        max_queue: args.max_queue,
        max_queue_wait: Duration::from_millis(args.max_queue_wait_ms),
        max_batch_size: model.batch_size,
        max_batch_tokens: args.max_batch_tokens,
        max_tokens: model.max_tokens,
        request_timeout: Duration::from_millis(args.request_timeout_ms),
        header_read_timeout: Duration::from_millis(args.header_read_timeout_ms),
        body_read_timeout: Duration::from_millis(args.body_read_timeout_ms),
        max_connections: args.max_connections,
        api_key: args.api_key.clone().filter(|k| !k.is_empty()),
        strict_fields: args.strict_fields,
        log_text: args.log_text,
        store_timeout: Duration::from_millis(args.store_timeout_ms),
        policy_source: policy
            .policy
            .as_ref()
            .map_or_else(|| "default".to_string(), |p| p.display().to_string()),
    }
}
