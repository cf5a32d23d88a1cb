//! The regression test on synthetic runs: log-normal latencies (what services show) drawn from
//! a seeded RNG into exact HDR histograms, as the recorder keeps them.

use super::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const SETTINGS: Settings = Settings {
    history: 10,
    alpha: 0.01,
    min_effect: 0.05,
};

/// One run of `n` requests: log-normal latency with median `median_ms` (σ = 0.35), each
/// request failing with probability `error_rate`.
fn run(rng: &mut StdRng, id: usize, n: usize, median_ms: f64, error_rate: f64) -> RunSample {
    let mut h = Histogram::<u64>::new(3).expect("histogram");
    let mut failed = 0;
    for _ in 0..n {
        // Box-Muller: a standard normal from two uniforms.
        let (u1, u2): (f64, f64) = (rng.random::<f64>().max(1e-12), rng.random());
        let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
        let us = median_ms * 1000.0 * (0.35 * z).exp();
        h.record(us.max(1.0) as u64).expect("record");
        if rng.random::<f64>() < error_rate {
            failed += 1;
        }
    }
    RunSample {
        run_id: format!("run-{id}"),
        latency: Compact::from_hist(&h),
        requests: n as u64,
        failed,
    }
}

fn regressed(f: &[Finding], which: &str) -> Option<bool> {
    f.iter().find(|x| x.threshold == which).map(|x| x.regressed)
}

#[test]
fn a_25_percent_latency_shift_is_flagged_with_its_effect_and_p_value() {
    let mut rng = StdRng::seed_from_u64(17);
    let history: Vec<_> = (0..10)
        .map(|i| run(&mut rng, i, 2000, 25.0, 0.01))
        .collect();
    let slow = run(&mut rng, 10, 2000, 25.0 * 1.25, 0.01);
    let f = judge(&slow, &history, &SETTINGS);
    let p95 = f
        .iter()
        .find(|x| x.threshold == "regression:p95")
        .expect("p95 finding");
    assert!(p95.regressed, "{p95:?}");
    assert!(p95.p_value < 1e-6, "{p95:?}");
    assert!(
        (0.18..0.32).contains(&p95.effect),
        "effect ~ +25 %: {p95:?}"
    );
    assert_eq!(p95.baseline_runs, 10);
    assert_eq!(regressed(&f, "regression:error_rate"), Some(false));
}

#[test]
fn twenty_identical_distribution_runs_never_flag_at_alpha_0_01() {
    let mut rng = StdRng::seed_from_u64(2026);
    let mut passing: Vec<RunSample> = Vec::new();
    for i in 0..20 {
        let r = run(&mut rng, i, 2000, 25.0, 0.01);
        let from = passing.len().saturating_sub(SETTINGS.history);
        let f = judge(&r, &passing[from..], &SETTINGS);
        assert!(
            f.iter().all(|x| !x.regressed),
            "run {i} flagged without a change: {f:?}"
        );
        if i > 0 {
            assert_eq!(f.len(), 2, "both tests ran for run {i}");
        }
        passing.push(r);
    }
}

#[test]
fn a_significant_but_tiny_shift_stays_under_the_noise_floor() {
    // 2 % slower on 20k samples per run is significant, and below min_effect 5 %.
    let mut rng = StdRng::seed_from_u64(5);
    let history: Vec<_> = (0..10)
        .map(|i| run(&mut rng, i, 20_000, 25.0, 0.0))
        .collect();
    let cur = run(&mut rng, 10, 20_000, 25.0 * 1.02, 0.0);
    let f = judge(&cur, &history, &SETTINGS);
    let p95 = f
        .iter()
        .find(|x| x.threshold == "regression:p95")
        .expect("p95");
    assert!(
        p95.p_value < SETTINGS.alpha,
        "the shift is detectable: {p95:?}"
    );
    assert!(!p95.regressed, "but under the floor: {p95:?}");
}

#[test]
fn a_faster_run_is_not_a_regression() {
    let mut rng = StdRng::seed_from_u64(9);
    let history: Vec<_> = (0..5).map(|i| run(&mut rng, i, 2000, 25.0, 0.0)).collect();
    let fast = run(&mut rng, 5, 2000, 15.0, 0.0);
    let f = judge(&fast, &history, &SETTINGS);
    let p95 = f
        .iter()
        .find(|x| x.threshold == "regression:p95")
        .expect("p95");
    assert!(!p95.regressed && p95.p_value > 0.99, "{p95:?}");
}

#[test]
fn an_error_rate_rise_from_1_to_5_percent_is_flagged() {
    let mut rng = StdRng::seed_from_u64(3);
    let history: Vec<_> = (0..10)
        .map(|i| run(&mut rng, i, 2000, 25.0, 0.01))
        .collect();
    let cur = run(&mut rng, 10, 2000, 25.0, 0.05);
    let f = judge(&cur, &history, &SETTINGS);
    let e = f
        .iter()
        .find(|x| x.threshold == "regression:error_rate")
        .expect("errors");
    assert!(e.regressed && e.p_value < 1e-6, "{e:?}");
    assert!(e.effect > 2.0, "5 % vs 1 % is +300 %: {e:?}");
}

#[test]
fn no_history_no_findings() {
    let mut rng = StdRng::seed_from_u64(1);
    assert!(judge(&run(&mut rng, 0, 100, 25.0, 0.0), &[], &SETTINGS).is_empty());
}

#[test]
fn u_counts_pairs_where_current_is_slower_and_ties_count_half() {
    // Current {3, 4, 5} ms vs baseline {1, 2} ms: every pair has current slower.
    let ms = |v: &[u64]| Compact::from_values(v.iter().map(|m| m * 1000));
    let t = mann_whitney(&ms(&[3, 4, 5]), &ms(&[1, 2])).expect("test");
    assert_eq!(t.u, 6.0);
    assert_eq!(t.superiority, 1.0);
    // Current {2, 4} vs baseline {2, 3}: pairs (2,2) tie = ½, (2,3) 0, (4,2) 1, (4,3) 1.
    let t = mann_whitney(&ms(&[2, 4]), &ms(&[2, 3])).expect("test");
    assert_eq!(t.u, 2.5);
}

#[test]
fn all_samples_in_one_bucket_give_no_test() {
    let c = Compact::from_values([1000; 50]);
    assert!(mann_whitney(&c, &c).is_none());
}

#[test]
fn normal_tail_matches_known_values() {
    assert!((upper_tail(0.0) - 0.5).abs() < 1e-7);
    assert!((upper_tail(1.959_964) - 0.025).abs() < 1e-6);
    assert!((upper_tail(-2.326_348) - 0.99).abs() < 1e-6);
    // Deep tail keeps its relative accuracy: P(Z > 6) = 9.8659e-10.
    assert!((upper_tail(6.0) / 9.8659e-10 - 1.0).abs() < 1e-3);
}

#[test]
fn the_grid_keeps_quantiles_within_one_percent() {
    let c = Compact::from_values((1..=1000).map(|ms| ms * 1000));
    let p95 = c.quantile_ms(0.95).expect("p95");
    assert!((p95 / 950.0 - 1.0).abs() < 0.011, "{p95}");
    assert_eq!(c.count(), 1000);
}
