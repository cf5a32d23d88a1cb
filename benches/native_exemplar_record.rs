//! Per-sample cost of soakd's own histogram (issue 15): one `observe` updates the classic
//! buckets (85 dense boundaries, binary search), the native schema-4 histogram and, for a
//! traced request, the bucket's exemplar. Measured: the bare `Hist` untraced and traced, and
//! the whole Prometheus sink per request without and with a trace id (what a daemon run pays
//! on top of the recorder; compare `histogram_record`).
//!
//!   cargo bench --bench native_exemplar_record

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use soakd::plan::RequestMeta;
use soakd::record::Sink;
use soakd::telemetry::{Hist, Metrics, TraceId, latency_buckets};
use std::hint::black_box;
use std::time::Duration;

/// Latencies spread over 0.2–50 ms (as in `histogram_record`), so samples hit many buckets.
fn latency(n: u64) -> Duration {
    Duration::from_micros(200 + n.wrapping_mul(7919) % 50_000)
}

fn trace(n: u64) -> TraceId {
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&n.to_le_bytes());
    id[15] = 1;
    TraceId(id)
}

fn bench(c: &mut Criterion) {
    let hist = Hist::new(latency_buckets(&[250.0]).into());
    let meta = [RequestMeta {
        name: "feed".into(),
        journey: "browse".into(),
        group: "api".into(),
        method: "GET".into(),
        checks: vec![],
    }];
    let metrics = Metrics::with_latency_limits(&[250.0]);
    let sink = metrics.scenario_sink("shop", &meta);

    let mut g = c.benchmark_group("native_exemplar_record");
    g.throughput(Throughput::Elements(1));
    let mut n = 0u64;
    g.bench_function("hist_observe", |b| {
        b.iter(|| {
            n += 1;
            hist.observe(black_box(latency(n).as_secs_f64()));
        })
    });
    g.bench_function("hist_observe_traced", |b| {
        b.iter(|| {
            n += 1;
            hist.observe_traced(black_box(latency(n).as_secs_f64()), Some(trace(n)));
        })
    });
    g.bench_function("sink_request", |b| {
        b.iter(|| {
            n += 1;
            sink.request(0, Some(200), black_box(latency(n)), None, &[]);
        })
    });
    g.bench_function("sink_request_traced", |b| {
        b.iter(|| {
            n += 1;
            sink.request_traced(
                0,
                Some(200),
                black_box(latency(n)),
                None,
                &[],
                Some(trace(n)),
            );
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
