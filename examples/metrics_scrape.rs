//! Benchmark (not a test): how long one /metrics encode takes with 50 scenarios × 20 requests
//! that have all seen traffic (every status class, failures and checks). The registry is the
//! one `cargo bench --bench metrics_encode` measures with criterion.
//!
//!   cargo run --release --example metrics_scrape

#[path = "../benches/support/busy_registry.rs"]
mod busy_registry;

use busy_registry::{REQUESTS, SCENARIOS};
use std::time::Instant;

fn main() {
    let (metrics, _sinks) = busy_registry::build();
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
        "{SCENARIOS} scenarios × {REQUESTS} requests: {series} series, {} KiB; encode median {:?}, max {:?}",
        bytes / 1024,
        times[times.len() / 2],
        times[times.len() - 1]
    );
}
