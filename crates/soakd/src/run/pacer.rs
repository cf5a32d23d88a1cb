//! The production clock of the drivers, and the `Actor` as the drivers' work.
//!
//! Open models' intended starts come from a small OS thread that sleeps until each one and
//! hands it to the runtime (up to `PACER_THREAD_MAX_RATE`). tokio's timer wheel has 1 ms
//! resolution and rounds deadlines up, so iterations paced with `sleep_until` start ~0.5–1 ms
//! late on average, and because latency is measured from the intended start that lateness lands
//! in every sample. `std::thread::sleep` (nanosleep) wakes within tens of microseconds, without
//! a spinning core. Everything else (run length, graces, the closed model's controller) sleeps
//! on tokio's timer, like `load::TokioClock`, which the driver tests use on paused time.

use crate::action::{Actor, Vu};
use crate::load::{Arrivals, Clock, Iterate, Starts, TimerStarts, TokioClock};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Up to this rate the pacer thread gives each start to within tens of µs for a few µs of CPU
/// per start; above it, its two context switches per start cost more than the ≤ 1 ms that
/// tokio's timer adds (which is still measured: generator lag, and latency from the intended
/// start), and one timer tick releases a whole batch of due starts.
const PACER_THREAD_MAX_RATE: f64 = 1000.0;

/// The wall clock: tokio's timer, and the pacer thread for open models up to 1000/s.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    type Starts = SystemStarts;
    fn now(&self) -> Instant {
        Instant::now()
    }
    // Sleeps on tokio's timer, like the test clock.
    fn sleep_until(&self, at: Instant) -> impl std::future::Future<Output = ()> + Send {
        TokioClock.sleep_until(at)
    }
    fn unix_now(&self) -> Duration {
        TokioClock.unix_now()
    }
    fn starts(&self, arrivals: Box<dyn Arrivals>, start: Instant, peak_rate: f64) -> SystemStarts {
        if peak_rate <= PACER_THREAD_MAX_RATE {
            SystemStarts::Thread(spawn(arrivals, start))
        } else {
            SystemStarts::Timer(TimerStarts::new(arrivals, start))
        }
    }
}

/// Where the wall clock's intended starts come from.
pub enum SystemStarts {
    Thread(Pacer),
    Timer(TimerStarts),
}

impl Starts for SystemStarts {
    async fn next(&mut self) -> Option<Instant> {
        match self {
            SystemStarts::Thread(p) => p.starts.recv().await,
            SystemStarts::Timer(t) => t.next().await,
        }
    }
}

/// Stops the pacer thread when dropped.
pub struct Pacer {
    starts: mpsc::UnboundedReceiver<Instant>,
    stop: Arc<AtomicBool>,
}

impl Drop for Pacer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Starts the clock at `start`. If the OS refuses a thread, the run gets no arrivals and the
/// error is logged (the run then ends with zero iterations, visibly).
fn spawn(mut arrivals: Box<dyn Arrivals>, start: Instant) -> Pacer {
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

/// Waits up to `grace` (on `clock`) for the driver's closed `tracker`; then cancels `hard`
/// (the iterations still running are cut) and waits for them to go.
pub(super) async fn wait_or_cut<C: Clock>(
    clock: &C,
    tracker: &tokio_util::task::TaskTracker,
    grace: Duration,
    hard: &tokio_util::sync::CancellationToken,
) {
    tokio::select! {
        _ = tracker.wait() => return,
        _ = clock.sleep(grace) => {}
    }
    hard.cancel();
    tracker.wait().await;
}

impl Iterate for Actor {
    type Vu = Vu;
    fn vu(&self, id: u32) -> Vu {
        Vu::new(id)
    }
    fn iteration(
        &self,
        vu: &mut Vu,
        intended: Option<Instant>,
    ) -> impl std::future::Future<Output = ()> + Send {
        Actor::iteration(self, vu, intended)
    }
    fn dropped(&self) {
        self.recorder().dropped();
    }
}

/// A fake iteration for driver tests on paused time: it takes `took`, and logs when each
/// started (from the test's start), for which VU, and at which intended start.
#[cfg(test)]
pub(super) mod fake {
    use crate::load::{Clock, Iterate, TokioClock};
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::{Duration, Instant};

    pub struct Work {
        pub took: Duration,
        pub t0: Instant,
        /// (VU, started at, intended start), offsets from `t0`.
        pub log: Mutex<Vec<(u32, Duration, Option<Duration>)>>,
        pub completed: AtomicU64,
        pub dropped: AtomicU64,
    }

    impl Work {
        pub fn new(took: Duration) -> std::sync::Arc<Work> {
            std::sync::Arc::new(Work {
                took,
                t0: TokioClock.now(),
                log: Mutex::new(Vec::new()),
                completed: AtomicU64::new(0),
                dropped: AtomicU64::new(0),
            })
        }
        pub fn started(&self) -> Vec<(u32, Duration, Option<Duration>)> {
            self.log.lock().unwrap().clone()
        }
        pub fn completed(&self) -> u64 {
            self.completed.load(Ordering::SeqCst)
        }
        pub fn dropped_count(&self) -> u64 {
            self.dropped.load(Ordering::SeqCst)
        }
        /// Time since the test's start.
        pub fn elapsed(&self) -> Duration {
            TokioClock.now() - self.t0
        }
    }

    impl Iterate for Work {
        type Vu = u32;
        fn vu(&self, id: u32) -> u32 {
            id
        }
        async fn iteration(&self, vu: &mut u32, intended: Option<Instant>) {
            let now = TokioClock.now() - self.t0;
            let intended = intended.map(|at| at - self.t0);
            self.log.lock().unwrap().push((*vu, now, intended));
            tokio::time::sleep(self.took).await;
            self.completed.fetch_add(1, Ordering::SeqCst);
        }
        fn dropped(&self) {
            self.dropped.fetch_add(1, Ordering::SeqCst);
        }
    }
}
