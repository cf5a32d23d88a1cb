//! `constant-arrival-rate`: iterations start at a fixed rate, whatever the target does.
//!
//! Iteration `i` is intended to start at `i / rate`: at 200/s for 5 s that is 0 ms, 5 ms, …,
//! 4995 ms, exactly 1000 iterations.

use super::Arrivals;
use std::time::Duration;

pub struct ConstantArrivals {
    rate: f64,
    duration: Duration,
    i: u64,
}

impl ConstantArrivals {
    /// `rate` in iterations per second.
    pub fn new(rate: f64, duration: Duration) -> Self {
        ConstantArrivals {
            rate,
            duration,
            i: 0,
        }
    }
}

impl Arrivals for ConstantArrivals {
    fn next_offset(&mut self) -> Option<Duration> {
        if self.rate <= 0.0 {
            return None;
        }
        let t = self.i as f64 / self.rate;
        if t >= self.duration.as_secs_f64() {
            return None;
        }
        self.i += 1;
        Some(Duration::from_secs_f64(t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_hundred_per_second_for_five_seconds_is_a_thousand_evenly_spaced() {
        let mut a = ConstantArrivals::new(200.0, Duration::from_secs(5));
        let offsets: Vec<Duration> = std::iter::from_fn(|| a.next_offset()).collect();
        assert_eq!(offsets.len(), 1000);
        assert_eq!(offsets[1], Duration::from_millis(5));
        assert_eq!(offsets[999], Duration::from_millis(4995));
    }
}
