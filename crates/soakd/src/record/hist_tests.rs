//! `Hist` answers exactly what the `Histogram<u64>` of the same samples answers, in every form.

use super::*;

/// Latencies from 1 µs to about 2 s, with repeats: more buckets than the sparse form keeps.
fn latencies(n: u64) -> impl Iterator<Item = u64> {
    (0..n).map(|i| 1 + (i * 7_919 % 2_000_003) * (i % 5 + 1) / 5)
}

fn reference(values: impl Iterator<Item = u64>) -> Histogram<u64> {
    let mut h = new_dense::<u64>();
    for v in values {
        h.record(v).unwrap();
    }
    h
}

fn hist(values: impl Iterator<Item = u64>) -> Hist {
    let mut h = Hist::new();
    for v in values {
        h.record(v);
    }
    h
}

/// The numbers a summary and a threshold read, compared exactly.
fn assert_same(got: &Histogram<u64>, want: &Histogram<u64>) {
    assert_eq!(got.len(), want.len(), "count");
    assert_eq!(got.min(), want.min(), "min");
    assert_eq!(got.max(), want.max(), "max");
    assert_eq!(got.mean(), want.mean(), "mean");
    for q in [0.0, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0] {
        assert_eq!(
            got.value_at_quantile(q),
            want.value_at_quantile(q),
            "p({q})"
        );
    }
    let buckets = |h: &Histogram<u64>| -> Vec<(u64, u64)> {
        h.iter_recorded()
            .map(|v| (v.value_iterated_to(), v.count_at_value()))
            .collect()
    };
    assert_eq!(buckets(got), buckets(want), "every bucket");
}

#[test]
fn a_few_samples_stay_sparse_and_answer_like_the_full_histogram() {
    let h = hist([250, 250, 1_000, 31_415, 99].into_iter());
    assert!(matches!(h, Hist::Sparse(ref b) if b.len() == 4));
    assert_same(
        &h.to_u64(),
        &reference([250, 250, 1_000, 31_415, 99].into_iter()),
    );
}

#[test]
fn many_buckets_turn_into_u32_counters_with_the_same_answers() {
    let h = hist(latencies(50_000));
    assert!(matches!(h, Hist::U32(_)));
    assert_same(&h.to_u64(), &reference(latencies(50_000)));
}

#[test]
fn samples_in_one_bucket_never_leave_the_sparse_form() {
    let mut h = Hist::new();
    for _ in 0..100_000 {
        h.record(1_234);
    }
    assert!(matches!(h, Hist::Sparse(ref b) if b == &[(1_234, 100_000)]));
    assert_eq!(h.len(), 100_000);
}

#[test]
fn u32_counters_become_u64_before_any_could_overflow() {
    // One counter at u32::MAX, then one sample more: promoted first, so nothing saturates.
    let mut counts = new_dense::<u32>();
    counts.record_n(500, u32::MAX).unwrap();
    let mut h = Hist::U32(counts);
    h.record(500);
    h.record(700);
    let Hist::U64(ref wide) = h else {
        panic!("still u32 counters at u32::MAX samples");
    };
    assert_eq!(wide.count_at(500), u64::from(u32::MAX) + 1);
    assert_eq!(h.len(), u64::from(u32::MAX) + 2);
    assert_eq!(h.to_u64().value_at_quantile(1.0), 700);
}

#[test]
fn a_sparse_total_past_u32_densifies_straight_to_u64_counters() {
    let mut b: Vec<(u64, u64)> = (1..=SPARSE_MAX as u64).map(|v| (v, 1)).collect();
    b[0].1 = u64::from(u32::MAX);
    let mut h = Hist::Sparse(b);
    h.record(5_000); // a 129th bucket
    assert!(matches!(h, Hist::U64(_)));
    assert_eq!(h.len(), u64::from(u32::MAX) + SPARSE_MAX as u64);
}

#[test]
fn adding_to_a_histogram_that_has_samples_sums_bucket_by_bucket() {
    let mut out = reference(latencies(1_000));
    hist(latencies(20).map(|v| v * 3)).add_to(&mut out);
    hist(latencies(9_000)).add_to(&mut out);
    let want = reference(
        latencies(1_000)
            .chain(latencies(20).map(|v| v * 3))
            .chain(latencies(9_000)),
    );
    assert_same(&out, &want);
}

#[test]
fn compacting_a_finished_histogram_keeps_every_answer() {
    for n in [3, 200, 5_000, 200_000] {
        let mut h = hist(latencies(n));
        h.compact();
        assert_same(&h.to_u64(), &reference(latencies(n)));
    }
}

#[test]
fn compacting_chooses_the_sparse_form_when_it_is_smaller() {
    let mut few = hist((0..SPARSE_MAX as u64 + 50).map(|i| 1 + i * 100));
    assert!(matches!(few, Hist::U32(_)));
    few.compact();
    assert!(matches!(few, Hist::Sparse(ref b) if b.len() == SPARSE_MAX + 50));
    let mut dense = hist(1..=40_000);
    dense.compact();
    assert!(
        matches!(dense, Hist::U32(_)),
        "16 bytes a bucket is no saving here"
    );
}

#[test]
fn a_threshold_on_a_compacted_histogram_judges_as_on_the_full_one() {
    // p(95) exactly at the limit's bucket edge: 250 ms lands in a 128 µs-wide bucket.
    let values = || (0..1_000u64).map(|i| if i < 949 { 1_000 } else { 250_000 + i });
    let mut h = hist(values());
    h.compact();
    let p95 = h.to_u64().value_at_quantile(0.95);
    assert_eq!(p95, reference(values()).value_at_quantile(0.95));
    assert!(p95 as f64 / 1000.0 >= 250.0);
}

#[test]
fn subtracting_an_earlier_copy_leaves_exactly_the_later_samples() {
    // Earlier sparse or dense, later sparse or dense, in every pairing.
    for (a, b) in [(5, 10), (5, 5_000), (3_000, 9_000)] {
        let earlier = hist(latencies(a));
        let mut later = hist(latencies(b));
        later.subtract(&earlier).unwrap();
        assert_same(&later.to_u64(), &reference(latencies(b).skip(a as usize)));
    }
    let mut later = hist(latencies(100));
    later.subtract(&hist(latencies(100))).unwrap();
    assert!(later.is_empty());
    assert!(matches!(later, Hist::Sparse(ref b) if b.is_empty()));
}

#[test]
fn subtracting_samples_it_does_not_hold_errs_and_changes_nothing() {
    let mut h = hist([10, 20].into_iter());
    assert_eq!(h.subtract(&hist([10, 30].into_iter())), Err(SubtractError));
    assert_same(&h.to_u64(), &reference([10, 20].into_iter()));
    let mut d = hist(latencies(5_000));
    assert_eq!(
        d.subtract(&hist([3_000_000].into_iter())),
        Err(SubtractError)
    );
    assert_same(&d.to_u64(), &reference(latencies(5_000)));
}

#[test]
fn an_empty_histogram_answers_empty() {
    let h = Hist::new();
    assert!(h.is_empty());
    assert!(h.to_u64().is_empty());
}

#[test]
fn runs_of_equal_samples_count_like_one_at_a_time_in_every_form() {
    // Sparse, dense u32, and a run that pushes u32 counters to u64.
    for (values, run) in [(10u64, 3u64), (5_000, 7), (5_000, u64::from(u32::MAX))] {
        let mut by_runs = Hist::new();
        let mut want = new_dense::<u64>();
        for v in latencies(values) {
            by_runs.record_n(v, 1);
            want.record(v).unwrap();
        }
        by_runs.record_n(42, run);
        by_runs.record_n(43, 0);
        want.record_n(42, run).unwrap();
        assert_same(&by_runs.to_u64(), &want);
    }
}
