//! The phases of tests/replicas.rs, in the order the test runs them; each says what it proves.

use crate::e2e::{Harness as _, get_json, http, root, target_control, unix_now};
use crate::{Replicas, SCENARIO, SLOW, VOLUME};
use serde_json::Value;
use std::time::{Duration, Instant};

/// Grafana's `$__rate_interval` for the test: 20 s, five whole 4 s runs of every replica.
const RATE_WINDOW_S: f64 = 20.0;
const REPORT_BASE: &str = "http://soakd.example.test";

/// Everything up, each replica's first run passed, Prometheus scraping all three pods with the
/// rules loaded and the Alertmanager known. Returns the unix time since which all three run.
pub fn ready(r: &mut Replicas) -> f64 {
    for i in 0..r.pods.len() {
        let what = format!("{} /readyz", r.pods[i].name);
        r.wait(&what, Duration::from_secs(30), |r| {
            (http("GET", &r.addrs[i], "/readyz", None).ok()?.0 == 200).then_some(())
        });
    }
    r.wait("alertmanager /-/ready", Duration::from_secs(30), |r| {
        (http("GET", &r.am, "/-/ready", None).ok()?.0 == 200).then_some(())
    });
    r.wait("prometheus /-/ready", Duration::from_secs(30), |r| {
        (http("GET", &r.prom.0, "/-/ready", None).ok()?.0 == 200).then_some(())
    });
    let q = format!("count(max_over_time(soakd_run_active{{scenario=\"{SCENARIO}\"}}[3s]) == 1)");
    r.wait(
        "Prometheus to see all three pods running",
        Duration::from_secs(20),
        |r| (r.prom.scalar(&q)? == r.pods.len() as f64).then_some(()),
    );
    let running_since = unix_now();
    r.wait_every("a passing run", "soakd_threshold_breached", 0.0);
    // Each replica judges its share: volume limits divided by 3, latency limits as written.
    let limits = (
        r.gauges("soakd_threshold_limit", VOLUME),
        r.gauges("soakd_threshold_limit", SLOW),
    );
    if limits != (Some(vec![15.0; 3]), Some(vec![100.0; 3])) {
        r.fail(&format!(
            "per-replica limits of {VOLUME} and {SLOW}: {limits:?} (want 15 and 100 on each)"
        ));
    }
    r.wait(
        "Prometheus to load SoakdIncident from the PrometheusRule",
        Duration::from_secs(20),
        |r| r.prom.rule("SoakdIncident").ok().map(|_| ()),
    );
    r.wait(
        "Prometheus to discover the Alertmanager",
        Duration::from_secs(30),
        |r| {
            let v = get_json(&r.prom.0, "/api/v1/alertmanagers").ok()?;
            (!v["data"]["activeAlertmanagers"].as_array()?.is_empty()).then_some(())
        },
    );
    r.stack
        .note("ready: three pods running and scraped, rules loaded");
    running_since
}

/// Phase 1: the scenario dashboard's "Target vs achieved RPS" panel (the overview dashboard has
/// no request-rate panel) shows the plan's rate, summed over the replicas.
pub fn dashboard_rate_is_the_plans(r: &mut Replicas, running_since: f64) {
    let path = root().join("grafana/soakd-scenario.json");
    let d: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let panel = d["panels"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["title"] == "Target vs achieved RPS")
        .unwrap_or_else(|| {
            r.fail("grafana/soakd-scenario.json: no panel \"Target vs achieved RPS\"")
        });
    let expr = |metric: &str| -> String {
        let e = panel["targets"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| t["expr"].as_str())
            .find(|e| e.contains(metric))
            .unwrap_or_else(|| r.fail(&format!("the RPS panel has no query of {metric}")));
        // The dashboard's own variables as a user leaves them (All), with this test's window.
        crate::promql::substitute(
            &e.replace("$__rate_interval", &format!("{RATE_WINDOW_S}s")),
            SCENARIO,
        )
    };
    let (achieved, target) = (
        expr("soakd_http_requests_total"),
        expr("soakd_target_rate_per_second"),
    );
    let plan = r.plan_rate;
    let within = move |v: f64| (v - plan).abs() <= plan * 0.03;
    let planned = r.wait(
        "the dashboard's target rate",
        Duration::from_secs(10),
        |r| r.prom.scalar(&target).filter(|v| within(*v)),
    );
    // A window that starts after all three replicas were running.
    let full_window = running_since + RATE_WINDOW_S + 1.0;
    r.wait(
        "a rate window of full load",
        Duration::from_secs(40),
        |_| (unix_now() >= full_window).then_some(()),
    );
    let rate = r
        .prom
        .scalar(&achieved)
        .unwrap_or_else(|| r.fail(&format!("no data for {achieved}")));
    if !within(rate) {
        r.fail(&format!(
            "{achieved} = {rate:.2}/s, plan {}/s (±3 %)",
            r.plan_rate
        ));
    }
    r.stack.note(&format!(
        "dashboard: target {planned}/s, achieved {rate:.2}/s ({achieved})"
    ));
}

/// What the webhook got for the incident.
pub struct Fired {
    pub labels: Value,
    pub annotations: Value,
}

/// Phase 2: slowing the target breaches SLOW on every replica; the first firing notification
/// comes after some replica's second breach, with the annotations a ticket needs.
pub fn slow_target_opens_one_incident(r: &mut Replicas) -> Fired {
    if let Err(e) = target_control(&r.target, r#"{"latency_ms": 300}"#) {
        r.fail(&e);
    }
    r.stack.note("target slowed to 300 ms");
    let second_breach = r.wait(
        "a replica's second breached run",
        Duration::from_secs(20),
        |r| {
            if !r.incidents("firing", SLOW).is_empty() {
                r.fail("SoakdIncident fired before any replica had two breached runs");
            }
            let counts = r.gauges("soakd_threshold_consecutive_breaches", SLOW)?;
            counts.iter().any(|c| *c >= 2.0).then(Instant::now)
        },
    );
    r.stack.note("a replica has two consecutive breaches");
    let (at, labels, annotations) =
        r.wait("a firing SoakdIncident", Duration::from_secs(30), |r| {
            r.stack
                .webhook
                .alerts("SoakdIncident", "firing")
                .into_iter()
                .next()
        });
    if at < second_breach {
        r.fail("SoakdIncident notified before the second breach");
    }
    let want = [
        ("alertname", "SoakdIncident"),
        ("severity", "ticket"),
        ("scenario", SCENARIO),
        ("threshold", SLOW),
        ("job", "soakd"),
        ("namespace", crate::NAMESPACE),
    ];
    let mut bad: Vec<String> = want
        .iter()
        .filter(|(k, v)| labels[k] != *v)
        .map(|(k, v)| format!("{k} != {v:?}"))
        .collect();
    // One alert for the scenario, not one per replica.
    bad.extend(
        ["pod", "instance"]
            .iter()
            .filter(|k| !labels[**k].is_null())
            .map(|k| format!("has {k}")),
    );
    if !bad.is_empty() {
        r.fail(&format!(
            "firing SoakdIncident labels {labels}: {}",
            bad.join(", ")
        ));
    }
    let descr = annotations["description"].as_str().unwrap_or("");
    if !descr.contains(SCENARIO)
        || !descr.contains("consecutive runs")
        || !descr.contains(" ms")
        || descr.contains('?')
    {
        r.fail(&format!(
            "SoakdIncident description without scenario, count or unit: {descr:?}"
        ));
    }
    let run_id = annotations["run_id"].as_str().unwrap_or("");
    let report = annotations["report_url"].as_str().unwrap_or("");
    if run_id.is_empty()
        || run_id == "unknown"
        || report != format!("{REPORT_BASE}/api/v1/runs/{run_id}/report.html")
    {
        r.fail(&format!(
            "SoakdIncident run id / absolute report link: {annotations}"
        ));
    }
    // The run is a real, breached run of one of the replicas.
    let owners: Vec<Value> = (0..r.pods.len())
        .filter_map(|i| get_json(&r.addrs[i], &format!("/api/v1/runs/{run_id}")).ok())
        .collect();
    let breached = |s: &Value| {
        s["thresholds"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|t| t["threshold"] == SLOW && t["breached"] == true)
    };
    if owners.len() != 1 || !breached(&owners[0]) {
        r.fail(&format!(
            "run {run_id} of the ticket: {} replicas know it: {owners:?}",
            owners.len()
        ));
    }
    r.stack.note(&format!("SoakdIncident firing: {descr}"));
    Fired {
        labels,
        annotations,
    }
}

/// Phase 3: pod `i` killed by PID and started again on its state dir: the incident stays open on
/// it (durable state) and in Alertmanager (no `resolved`), while it is gone and after.
pub fn restart_keeps_the_incident(r: &mut Replicas, i: usize) {
    let name = r.pods[i].name.clone();
    r.wait_every("the incident open", "soakd_incident_open", 1.0);
    let before = r
        .gauge(i, "soakd_threshold_consecutive_breaches", SLOW)
        .unwrap_or(0.0);
    let firing_in_prometheus = |r: &Replicas| -> Result<(), String> {
        if !r.incidents("resolved", SLOW).is_empty() {
            return Err("SoakdIncident resolved".into());
        }
        match r.prom.alert_states("SoakdIncident") {
            Ok(s) if s.iter().any(|s| s == "firing") => Ok(()),
            other => Err(format!("Prometheus holds SoakdIncident as {other:?}")),
        }
    };
    r.stack.kill(&name);
    let down = format!("up{{pod=\"{name}\"}} == 0");
    r.wait(
        "Prometheus to see the pod down",
        Duration::from_secs(10),
        |r| (!r.prom.query(&down).ok()?.is_empty()).then_some(()),
    );
    r.hold(
        &format!("{name} down"),
        Duration::from_secs(3),
        firing_in_prometheus,
    );
    r.start_pod(i);
    let restored = r.wait(
        "the restarted pod's /metrics",
        Duration::from_secs(20),
        |r| {
            Some((
                r.gauge(i, "soakd_incident_open", SLOW)?,
                r.gauge(i, "soakd_threshold_consecutive_breaches", SLOW)?,
            ))
        },
    );
    if restored.0 != 1.0 || restored.1 < before {
        r.fail(&format!(
            "{name} restarted with incident_open, consecutive = {restored:?} (had 1, {before})"
        ));
    }
    let back = format!("soakd_incident_open{{pod=\"{name}\",threshold=\"{SLOW}\"}} == 1");
    r.wait(
        "Prometheus to scrape the restarted pod",
        Duration::from_secs(15),
        |r| (!r.prom.query(&back).ok()?.is_empty()).then_some(()),
    );
    r.stack.note(&format!(
        "{name} back with its incident open ({} consecutive)",
        restored.1
    ));
    r.hold(
        &format!("{name} back"),
        Duration::from_secs(8),
        firing_in_prometheus,
    );
}

/// Over the whole test: one firing notification for SLOW, none resolved, and nothing at all for
/// the volume threshold (neither ticket nor warning, in Alertmanager or Prometheus).
pub fn exactly_one_ticket(r: &Replicas, fired: &Fired) {
    let firing = r.incidents("firing", SLOW);
    if firing.len() != 1 || !r.incidents("resolved", SLOW).is_empty() {
        r.fail(&format!(
            "want exactly one firing and no resolved SoakdIncident for {SLOW}, got {firing:?}"
        ));
    }
    if firing[0].0 != fired.labels || firing[0].1["run_id"] != fired.annotations["run_id"] {
        r.fail("the firing notification changed");
    }
    let volume: Vec<_> = r
        .stack
        .webhook
        .notifications()
        .into_iter()
        .filter(|n| n.body.to_string().contains(VOLUME))
        .collect();
    let start = unix_now() - r.t();
    let q = format!("ALERTS{{threshold=\"{VOLUME}\"}}");
    let history = r
        .prom
        .range(&q, start, unix_now(), 1.0)
        .unwrap_or_else(|e| r.fail(&e));
    if !volume.is_empty() || !history.is_empty() {
        r.fail(&format!("{VOLUME} alerted: {volume:?} {history:?}"));
    }
}
