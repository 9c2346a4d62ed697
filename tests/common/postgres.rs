//! A throwaway PostgreSQL database per test, on the server `TACT_TEST_POSTGRES` names
//! (`postgres://USER@HOST:PORT/postgres`). Where it names none, the PostgreSQL half of a test
//! is skipped loudly, or fails under `TACT_REQUIRE_POSTGRES=1` (CI).

use sqlx::Connection;
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The server's URL from `TACT_TEST_POSTGRES`; `None` (said on stderr) when unset.
pub fn admin_url() -> Option<String> {
    match std::env::var("TACT_TEST_POSTGRES") {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            let required = std::env::var("TACT_REQUIRE_POSTGRES").is_ok_and(|v| v == "1");
            assert!(
                !required,
                "TACT_REQUIRE_POSTGRES=1 but TACT_TEST_POSTGRES is not set"
            );
            // Straight to the terminal: the test harness hides printed output of passing tests.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED the PostgreSQL half of a test: set TACT_TEST_POSTGRES=postgres://… (.ci/run does)"
            );
            None
        }
    }
}

/// A new, empty database on that server; its URL.
pub async fn fresh_database() -> Option<String> {
    let admin = admin_url()?;
    static N: AtomicUsize = AtomicUsize::new(0);
    let name = format!(
        "tact_it_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    );
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&admin)
        .await
        .expect("TACT_TEST_POSTGRES accepts connections");
    // A database name cannot be a bound parameter; this one is made of digits and `_`.
    sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("a test database can be created");
    conn.close().await.ok();
    let (base, _) = admin.rsplit_once('/').expect("a URL ending in /DATABASE");
    Some(format!("{base}/{name}"))
}
