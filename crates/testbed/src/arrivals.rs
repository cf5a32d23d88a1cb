//! An opt-in, bounded log of request arrival times, for tests that judge how evenly a load
//! generator spreads its requests (inter-arrival gaps measured at the target, not claimed by
//! the generator). Off by default: `/ok` then pays one relaxed atomic load per request.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

#[derive(Debug, Default)]
pub(crate) struct ArrivalLog {
    /// Most arrivals kept (0 = off); older ones are dropped first.
    capacity: AtomicUsize,
    times: Mutex<VecDeque<Instant>>,
}

impl ArrivalLog {
    /// Starts (or restarts, empty) logging the last `capacity` arrivals; 0 stops it.
    pub(crate) fn enable(&self, capacity: usize) {
        let mut t = self.times.lock().unwrap_or_else(|p| p.into_inner());
        t.clear();
        t.shrink_to(capacity);
        self.capacity.store(capacity, Ordering::Relaxed);
    }

    pub(crate) fn record(&self) {
        let cap = self.capacity.load(Ordering::Relaxed);
        if cap == 0 {
            return;
        }
        let now = Instant::now();
        let mut t = self.times.lock().unwrap_or_else(|p| p.into_inner());
        while t.len() >= cap {
            t.pop_front();
        }
        t.push_back(now);
    }

    /// The logged arrivals, oldest first.
    pub(crate) fn snapshot(&self) -> Vec<Instant> {
        let t = self.times.lock().unwrap_or_else(|p| p.into_inner());
        t.iter().copied().collect()
    }
}
