//! Statistical regression: is this run worse than the scenario's recent passing runs?
//!
//! A raw "p95 grew by more than 10 %" check fails fault-free runs on noise (a run failed at
//! +10.4 %, 27.4 vs 24.8 ms). Here a run is compared with the pooled distribution of the last N
//! passing runs by a significance test, and only an effect that is both significant (one-sided
//! p < `alpha`) and large enough (`min_effect`, the noise floor) counts as a regression:
//!
//! - latency: a Mann-Whitney U test over bucketed latencies, with the tie correction (every
//!   sample of a bucket is a tie). It needs no raw samples: the exact HDR histograms of a run
//!   are reduced to counts on a fixed logarithmic grid ([`Compact`]), small enough to keep and
//!   persist per run, and the test's rank sums are computed bucket by bucket. The effect size
//!   is the relative shift of the p95 (what users read) next to the probability of
//!   superiority `U / (n₁·n₂)` (0.5 = no shift).
//! - errors: a two-proportion z-test on failed/total; the effect is the rise of the error rate
//!   relative to the baseline's rate (floored at 1 %, so 0 → 0.02 % is not a "regression").
//!
//! Everything here is pure: no clock, no I/O, no randomness.

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// Ratio between neighbouring buckets of the grid: 1 %, so a bucket never hides a shift the
/// `min_effect` floor (≥ 1 %) would count, and a run spanning 1 µs..100 s needs ≤ 1,900 buckets.
const GRID_RATIO: f64 = 1.01;

/// A latency distribution as counts per bucket of a fixed logarithmic grid (sorted, sparse).
/// Bucket `i` holds values in `[GRID_RATIO^i, GRID_RATIO^(i+1))` microseconds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Compact {
    /// (bucket index, count), ascending by index, counts > 0.
    pub buckets: Vec<(u32, u64)>,
}

fn bucket_of(micros: u64) -> u32 {
    ((micros.max(1) as f64).ln() / GRID_RATIO.ln()).floor() as u32
}

/// Lower edge of bucket `i`, in microseconds.
pub fn bucket_floor_us(i: u32) -> f64 {
    GRID_RATIO.powi(i as i32)
}

impl Compact {
    /// Reduces an HDR histogram (values in µs) to the grid.
    pub fn from_hist(h: &Histogram<u64>) -> Compact {
        let mut map = std::collections::BTreeMap::<u32, u64>::new();
        for v in h.iter_recorded() {
            let mid = h.median_equivalent(v.value_iterated_to());
            *map.entry(bucket_of(mid)).or_default() += v.count_at_value();
        }
        Compact {
            buckets: map.into_iter().collect(),
        }
    }

    /// From (microseconds, count) pairs; for tests and synthetic data.
    pub fn from_values(values: impl IntoIterator<Item = u64>) -> Compact {
        let mut map = std::collections::BTreeMap::<u32, u64>::new();
        for v in values {
            *map.entry(bucket_of(v)).or_default() += 1;
        }
        Compact {
            buckets: map.into_iter().collect(),
        }
    }

    pub fn count(&self) -> u64 {
        self.buckets.iter().map(|b| b.1).sum()
    }

    /// The pooled distribution of several runs.
    pub fn merge<'a>(runs: impl IntoIterator<Item = &'a Compact>) -> Compact {
        let mut map = std::collections::BTreeMap::<u32, u64>::new();
        for r in runs {
            for &(i, n) in &r.buckets {
                *map.entry(i).or_default() += n;
            }
        }
        Compact {
            buckets: map.into_iter().collect(),
        }
    }

    /// The value at quantile `q` (0..=1), in ms: the lower edge of the bucket holding it.
    pub fn quantile_ms(&self, q: f64) -> Option<f64> {
        let n = self.count();
        if n == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * n as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for &(i, c) in &self.buckets {
            seen += c;
            if seen >= rank {
                return Some(bucket_floor_us(i) / 1000.0);
            }
        }
        None
    }
}

/// Result of a Mann-Whitney U test of `current` against `baseline`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct UTest {
    /// U of the current run: how often a current sample beats (is slower than) a baseline one.
    pub u: f64,
    /// `U / (n₁·n₂)`: 0.5 = same distribution, 1.0 = every current sample is slower.
    pub superiority: f64,
    /// One-sided p-value of "current is slower than baseline" (normal approximation with the
    /// tie and continuity corrections).
    pub p_slower: f64,
}

/// Mann-Whitney U over two bucketed distributions. Samples in one bucket are ties: they share
/// the mean of their ranks, and the variance is corrected by Σ(t³ − t) over the buckets.
/// None when either side is empty or every sample ties.
pub fn mann_whitney(current: &Compact, baseline: &Compact) -> Option<UTest> {
    let (n1, n2) = (current.count() as f64, baseline.count() as f64);
    if n1 == 0.0 || n2 == 0.0 {
        return None;
    }
    let n = n1 + n2;
    let (mut a, mut b) = (
        current.buckets.iter().peekable(),
        baseline.buckets.iter().peekable(),
    );
    let (mut rank_below, mut r1, mut ties) = (0.0_f64, 0.0_f64, 0.0_f64);
    loop {
        let next = match (a.peek(), b.peek()) {
            (None, None) => break,
            (Some(x), None) => x.0,
            (None, Some(y)) => y.0,
            (Some(x), Some(y)) => x.0.min(y.0),
        };
        let c1 = a.next_if(|x| x.0 == next).map_or(0, |x| x.1) as f64;
        let c2 = b.next_if(|y| y.0 == next).map_or(0, |y| y.1) as f64;
        let t = c1 + c2;
        // Ranks rank_below+1 ..= rank_below+t, mean rank_below + (t+1)/2.
        r1 += c1 * (rank_below + (t + 1.0) / 2.0);
        ties += t * t * t - t;
        rank_below += t;
    }
    let u = r1 - n1 * (n1 + 1.0) / 2.0;
    let mean = n1 * n2 / 2.0;
    let var = n1 * n2 / 12.0 * ((n + 1.0) - ties / (n * (n - 1.0)));
    if var <= 0.0 {
        return None;
    }
    let z = (u - mean - 0.5) / var.sqrt();
    Some(UTest {
        u,
        superiority: u / (n1 * n2),
        p_slower: upper_tail(z),
    })
}

/// One-sided p-value of "the current error rate is higher": two-proportion z-test with the
/// pooled rate. None when either side has no requests or the pooled rate is 0 or 1.
pub fn two_proportion(failed1: u64, total1: u64, failed2: u64, total2: u64) -> Option<f64> {
    if total1 == 0 || total2 == 0 {
        return None;
    }
    let (n1, n2) = (total1 as f64, total2 as f64);
    let (p1, p2) = (failed1 as f64 / n1, failed2 as f64 / n2);
    let pooled = (failed1 + failed2) as f64 / (n1 + n2);
    let se = (pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)).sqrt();
    if se <= 0.0 {
        return None;
    }
    Some(upper_tail((p1 - p2) / se))
}

/// P(Z > z) for a standard normal Z.
pub fn upper_tail(z: f64) -> f64 {
    0.5 * erfc(z / std::f64::consts::SQRT_2)
}

/// Complementary error function (Numerical Recipes' `erfcc`, Chebyshev fit): fractional error
/// below 1.2e-7 everywhere, so tail p-values far below any sensible alpha stay accurate.
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

/// The plan's settings (defined in the plan, on the left of their users).
pub use crate::plan::safety_windows::RegressionSettings as Settings;

/// One run's numbers as the regression test keeps them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunSample {
    pub run_id: String,
    pub latency: Compact,
    pub requests: u64,
    pub failed: u64,
}

/// One test's verdict: a row of the summary's `regression` list (and a threshold outcome).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// `regression:p95` (latency distribution) or `regression:error_rate`.
    pub threshold: String,
    pub test: String,
    /// Relative effect: p95 shift, or error-rate rise over the (floored) baseline rate.
    pub effect: f64,
    pub p_value: f64,
    /// The current and baseline values the effect compares (ms for p95, ratio for errors).
    pub current: f64,
    pub baseline: f64,
    /// Runs pooled into the baseline.
    pub baseline_runs: usize,
    pub alpha: f64,
    pub min_effect: f64,
    pub regressed: bool,
}

/// Compares `current` with the pooled `history` (oldest first or any order). Empty when there
/// is no history yet or no samples to compare.
pub fn judge(current: &RunSample, history: &[RunSample], s: &Settings) -> Vec<Finding> {
    if history.is_empty() {
        return Vec::new();
    }
    let base = Compact::merge(history.iter().map(|r| &r.latency));
    let mut out = Vec::new();
    if let (Some(t), Some(cur), Some(old)) = (
        mann_whitney(&current.latency, &base),
        current.latency.quantile_ms(0.95),
        base.quantile_ms(0.95),
    ) {
        let effect = if old > 0.0 { (cur - old) / old } else { 0.0 };
        out.push(Finding {
            threshold: "regression:p95".into(),
            test: "mann_whitney".into(),
            effect,
            p_value: t.p_slower,
            current: cur,
            baseline: old,
            baseline_runs: history.len(),
            alpha: s.alpha,
            min_effect: s.min_effect,
            regressed: t.p_slower < s.alpha && effect >= s.min_effect,
        });
    }
    let (bf, bn) = history
        .iter()
        .fold((0, 0), |(f, n), r| (f + r.failed, n + r.requests));
    if current.requests > 0 && bn > 0 {
        let (p1, p2) = (
            current.failed as f64 / current.requests as f64,
            bf as f64 / bn as f64,
        );
        let p = two_proportion(current.failed, current.requests, bf, bn).unwrap_or(1.0);
        let effect = (p1 - p2) / p2.max(0.01);
        out.push(Finding {
            threshold: "regression:error_rate".into(),
            test: "two_proportion".into(),
            effect,
            p_value: p,
            current: p1,
            baseline: p2,
            baseline_runs: history.len(),
            alpha: s.alpha,
            min_effect: s.min_effect,
            regressed: p < s.alpha && effect >= s.min_effect,
        });
    }
    out
}

#[cfg(test)]
#[path = "regression_tests.rs"]
mod tests;
