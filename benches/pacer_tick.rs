//! Pacer tick: the cost of computing one intended start of an open (arrival-rate) model.
//!
//! The pacer thread (`run/pacer.rs`) and the timer clock (`run/open.rs`) call
//! `Arrivals::next_offset` once per iteration, through the `Box<dyn Arrivals>` that
//! `load::model` builds from a plan's `Load`. Only that schedule arithmetic is measured here —
//! no sleeping, no threads. Each model below yields exactly 10,000 arrivals, so the reported
//! throughput is "intended starts computed per second".
//!
//!   cargo bench --bench pacer_tick

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use soakd::load::{Arrivals, Model, model};
use soakd::plan::{ConstantArrivalRate, Executor, Load, RampingArrivalRate, Stage};
use std::hint::black_box;
use std::time::Duration;

const ARRIVALS: u64 = 10_000;
/// Irrelevant to the schedule; only the driver's VU pool uses them.
const VUS: u32 = 100;

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// The arrivals of `executor`, as the open-model driver receives them.
fn arrivals(executor: &Executor) -> Box<dyn Arrivals> {
    let load = Load {
        executor: executor.clone(),
        graceful_stop: secs(30),
    };
    match model(&load, 0.0) {
        Model::Open(open) => open.arrivals,
        _ => unreachable!("arrival-rate executors are open models"),
    }
}

/// Drains every arrival; returns the count so the work cannot be optimised away.
fn drain(mut a: Box<dyn Arrivals>) -> u64 {
    let mut n = 0;
    while let Some(offset) = a.next_offset() {
        black_box(offset);
        n += 1;
    }
    n
}

fn bench(c: &mut Criterion) {
    let models = [
        // 1000/s for 10 s: iteration i at i ms.
        (
            "constant_arrival_rate",
            Executor::from(ConstantArrivalRate {
                rate: 1000.0,
                duration: secs(10),
                pre_allocated_vus: VUS,
                max_vus: VUS,
            }),
        ),
        // 0 → 2000/s over 10 s: the integral is 10,000; one quadratic solve per start.
        (
            "ramping_arrival_rate/one_ramp",
            Executor::from(RampingArrivalRate {
                start_rate: 0.0,
                stages: vec![Stage {
                    duration: secs(10),
                    target: 2000.0,
                }],
                pre_allocated_vus: VUS,
                max_vus: VUS,
            }),
        ),
        // Up to 1000/s over 5 s (2,500), hold 5 s (5,000), down to 0 over 5 s (2,500).
        (
            "ramping_arrival_rate/up_hold_down",
            Executor::from(RampingArrivalRate {
                start_rate: 0.0,
                stages: [(5, 1000.0), (5, 1000.0), (5, 0.0)]
                    .map(|(s, target)| Stage {
                        duration: secs(s),
                        target,
                    })
                    .to_vec(),
                pre_allocated_vus: VUS,
                max_vus: VUS,
            }),
        ),
    ];

    let mut g = c.benchmark_group("pacer_tick");
    g.throughput(Throughput::Elements(ARRIVALS));
    for (name, executor) in &models {
        assert_eq!(drain(arrivals(executor)), ARRIVALS, "{name}");
        // Building the model is per run, not per tick: it stays outside the timing.
        g.bench_function(*name, |b| {
            b.iter_batched(|| arrivals(executor), drain, BatchSize::SmallInput)
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
