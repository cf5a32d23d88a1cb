//! The pacer clock of open models: a small OS thread that sleeps until each intended start and
//! hands it to the runtime.
//!
//! tokio's timer wheel has 1 ms resolution and rounds deadlines up, so iterations paced with
//! `sleep_until` start ~0.5–1 ms late on average, and because latency is measured from the
//! intended start that lateness lands in every sample. `std::thread::sleep` (nanosleep) wakes
//! within tens of microseconds, without a spinning core.

use crate::load::Arrivals;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Stops the pacer thread when dropped.
pub struct Pacer {
    pub starts: mpsc::UnboundedReceiver<Instant>,
    stop: Arc<AtomicBool>,
}

impl Drop for Pacer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Starts the clock at `start`. If the OS refuses a thread, the run gets no arrivals and the
/// error is logged (the run then ends with zero iterations, visibly).
pub fn spawn(mut arrivals: Box<dyn Arrivals>, start: Instant) -> Pacer {
    let (tx, rx) = mpsc::unbounded_channel();
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let spawned = std::thread::Builder::new()
        .name("soakd-pacer".into())
        .spawn(move || {
            while let Some(offset) = arrivals.next_offset() {
                let at = start + offset;
                loop {
                    if flag.load(Ordering::Relaxed) || tx.is_closed() {
                        return;
                    }
                    let now = Instant::now();
                    if at <= now {
                        break;
                    }
                    // Short slices so a stop is noticed within 20 ms.
                    std::thread::sleep((at - now).min(Duration::from_millis(20)));
                }
                if tx.send(at).is_err() {
                    return;
                }
            }
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot start the pacer thread: this run gets no iterations");
    }
    Pacer { starts: rx, stop }
}
