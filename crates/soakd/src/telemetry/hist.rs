//! soakd's own histogram: classic buckets, a native (sparse exponential) histogram and one
//! exemplar per classic bucket, all updated by one `observe` under one short lock.
//!
//! prometheus-client 0.25 falls short here: its native histograms (`Histogram::new_native`,
//! `new_classic_and_native`) are exposed only by its `prometheus_protobuf` encoder (a prost and
//! protoc/protox build dependency), they emit no exemplars, `HistogramWithExemplars` has no native
//! part, and `Exemplar`'s fields are crate-private, so no custom metric can hand exemplars to
//! its text encoder either. A [`Hist`] is therefore encoded by soakd's own writers
//! (`super::expose`) in all three formats, and the crate keeps encoding counters and gauges.

use std::sync::{Arc, Mutex};

/// Native schema: bucket boundaries grow by 2^(2^-4) ≈ 1.044, so a quantile read from the
/// native histogram is within 4.4 % of the exact value (Prometheus accepts -4..=8).
pub const NATIVE_SCHEMA: i32 = 4;
/// Observations at or below this go to the zero bucket (2^-128, client_golang's default).
pub const ZERO_THRESHOLD: f64 = 2.938_735_877_055_719e-39;
/// Above this many populated-range buckets the resolution is halved (schema - 1), like
/// client_golang's `NativeHistogramMaxBucketNumber`; latencies from 1 ms to 1 min need 254.
const MAX_NATIVE_SPAN: usize = 320;

pub use crate::client::TraceId;

/// The exemplar of one classic bucket: the last traced observation that landed in it.
#[derive(Clone, Copy, Debug)]
pub struct Exemplar {
    pub trace: TraceId,
    pub value: f64,
    /// Unix seconds when observed.
    pub at: f64,
}

#[derive(Debug)]
struct Native {
    schema: i32,
    zero_count: u64,
    /// Index of `counts[0]` (bucket i covers (2^((i-1)/2^schema), 2^(i/2^schema)]).
    first: i32,
    counts: Vec<u64>,
}

#[derive(Debug)]
struct Inner {
    count: u64,
    sum: f64,
    /// Per classic bucket (not cumulative), the last one being +Inf.
    classic: Vec<u64>,
    exemplars: Vec<Option<Exemplar>>,
    native: Native,
}

/// A classic + native histogram with exemplars (Arc-backed: clones update the same series).
#[derive(Clone, Debug)]
pub struct Hist {
    bounds: Arc<[f64]>,
    inner: Arc<Mutex<Inner>>,
}

/// Observations into one [`Hist`] under one lock (see [`Hist::batch`]).
pub struct Batch<'a> {
    bounds: &'a [f64],
    inner: std::sync::MutexGuard<'a, Inner>,
    at: f64,
}

impl Batch<'_> {
    /// Records `v`; a `trace` becomes the exemplar of the classic bucket `v` lands in.
    pub fn observe(&mut self, v: f64, trace: Option<TraceId>) {
        let bucket = self.bounds.partition_point(|b| *b < v);
        let g = &mut *self.inner;
        g.count += 1;
        g.sum += v;
        g.classic[bucket] += 1;
        if let Some(trace) = trace {
            g.exemplars[bucket] = Some(Exemplar {
                trace,
                value: v,
                at: self.at,
            });
        }
        g.native.observe(v);
    }
}

/// A consistent copy of a [`Hist`] for the encoders.
#[derive(Debug)]
pub struct Snapshot {
    pub count: u64,
    pub sum: f64,
    /// (upper bound, cumulative count, exemplar), ending with +Inf.
    pub buckets: Vec<(f64, u64, Option<Exemplar>)>,
    pub schema: i32,
    pub zero_count: u64,
    /// Native spans (offset, length) and count deltas, as the protobuf format wants them.
    pub spans: Vec<(i32, u32)>,
    pub deltas: Vec<i64>,
}

impl Hist {
    /// `bounds`: sorted finite upper bounds; +Inf is implicit.
    pub fn new(bounds: Arc<[f64]>) -> Hist {
        let n = bounds.len() + 1;
        Hist {
            bounds,
            inner: Arc::new(Mutex::new(Inner {
                count: 0,
                sum: 0.0,
                classic: vec![0; n],
                exemplars: vec![None; n],
                native: Native {
                    schema: NATIVE_SCHEMA,
                    zero_count: 0,
                    first: 0,
                    counts: Vec::new(),
                },
            })),
        }
    }

    pub fn observe(&self, v: f64) {
        self.observe_traced(v, None);
    }

    /// Records `v`; a `trace` becomes the exemplar of the classic bucket `v` lands in.
    pub fn observe_traced(&self, v: f64, trace: Option<TraceId>) {
        let at = if trace.is_some() { unix_now() } else { 0.0 };
        self.batch(at).observe(v, trace);
    }

    /// Holds the series' lock for a run of observations (one batch of the run aggregator):
    /// exemplars get `at` (Unix seconds) as their time.
    pub fn batch(&self, at: f64) -> Batch<'_> {
        Batch {
            bounds: &self.bounds,
            inner: self.inner.lock().unwrap_or_else(|p| p.into_inner()),
            at,
        }
    }

    pub fn snapshot(&self) -> Snapshot {
        let g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let mut cumulative = 0;
        let buckets = self
            .bounds
            .iter()
            .copied()
            .chain([f64::INFINITY])
            .zip(g.classic.iter().zip(&g.exemplars))
            .map(|(le, (n, ex))| {
                cumulative += n;
                (le, cumulative, *ex)
            })
            .collect();
        let (spans, deltas) = g.native.spans_and_deltas();
        Snapshot {
            count: g.count,
            sum: g.sum,
            buckets,
            schema: g.native.schema,
            zero_count: g.native.zero_count,
            spans,
            deltas,
        }
    }
}

/// Now, in Unix seconds (an exemplar's time).
pub fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// The native bucket index of `v > 0` at `schema`: the i with
/// 2^((i-1)/2^schema) < v <= 2^(i/2^schema), computed from the binary exponent like
/// client_golang (exact at powers of two); within the octave, a search of the schema's
/// boundary table (no log or exp per observation).
fn native_index(v: f64, schema: i32) -> i32 {
    let bits = v.to_bits();
    let raw_exp = ((bits >> 52) & 0x7ff) as i32;
    if raw_exp == 0 || raw_exp == 0x7ff || !(1..=8).contains(&schema) {
        // Subnormal (far below any latency), infinite, or a resolution no latency range
        // reaches: the log is good enough.
        let i = (v.log2() * (f64::from(schema)).exp2()).ceil();
        return i.clamp(-1e6, 1e6) as i32;
    }
    // v = frac * 2^exp with frac in [0.5, 1).
    let exp = raw_exp - 1022;
    let frac = f64::from_bits((bits & ((1 << 52) - 1)) | (1022 << 52));
    // The smallest j with 0.5 * 2^(j/per_octave) >= frac; j = 0 when frac == 0.5.
    let j = octave_bounds(schema).partition_point(|b| *b < frac) as i32;
    j + (exp - 1) * (1 << schema)
}

/// 0.5 * 2^(j/2^schema) for j in 0..2^schema, per schema 1..=8, computed once.
fn octave_bounds(schema: i32) -> &'static [f64] {
    static TABLES: std::sync::LazyLock<Vec<Box<[f64]>>> = std::sync::LazyLock::new(|| {
        (0..=8)
            .map(|schema: i32| {
                let per_octave = 1u32 << schema;
                (0..per_octave)
                    .map(|j| 0.5 * (f64::from(j) / f64::from(per_octave)).exp2())
                    .collect()
            })
            .collect()
    });
    &TABLES[schema as usize]
}

impl Native {
    fn observe(&mut self, v: f64) {
        if v.is_nan() || v <= ZERO_THRESHOLD {
            self.zero_count += 1;
            return;
        }
        let i = native_index(v, self.schema);
        if self.counts.is_empty() {
            self.first = i;
            self.counts.push(0);
        } else if i < self.first {
            let grow = (self.first - i) as usize;
            self.counts.splice(0..0, std::iter::repeat_n(0, grow));
            self.first = i;
        } else if (i - self.first) as usize >= self.counts.len() {
            self.counts.resize((i - self.first) as usize + 1, 0);
        }
        self.counts[(i - self.first) as usize] += 1;
        while self.counts.len() > MAX_NATIVE_SPAN && self.schema > -4 {
            self.halve();
        }
    }

    /// schema - 1: buckets 2k-1 and 2k of the old schema make bucket k of the new one.
    fn halve(&mut self) {
        let new_index = |i: i32| (i + 1).div_euclid(2);
        let first = new_index(self.first);
        let last = new_index(self.first + self.counts.len() as i32 - 1);
        let mut counts = vec![0; (last - first + 1) as usize];
        for (k, n) in self.counts.iter().enumerate() {
            counts[(new_index(self.first + k as i32) - first) as usize] += n;
        }
        self.schema -= 1;
        self.first = first;
        self.counts = counts;
    }

    /// Spans over the populated buckets (a gap of more than two empty buckets starts a new
    /// span, as client_golang does) and the delta-encoded counts of the buckets inside spans.
    fn spans_and_deltas(&self) -> (Vec<(i32, u32)>, Vec<i64>) {
        let mut spans: Vec<(i32, u32)> = Vec::new();
        let mut deltas = Vec::new();
        let mut prev_count = 0i64;
        // Index just after the last bucket of the previous span.
        let mut next_expected: Option<i32> = None;
        let mut k = 0;
        while k < self.counts.len() {
            if self.counts[k] == 0 {
                k += 1;
                continue;
            }
            let i = self.first + k as i32;
            match (next_expected, spans.last_mut()) {
                (Some(next), Some(last)) if i - next <= 2 => {
                    // Bridge a short gap with explicit zero buckets.
                    for _ in next..i {
                        deltas.push(-prev_count);
                        prev_count = 0;
                    }
                    last.1 += (i - next) as u32 + 1;
                }
                (Some(next), _) => spans.push((i - next, 1)),
                (None, _) => spans.push((i, 1)),
            }
            let n = self.counts[k] as i64;
            deltas.push(n - prev_count);
            prev_count = n;
            next_expected = Some(i + 1);
            k += 1;
        }
        (spans, deltas)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_index_matches_the_bucket_definition() {
        for v in [0.001, 0.0042, 0.3, 0.5, 1.0, 1.5, 2.0, 7.3, 300.0] {
            let i = native_index(v, NATIVE_SCHEMA);
            let upper = (f64::from(i) / 16.0).exp2();
            let lower = (f64::from(i - 1) / 16.0).exp2();
            assert!(
                lower < v * (1.0 + 1e-12) && v <= upper * (1.0 + 1e-12),
                "{v}: {i}"
            );
        }
        assert_eq!(native_index(1.0, NATIVE_SCHEMA), 0);
        assert_eq!(native_index(2.0, NATIVE_SCHEMA), 16);
        assert_eq!(native_index(0.5, NATIVE_SCHEMA), -16);
    }

    #[test]
    fn the_boundary_table_agrees_with_the_log_at_every_schema() {
        for schema in 1..=8 {
            for k in 1..2000 {
                let v = f64::from(k) * 0.000_731;
                let per_octave = f64::from(1 << schema);
                let i = native_index(v, schema);
                let upper = (f64::from(i) / per_octave).exp2();
                let lower = (f64::from(i - 1) / per_octave).exp2();
                assert!(lower < v && v <= upper, "{v} at schema {schema}: {i}");
            }
        }
        assert_eq!(native_index(4.0, -1), 1);
        assert_eq!(native_index(4.5, -1), 2);
    }

    #[test]
    fn spans_bridge_short_gaps_and_deltas_rebuild_the_counts() {
        let h = Hist::new(Arc::from([0.1, 1.0]));
        for v in [1.0, 1.0, 2.0_f64.powf(2.0 / 16.0), 4.0, 0.0] {
            h.observe(v);
        }
        let s = h.snapshot();
        assert_eq!(s.zero_count, 1);
        // Buckets 0 (2), 2 (1) bridged with an empty bucket 1, then 32 (1) in a new span.
        assert_eq!(s.spans, vec![(0, 3), (29, 1)]);
        assert_eq!(s.deltas, vec![2, -2, 1, 0]);
        assert_eq!(s.buckets.last().map(|b| b.1), Some(5));
    }

    #[test]
    fn a_wide_range_halves_the_resolution_but_keeps_every_count() {
        let h = Hist::new(Arc::from([1.0]));
        for e in -20..=20 {
            h.observe(f64::from(e).exp2());
        }
        let s = h.snapshot();
        assert!(s.schema < NATIVE_SCHEMA);
        let mut n = 0i64;
        let total: i64 = s
            .deltas
            .iter()
            .map(|d| {
                n += d;
                n
            })
            .sum();
        assert_eq!(total, 41);
    }

    #[test]
    fn the_exemplar_is_the_last_traced_sample_of_its_bucket() {
        let h = Hist::new(Arc::from([0.1, 1.0]));
        h.observe_traced(0.5, Some(TraceId([1; 16])));
        h.observe_traced(0.7, Some(TraceId([2; 16])));
        h.observe(0.8);
        let s = h.snapshot();
        let ex = s.buckets[1].2.expect("exemplar in the 1.0 bucket");
        assert_eq!((ex.trace, ex.value), (TraceId([2; 16]), 0.7));
        assert!(s.buckets[0].2.is_none() && s.buckets[2].2.is_none());
    }
}
