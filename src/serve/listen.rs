//! The sockets: accepts connections up to a cap and serves HTTP/1.1 on each with hyper, with
//! the timeouts a public server needs (as nginx's defaults have them), and drains them on
//! shutdown.
//!
//! - At most `max_connections` connections are open at once; beyond it, new ones wait in the
//!   kernel's backlog until one closes, so idle sockets cannot take every file descriptor.
//! - A connection must deliver a request's headers within `header_read_timeout`, counted from
//!   when it starts waiting for them: half-sent headers and idle keep-alive connections are
//!   closed after it (hyper starts the same timer for both).
//! - The body's timeout is the handlers' (`body_read_timeout`, answered 408), and the whole
//!   request's is the router's (`request_timeout`, 504).

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    pub max_connections: usize,
    pub header_read_timeout: Duration,
}

/// Serves `app` on `listener` until `shutdown` completes; then stops accepting, lets each
/// connection finish its request in flight (idle ones close at once) and returns.
pub async fn serve_connections(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors, or a connection reset before it was accepted:
                    // the listener itself is fine; pause so a full table can drain.
                    tracing::warn!("accepting a connection: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(app.clone());
        let connection = http.serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!("connection: {e}");
            }
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// The connection cap that fits the process's file-descriptor limit (`RLIMIT_NOFILE`),
/// keeping `reserve` descriptors for the model files, logs and the listener.
pub fn cap_to_descriptor_limit(wanted: usize, reserve: usize) -> usize {
    #[cfg(unix)]
    {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes into the struct it is given, nothing else.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0
            && limit.rlim_cur != libc::RLIM_INFINITY
        {
            let available = (limit.rlim_cur as usize).saturating_sub(reserve).max(1);
            return wanted.min(available);
        }
    }
    let _ = reserve;
    wanted
}
