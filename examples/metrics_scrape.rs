//! Benchmark (not a test): how long one /metrics encode takes with 50 scenarios × 20 requests
//! that have all seen traffic (every status class, failures and checks).
//!
//!   cargo run --release --example metrics_scrape

use soakd::client::FailureReason;
use soakd::plan::RequestMeta;
use soakd::record::Sink;
use soakd::telemetry::Metrics;
use std::time::{Duration, Instant};

fn main() {
    let metrics = Metrics::with_latency_limits(&[250.0, 1000.0]);
    let mut sinks = Vec::new();
    for s in 0..50 {
        let requests: Vec<RequestMeta> = (0..20)
            .map(|i| RequestMeta {
                name: format!("req_{i}"),
                journey: format!("journey_{i}"),
                group: format!("group_{}", i % 4),
                method: "GET".into(),
                checks: vec!["status".into()],
            })
            .collect();
        let sink = metrics.scenario_sink(&format!("scenario_{s}"), &requests);
        for n in 0..2_000u64 {
            let status = [Some(200), Some(404), Some(503), None][(n % 4) as usize];
            let failure = match status {
                None => Some(FailureReason::Timeout),
                Some(c) if c >= 400 => Some(FailureReason::Status),
                _ => None,
            };
            sink.request(
                (n % 20) as usize,
                status,
                Duration::from_micros(500 + n),
                failure,
                &[n % 3 != 0],
            );
        }
        sinks.push(sink);
    }
    let mut times = Vec::new();
    let mut bytes = 0;
    for _ in 0..21 {
        let t0 = Instant::now();
        let text = metrics.encode();
        times.push(t0.elapsed());
        bytes = text.len();
    }
    times.sort();
    let series = metrics
        .encode()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .count();
    println!(
        "50 scenarios × 20 requests: {series} series, {} KiB; encode median {:?}, max {:?}",
        bytes / 1024,
        times[times.len() / 2],
        times[times.len() - 1]
    );
}
