//! The store: what tact remembers between requests — each author's history with the brand,
//! the audit log of decisions, moderators' feedback and the brand's replies — in a SQLite file
//! (the default, created on first use) or in PostgreSQL (shared by replicas).
//!
//! One dialect-neutral schema (`migrations/`, applied by sqlx's migrator) and one set of
//! queries run on both through sqlx's `Any` driver and a connection pool; every query is a
//! prepared statement with bound parameters, none is built by concatenation. Plain types go in
//! and out ([`records`]); no database type leaves this module. Every write is idempotent: a
//! decision by its id ([`ids::decision_id`]), a reply or a verdict by theirs. What a caller does
//! when the store is down (decide anyway) is the caller's: see `serve::memory`.

mod authors;
mod batch;
mod decisions;
mod feedback;
mod ids;
mod queue;
mod records;
#[cfg(test)]
mod tests;
mod time;

pub use ids::{decision_id, reply_id};
pub use queue::{Figures, OverrideRate, Queue, QueueFilter, QueueItem};
pub use records::{
    AuthorCounts, AuthorSummary, FeedbackOutcome, Forgotten, LabelCount, NewDecision, NewFeedback,
    NewReply, Origin, OverrideRecord, RecentDecision, RecentReply, StoredDecision, StoredFeedback,
    Verdict,
};
pub use time::{now_ms, rfc3339};

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::AnyPool;
use sqlx::Executor;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

pub const DEFAULT_RETENTION_DAYS: u32 = 30;
pub const DEFAULT_TIMEOUT_MS: u64 = 500;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the store {location} cannot be opened")]
    Open {
        location: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("the store's folder {} cannot be made", .path.display())]
    Folder {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the store's schema could not be brought up to date")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("the store failed")]
    Query(#[from] sqlx::Error),
    #[error("a stored record is unreadable: {0}")]
    Corrupt(String),
}

/// Where the store lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Sqlite(PathBuf),
    /// A `postgres://` URL (it may carry a password: print [`Location::describe`]).
    Postgres(String),
}

impl Location {
    /// `sqlite` (the file in the user's data directory), `sqlite:PATH`, a path ending in `.db`,
    /// or `postgres://…` / `postgresql://…`.
    pub fn parse(value: &str) -> Result<Location, String> {
        let value = value.trim();
        if value.starts_with("postgres://") || value.starts_with("postgresql://") {
            return Ok(Location::Postgres(value.to_string()));
        }
        if value == "sqlite" {
            return default_sqlite_path().map(Location::Sqlite);
        }
        let path = value
            .strip_prefix("sqlite://")
            .or_else(|| value.strip_prefix("sqlite:"))
            .or_else(|| (value.ends_with(".db") || value.ends_with(".sqlite")).then_some(value));
        match path {
            Some(p) if !p.is_empty() && !p.contains('?') => Ok(Location::Sqlite(PathBuf::from(p))),
            _ => Err(format!(
                "{value:?} is not a store: give `sqlite`, `sqlite:PATH`, `postgres://USER@HOST:PORT/DB` or `off`"
            )),
        }
    }

    /// The location without a password, for logs and errors.
    pub fn describe(&self) -> String {
        match self {
            Location::Sqlite(path) => format!("sqlite:{}", path.display()),
            Location::Postgres(url) => match url.split_once("://") {
                Some((scheme, rest)) => match rest.rsplit_once('@') {
                    Some((user, host)) => {
                        let user = user.split(':').next().unwrap_or("");
                        format!("{scheme}://{user}@{host}")
                    }
                    None => url.clone(),
                },
                None => url.clone(),
            },
        }
    }
}

/// The embedded store's file: `<data dir>/tact/tact.db` (`~/.local/share/tact/tact.db`).
pub fn default_sqlite_path() -> Result<PathBuf, String> {
    dirs::data_dir()
        .map(|d| d.join("tact").join("tact.db"))
        .ok_or_else(|| "no data directory for the embedded store: give --store sqlite:PATH".into())
}

/// What the store keeps, and for how long.
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    /// Keep comment texts (and the brand's reply texts); off by default.
    pub store_text: bool,
    /// How long a stored text is kept.
    pub keep_text: Duration,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            store_text: false,
            keep_text: Duration::from_secs(u64::from(DEFAULT_RETENTION_DAYS) * 86_400),
        }
    }
}

/// The store a command uses, as its flags give it.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    pub location: Location,
    pub retention: Retention,
    /// How long a request waits for the store (serve).
    pub timeout: Duration,
}

/// The store: a pool of connections to one database whose schema is up to date.
pub struct Store {
    pool: AnyPool,
    location: Location,
    retention: Retention,
    /// SQLite takes one writer at a time; queueing writers here spares them SQLite's
    /// sleeping busy handler. PostgreSQL needs none.
    write_gate: Option<tokio::sync::Mutex<()>>,
}

impl Store {
    /// Connects and brings the schema up to date (migrations are locked on PostgreSQL, so
    /// replicas starting together apply them once). A SQLite file and its folder are created.
    pub async fn open(location: Location, retention: Retention) -> Result<Store, StoreError> {
        let store = Store::connect_lazy(location, retention)?;
        store.migrate().await?;
        Ok(store)
    }

    /// A pool that connects on first use: a server can start while PostgreSQL is down, then
    /// call [`Store::migrate`] until it succeeds.
    pub fn connect_lazy(location: Location, retention: Retention) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let open_error = |source| StoreError::Open {
            location: location.describe(),
            source,
        };
        let (url, max_connections, sqlite) = match &location {
            Location::Sqlite(path) => {
                make_folder(path)?;
                (sqlite_url(path), 4, true)
            }
            Location::Postgres(url) => (url.clone(), 8, false),
        };
        let options = AnyConnectOptions::from_str(&url).map_err(open_error)?;
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(5))
            // No ping before each use (a round trip per query): a broken connection fails its
            // query, the caller goes on without the store, and the pool replaces it.
            .test_before_acquire(false)
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if sqlite {
                        // WAL: readers never wait for the writer; NORMAL: a commit survives a
                        // killed process (only a power cut may lose the last ones).
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute("PRAGMA synchronous = NORMAL").await?;
                        conn.execute("PRAGMA busy_timeout = 5000").await?;
                    }
                    Ok(())
                })
            })
            .connect_lazy_with(options);
        Ok(Store {
            pool,
            write_gate: sqlite.then(|| tokio::sync::Mutex::new(())),
            location,
            retention,
        })
    }

    /// Applies the migrations not yet applied.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        sqlx::migrate!("./migrations")
            .run(&self.pool)
            .await
            .map_err(|e| match e {
                sqlx::migrate::MigrateError::Execute(source) => StoreError::Open {
                    location: self.location.describe(),
                    source,
                },
                other => StoreError::Migrate(other),
            })
    }

    pub fn location(&self) -> &Location {
        &self.location
    }

    /// `sqlite` or `postgres`, for /v1/info and metrics.
    pub fn backend(&self) -> &'static str {
        match self.location {
            Location::Sqlite(_) => "sqlite",
            Location::Postgres(_) => "postgres",
        }
    }

    pub fn retention(&self) -> Retention {
        self.retention
    }

    /// Blanks the texts whose time is up; returns how many.
    pub async fn expire_texts(&self, now: i64) -> Result<u64, StoreError> {
        let _gate = self.write_gate().await;
        let mut tx = self.pool.begin().await?;
        let mut expired = 0;
        for table in [EXPIRE_DECISION_TEXTS, EXPIRE_REPLY_TEXTS] {
            expired += sqlx::query(table)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        }
        tx.commit().await?;
        Ok(expired)
    }

    /// Closes the pool's connections (waits for those in use).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    async fn write_gate(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match &self.write_gate {
            Some(gate) => Some(gate.lock().await),
            None => None,
        }
    }

    /// When a text stored now expires; `None`: texts are not stored.
    fn text_expiry(&self, now: i64) -> Option<i64> {
        self.retention
            .store_text
            .then(|| now.saturating_add(self.retention.keep_text.as_millis() as i64))
    }
}

const EXPIRE_DECISION_TEXTS: &str =
    "UPDATE decisions SET text = NULL, thread = NULL, text_expires_at = NULL \
     WHERE text_expires_at IS NOT NULL AND text_expires_at <= $1";
const EXPIRE_REPLY_TEXTS: &str = "UPDATE replies SET text = NULL, text_expires_at = NULL \
     WHERE text_expires_at IS NOT NULL AND text_expires_at <= $1";

fn sqlite_url(path: &Path) -> String {
    // `mode=rwc`: create the file on first use.
    format!("sqlite://{}?mode=rwc", path.display())
}

fn make_folder(path: &Path) -> Result<(), StoreError> {
    match path.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(folder) => std::fs::create_dir_all(folder).map_err(|source| StoreError::Folder {
            path: folder.to_path_buf(),
            source,
        }),
        None => Ok(()),
    }
}
