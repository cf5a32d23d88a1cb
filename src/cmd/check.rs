//! `soakd check`: validate the config and print the plan a human can review.
//!
//! With `--shard I/N` it prints replica I's share and the threshold limits that replica judges
//! (volume limits divided by N); with `--time-scale F` the scaled timeline and the expected
//! requests per second, which `--time-scale` leaves as they are.

use super::{Exit, load_plan};
use crate::cli::config_path;
use soakd::app::{Shard, shard_plan};
use soakd::plan::threshold::TagKey;
use soakd::plan::{Plan, Scenario, Step};
use std::fmt::Write;
use std::path::PathBuf;
use std::sync::Arc;

pub fn run(config: &Option<PathBuf>, shard: Option<&str>, time_scale: Option<f64>) -> Exit {
    let path = config_path(config);
    let shard = match shard.map(Shard::parse).transpose() {
        Ok(s) => s.unwrap_or(Shard::WHOLE),
        Err(e) => return Exit::Invalid(e.to_string()),
    };
    let scale = match time_scale {
        None => 1.0,
        Some(f) if f > 0.0 && f <= 1.0 => f,
        Some(f) => return Exit::Invalid(format!("--time-scale {f}: must be in (0, 1]")),
    };
    match load_plan(&path) {
        Ok(plan) => {
            let mut plan = shard_plan(plan, shard);
            if scale < 1.0 {
                for s in plan.scenarios.values_mut() {
                    *s = Arc::new(s.time_scaled(scale));
                }
            }
            let mut o = describe(&plan);
            if shard != Shard::WHOLE {
                let _ = writeln!(
                    o,
                    "\nas replica {} of {}: rates and VUs are this replica's share; volume limits \
                     (counts, requests or iterations per second) are divided by {}",
                    shard.index, shard.count, shard.count
                );
            }
            if scale < 1.0 {
                let _ = writeln!(
                    o,
                    "\nat --time-scale {scale}: durations × {scale}; rates, think time and \
                     send_every unchanged (same requests per second, for less time)"
                );
            }
            // `soakd check | head -1` closes the pipe early: a broken pipe is not an error
            // (print! would panic on it).
            use std::io::Write as _;
            let _ = std::io::stdout().lock().write_all(o.as_bytes());
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
    if fires.is_empty() && matches!(s.schedule, soakd::plan::Schedule::Cron { .. }) {
        let _ = writeln!(o, "  warning: this cron expression never fires");
    }
    let e = &s.load.executor;
    let _ = write!(o, "  executor: {} ", e.name());
    let secs = |d: std::time::Duration| humantime::format_duration(d).to_string();
    let note = |i: usize| stage_note(s, i);
    let cx = soakd::load::Describe {
        requests_per_iteration: s.rate_of_requests.then_some(s.requests_per_iteration),
        stage_note: &note,
    };
    o.push_str(&e.kind().describe(&cx));
    let _ = writeln!(
        o,
        "  duration: {} (+ graceful stop {})",
        secs(e.duration()),
        secs(s.load.graceful_stop)
    );
    let per_iteration = s.requests_per_iteration;
    let _ = writeln!(o, "  expected rate: {}", expected_rate(s, per_iteration));
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
    for (m, w) in s.mix.iter().zip(s.weights()) {
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
            let limit = if t.scales_with_volume() {
                format!(" (judged against {})", trim(t.limit))
            } else {
                String::new()
            };
            let scope = match (t.window, t.filter.get(TagKey::Stage)) {
                (Some(w), _) => format!(
                    " (judged on every {} window, the worst decides)",
                    humantime::format_duration(w)
                ),
                (None, Some(stage)) => format!(" (judged on stage {stage} alone)"),
                (None, None) => String::new(),
            };
            let _ = writeln!(o, "    {}{abort}{limit}{scope}", t.label);
        }
    }
    let _ = writeln!(
        o,
        "  incident after {} breached run(s) in a row",
        s.consecutive_breaches
    );
    describe_sut(o, s);
    describe_always_on(o, s);
}

/// `  [stage peak: label, …]` for stage `i` when it is named: the thresholds judged on it.
fn stage_note(s: &Scenario, i: usize) -> String {
    let Some(Some(name)) = s.stage_names.get(i) else {
        return String::new();
    };
    let judged: Vec<&str> = s
        .thresholds
        .iter()
        .filter(|t| t.filter.get(TagKey::Stage) == Some(name.as_str()))
        .map(|t| t.label.as_str())
        .collect();
    if judged.is_empty() {
        format!("  [stage {name}]")
    } else {
        format!("  [stage {name}: {}]", judged.join(", "))
    }
}

/// PromQL checks on the system under test and drills, each with its threshold label.
fn describe_sut(o: &mut String, s: &Scenario) {
    let secs = |d: std::time::Duration| humantime::format_duration(d).to_string();
    if !s.sut.checks.is_empty() {
        let _ = writeln!(o, "  sut checks:");
        for c in &s.sut.checks {
            let _ = writeln!(o, "    {} every {}: {}", c.label, secs(c.every), c.query);
        }
    }
    if !s.sut.drills.is_empty() {
        let _ = writeln!(o, "  drills:");
        for d in &s.sut.drills {
            let mut line = format!("    {} at {}", d.name, secs(d.at));
            if let (Some(dur), Some(_)) = (d.duration, &d.undo) {
                let _ = write!(line, ", undone after {}", secs(dur));
            }
            let _ = writeln!(o, "{line}");
            if let Some(r) = &d.recovery {
                let _ = writeln!(o, "      expect {}", d.recovery_label(r));
            }
            if let Some(n) = d.max_errors_during {
                let _ = writeln!(o, "      expect {}", d.errors_label(n));
            }
        }
    }
}

/// Blackouts, circuit breaker and statistical baseline.
fn describe_always_on(o: &mut String, s: &Scenario) {
    let a = &s.always_on;
    for b in &a.blackouts {
        let _ = writeln!(o, "  blackout: {}", b.describe());
    }
    if let Some(cb) = &a.circuit_breaker {
        let _ = writeln!(o, "  circuit breaker: {}", cb.describe());
    }
    if let Some(b) = &a.statistical_baseline {
        let _ = writeln!(
            o,
            "  baseline: last {} passing run(s), mann_whitney + two_proportion at alpha {}, min effect {}%",
            b.history,
            b.alpha,
            b.min_effect * 100.0
        );
    }
}

/// Requests per second the scenario asks for: an open model's rate × requests per iteration; a
/// closed model's VUs × requests per iteration over its mean think time per iteration (an upper
/// bound: the target's latency adds to every iteration).
fn expected_rate(s: &Scenario, per_iteration: f64) -> String {
    if let Some(rate) = s.load.executor.peak_rate() {
        let how = if s.rate_of_requests {
            format!(" (rate_of: requests: {rate:.1} iterations/s of {per_iteration:.2} requests)")
        } else {
            String::new()
        };
        return format!("{:.1} requests/s at peak{how}", rate * per_iteration);
    }
    let think: f64 = s
        .mix
        .iter()
        .zip(s.weights())
        .map(|(m, w)| {
            let per_entry: f64 = m
                .steps
                .iter()
                .map(|st| match st {
                    Step::Think { min, max } => (min.as_secs_f64() + max.as_secs_f64()) / 2.0,
                    _ => 0.0,
                })
                .sum();
            w * per_entry
        })
        .sum();
    let vus = s.load.executor.max_vus() as f64;
    if think > 0.0 {
        format!(
            "at most {:.1} requests/s ({vus} VUs, {:.0} ms think per iteration, plus latency)",
            vus * per_iteration / think,
            think * 1000.0
        )
    } else {
        "closed model without think time: as many requests/s as the target answers".into()
    }
}

/// `8.333333` → `8.33`, `25` → `25`.
fn trim(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}
