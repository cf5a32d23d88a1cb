//! `compile`: raw config → `Plan`, pure, reporting every error at once.

use super::errors::Errors;
use super::executor::compile_load;
use super::judging::{compile_baseline, compile_thresholds};
use super::names::{MAX_NAME_LEN, check_names, check_stage_names, stage_names, valid_name};
use super::request::{RequestCtx, compile_entry};
use super::schedule::compile_schedule;
use super::template::Templates;
use super::{Plan, Scenario};
use crate::config::{ConfigError, Loaded, RawConfig, RawScenario};
use std::collections::{BTreeMap, BTreeSet};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_MAX_BODY: usize = 10 << 20;

/// Compiles a loaded file; its structural errors are reported together with the semantic ones.
pub fn compile_loaded(loaded: &Loaded) -> Result<Plan, Vec<ConfigError>> {
    let mut errors = loaded.errors.clone();
    if loaded.raw.scenarios.is_empty()
        && errors
            .iter()
            .all(|e| !e.path.is_empty() && !e.path.starts_with("scenarios"))
    {
        errors.push(ConfigError {
            file: loaded.file.clone(),
            path: "scenarios".into(),
            message: "no scenarios: a config needs at least one".into(),
        });
    }
    match compile(&loaded.file, &loaded.raw) {
        Ok(plan) if errors.is_empty() => Ok(plan),
        Ok(_) => Err(errors),
        Err(errs) => {
            errors.extend(loaded.blame_env(errs));
            Err(errors)
        }
    }
}

/// Validates `raw` (from `file`) into a plan, or returns all errors.
pub fn compile(file: &str, raw: &RawConfig) -> Result<Plan, Vec<ConfigError>> {
    let mut e = Errors::new(file);
    let listen_s = raw.server.listen.as_deref().unwrap_or("0.0.0.0:9464");
    let listen = listen_s.parse::<SocketAddr>().unwrap_or_else(|_| {
        e.push(
            "server.listen",
            format!("{listen_s:?} is not an address (e.g. 0.0.0.0:9464)"),
        );
        SocketAddr::from(([0, 0, 0, 0], 9464))
    });
    let mut base_url = |path: &str, v: &Option<String>| {
        let v = v.as_deref()?.trim().trim_end_matches('/');
        match url::Url::parse(v) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => Some(v.to_string()),
            _ => {
                e.push(path, format!("{v:?} is not an absolute http(s) URL"));
                None
            }
        }
    };
    let external_url = base_url("server.external_url", &raw.server.external_url);
    let grafana_url = base_url("server.grafana_url", &raw.server.grafana_url);
    let retention = e.duration_or(
        "results.retention",
        &raw.results.retention,
        Duration::from_secs(180 * 86_400),
    );
    let results_k6 = results_k6(raw.results.format.as_deref(), &mut e);
    let shutdown_timeout = e.duration_or(
        "shutdown_timeout",
        &raw.shutdown_timeout,
        Duration::from_secs(20),
    );
    let max_concurrent_runs = raw
        .max_concurrent_runs
        .map(|n| e.count("max_concurrent_runs", n, 1) as usize);
    if let Some(r) = raw.safety.max_rps
        && !(r.is_finite() && r > 0.0)
    {
        e.push("safety.max_rps", format!("{r} must be a positive number"));
    } else if let Some(r) = raw.safety.max_rps
        && r > super::bounds::MAX_RATE
    {
        e.push(
            "safety.max_rps",
            format!("{r} is above the limit of {}", super::bounds::MAX_RATE),
        );
    }
    let default_timeout = e.duration_or("defaults.timeout", &raw.defaults.timeout, DEFAULT_TIMEOUT);
    let trace_sample = compile_trace(raw.defaults.trace.as_ref(), &mut e);
    let request_id_header = compile_request_id_header(raw.defaults.trace.as_ref(), &mut e);

    let base = std::path::Path::new(file)
        .parent()
        .unwrap_or(std::path::Path::new("."));
    let pools: Arc<[super::data::Pool]> =
        super::data::compile_pools(&raw.data, base, &mut e).into();
    // The write API's token: a file that must exist (the daemon reads it at start and on
    // reload); relative paths are relative to the config file, as data pools are.
    let admin_token_file = raw.server.admin_token_file.as_ref().and_then(|f| {
        let path = base.join(f);
        if path.is_file() {
            Some(path)
        } else {
            e.push(
                "server.admin_token_file",
                format!("{} is not a readable file", path.display()),
            );
            None
        }
    });
    let object_store = raw.results.object_store.as_ref().and_then(|o| {
        super::object_store::compile(o, base, retention, &raw.safety.allowed_hosts, &mut e)
    });
    let prometheus = super::sut::compile_prometheus(raw, &mut e);
    let blackouts = super::safety_windows::global_blackouts(raw, &mut e);
    let mut scenarios = BTreeMap::new();
    for (name, rs) in &raw.scenarios {
        let mut s = compile_scenario(name, rs, raw, default_timeout, &mut e);
        super::bounds::check_scenario(&s, rs.load.as_ref(), &format!("scenarios.{name}"), &mut e);
        s.pools = pools.clone();
        s.always_on
            .blackouts
            .splice(0..0, blackouts.iter().cloned());
        s.trace_sample = trace_sample;
        s.request_id_header = request_id_header.clone();
        super::template_check::check_renders(&s, &mut e);
        s.sut = super::sut::compile_sut(rs, raw, &prometheus, &format!("scenarios.{name}"), &mut e);
        scenarios.insert(name.clone(), Arc::new(s));
    }
    if let Some(max) = raw.safety.max_rps {
        let total: f64 = scenarios.values().filter_map(|s| s.peak_rate()).sum();
        if total > max {
            e.push(
                "safety.max_rps",
                format!(
                    "the scenarios together can ask for {total:.1} requests/s, above max_rps {max}"
                ),
            );
        }
    }
    if !e.is_empty() {
        return Err(e.list);
    }
    Ok(Plan {
        source: file.to_string(),
        listen,
        admin_token_file,
        external_url,
        grafana_url,
        state_dir: PathBuf::from(raw.state_dir.as_deref().unwrap_or("state")),
        results_dir: PathBuf::from(raw.results.dir.as_deref().unwrap_or("results")),
        results_k6,
        retention,
        object_store,
        allowed_hosts: raw.safety.allowed_hosts.clone(),
        max_rps: raw.safety.max_rps,
        max_concurrent_runs,
        shutdown_timeout,
        scenarios,
    })
}

fn compile_scenario(
    name: &str,
    rs: &RawScenario,
    raw: &RawConfig,
    default_timeout: Duration,
    e: &mut Errors,
) -> Scenario {
    let path = format!("scenarios.{name}");
    let p = |field: &str| format!("{path}.{field}");
    if !valid_name(name) {
        e.push(
            &path,
            format!("{name:?} is not a valid scenario name (letters, digits, _ and -)"),
        );
    } else if name.len() > MAX_NAME_LEN {
        e.push(
            &path,
            format!(
                "scenario name is {} characters, above the limit of {MAX_NAME_LEN}",
                name.len()
            ),
        );
    }
    let schedule = compile_schedule(&rs.schedule, &p("schedule"), e);
    let target = rs.target.as_ref();
    let base_url =
        target
            .and_then(|t| t.base_url.as_deref())
            .and_then(|b| match url::Url::parse(b) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {
                    Some(u)
                }
                _ => {
                    e.push(
                        p("target.base_url"),
                        format!("{b:?} is not a valid http(s) URL"),
                    );
                    None
                }
            });
    let timeout = match target.and_then(|t| t.timeout.as_ref()) {
        Some(t) => e
            .duration(&p("target.timeout"), t)
            .unwrap_or(default_timeout),
        None => default_timeout,
    };
    let max_body_bytes = match target.and_then(|t| t.max_body_bytes) {
        Some(n) if n < 1 => {
            e.push(
                p("target.max_body_bytes"),
                format!("{n} must be at least 1"),
            );
            DEFAULT_MAX_BODY
        }
        Some(n) if n > super::bounds::MAX_BODY_BYTES => {
            e.push(
                p("target.max_body_bytes"),
                format!(
                    "{n} is above the limit of {} (1 GiB)",
                    super::bounds::MAX_BODY_BYTES
                ),
            );
            DEFAULT_MAX_BODY
        }
        Some(n) => n as usize,
        None => DEFAULT_MAX_BODY,
    };
    let load = match &rs.load {
        Some(l) => compile_load(l, &p("load"), e),
        None => {
            e.push(&path, "missing load (an executor such as constant-vus)");
            compile_load(
                &crate::config::RawLoad::ConstantVus {
                    vus: Some(1),
                    duration: "1s".into(),
                    graceful_stop: None,
                },
                &p("load"),
                e,
            )
        }
    };

    let mut templates = Templates::new();
    let mut requests = Vec::new();
    let mut hosts = BTreeSet::new();
    if let Some(b) = &base_url {
        hosts.insert(b.host_str().unwrap_or_default().to_string());
    }
    let base_s = base_url.as_ref().map(|u| u.as_str().to_string());
    let mut cx = RequestCtx {
        base_url: base_s.as_deref(),
        base_url_invalid: base_url.is_none() && target.is_some_and(|t| t.base_url.is_some()),
        defaults: &raw.defaults,
        timeout,
        templates: &mut templates,
        requests: &mut requests,
        hosts: &mut hosts,
    };
    if rs.mix.is_empty() {
        e.push(p("mix"), "at least one entry is required");
    }
    let mut mix = Vec::new();
    let mut weights = Vec::new();
    for (i, entry) in rs.mix.iter().enumerate() {
        let ep = format!("{path}.mix[{i}]");
        let w = entry.weight.unwrap_or(1.0);
        if !(w.is_finite() && w >= 0.0) {
            e.push(format!("{ep}.weight"), format!("{w} must not be negative"));
        } else if w > super::bounds::MAX_WEIGHT {
            e.push(
                format!("{ep}.weight"),
                format!(
                    "{} is above the limit of {}",
                    super::bounds::number(w),
                    super::bounds::number(super::bounds::MAX_WEIGHT)
                ),
            );
        }
        weights.push(w.max(0.0));
        mix.push(compile_entry(entry, &ep, &mut cx, e));
    }
    let total: f64 = weights.iter().sum();
    if !rs.mix.is_empty() && total <= 0.0 {
        e.push(
            p("mix"),
            "all weights are zero; at least one entry needs a positive weight",
        );
    }
    let mut acc = 0.0;
    let cumulative_weights = weights
        .iter()
        .map(|w| {
            acc += w / total.max(f64::MIN_POSITIVE);
            acc
        })
        .collect();
    let (load, rate_of_requests) = super::rate_of::apply(
        load,
        rs.load.as_ref(),
        &mix,
        &weights,
        &p("load.rate_of"),
        e,
    );
    let requests_per_iteration = super::rate_of::requests_per_iteration(&mix, &weights);

    if !raw.safety.allowed_hosts.is_empty() {
        for h in &hosts {
            if !super::allow::host_allowed(h, &raw.safety.allowed_hosts) {
                e.push(
                    p("target"),
                    format!(
                        "host {h:?} is not in safety.allowed_hosts {:?}",
                        raw.safety.allowed_hosts
                    ),
                );
            }
        }
    }

    check_names(&requests, &path, e);
    check_stage_names(rs, &path, e);
    let thresholds = compile_thresholds(rs, &requests, &p("thresholds"), e);
    let budget = raw.safety.max_series_per_scenario.unwrap_or(20_000);
    let series = estimated_series(&requests, thresholds.len());
    if series > budget.max(1) as u64 {
        e.push(
            &path,
            format!(
                "could create up to {series} Prometheus series, above safety.max_series_per_scenario ({budget}); \
                 use fewer requests or checks, or raise the budget"
            ),
        );
    }
    let consecutive_breaches = match rs.incident.as_ref().and_then(|i| i.consecutive_breaches) {
        Some(n) => e.count(&p("incident.consecutive_breaches"), n, 1),
        None => 2,
    };
    let mut h = DefaultHasher::new();
    format!("{rs:?}{:?}{:?}", raw.defaults, raw.prometheus).hash(&mut h);
    Scenario {
        name: name.to_string(),
        schedule,
        base_url,
        insecure_skip_verify: target.is_some_and(|t| t.insecure_skip_verify),
        h2c: target.is_some_and(|t| t.h2c),
        retry_on_reused_connection: target
            .and_then(|t| t.retry_on_reused_connection)
            .unwrap_or(true),
        arrival_phase: None,
        max_body_bytes,
        load,
        mix,
        cumulative_weights,
        requests_per_iteration,
        rate_of_requests: rate_of_requests.is_some(),
        stage_names: stage_names(rs),
        requests,
        templates: Arc::new(templates),
        allowed_hosts: raw.safety.allowed_hosts.clone().into(),
        pools: Arc::from(Vec::new()),
        thresholds,
        consecutive_breaches,
        baseline_max_regression: compile_baseline(rs, &path, e),
        sut: Default::default(),
        always_on: super::safety_windows::compile(rs, raw, &path, e),
        fingerprint: h.finish(),
        // Set by `compile` from `defaults.trace`.
        trace_sample: 1.0,
        request_id_header: hyper::header::HeaderName::from_static("x-request-id"),
    }
}

/// `defaults.trace.request_id_header` (default `X-Request-Id`) as a header name.
fn compile_request_id_header(
    t: Option<&crate::config::RawTrace>,
    e: &mut Errors,
) -> hyper::header::HeaderName {
    let default = hyper::header::HeaderName::from_static("x-request-id");
    match t.and_then(|t| t.request_id_header.as_deref()) {
        None => default,
        Some(h) => hyper::header::HeaderName::from_bytes(h.as_bytes()).unwrap_or_else(|_| {
            e.push(
                "defaults.trace.request_id_header",
                format!("{h:?} is not a valid header name"),
            );
            default
        }),
    }
}

/// `defaults.trace` → the fraction of requests sent with a `traceparent` (0 when `none`).
fn compile_trace(t: Option<&crate::config::RawTrace>, e: &mut Errors) -> f64 {
    let Some(t) = t else { return 1.0 };
    let sample = match t.sample {
        None => 1.0,
        Some(s) if s.is_finite() && (0.0..=1.0).contains(&s) => s,
        Some(s) => {
            e.push(
                "defaults.trace.sample",
                format!("{s} is not a fraction in 0..=1"),
            );
            1.0
        }
    };
    match t.propagate.as_deref() {
        None | Some("w3c") => sample,
        Some("none") => 0.0,
        Some(other) => {
            e.push(
                "defaults.trace.propagate",
                format!("{other:?} is not supported (use w3c or none)"),
            );
            0.0
        }
    }
}

/// Upper bound of the failure-reason and retry-reason series of one request (the client's
/// `FailureReason::ALL` plus the retry reasons; a test in `client` keeps this an upper bound,
/// so the plan needs no import from the client on its right).
pub const MAX_FAILURE_REASON_SERIES: u64 = 16;

/// Number of default latency bucket boundaries (`telemetry::default_latency_buckets`, a
/// log-linear layout; a telemetry test keeps the two equal, so the plan imports nothing from
/// its right).
pub const DEFAULT_LATENCY_BUCKETS: u64 = 85;

/// Upper bound of the series one scenario can create: label values come only from config names
/// and fixed enums, so this is a product of known sizes. Per request: the duration histogram per
/// status class (6 × (default buckets + up to 6 threshold limits + +Inf, sum and count)),
/// requests per status code (bounded at ~60 codes seen in practice), every failure and retry
/// reason, 2 results per check; per threshold 5 gauges.
pub fn estimated_series(requests: &[super::RequestMeta], thresholds: usize) -> u64 {
    let per_class = DEFAULT_LATENCY_BUCKETS + 6 + 3;
    let reasons = MAX_FAILURE_REASON_SERIES;
    let per_request =
        |r: &super::RequestMeta| 6 * per_class + 60 + reasons + 2 * r.checks.len() as u64;
    requests.iter().map(per_request).sum::<u64>() + 5 * thresholds as u64 + 40
}

/// `results.format`: `soakd` must be listed (the API, reports and baselines read it); `k6` adds
/// k6's summary export.
fn results_k6(formats: Option<&[String]>, e: &mut Errors) -> bool {
    let Some(formats) = formats else {
        return false;
    };
    for (i, f) in formats.iter().enumerate() {
        if f != "soakd" && f != "k6" {
            e.push(
                format!("results.format[{i}]"),
                format!("unknown format {f:?} (use soakd, k6)"),
            );
        }
    }
    if !formats.iter().any(|f| f == "soakd") {
        e.push(
            "results.format",
            "must list soakd (the API, reports and baselines read it); add k6 beside it",
        );
    }
    formats.iter().any(|f| f == "k6")
}
