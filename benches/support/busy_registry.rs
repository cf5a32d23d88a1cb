//! A busy daemon's registry: 50 scenarios × 20 requests that have all seen traffic (every
//! status class, failures and checks). Shared by `benches/metrics_encode.rs` and
//! `examples/metrics_scrape.rs` (each includes this file with `#[path]`), so both time the
//! same exposition.

use soakd::client::FailureReason;
use soakd::plan::RequestMeta;
use soakd::record::Sink;
use soakd::telemetry::{Metrics, ScenarioSink};
use std::sync::Arc;
use std::time::Duration;

pub const SCENARIOS: usize = 50;
pub const REQUESTS: usize = 20;

/// The registry and its sinks; keep the sinks alive while encoding, as runs do.
pub fn build() -> (Arc<Metrics>, Vec<Arc<ScenarioSink>>) {
    let metrics = Metrics::with_latency_limits(&[250.0, 1000.0]);
    let sinks = (0..SCENARIOS)
        .map(|s| {
            let requests: Vec<RequestMeta> = (0..REQUESTS)
                .map(|i| RequestMeta {
                    name: format!("req_{i}"),
                    journey: format!("journey_{i}"),
                    group: format!("group_{}", i % 4),
                    method: "GET".into(),
                    checks: vec!["status".into()],
                })
                .collect();
            let sink = metrics.scenario_sink(&format!("scenario_{s}"), &requests);
            traffic(&sink);
            sink
        })
        .collect();
    (metrics, sinks)
}

/// 2,000 requests spread over the scenario's requests: 200, 404, 503 and no response in turn.
fn traffic(sink: &ScenarioSink) {
    for n in 0..2_000u64 {
        let status = [Some(200), Some(404), Some(503), None][(n % 4) as usize];
        let failure = match status {
            None => Some(FailureReason::Timeout),
            Some(c) if c >= 400 => Some(FailureReason::Status),
            _ => None,
        };
        let latency = Duration::from_micros(500 + n);
        sink.request(
            n as usize % REQUESTS,
            status,
            latency,
            failure,
            &[n % 3 != 0],
        );
    }
}
