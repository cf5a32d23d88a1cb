//! Histogram record: the bookkeeping of one finished request, single-threaded.
//!
//! Per request the action layer calls `Recorder::request` (`action/mod.rs`), which queues one
//! `Sample` on the VU's slot; every 2,048 samples of a slot (here: the queue cap, in a run also
//! the 100 ms flush) are applied in one batch: two HdrHistograms (the status cell and the
//! timeline window), checks and failures, and the `ScenarioSink` the daemon attaches, which
//! observes them into the Prometheus families through label handles resolved once per run. The
//! per-sample figure therefore includes the amortised batch.
//! Measured: the recorder alone, the recorder with its sink (what a daemon run pays), the sink
//! alone, and one raw `hdrhistogram::Histogram::record` for comparison.
//!
//!   cargo bench --bench histogram_record

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use soakd::plan::RequestMeta;
use soakd::record::{Recorder, Sink};
use soakd::telemetry::Metrics;
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

/// The `n`th sample: VUs take turns (so every queue is used) and latencies spread over
/// 0.2–50 ms (so records land in different buckets, as real traffic does).
fn sample(n: u64) -> (u32, Duration) {
    let vu = (n % 64) as u32;
    let latency = Duration::from_micros(200 + n.wrapping_mul(7919) % 50_000);
    (vu, latency)
}

fn requests() -> Arc<[RequestMeta]> {
    ["login", "feed", "checkout"]
        .map(|name| RequestMeta {
            name: name.into(),
            journey: "browse".into(),
            group: "api".into(),
            method: "GET".into(),
            checks: vec!["status is 200".into()],
        })
        .into()
}

fn bench(c: &mut Criterion) {
    let meta = requests();
    let journeys: Arc<[String]> = Arc::new(["browse".to_string()]);
    let metrics = Metrics::new();
    let sink = metrics.scenario_sink("shop", &meta);
    let plain = Recorder::new(meta.clone(), journeys.clone(), None);
    let sunk = Recorder::new(meta, journeys, Some(sink.clone() as Arc<dyn Sink>));

    let mut g = c.benchmark_group("histogram_record");
    g.throughput(Throughput::Elements(1));
    let mut n = 0u64;
    g.bench_function("recorder_request", |b| {
        b.iter(|| {
            n += 1;
            let (vu, latency) = sample(n);
            plain.request(vu, 1, Some(200), black_box(latency), None, &[true]);
        })
    });
    g.bench_function("recorder_request_with_prometheus_sink", |b| {
        b.iter(|| {
            n += 1;
            let (vu, latency) = sample(n);
            sunk.request(vu, 1, Some(200), black_box(latency), None, &[true]);
        })
    });
    g.bench_function("prometheus_sink_request", |b| {
        b.iter(|| {
            n += 1;
            let (_, latency) = sample(n);
            sink.request(1, Some(200), black_box(latency), None, &[true]);
        })
    });
    let mut raw = hdrhistogram::Histogram::<u64>::new(3).unwrap();
    g.bench_function("hdrhistogram_record", |b| {
        b.iter(|| {
            n += 1;
            let (_, latency) = sample(n);
            raw.record(black_box(latency.as_micros() as u64)).unwrap();
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
