//! `constant-arrival-rate`: iterations start at a fixed rate, whatever the target does.
//!
//! Iteration `i` is intended to start at `i / rate`: at 200/s for 5 s that is 0 ms, 5 ms, …,
//! 4995 ms, exactly 1000 iterations. With a phase φ (replica I of N: φ = I/N) iteration `i`
//! starts at `(i + φ) / rate`: the N replicas' streams interleave into one even stream.

use super::Arrivals;
use std::time::Duration;

pub struct ConstantArrivals {
    rate: f64,
    duration: Duration,
    i: u64,
    phase: f64,
}

impl ConstantArrivals {
    /// `rate` in iterations per second.
    pub fn new(rate: f64, duration: Duration) -> Self {
        ConstantArrivals {
            rate,
            duration,
            i: 0,
            phase: 0.0,
        }
    }

    /// Shifts every start by `phase` (in [0, 1)) of one inter-arrival gap.
    pub fn with_phase(mut self, phase: f64) -> Self {
        self.phase = phase.clamp(0.0, 1.0);
        self
    }
}

impl Arrivals for ConstantArrivals {
    fn next_offset(&mut self) -> Option<Duration> {
        if self.rate <= 0.0 {
            return None;
        }
        let t = (self.i as f64 + self.phase) / self.rate;
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

    /// Like k6 execution segments: 3 replicas of 30/s (10/s each, phases 0, 1/3, 2/3) start
    /// together exactly the iterations of one 30/s stream, evenly spaced.
    #[test]
    fn three_phased_replicas_interleave_into_one_even_stream() {
        let mut all: Vec<Duration> = (0..3)
            .flat_map(|i| {
                let mut a =
                    ConstantArrivals::new(10.0, Duration::from_secs(2)).with_phase(i as f64 / 3.0);
                std::iter::from_fn(move || a.next_offset()).collect::<Vec<_>>()
            })
            .collect();
        all.sort();
        let mut whole = ConstantArrivals::new(30.0, Duration::from_secs(2));
        let expected: Vec<Duration> = std::iter::from_fn(|| whole.next_offset()).collect();
        assert_eq!(all.len(), expected.len());
        for (a, e) in all.iter().zip(&expected) {
            assert!(a.abs_diff(*e) < Duration::from_micros(1), "{a:?} vs {e:?}");
        }
    }
}
