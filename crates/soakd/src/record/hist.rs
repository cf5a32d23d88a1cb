//! An exact latency histogram that costs what it holds.
//!
//! Every latency soakd judges is an HdrHistogram of 3 significant figures in µs: one counter
//! per distinguishable value up to the largest one seen, 2,048 at least, about 9,000 at
//! hundreds of ms. Most of a daemon's histograms hold few samples (1,000 scenarios sending a
//! request every few seconds, a run's lag and iteration times), so a [`Hist`] starts *sparse*:
//! only the buckets it has seen, with their counts. Past [`SPARSE_MAX`] buckets it becomes the
//! counter array, of `u32` counters, and of `u64` ones before any counter could pass
//! `u32::MAX`: a counter never exceeds the total count, so the total decides, and nothing
//! saturates or is dropped. A finished run's histograms go back to the sparse form when it is
//! the smaller one ([`Hist::compact`]).
//!
//! Every form holds the same buckets with the same counts as the `Histogram<u64>` of the same
//! samples, so it answers the same percentiles, min, max and mean: readers get that
//! `Histogram<u64>` ([`Hist::add_to`], [`Hist::to_u64`]).

use hdrhistogram::{Counter, Histogram};
use std::sync::LazyLock;

/// Buckets a sparse histogram holds before it becomes an array (16 bytes each: 2 KB, a
/// quarter of the smallest `u32` array).
pub(crate) const SPARSE_MAX: usize = 128;

/// The samples of one latency series (µs); see the module docs.
#[derive(Clone, Debug)]
pub(crate) enum Hist {
    /// (lowest equivalent value, count) of every bucket with samples, by value.
    Sparse(Vec<(u64, u64)>),
    U32(Histogram<u32>),
    U64(Histogram<u64>),
}

impl Default for Hist {
    fn default() -> Self {
        Hist::Sparse(Vec::new())
    }
}

/// An empty histogram of the one configuration every latency uses: 3 significant figures,
/// values from 1, auto-resizing (memory follows the largest value seen).
pub(crate) fn new_dense<T: Counter>() -> Histogram<T> {
    Histogram::new(3).expect("3 significant figures is a valid histogram")
}

/// The bucket boundaries of that configuration, for the sparse form (they do not depend on
/// the counter type or on how far the array has grown).
static SHAPE: LazyLock<Histogram<u8>> = LazyLock::new(new_dense);

/// A counter width a dense form can have.
trait Width: Counter {
    /// `n`, which the caller has checked against the total count.
    fn of(n: u64) -> Self;
}

impl Width for u32 {
    fn of(n: u64) -> Self {
        u32::try_from(n).expect("the total count was checked to fit u32")
    }
}

impl Width for u64 {
    fn of(n: u64) -> Self {
        n
    }
}

/// The dense histogram of `buckets` ((value, count) pairs, any order).
fn dense<T: Width>(buckets: impl Iterator<Item = (u64, u64)>) -> Histogram<T> {
    let mut h = new_dense::<T>();
    for (v, n) in buckets {
        // Auto-resizing: fails only if usize cannot index the array.
        let _ = h.record_n(v, T::of(n));
    }
    h
}

impl Hist {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Samples recorded.
    pub(crate) fn len(&self) -> u64 {
        match self {
            Hist::Sparse(b) => b.iter().map(|(_, n)| n).sum(),
            Hist::U32(h) => h.len(),
            Hist::U64(h) => h.len(),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        match self {
            Hist::Sparse(b) => b.is_empty(),
            Hist::U32(h) => h.is_empty(),
            Hist::U64(h) => h.is_empty(),
        }
    }

    /// Records one sample of `v` µs.
    pub(crate) fn record(&mut self, v: u64) {
        self.record_n(v, 1);
    }

    /// Records `n` samples of `v` µs.
    pub(crate) fn record_n(&mut self, v: u64, n: u64) {
        if n == 0 {
            return;
        }
        if let Hist::Sparse(b) = self {
            let key = SHAPE.lowest_equivalent(v);
            match b.binary_search_by_key(&key, |e| e.0) {
                // A u64 count: 584 years at a billion samples a second before it could saturate.
                Ok(i) => b[i].1 = b[i].1.saturating_add(n),
                Err(i) if b.len() < SPARSE_MAX => b.insert(i, (key, n)),
                Err(_) => {
                    self.densify(n);
                    return self.record_n(v, n);
                }
            }
            return;
        }
        if let Hist::U32(h) = self
            && h.len().saturating_add(n) > u64::from(u32::MAX)
        {
            *self = Hist::U64(self.to_u64());
        }
        // Auto-resizing, so recording fails only if usize cannot index the array.
        match self {
            // At most u32::MAX in all, checked above.
            Hist::U32(h) => {
                let _ = h.record_n(v, n as u32);
            }
            Hist::U64(h) => {
                let _ = h.record_n(v, n);
            }
            Hist::Sparse(_) => unreachable!("densified above"),
        }
    }

    /// Every bucket with samples: (a value of it, its count), by value.
    fn buckets(&self) -> Box<dyn Iterator<Item = (u64, u64)> + '_> {
        match self {
            Hist::Sparse(b) => Box::new(b.iter().copied()),
            Hist::U32(h) => Box::new(
                h.iter_recorded()
                    .map(|v| (v.value_iterated_to(), v.count_at_value().as_u64())),
            ),
            Hist::U64(h) => Box::new(
                h.iter_recorded()
                    .map(|v| (v.value_iterated_to(), v.count_at_value())),
            ),
        }
    }

    /// The sparse form becomes the array whose counters hold its total plus `more`.
    fn densify(&mut self, more: u64) {
        let Hist::Sparse(b) = &*self else { return };
        let wide = self.len().saturating_add(more) > u64::from(u32::MAX);
        // Largest first: the array is sized once.
        let buckets = b.iter().rev().copied();
        *self = if wide {
            Hist::U64(dense(buckets))
        } else {
            Hist::U32(dense(buckets))
        };
    }

    /// Adds these samples to `out`.
    pub(crate) fn add_to(&self, out: &mut Histogram<u64>) {
        match self {
            // Same configuration: a copy or a counter-by-counter sum.
            Hist::U64(h) => {
                let _ = out.add(h);
            }
            Hist::Sparse(b) => {
                for &(v, n) in b.iter().rev() {
                    let _ = out.record_n(v, n);
                }
            }
            Hist::U32(_) => {
                for (v, n) in self.buckets() {
                    let _ = out.record_n(v, n);
                }
            }
        }
    }

    /// The `Histogram<u64>` of these samples.
    pub(crate) fn to_u64(&self) -> Histogram<u64> {
        if let Hist::U64(h) = self {
            return h.clone();
        }
        let mut h = match self {
            // Sized like the source at once.
            Hist::U32(src) => Histogram::new_from(src),
            _ => new_dense(),
        };
        self.add_to(&mut h);
        h
    }

    /// The count of the bucket of `v`.
    fn count_at(&self, v: u64) -> u64 {
        match self {
            Hist::Sparse(b) => {
                let key = SHAPE.lowest_equivalent(v);
                b.binary_search_by_key(&key, |e| e.0).map_or(0, |i| b[i].1)
            }
            // `count_at` clamps a value past the array to its last counter: none are above max.
            Hist::U32(h) if !h.is_empty() && v <= h.max() => h.count_at(v).as_u64(),
            Hist::U64(h) if !h.is_empty() && v <= h.max() => h.count_at(v),
            _ => 0,
        }
    }

    /// Takes `earlier`'s samples away (`earlier` is an earlier copy of this one). Errs, and
    /// changes nothing, when `earlier` holds a sample this one does not.
    pub(crate) fn subtract(&mut self, earlier: &Hist) -> Result<(), SubtractError> {
        if earlier.is_empty() {
            return Ok(());
        }
        if !earlier.buckets().all(|(v, n)| self.count_at(v) >= n) {
            return Err(SubtractError);
        }
        if let (Hist::Sparse(b), Hist::Sparse(e)) = (&mut *self, earlier) {
            for &(v, n) in e {
                let i = b.binary_search_by_key(&v, |x| x.0).expect("checked above");
                b[i].1 -= n;
            }
            b.retain(|(_, n)| *n > 0);
            return Ok(());
        }
        self.densify(0);
        if let (Hist::U32(_), Hist::U64(_)) = (&*self, earlier) {
            *self = Hist::U64(self.to_u64());
        }
        // Every count of `earlier` is checked to fit, so the subtraction cannot fail midway.
        let done = match self {
            Hist::U32(h) => match earlier {
                Hist::U32(e) => h.subtract(e),
                // At most this one's total, which fits u32.
                other => h.subtract(dense::<u32>(other.buckets())),
            },
            Hist::U64(h) => match earlier {
                Hist::U64(e) => h.subtract(e),
                other => h.subtract(other.to_u64()),
            },
            Hist::Sparse(_) => unreachable!("densified above"),
        };
        done.map_err(|_| SubtractError)
    }

    /// The smaller form for a histogram that records no more (a finished run's).
    pub(crate) fn compact(&mut self) {
        let counter_bytes = match self {
            Hist::Sparse(b) => return b.shrink_to_fit(),
            Hist::U32(h) => h.distinct_values() * 4,
            Hist::U64(h) => h.distinct_values() * 8,
        };
        let buckets: Vec<(u64, u64)> = self
            .buckets()
            .map(|(v, n)| (SHAPE.lowest_equivalent(v), n))
            .collect();
        if buckets.len() * size_of::<(u64, u64)>() < counter_bytes {
            let mut b = buckets;
            b.shrink_to_fit();
            *self = Hist::Sparse(b);
        }
    }
}

/// An earlier copy held a count the later one does not (never within one run).
#[derive(Debug, PartialEq, thiserror::Error)]
#[error("the subtracted histogram holds samples this one does not")]
pub(crate) struct SubtractError;

#[cfg(test)]
#[path = "hist_tests.rs"]
mod tests;
