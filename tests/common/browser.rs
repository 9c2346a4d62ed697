//! Headless Chromium over WebDriver for the moderators' page: finding `chromedriver` and
//! `chromium` (or `TACT_CHROMEDRIVER` / `TACT_CHROMIUM`), starting the driver on a free
//! loopback port, and opening a session. Shared by `tests/review_page.rs` and
//! `benches/review_page.rs`.

use fantoccini::{Client, ClientBuilder};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// `chromedriver` and the Chromium it drives, if both are installed.
pub struct Browser {
    pub chromedriver: PathBuf,
    pub chromium: PathBuf,
}

impl Browser {
    pub fn find() -> Option<Browser> {
        Some(Browser {
            chromedriver: program("TACT_CHROMEDRIVER", &["chromedriver"])?,
            chromium: program(
                "TACT_CHROMIUM",
                &["chromium", "chromium-browser", "google-chrome"],
            )?,
        })
    }

    /// Starts chromedriver and opens a headless session (the driver lives as long as the
    /// returned guard).
    pub async fn open(&self) -> (Driver, Client) {
        let (driver, url) = start_driver(&self.chromedriver).await;
        (driver, session(&url, &self.chromium).await)
    }
}

/// A chromedriver child, killed when dropped.
pub struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn program(env: &str, candidates: &[&str]) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(env) {
        return Some(PathBuf::from(path));
    }
    let paths = std::env::var_os("PATH")?;
    candidates.iter().find_map(|name| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

async fn start_driver(chromedriver: &Path) -> (Driver, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(chromedriver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let driver = Driver(child);
    let url = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while http.get(format!("{url}/status")).send().await.is_err() {
        assert!(Instant::now() < deadline, "chromedriver never answered");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (driver, url)
}

async fn session(driver_url: &str, chromium: &Path) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), json!("chrome"));
    caps.insert(
        "goog:chromeOptions".into(),
        json!({"binary": chromium, "args": [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--window-size=1280,1000", "--lang=en-GB"
        ]}),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(driver_url)
        .await
        .expect("a Chromium session")
}
