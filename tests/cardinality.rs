//! Cardinality: after a long mixed run (every status class, transport failures, checks passing
//! and failing, many iterations) the series on /metrics stay within the bound that `check`
//! enforces, and do not grow with the number of samples.

use soakd::client::FailureReason;
use soakd::plan::RequestMeta;
use soakd::record::Sink;
use soakd::telemetry::Metrics;
use std::time::Duration;

// The shared /metrics reader: every sample line is one series.
#[path = "common/exposition.rs"]
mod exposition;

fn series(text: &str) -> usize {
    exposition::parse(text).len()
}

#[test]
fn series_stay_bounded_after_a_long_mixed_run() {
    let requests: Vec<RequestMeta> = (0..20)
        .map(|i| RequestMeta {
            name: format!("req_{i}"),
            journey: format!("journey_{}", i % 4),
            group: format!("group_{}", i % 3),
            method: if i % 2 == 0 {
                "GET".into()
            } else {
                "POST".into()
            },
            checks: vec!["status".into(), "json:$.id".into()],
        })
        .collect();
    let metrics = Metrics::with_latency_limits(&[250.0, 1000.0]);
    let sink = metrics.scenario_sink("mixed", &requests);
    let statuses = [
        Some(200),
        Some(201),
        Some(302),
        Some(404),
        Some(429),
        Some(500),
        Some(503),
        None,
    ];
    let mut counts = Vec::new();
    for round in 0..3 {
        for n in 0..100_000u64 {
            let i = (n % 20) as usize;
            let status = statuses[(n / 20 % statuses.len() as u64) as usize];
            let failure = match status {
                None => Some(FailureReason::ALL[(n % 6) as usize + 1]),
                Some(s) if s >= 400 => Some(FailureReason::Status),
                _ => None,
            };
            let checks = [n % 3 != 0, n % 5 != 0];
            sink.request(
                i,
                status,
                Duration::from_micros(100 + n % 50_000),
                failure,
                &checks,
            );
            sink.iteration(
                &format!("journey_{}", i % 4),
                Duration::from_micros(n % 900),
                n % 7 != 0,
            );
        }
        counts.push(series(&metrics.encode()));
        eprintln!(
            "after {} samples: {} series",
            (round + 1) * 100_000,
            counts[round]
        );
    }
    assert!(
        counts.windows(2).all(|w| w[0] == w[1]),
        "series grow with samples: {counts:?}"
    );
    let bound = soakd::plan::estimated_series(&requests, 0) as usize;
    assert!(
        counts[0] <= bound,
        "{} series above the check-time bound {bound}",
        counts[0]
    );
}
