//! tests/replicas.rs — why this exists: the chart runs soakd as a StatefulSet whose replicas
//! shard the load (`--shard i/N`, DESIGN §9) with no coordinator, and every replica exports its
//! own series. That is only right if what users look at — the dashboards' sums, the alerts'
//! `max by`, the tickets — comes out as if one soakd ran the whole plan (issue 16). This test
//! proves it with the real programs:
//!
//!   `helm template` (helm/soakd, 3 replicas) ─▶ three `soakd run --shard I/3` (args, env and
//!   config volume as the kubelet would give them; own state dir and port each) ─▶ one
//!   `soakd target` ◀── Prometheus 2.42 (one scrape target per pod as the Prometheus Operator
//!   derives it from the rendered ServiceMonitor, 1 s; the rules of the rendered PrometheusRule)
//!   ─▶ Alertmanager 0.25 (the shipped config) ─▶ a webhook receiver in this test.
//!
//! It asserts, through Prometheus' own query API:
//!  1. the scenario dashboard's achieved-RPS query sums the replicas to the plan's 60/s (±3 %);
//!  2. a slowed target (300 ms) gives exactly one firing SoakdIncident notification for the
//!     breached (scenario, threshold), after the second breach, whose annotations carry the run
//!     id, the unit (" ms") and an absolute report link; the volume threshold judged per share
//!     (`http_reqs: rate>=45`, 15/s per replica) never alerts;
//!  3. killing one replica by PID and starting it again on its state dir does not resolve it;
//!  4. pausing the scenario on every replica (admin API) makes SoakdScenarioStale's exact
//!     expression hold once the last run is 2×interval + 300 s old, for the rule's whole `for`,
//!     evaluated at that future time (`/api/v1/query_range`) — while it never held during runs.
//!
//! Harness (tests/common/e2e/): plain children on free 127.0.0.1 ports, killed by PID at the end
//! (also on failure), every wait bounded, failures print child logs and webhook notifications.

use std::time::Duration;

use serde_json::Value;

#[path = "replicas/chart.rs"]
mod chart;
#[path = "common/mod.rs"]
mod common;
#[path = "common/e2e/mod.rs"]
mod e2e;
#[path = "replicas/phases.rs"]
mod phases;
#[path = "dashboards/promql.rs"]
#[allow(dead_code)]
mod promql;
#[path = "replicas/stale.rs"]
mod stale;
mod tools;

use chart::{NAMESPACE, Pod, Rendered};
use e2e::prom::{Prom, loopback, start_alertmanager, start_prometheus};
use e2e::{Harness as _, Stack, http, http_auth, root, soakd_bin, tool};

const SCENARIO: &str = "replicas_e2e";
/// Breaches once the target is slowed to 300 ms.
const SLOW: &str = "http_req_duration:p(95)<100";
/// Judged per share (15/s on each of 3 replicas doing 20/s): must never breach.
const VOLUME: &str = "http_reqs:rate>=45";
/// The whole test, startup included (issue 16: about 120 s).
const BUDGET: Duration = Duration::from_secs(120);

/// The stack and what the test knows of each replica.
struct Replicas {
    stack: Stack,
    target: String,
    pods: Vec<Pod>,
    /// `127.0.0.1:PORT` of each pod (its pod IP:9464), kept across a restart.
    addrs: Vec<String>,
    prom: Prom,
    am: String,
    token: String,
    /// The plan's rate (iterations per second, all replicas together).
    plan_rate: f64,
    /// The scenario's run duration (seconds): the interval SoakdScenarioStale expects.
    run_s: f64,
}

e2e::harness_with_stack!(Replicas);

impl Replicas {
    fn start_pod(&mut self, i: usize) {
        let pod = self.pods[i].clone();
        let env: Vec<(&str, &str)> = pod
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        self.stack.spawn(&pod.name, &soakd_bin(), &pod.args, &env);
    }

    /// Pod `i`'s own /metrics text.
    fn metrics(&self, i: usize) -> Option<String> {
        match http("GET", &self.addrs[i], "/metrics", None).ok()? {
            (200, text) => Some(text),
            _ => None,
        }
    }

    /// Gauge `name` of our scenario and `threshold` on pod `i`.
    fn gauge(&self, i: usize, name: &str, threshold: &str) -> Option<f64> {
        let (s, t) = (
            format!("scenario=\"{SCENARIO}\""),
            format!("threshold=\"{threshold}\""),
        );
        common::sample_value(&self.metrics(i)?, name, &[&s, &t])
    }

    /// Every pod's value of gauge `name` for `threshold` (None while one does not answer).
    fn gauges(&self, name: &str, threshold: &str) -> Option<Vec<f64>> {
        (0..self.pods.len())
            .map(|i| self.gauge(i, name, threshold))
            .collect()
    }

    /// Waits (20 s at most) until gauge `name` of SLOW is `want` on every replica.
    fn wait_every(&mut self, what: &str, name: &str, want: f64) {
        let what = format!("{what} on every replica ({name} == {want})");
        self.wait(&what, Duration::from_secs(20), |r| {
            r.gauges(name, SLOW)?
                .iter()
                .all(|v| *v == want)
                .then_some(())
        });
    }

    /// `(labels, annotations)` of each SoakdIncident notification with `status` for `threshold`.
    fn incidents(&self, status: &str, threshold: &str) -> Vec<(Value, Value)> {
        self.stack
            .webhook
            .alerts("SoakdIncident", status)
            .into_iter()
            .filter(|(_, l, _)| l["threshold"] == threshold)
            .map(|(_, l, a)| (l, a))
            .collect()
    }

    fn post_admin(&self, i: usize, path: &str) -> Result<(u16, String), String> {
        http_auth("POST", &self.addrs[i], path, Some(""), Some(&self.token))
    }
}

/// Renders the chart and starts the target, the three pods, Alertmanager and Prometheus.
fn start() -> Replicas {
    let prometheus = tool(&["prometheus"]);
    let alertmanager = tool(&["prometheus-alertmanager", "alertmanager"]);
    let stack = Stack::new("replicas", BUDGET);
    let d = stack.path().to_path_buf();
    let target = loopback();
    let rendered: Rendered = chart::render(
        &root().join("tests/fixtures/replicas/values.yaml"),
        &[format!(
            "config.scenarios.{SCENARIO}.target.base_url=http://{target}"
        )],
    );
    let n = rendered.replicas();
    assert_eq!(n, 3, "the values ask for 3 replicas");

    // The config volume, shared by every pod, as the kubelet projects it.
    let config_mount = rendered.mount("config");
    let data_mount = rendered.mount("data");
    let config_dir = d.join("etc-soakd");
    rendered.project_config_volume(&config_dir);
    let config: Value = tools::yaml_documents(
        &std::fs::read_to_string(config_dir.join("soakd.yaml")).expect("rendered soakd.yaml"),
    )
    .remove(0);
    let load = &config["scenarios"][SCENARIO]["load"];
    let seconds = |k: &str| {
        soakd::plan::parse_duration(load[k].as_str().unwrap())
            .unwrap()
            .as_secs_f64()
    };
    let (plan_rate, run_s) = (
        load["rate"].as_f64().unwrap() / seconds("time_unit"),
        seconds("duration"),
    );
    let token = std::fs::read_to_string(config_dir.join("admin-token")).expect("admin-token");

    // Each pod: the container as rendered, its volumes mapped to the test's dirs, and the paths
    // of the config reached there through soakd's own SOAKD__… overrides.
    let mut pods = Vec::new();
    let mut addrs = Vec::new();
    for i in 0..n {
        let mut pod = rendered.pod(i);
        let data_dir = d.join(&pod.name).join("data");
        std::fs::create_dir_all(&data_dir).unwrap();
        pod = pod
            .mounted(&config_mount, &config_dir)
            .mounted(&data_mount, &data_dir);
        let host = |p: &Value| {
            let p = p.as_str().expect("a path in the config");
            let (mount, dir) = if p.starts_with(&data_mount) {
                (&data_mount, &data_dir)
            } else {
                (&config_mount, &config_dir)
            };
            let rest = p
                .strip_prefix(mount.as_str())
                .unwrap_or_else(|| panic!("{p} is on no volume"));
            format!("{}{rest}", dir.display())
        };
        let addr = loopback();
        pod.env.extend([
            ("SOAKD__SERVER__LISTEN".into(), addr.clone()),
            ("SOAKD__STATE_DIR".into(), host(&config["state_dir"])),
            (
                "SOAKD__RESULTS__DIR".into(),
                host(&config["results"]["dir"]),
            ),
            (
                "SOAKD__SERVER__ADMIN_TOKEN_FILE".into(),
                host(&config["server"]["admin_token_file"]),
            ),
        ]);
        assert_eq!(
            pod.env("SOAKD_SHARD"),
            Some(format!("{i}/{n}").as_str()),
            "{pod:?}"
        );
        assert!(
            pod.args
                .windows(2)
                .any(|w| w == ["--shard", &format!("{i}/{n}")]),
            "{pod:?}"
        );
        pods.push(pod);
        addrs.push(addr);
    }

    let mut r = Replicas {
        stack,
        target: target.clone(),
        pods,
        addrs,
        prom: Prom(loopback()),
        am: loopback(),
        token: token.trim().to_owned(),
        plan_rate,
        run_s,
    };
    // Alertmanager and Prometheus first: their ports are only reserved by number until they
    // bind, and the load's outgoing connections take ephemeral ports from the same range.
    let am = r.am.clone();
    start_alertmanager(&mut r.stack, &alertmanager, &am);

    let rules = d.join("soakd-rules.yaml");
    std::fs::write(&rules, rendered.rules_file()).unwrap();
    let targets: Vec<(String, String)> = r
        .addrs
        .iter()
        .cloned()
        .zip(r.pods.iter().map(|p| p.name.clone()))
        .collect();
    let prom_cfg = format!(
        "global: {{ scrape_interval: 1s, evaluation_interval: 1s }}\n\
         rule_files: [{rules:?}]\n\
         alerting: {{ alertmanagers: [ {{ static_configs: [ {{ targets: [{am:?}] }} ] }} ] }}\n\
         scrape_configs: {}\n",
        rendered.scrape_config(&targets),
        rules = rules.display().to_string(),
    );
    // A 10 min lookback lets an evaluation in the future (SoakdScenarioStale, phase 4) see the
    // gauges of a paused scenario, which stay exported unchanged (the test checks that), as a
    // real Prometheus would through the scrapes still to come.
    let prom = r.prom.0.clone();
    start_prometheus(
        &mut r.stack,
        &prometheus,
        &prom,
        &prom_cfg,
        &["--query.lookback-delta=10m".into()],
    );
    r.stack.spawn(
        "target",
        &soakd_bin(),
        &["target".into(), "--listen".into(), target],
        &[],
    );
    r.wait("the target to answer /ok", Duration::from_secs(20), |r| {
        (http("GET", &r.target, "/ok", None).ok()?.0 == 200).then_some(())
    });
    for i in 0..r.pods.len() {
        r.start_pod(i);
    }
    r.stack.note(&format!(
        "{n} pods of namespace {NAMESPACE}, plan rate {plan_rate}/s"
    ));
    r
}

#[test]
fn three_replicas_add_up_to_one_plan_and_one_ticket() {
    let mut r = start();
    let running_since = phases::ready(&mut r);
    phases::dashboard_rate_is_the_plans(&mut r, running_since);
    let fired = phases::slow_target_opens_one_incident(&mut r);
    phases::restart_keeps_the_incident(&mut r, 1);
    stale::pause_makes_the_scenario_stale(&mut r, running_since);
    phases::exactly_one_ticket(&r, &fired);
    r.stack.note("done");
    if r.t() > BUDGET.as_secs_f64() {
        r.fail("over the time budget");
    }
}
