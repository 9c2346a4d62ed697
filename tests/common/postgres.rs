//! PostgreSQL for the integration tests: a throwaway database per test on the server that
//! `TACT_TEST_POSTGRES` names (`.ci/postgres.sh` starts one). Without it the PostgreSQL tests
//! skip loudly, or fail under `TACT_REQUIRE_POSTGRES=1` (CI).

use sqlx::Connection;
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The server's URL (`postgres://USER@HOST:PORT/postgres`), if one is given.
pub fn admin_url() -> Option<String> {
    std::env::var("TACT_TEST_POSTGRES")
        .ok()
        .filter(|url| !url.trim().is_empty())
}

/// Creates a fresh database and returns its URL; `None` (said on stderr) without a server.
pub async fn fresh_database() -> Option<String> {
    let Some(admin) = admin_url() else {
        let required = std::env::var("TACT_REQUIRE_POSTGRES").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "TACT_REQUIRE_POSTGRES=1 but TACT_TEST_POSTGRES is not set"
        );
        let test = std::thread::current()
            .name()
            .unwrap_or("a test")
            .to_string();
        // Straight to the terminal: the test harness hides printed output of passing tests.
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED {test} on PostgreSQL: set TACT_TEST_POSTGRES=postgres://… (.ci/run does)"
        );
        return None;
    };
    static N: AtomicUsize = AtomicUsize::new(0);
    let name = format!(
        "tact_it_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    );
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&admin)
        .await
        .unwrap_or_else(|e| panic!("TACT_TEST_POSTGRES cannot be reached: {e}"));
    // A database name cannot be a bound parameter; this one is made of digits and `_`.
    sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.ok();
    let (base, _) = admin.rsplit_once('/').unwrap();
    Some(format!("{base}/{name}"))
}
