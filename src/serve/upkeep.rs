//! Opening the store for `tact serve` and keeping it: the schema brought up to date (retried
//! in the background while PostgreSQL is down, so the service starts and decides without
//! it), and stored texts blanked once their retention is over.

use super::memory::causes;
use crate::store::{now_ms, Location, Store, StoreConfig};
use anyhow::Context;
use std::sync::Arc;
use std::time::Duration;

const RETRY_EVERY: Duration = Duration::from_secs(5);
const EXPIRE_EVERY: Duration = Duration::from_secs(3600);

/// Opens the store. A SQLite file that cannot be opened is an error (it is a local path the
/// user gave or the default one); PostgreSQL that cannot be reached is not: decisions go on
/// without history until it can be.
pub async fn open(config: StoreConfig) -> anyhow::Result<Arc<Store>> {
    let described = config.location.describe();
    let store = Arc::new(Store::connect_lazy(
        config.location.clone(),
        config.retention,
    )?);
    match (&config.location, store.migrate().await) {
        (_, Ok(())) => {
            tracing::info!(store = described, "store ready");
            keep_expiring(store.clone());
        }
        (Location::Sqlite(_), Err(e)) => {
            return Err(e).with_context(|| format!("opening the store {described} (--store)"));
        }
        (Location::Postgres(_), Err(e)) => {
            tracing::error!(store = described, error = %causes(&e),
                "the store is unreachable: deciding without history; retrying every 5 s");
            let retry = store.clone();
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(RETRY_EVERY).await;
                    if retry.migrate().await.is_ok() {
                        tracing::info!(store = retry.location().describe(), "store ready");
                        keep_expiring(retry);
                        return;
                    }
                }
            });
        }
    }
    Ok(store)
}

/// Blanks expired texts now and every hour.
fn keep_expiring(store: Arc<Store>) {
    if !store.retention().store_text {
        return;
    }
    tokio::spawn(async move {
        loop {
            match store.expire_texts(now_ms()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(texts = n, "stored texts expired"),
                Err(e) => tracing::warn!(error = %causes(&e), "expiring stored texts failed"),
            }
            tokio::time::sleep(EXPIRE_EVERY).await;
        }
    });
}
