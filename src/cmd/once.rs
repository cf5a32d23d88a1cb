//! `soakd once`: one scenario now, in the foreground, like `k6 run`.
//!
//! Shows a live progress line (a plain periodic line when stderr is not a terminal), prints a
//! k6-like summary, writes `--summary-export`, and exits 99 when a threshold failed. SIGINT
//! stops the run gracefully and still prints and exports the summary (result `aborted`).

use super::{Exit, load_plan};
use crate::cli::{OnceArgs, config_path};
use soakd::config::{RawConfig, RawLoad, RawMixEntry, RawRequest, RawScenario, RawThresholdExpr};
use soakd::plan::{self, Scenario};
use soakd::report::{self, Summary};
use soakd::run::{self, RunControl, RunResult};
use soakd::state::write_atomic;
use soakd::verdict::RunNumbers;
use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

pub async fn run(args: OnceArgs) -> Exit {
    let scenario = match scenario_from_args(&args) {
        Ok(s) => s,
        Err(msg) => return Exit::Invalid(msg),
    };
    let ctl = RunControl::new(scenario, None);
    let progress = (!args.quiet).then(|| tokio::spawn(progress(ctl.clone())));
    let sigint = {
        let ctl = ctl.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("\ninterrupted: stopping gracefully (Ctrl-C again to quit at once)");
                ctl.abort();
                if tokio::signal::ctrl_c().await.is_ok() {
                    std::process::exit(130);
                }
            }
        })
    };
    let report = run::execute(ctl).await;
    sigint.abort();
    if let Some(p) = progress {
        p.abort();
        eprintln!();
    }
    let summary = Summary::from_report(&report);
    print!("{}", report::render(&summary));
    if let Some(path) = &args.summary_export {
        let bytes = match args.summary_format {
            crate::cli::SummaryFormat::Soakd => serde_json::to_vec_pretty(&summary),
            crate::cli::SummaryFormat::K6 => {
                serde_json::to_vec_pretty(&report::k6::export(&report))
            }
        };
        let bytes = match bytes {
            Ok(b) => b,
            Err(e) => return Exit::Error(e.into()),
        };
        if let Err(e) = write_atomic(path, &bytes) {
            return Exit::Error(anyhow::anyhow!("cannot write {}: {e}", path.display()));
        }
    }
    match report.result {
        RunResult::Pass => Exit::Ok,
        RunResult::Error => Exit::Error(anyhow::anyhow!(report.error.unwrap_or_default())),
        RunResult::Fail => Exit::ThresholdsFailed,
        RunResult::Aborted if report.outcomes.iter().any(|o| o.breached) => Exit::ThresholdsFailed,
        RunResult::Aborted => Exit::Ok,
    }
}

fn scenario_from_args(args: &OnceArgs) -> Result<Arc<Scenario>, String> {
    let scale = match args.time_scale {
        None => 1.0,
        Some(f) if f > 0.0 && f <= 1.0 => f,
        Some(f) => return Err(format!("--time-scale {f}: must be in (0, 1]")),
    };
    let scenario = match (&args.url, &args.scenario) {
        (Some(url), None) => ad_hoc(url, args)?,
        (None, Some(name)) => {
            let path = config_path(&args.config);
            let plan = load_plan(&path)?;
            match plan.scenarios.get(name) {
                Some(s) => s.clone(),
                None => {
                    let known: Vec<&String> = plan.scenarios.keys().collect();
                    return Err(format!(
                        "{}: no scenario {name:?} (known: {known:?})",
                        path.display()
                    ));
                }
            }
        }
        (Some(_), Some(_)) => return Err("give either a SCENARIO or --url, not both".into()),
        (None, None) => {
            return Err("give a SCENARIO from the config, or --url for an ad-hoc run".into());
        }
    };
    Ok(if scale < 1.0 {
        Arc::new(scenario.time_scaled(scale))
    } else {
        scenario
    })
}

/// `--url U (--vus N | --rate R) --duration D`: one GET request, compiled like a config.
fn ad_hoc(url: &str, a: &OnceArgs) -> Result<Arc<Scenario>, String> {
    let duration = a
        .duration
        .clone()
        .ok_or("--duration is required with --url")?;
    let load = match (a.vus, a.rate) {
        (Some(vus), None) => RawLoad::ConstantVus {
            vus: Some(vus as i64),
            duration,
            graceful_stop: Some("5s".into()),
        },
        (None, Some(rate)) => {
            let max = a
                .max_vus
                .map(i64::from)
                .unwrap_or(((rate / 10.0).ceil() as i64).max(100));
            RawLoad::ConstantArrivalRate {
                rate,
                time_unit: None,
                rate_of: None,
                duration,
                pre_allocated_vus: max.min(100),
                max_vus: Some(max),
                graceful_stop: Some("5s".into()),
            }
        }
        _ => return Err("give --vus N (closed model) or --rate R (open model) with --url".into()),
    };
    let mut thresholds = std::collections::BTreeMap::<String, Vec<RawThresholdExpr>>::new();
    for t in &a.thresholds {
        let split = t.find('}').map_or(0, |i| i + 1);
        let (key, expr) = match t[split..].find(':') {
            Some(i) => (&t[..split + i], &t[split + i + 1..]),
            None => {
                return Err(format!(
                    "--threshold {t:?}: expected METRIC:EXPR, e.g. http_req_duration:p(95)<250"
                ));
            }
        };
        thresholds
            .entry(key.to_string())
            .or_default()
            .push(RawThresholdExpr::Plain(expr.to_string()));
    }
    let mut raw = RawConfig::default();
    raw.scenarios.insert(
        "adhoc".into(),
        RawScenario {
            load: Some(load),
            mix: vec![RawMixEntry {
                name: "request".into(),
                request: Some(RawRequest {
                    url: url.to_string(),
                    ..Default::default()
                }),
                ..Default::default()
            }],
            thresholds,
            ..Default::default()
        },
    );
    let plan = plan::compile("<command line>", &raw).map_err(|errs| {
        errs.iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    })?;
    plan.scenarios
        .get("adhoc")
        .cloned()
        .ok_or_else(|| "ad-hoc scenario missing".into())
}

/// Live progress: a redrawn line on a terminal, a plain line every 5 s otherwise.
async fn progress(ctl: Arc<RunControl>) {
    let tty = std::io::stderr().is_terminal();
    let total = ctl.scenario.load.executor.duration();
    let every = if tty {
        Duration::from_secs(1)
    } else {
        Duration::from_secs(5)
    };
    let mut last_requests = 0u64;
    loop {
        tokio::time::sleep(every).await;
        let live = &ctl.recorder.live;
        let requests = live.requests.load(Ordering::Relaxed);
        let failures = live.failures.load(Ordering::Relaxed);
        let rate = (requests - last_requests) as f64 / every.as_secs_f64();
        last_requests = requests;
        let snap = ctl.recorder.snapshot();
        let p95 = snap
            .request_latency(&Default::default())
            .map(|h| report::Times::from_hist(&h).p95)
            .unwrap_or(0.0);
        let line = format!(
            "{}: {:>5.1}s/{:.0}s  vus={:<4} rate={:>8.1}/s  reqs={}  failed={}  dropped={}  p95={}",
            ctl.scenario.name,
            snap.elapsed.as_secs_f64(),
            total.as_secs_f64(),
            ctl.vus.load(Ordering::Relaxed),
            rate,
            requests,
            failures,
            live.dropped.load(Ordering::Relaxed),
            soakd::report::render_ms(p95),
        );
        if tty {
            eprint!("\r\x1b[2K{line}");
        } else {
            eprintln!("{line}");
        }
    }
}
