//! `soakd check`: validate the config and print the plan a human can review.

use super::{Exit, load_plan};
use crate::cli::config_path;
use crate::plan::{Executor, Plan, Scenario, Step};
use std::fmt::Write;
use std::path::PathBuf;

pub fn run(config: &Option<PathBuf>) -> Exit {
    let path = config_path(config);
    match load_plan(&path) {
        Ok(plan) => {
            // `soakd check | head -1` closes the pipe early: a broken pipe is not an error
            // (print! would panic on it).
            use std::io::Write as _;
            let _ = std::io::stdout()
                .lock()
                .write_all(describe(&plan).as_bytes());
            Exit::Ok
        }
        Err(msg) => Exit::Invalid(msg),
    }
}

/// The plan as text: scenarios, schedules with next fires, executors, expected requests.
pub fn describe(plan: &Plan) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{}: ok, {} scenario(s); listen {}",
        plan.source,
        plan.scenarios.len(),
        plan.listen
    );
    for s in plan.scenarios.values() {
        describe_scenario(&mut o, s);
    }
    o
}

fn describe_scenario(o: &mut String, s: &Scenario) {
    let _ = writeln!(o, "\nscenario {}", s.name);
    let _ = writeln!(o, "  schedule: {}", s.schedule.describe());
    let fires = s.schedule.next_fires(chrono::Utc::now(), 3);
    for t in &fires {
        let _ = writeln!(o, "    next: {}", t.to_rfc3339());
    }
    if fires.is_empty() && matches!(s.schedule, crate::plan::Schedule::Cron { .. }) {
        let _ = writeln!(o, "  warning: this cron expression never fires");
    }
    let e = &s.load.executor;
    let _ = write!(o, "  executor: {} ", e.name());
    let secs = |d: std::time::Duration| humantime::format_duration(d).to_string();
    match e {
        Executor::ConstantVus { vus, duration } => {
            let _ = writeln!(o, "{vus} VUs for {}", secs(*duration));
        }
        Executor::RampingVus {
            start_vus, stages, ..
        } => {
            let _ = writeln!(o, "from {start_vus} VUs");
            for st in stages {
                let _ = writeln!(o, "    → {} VUs over {}", st.target, secs(st.duration));
            }
        }
        Executor::ConstantArrivalRate {
            rate,
            duration,
            max_vus,
            ..
        } => {
            let _ = writeln!(o, "{rate}/s for {}, up to {max_vus} VUs", secs(*duration));
        }
        Executor::RampingArrivalRate {
            start_rate,
            stages,
            max_vus,
            ..
        } => {
            let _ = writeln!(o, "from {start_rate}/s, up to {max_vus} VUs");
            for st in stages {
                let _ = writeln!(o, "    → {}/s over {}", st.target, secs(st.duration));
            }
        }
        Executor::PerVuIterations {
            vus, iterations, ..
        } => {
            let _ = writeln!(o, "{vus} VUs × {iterations} iterations");
        }
        Executor::SharedIterations {
            vus, iterations, ..
        } => {
            let _ = writeln!(o, "{iterations} iterations shared by {vus} VUs");
        }
    }
    let _ = writeln!(
        o,
        "  duration: {} (+ graceful stop {})",
        secs(e.duration()),
        secs(s.load.graceful_stop)
    );
    let per_iteration: f64 = s
        .mix
        .iter()
        .zip(weights(&s.cumulative_weights))
        .map(|(m, w)| {
            w * m
                .steps
                .iter()
                .filter(|st| matches!(st, Step::Request(_)))
                .count() as f64
        })
        .sum();
    match e.expected_iterations() {
        Some(n) => {
            let _ = writeln!(
                o,
                "  expected: {n:.0} iterations, {:.0} requests",
                n * per_iteration
            );
        }
        None => {
            let _ = writeln!(
                o,
                "  expected: closed model, as many iterations as the target allows"
            );
        }
    }
    let _ = writeln!(o, "  mix:");
    for (m, w) in s.mix.iter().zip(weights(&s.cumulative_weights)) {
        let _ = writeln!(
            o,
            "    {:5.1}% {} ({} step(s))",
            w * 100.0,
            m.name,
            m.steps.len()
        );
    }
    if !s.thresholds.is_empty() {
        let _ = writeln!(o, "  thresholds:");
        for t in &s.thresholds {
            let abort = if t.abort_on_fail {
                " (abort on fail)"
            } else {
                ""
            };
            let _ = writeln!(o, "    {}{abort}", t.label);
        }
    }
    let _ = writeln!(
        o,
        "  incident after {} breached run(s) in a row",
        s.consecutive_breaches
    );
}

fn weights(cumulative: &[f64]) -> Vec<f64> {
    let mut prev = 0.0;
    cumulative
        .iter()
        .map(|c| {
            let w = c - prev;
            prev = *c;
            w
        })
        .collect()
}
