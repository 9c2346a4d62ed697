//! A request's CPU work kept off the async workers, which must stay free to answer /health,
//! 429s and other clients: parsing a large body, tokenising, deciding a large batch. Small
//! work runs inline (a hop to the blocking pool costs more than it saves); large work runs on
//! the blocking pool, and stops between items once its request is gone (the client left, or
//! the request timed out), so abandoned work does not keep a core busy.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Bodies and texts up to this size are handled on the async worker that received them.
pub const INLINE_BYTES: usize = 64 * 1024;

/// Runs `work` on the blocking pool and waits for it. If the waiting future is dropped, the
/// flag `work` receives is set: it should check it between items and stop. The error says
/// how the work failed (it panicked), for the log.
pub async fn off_runtime<T: Send + 'static>(
    work: impl FnOnce(&AtomicBool) -> T + Send + 'static,
) -> Result<T, String> {
    let gone = Arc::new(AtomicBool::new(false));
    let _on_drop = SetOnDrop(gone.clone());
    tokio::task::spawn_blocking(move || work(&gone))
        .await
        .map_err(|e| format!("blocking work: {e}"))
}

/// Sets its flag when dropped: with the future that holds it, when the request is gone.
struct SetOnDrop(Arc<AtomicBool>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// `f` over `items` in order, stopping before the next item once `gone` is set (`None`).
pub fn map_until_gone<T, U>(
    items: impl IntoIterator<Item = T>,
    gone: &AtomicBool,
    mut f: impl FnMut(T) -> U,
) -> Option<Vec<U>> {
    let mut out = Vec::new();
    for item in items {
        if gone.load(Ordering::Relaxed) {
            return None;
        }
        out.push(f(item));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    #[test]
    fn work_stops_between_items_once_gone() {
        let gone = AtomicBool::new(false);
        let done = map_until_gone([1, 2, 3], &gone, |x| {
            gone.store(x == 2, Ordering::Relaxed);
            x * 10
        });
        assert_eq!(done, None, "stopped after the second item");
        let gone = AtomicBool::new(false);
        assert_eq!(map_until_gone([1, 2], &gone, |x| x), Some(vec![1, 2]));
    }

    #[tokio::test]
    async fn dropping_the_request_stops_its_blocking_work() {
        let runs = Arc::new(AtomicUsize::new(0));
        let counted = runs.clone();
        let request = off_runtime(move |gone| {
            map_until_gone(0..1_000, gone, |_| {
                counted.fetch_add(1, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(5));
            })
        });
        // The client gives up after about 10 items' time.
        let given_up = tokio::time::timeout(Duration::from_millis(50), request).await;
        assert!(given_up.is_err(), "the request outlived its timeout");
        tokio::time::sleep(Duration::from_millis(100)).await;
        let after_drop = runs.load(Ordering::Relaxed);
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(after_drop < 1_000, "the work ran to the end: {after_drop}");
        assert_eq!(
            runs.load(Ordering::Relaxed),
            after_drop,
            "the work went on after its request was gone"
        );
    }
}
