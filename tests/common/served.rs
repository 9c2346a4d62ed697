//! `tact serve` as a child process (the binary under test): started on an ephemeral loopback
//! port, its address read from what it prints, and waited for until /ready says so.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `tact serve`; killed (SIGKILL) and reaped when dropped, so a failing test leaves
/// no server behind.
pub struct Served {
    pub child: Child,
    pub addr: SocketAddr,
}

impl Served {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `tact serve --listen 127.0.0.1:0 ARGS` (no API key, the committed heads) and returns
/// once it is ready.
pub async fn start(args: &[&str]) -> Served {
    let child = Command::new(env!("CARGO_BIN_EXE_tact"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(args)
        .env_remove("TACT_API_KEY")
        .env_remove("TACT_HEADS_DIR")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tact serve starts");
    let mut served = Served {
        child,
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
    };
    let stderr = BufReader::new(served.child.stderr.take().unwrap());
    let (address_tx, address_rx) = std::sync::mpsc::channel();
    // Keeps reading stderr so the server never blocks on a full pipe.
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            if let Some(rest) = line.split("listening on http://").nth(1) {
                let addr = rest.split_whitespace().next().unwrap().to_string();
                let _ = address_tx.send(addr);
            }
        }
    });
    // Off the async workers: several servers may be starting at once.
    served.addr =
        tokio::task::spawn_blocking(move || address_rx.recv_timeout(Duration::from_secs(120)))
            .await
            .unwrap()
            .expect("the server says where it listens")
            .parse()
            .unwrap();
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let ready = client.get(served.url("/ready")).send().await;
        if ready.is_ok_and(|r| r.status() == 200) {
            return served;
        }
        assert!(Instant::now() < deadline, "never ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
