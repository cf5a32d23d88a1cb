//! /metrics encode: one scrape of a busy daemon's registry.
//!
//! `Metrics::encode` is what the `/metrics` handler serves (`server/mod.rs`): prometheus_client's
//! OpenMetrics text encoder over the whole registry. The registry is `support/busy_registry.rs`
//! (50 scenarios × 20 requests with traffic), the one `examples/metrics_scrape.rs` times too.
//! Throughput is in bytes of exposition text.
//!
//!   cargo bench --bench metrics_encode

#[path = "support/busy_registry.rs"]
mod busy_registry;

use busy_registry::{REQUESTS, SCENARIOS};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    let (metrics, _sinks) = busy_registry::build();
    let text = metrics.encode();
    let series = text.lines().filter(|l| !l.starts_with('#')).count();
    assert!(
        text.ends_with("# EOF\n") && series > 10_000,
        "{series} series"
    );
    eprintln!(
        "{SCENARIOS} scenarios x {REQUESTS} requests: {series} series, {} KiB",
        text.len() / 1024
    );

    let mut g = c.benchmark_group("metrics_encode");
    g.throughput(Throughput::Bytes(text.len() as u64));
    // One encode takes milliseconds: 20 samples fit the measurement time.
    g.sample_size(20);
    g.bench_function("50_scenarios_x_20_requests", |b| {
        b.iter(|| metrics.encode())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
