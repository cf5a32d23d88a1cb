//! tests/ops.rs — why this exists: the operations artefacts (alert rules, Alertmanager example,
//! Grafana dashboards, Helm chart) are checked with the real external tools, not by eye:
//! `promtool check/test rules`, `amtool check-config`, `helm lint --strict`, `helm template`,
//! `kubernetes-validate --strict` (Kubernetes 1.30). Dashboards may only query metric names from
//! DESIGN §5, and the chart's copies of the rules and dashboards must equal the plain files.
//!
//! A missing tool is installed once with `scripts/install-test-tools.sh`; if it is still missing
//! the test fails loudly (never a silent skip). Every child process is killed after 60 s.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

const CHILD_TIMEOUT: Duration = Duration::from_secs(60);
const INSTALL_TIMEOUT: Duration = Duration::from_secs(900);

// The one list of soakd's families (DESIGN §5 and the contract extensions).
#[path = "common/metrics.rs"]
mod metrics;

/// Metric names the rules may use: DESIGN §5 (the contract), histogram series expanded, and the
/// contract extensions alerts are built on.
fn design_metrics() -> Vec<String> {
    let extensions = [
        // docs/contract-extensions.md (issue 17)
        "soakd_circuit_open",
        // additions (docs/contract-extensions.md)
        "soakd_run_last_info",
        "soakd_schedule_interval_seconds",
        "soakd_state_write_errors_total",
        "soakd_results_upload_failures_total",
        "soakd_results_upload_pending",
        "soakd_threshold_window_breached",
        "soakd_threshold_window_observed",
    ];
    metrics::design()
        .flat_map(|f| f.series_names())
        .chain(
            extensions
                .iter()
                .flat_map(|n| metrics::family(n).series_names()),
        )
        .collect()
}

/// Metric names of docs/contract-extensions.md the dashboards may query besides DESIGN §5: the
/// native histograms (bare family names), journeys, WebSocket, drills and soakd's process metrics.
const DASHBOARD_EXTRA_METRICS: &[&str] = &[
    "soakd_http_request_duration_seconds",
    "soakd_generator_lag_seconds",
    "soakd_journeys_total",
    "soakd_ws_sessions_total",
    "soakd_ws_messages_total",
    "soakd_ws_reconnects_total",
    "soakd_ws_connecting_seconds",
    "soakd_ws_connecting_seconds_bucket",
    "soakd_ws_message_duration_seconds",
    "soakd_ws_message_duration_seconds_bucket",
    "soakd_drill_recovery_seconds",
    "soakd_drill_passed",
    "process_cpu_seconds_total",
    "process_resident_memory_bytes",
    "process_open_fds",
    "process_max_fds",
];

/// PromQL words and label names of the dashboards beyond [`PROMQL_WORDS`].
const DASHBOARD_EXTRA_WORDS: &[&str] = &[
    "histogram_count",
    "journey",
    "session",
    "direction",
    "drill",
    "namespace",
];

/// The shipped dashboards (grafana/NAME.json, copied into the chart).
const DASHBOARDS: [&str; 3] = ["soakd-overview", "soakd-scenario", "soakd-latency"];

/// The scenario variable of every dashboard: scenarios of the selected jobs and namespaces.
const SCENARIO_VARIABLE: &str =
    "label_values(soakd_runs_total{job=~\"$job\", namespace=~\"$namespace\"}, scenario)";

/// Other words a PromQL expression of ours may contain: functions, keywords, label names of §5,
/// Prometheus' own `up` and the scrape labels.
const PROMQL_WORDS: &[&str] = &[
    // functions and aggregations
    "histogram_quantile",
    "sum",
    "min",
    "max",
    "avg",
    "count",
    "rate",
    "irate",
    "increase",
    "changes",
    "vector",
    "time",
    "absent",
    "round",
    "clamp_min",
    "clamp_max",
    "topk",
    "bottomk",
    // keywords
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "and",
    "or",
    "unless",
    "offset",
    "bool",
    // label names (DESIGN §5) and scrape labels
    "scenario",
    "request",
    "group",
    "method",
    "status",
    "status_class",
    "reason",
    "check",
    "result",
    "threshold",
    "le",
    "version",
    "revision",
    "job",
    "instance",
    // Prometheus' own series
    "up",
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

// ------------------------------------------------------------------------------- tools

fn search_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.push("/usr/local/bin".into());
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(Path::new(&home).join(".local/bin"));
    }
    dirs.push("/usr/bin".into());
    dirs
}

fn find_tool(name: &str) -> Option<PathBuf> {
    search_dirs()
        .into_iter()
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

static INSTALL: Once = Once::new();
static INSTALL_LOG: Mutex<String> = Mutex::new(String::new());

/// Path of an external tool; runs the installer once if it is missing, then fails loudly.
fn tool(name: &str) -> PathBuf {
    if let Some(p) = find_tool(name) {
        return p;
    }
    INSTALL.call_once(|| {
        let script = root().join("scripts/install-test-tools.sh");
        eprintln!("ops: {name} missing, running {}", script.display());
        let mut cmd = Command::new("bash");
        cmd.arg(&script);
        let out = run_with_timeout(&mut cmd, INSTALL_TIMEOUT);
        let log = format!(
            "exit {:?}\nstdout:\n{}\nstderr:\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        eprintln!("ops: installer finished: {log}");
        *INSTALL_LOG.lock().unwrap() = log;
    });
    find_tool(name).unwrap_or_else(|| {
        panic!(
            "required tool `{name}` not found in PATH, /usr/local/bin or ~/.local/bin even after \
             scripts/install-test-tools.sh; installer output:\n{}",
            INSTALL_LOG.lock().unwrap()
        )
    })
}

// ------------------------------------------------------------------------------- processes

/// Runs a command, capturing output; kills it (by its own PID) if it exceeds `timeout`.
fn run_with_timeout(cmd: &mut Command, timeout: Duration) -> Output {
    let desc = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {desc}: {e}"));
    let mut so = child.stdout.take().unwrap();
    let mut se = child.stderr.take().unwrap();
    let t_out = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = so.read_to_end(&mut b);
        b
    });
    let t_err = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = se.read_to_end(&mut b);
        b
    });
    let start = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait") {
            break st;
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{desc} did not finish within {timeout:?}; killed");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: t_out.join().unwrap(),
        stderr: t_err.join().unwrap(),
    }
}

/// Runs a tool and asserts success; returns stdout.
fn run_ok(tool_name: &str, args: &[&str], cwd: &Path) -> String {
    let bin = tool(tool_name);
    let mut cmd = Command::new(&bin);
    cmd.args(args).current_dir(cwd);
    let out = run_with_timeout(&mut cmd, CHILD_TIMEOUT);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "`{tool_name} {}` (in {}) failed with {:?}\nstdout:\n{stdout}\nstderr:\n{}",
        args.join(" "),
        cwd.display(),
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
}

// ------------------------------------------------------------------------------- helm helpers

const SHARDED: &[&str] = &[
    "--set",
    "replicas=3",
    "--set",
    "serviceMonitor.enabled=true",
    "--set",
    "prometheusRule.enabled=true",
];

fn helm_template(extra: &[&str]) -> String {
    let mut args = vec!["template", "soakd", "helm/soakd", "--namespace", "staging"];
    args.extend_from_slice(extra);
    run_ok("helm", &args, &root())
}

/// The rendered documents (split on `---` separators), non-empty ones only.
fn documents(rendered: &str) -> Vec<String> {
    let mut docs = vec![String::new()];
    for line in rendered.lines() {
        if line.trim_end() == "---" {
            docs.push(String::new());
        } else {
            let d = docs.last_mut().unwrap();
            d.push_str(line);
            d.push('\n');
        }
    }
    docs.into_iter()
        .filter(|d| d.lines().any(|l| l.starts_with("kind:")))
        .collect()
}

fn doc_of_kind<'a>(docs: &'a [String], kind: &str) -> Vec<&'a String> {
    let line = format!("kind: {kind}");
    docs.iter()
        .filter(|d| d.lines().any(|l| l.trim_end() == line))
        .collect()
}

// ------------------------------------------------------------------------------- rules

#[test]
fn promtool_check_rules() {
    let out = run_ok(
        "promtool",
        &["check", "rules", "config/prometheus/soakd-rules.yaml"],
        &root(),
    );
    assert!(out.contains("SUCCESS"), "{out}");
}

#[test]
fn promtool_test_rules() {
    let out = run_ok(
        "promtool",
        &["test", "rules", "soakd-rules.test.yaml"],
        &root().join("config/prometheus"),
    );
    assert!(out.contains("SUCCESS"), "{out}");
}

#[test]
fn rules_define_every_alert_with_tests() {
    let rules = read("config/prometheus/soakd-rules.yaml");
    let tests = read("config/prometheus/soakd-rules.test.yaml");
    for alert in [
        "SoakdIncident",
        "SoakdThresholdBreached",
        "SoakdThresholdWindowBreached",
        "SoakdScenarioOverdue",
        "SoakdGeneratorSaturated",
        "SoakdConfigReloadFailed",
        "SoakdStateWriteFailing",
        "SoakdResultsUploadFailing",
        "SoakdDown",
        "SoakdCircuitOpen",
        "SoakdScenarioStale",
    ] {
        assert!(
            rules.contains(&format!("- alert: {alert}\n")),
            "rule {alert} missing"
        );
        assert!(
            tests.contains(&format!("alertname: {alert}\n")),
            "no promtool test for {alert}"
        );
    }
    // Aggregated with max over replicas, keeping the labels that say where (issue 16).
    assert!(rules.contains(
        "max by (cluster, namespace, job, scenario, threshold) (\n              soakd_incident_open == 1"
    ));
    assert!(rules.contains("severity: ticket"));
}

/// Every `soakd_*` word in the rules file (expressions and annotation queries) is a §5 metric,
/// and every recorded `level:metric:op` name used is defined by a `record:` in the file.
#[test]
fn rules_use_only_design_metric_names() {
    let rules = read("config/prometheus/soakd-rules.yaml");
    let names = design_metrics();
    let allowed: BTreeSet<&str> = names.iter().map(String::as_str).collect();
    let recorded: BTreeSet<String> = rules
        .lines()
        .filter_map(|l| {
            l.trim()
                .strip_prefix("- record: ")
                .map(|s| s.trim().to_string())
        })
        .collect();
    assert!(recorded.len() >= 5, "recording rules missing: {recorded:?}");
    let words = rules.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'));
    for word in words.map(|w| w.trim_matches(':').to_string()) {
        if word.contains(':') && word.contains("soakd_") {
            assert!(
                recorded.contains(&word),
                "recorded series {word} used but not defined"
            );
        } else if word.starts_with("soakd_") {
            assert!(
                allowed.contains(word.as_str()),
                "rules use {word}, not a DESIGN §5 metric"
            );
        }
    }
}

// ------------------------------------------------------------------------------- alertmanager

#[test]
fn amtool_check_config_and_routes() {
    let out = run_ok(
        "amtool",
        &["check-config", "config/alertmanager/alertmanager.yml"],
        &root(),
    );
    assert!(out.contains("SUCCESS"), "{out}");
    let cfg = "--config.file=config/alertmanager/alertmanager.yml";
    let ticket = run_ok(
        "amtool",
        &[
            "config",
            "routes",
            "test",
            cfg,
            "severity=ticket",
            "alertname=SoakdIncident",
            "scenario=s",
            "threshold=t",
        ],
        &root(),
    );
    assert_eq!(ticket.trim(), "incident-webhook");
    let warn = run_ok(
        "amtool",
        &[
            "config",
            "routes",
            "test",
            cfg,
            "severity=warning",
            "alertname=SoakdThresholdBreached",
        ],
        &root(),
    );
    assert_eq!(warn.trim(), "default");
    let am = read("config/alertmanager/alertmanager.yml");
    let critical = run_ok(
        "amtool",
        &[
            "config",
            "routes",
            "test",
            cfg,
            "severity=critical",
            "alertname=SoakdDown",
        ],
        &root(),
    );
    assert_eq!(critical.trim(), "pager");
    // Every receiver delivers somewhere: an empty receiver silently drops notifications.
    let receivers = am
        .split("\nreceivers:\n")
        .nth(1)
        .expect("receivers section");
    let receivers = receivers
        .split("\ninhibit_rules:")
        .next()
        .unwrap_or(receivers);
    for block in receivers.split("\n  - name: ").skip(1) {
        assert!(
            block.contains("_configs:"),
            "receiver without any integration: {block}"
        );
    }
    assert!(am.contains("url: http://127.0.0.1:9099/incident"));
    assert!(am.contains("send_resolved: true"));
    assert!(am.contains("group_by: [alertname, scenario, threshold]"));
}

// ------------------------------------------------------------------------------- helm

#[test]
fn helm_lint_strict() {
    run_ok("helm", &["lint", "--strict", "helm/soakd"], &root());
    let mut args = vec!["lint", "--strict", "helm/soakd"];
    args.extend_from_slice(SHARDED);
    run_ok("helm", &args, &root());
}

#[test]
fn helm_template_defaults() {
    let out = helm_template(&[]);
    let docs = documents(&out);
    let sts = doc_of_kind(&docs, "StatefulSet");
    assert_eq!(sts.len(), 1, "one StatefulSet expected:\n{out}");
    let sts = sts[0];
    for needle in [
        "replicas: 1\n",
        r#"args: ["run", "--config", "/etc/soakd/soakd.yaml", "--shard", "$(SOAKD_SHARD_INDEX)/1"]"#,
        "fieldPath: metadata.labels['apps.kubernetes.io/pod-index']",
        "runAsNonRoot: true",
        "readOnlyRootFilesystem: true",
        "allowPrivilegeEscalation: false",
        "- ALL",
        "path: /healthz",
        "path: /readyz",
        "volumeClaimTemplates:",
        "mountPath: /var/lib/soakd",
        "containerPort: 9464",
    ] {
        assert!(sts.contains(needle), "StatefulSet lacks {needle:?}:\n{sts}");
    }
    let svc = doc_of_kind(&docs, "Service");
    assert!(
        svc.iter()
            .any(|d| d.contains("name: metrics") && d.contains("port: 9464")),
        "metrics Service"
    );
    assert!(
        doc_of_kind(&docs, "ConfigMap")
            .iter()
            .any(|d| d.contains("soakd.yaml: |")),
        "scenario ConfigMap"
    );
    assert_dashboards_configmap(&docs);
    assert!(doc_of_kind(&docs, "PodDisruptionBudget").len() == 1, "PDB");
    // No CRDs are served to `helm template`: auto-detected CRD objects stay off by default.
    assert!(
        doc_of_kind(&docs, "ServiceMonitor").is_empty(),
        "ServiceMonitor rendered by default"
    );
    assert!(
        doc_of_kind(&docs, "PrometheusRule").is_empty(),
        "PrometheusRule rendered by default"
    );
}

#[test]
fn helm_template_sharded_with_monitoring() {
    let out = helm_template(SHARDED);
    let docs = documents(&out);
    let sts = doc_of_kind(&docs, "StatefulSet");
    assert_eq!(sts.len(), 1);
    assert!(sts[0].contains("replicas: 3\n"));
    assert!(
        sts[0].contains(r#""--shard", "$(SOAKD_SHARD_INDEX)/3""#),
        "{}",
        sts[0]
    );
    let sm = doc_of_kind(&docs, "ServiceMonitor");
    assert_eq!(sm.len(), 1, "ServiceMonitor missing:\n{out}");
    assert!(sm[0].contains("port: metrics") && sm[0].contains("path: /metrics"));
    let pr = doc_of_kind(&docs, "PrometheusRule");
    assert_eq!(pr.len(), 1, "PrometheusRule missing:\n{out}");
    assert!(pr[0].contains("alert: SoakdIncident"));
    assert_dashboards_configmap(&docs);

    // The rules inside the PrometheusRule are the shipped rules: they pass promtool check AND
    // the same promtool unit tests as config/prometheus/soakd-rules.yaml.
    let spec = pr[0].split_once("\nspec:\n").expect("spec").1;
    let groups: String = spec
        .lines()
        .map(|l| l.strip_prefix("  ").unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("soakd-rules.yaml"), groups + "\n").unwrap();
    std::fs::copy(
        root().join("config/prometheus/soakd-rules.test.yaml"),
        dir.path().join("soakd-rules.test.yaml"),
    )
    .unwrap();
    run_ok(
        "promtool",
        &["check", "rules", "soakd-rules.yaml"],
        dir.path(),
    );
    run_ok(
        "promtool",
        &["test", "rules", "soakd-rules.test.yaml"],
        dir.path(),
    );
}

#[test]
fn helm_template_options_render() {
    // hostname-derived ordinal, chart-created admin token, env from secrets, network policy.
    let out = helm_template(&[
        "--set",
        "replicas=2",
        "--set",
        "sharding.ordinalFrom=hostname",
        "--set",
        "adminToken.create=true",
        "--set",
        "adminToken.value=not-a-real-token",
        "--set",
        "envFromSecrets[0]=staging-api",
        "--set",
        "networkPolicy.enabled=true",
        "--set",
        "rollOnConfigChange=true",
    ]);
    let docs = documents(&out);
    let sts = doc_of_kind(&docs, "StatefulSet")[0];
    assert!(
        sts.contains("${HOSTNAME##*-}") && sts.contains("/2"),
        "{sts}"
    );
    assert!(sts.contains("name: staging-api"));
    assert!(sts.contains("path: admin-token"));
    assert!(sts.contains("checksum/config:"));
    assert_eq!(doc_of_kind(&docs, "Secret").len(), 1);
    assert_eq!(doc_of_kind(&docs, "NetworkPolicy").len(), 1);
    // existing ConfigMap replaces the inline one
    let out = helm_template(&["--set", "existingConfigMap=my-scenarios"]);
    let docs = documents(&out);
    assert!(
        doc_of_kind(&docs, "ConfigMap")
            .iter()
            .all(|d| !d.contains("soakd.yaml: |"))
    );
    assert!(doc_of_kind(&docs, "StatefulSet")[0].contains("name: my-scenarios"));
}

#[test]
fn rendered_core_manifests_validate_for_kubernetes_1_30() {
    let dir = tempfile::tempdir().unwrap();
    for (name, extra) in [("default", &[][..]), ("sharded", SHARDED)] {
        let out = helm_template(extra);
        // kubernetes-validate knows core kinds only; CRD objects are checked above by structure
        // and by promtool.
        let core: Vec<String> = documents(&out)
            .into_iter()
            .filter(|d| !d.contains("apiVersion: monitoring.coreos.com/"))
            .collect();
        let file = dir.path().join(format!("{name}.yaml"));
        std::fs::write(&file, core.join("---\n")).unwrap();
        let out = run_ok(
            "kubernetes-validate",
            &["--strict", "-k", "1.30.0", file.to_str().unwrap()],
            &root(),
        );
        assert!(out.contains("statefulset/"), "{out}");
        assert!(!out.contains("FAIL") && !out.contains("ERROR"), "{out}");
    }
}

fn assert_dashboards_configmap(docs: &[String]) {
    let cm: Vec<_> = doc_of_kind(docs, "ConfigMap")
        .into_iter()
        .filter(|d| d.contains("grafana_dashboard: \"1\""))
        .collect();
    assert_eq!(
        cm.len(),
        1,
        "dashboards ConfigMap with label grafana_dashboard: \"1\" missing"
    );
    assert!(cm[0].contains("soakd-overview.json:") && cm[0].contains("soakd-scenario.json:"));
    assert!(cm[0].contains("\"uid\": \"soakd-overview\""));
}

// ------------------------------------------------------------------------------- copies

#[test]
fn chart_copies_are_identical_to_plain_files() {
    assert_eq!(
        read("config/prometheus/soakd-rules.yaml"),
        read("helm/soakd/files/soakd-rules.yaml"),
        "helm/soakd/files/soakd-rules.yaml is the source: copy it to config/prometheus/soakd-rules.yaml"
    );
    let list = |rel: &str| -> BTreeSet<String> {
        std::fs::read_dir(root().join(rel))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.ends_with(".json"))
            .collect()
    };
    let plain = list("grafana");
    assert_eq!(
        plain,
        list("helm/soakd/files/dashboards"),
        "dashboard file sets differ"
    );
    assert!(plain.contains("soakd-overview.json") && plain.contains("soakd-scenario.json"));
    for name in plain {
        assert_eq!(
            read(&format!("grafana/{name}")),
            read(&format!("helm/soakd/files/dashboards/{name}")),
            "grafana/{name} is the source: copy it to helm/soakd/files/dashboards/{name}"
        );
    }
}

// ------------------------------------------------------------------------------- dashboards

fn load_dashboard(name: &str) -> serde_json::Value {
    serde_json::from_str(&read(&format!("grafana/{name}.json")))
        .unwrap_or_else(|e| panic!("grafana/{name}.json is not valid JSON: {e}"))
}

/// Every panel of a dashboard, the panels of rows included.
fn all_panels(d: &serde_json::Value) -> Vec<&serde_json::Value> {
    fn walk<'a>(ps: &'a serde_json::Value, out: &mut Vec<&'a serde_json::Value>) {
        for p in ps.as_array().into_iter().flatten() {
            out.push(p);
            walk(&p["panels"], out);
        }
    }
    let mut out = Vec::new();
    walk(&d["panels"], &mut out);
    out
}

/// All PromQL of a dashboard: panel targets (rows included) and annotations.
fn dashboard_exprs(d: &serde_json::Value) -> Vec<String> {
    let mut out: Vec<String> = dashboard_targets(d)
        .into_iter()
        .filter_map(|(_, t)| t["expr"].as_str().map(str::to_owned))
        .collect();
    for a in d["annotations"]["list"].as_array().into_iter().flatten() {
        if let Some(e) = a["expr"].as_str() {
            out.push(e.to_string());
        }
    }
    out
}

/// Identifier-like words of a PromQL text, after removing string literals, `$variables` and
/// range/subquery brackets.
fn identifiers(text: &str) -> Vec<String> {
    let mut cleaned = String::new();
    let mut chars = text.chars().peekable();
    let mut depth_sq = 0;
    while let Some(c) = chars.next() {
        match c {
            '"' | '\'' => {
                // skip a string literal
                let q = c;
                while let Some(n) = chars.next() {
                    if n == '\\' {
                        chars.next();
                    } else if n == q {
                        break;
                    }
                }
                cleaned.push(' ');
            }
            '$' => {
                while chars
                    .peek()
                    .is_some_and(|n| n.is_alphanumeric() || *n == '_')
                {
                    chars.next();
                }
                cleaned.push(' ');
            }
            '[' => depth_sq += 1,
            ']' => depth_sq -= 1,
            _ if depth_sq > 0 => {}
            _ => cleaned.push(c),
        }
    }
    let mut words = Vec::new();
    let mut cur = String::new();
    let flush = |cur: &mut String, words: &mut Vec<String>| {
        if !cur.is_empty() && !cur.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
            words.push(std::mem::take(cur));
        }
        cur.clear();
    };
    for c in cleaned.chars() {
        if c.is_ascii_alphanumeric()
            || c == '_'
            || c == ':'
            || (c == '.' && !cur.is_empty() && cur.starts_with(|c: char| c.is_ascii_digit()))
        {
            cur.push(c);
        } else {
            flush(&mut cur, &mut words);
        }
    }
    flush(&mut cur, &mut words);
    words
}

#[test]
fn dashboards_are_valid_with_stable_uids_and_variables() {
    for name in DASHBOARDS {
        let d = load_dashboard(name);
        assert_eq!(d["uid"], name, "{name}: stable uid");
        assert_eq!(d["schemaVersion"], 39, "{name}: schemaVersion");
        assert!(d["title"].as_str().is_some_and(|t| !t.is_empty()));
        let vars = d["templating"]["list"].as_array().expect("templating.list");
        let ds = vars
            .iter()
            .find(|v| v["name"] == "datasource")
            .expect("datasource variable");
        assert_eq!(ds["type"], "datasource");
        assert_eq!(ds["query"], "prometheus");
        let sc = vars
            .iter()
            .find(|v| v["name"] == "scenario")
            .expect("scenario variable");
        assert_eq!(sc["definition"], SCENARIO_VARIABLE, "{name}");
        assert_eq!(sc["query"]["query"], SCENARIO_VARIABLE, "{name}");
        // every panel and target uses the datasource variable, ids are unique
        let mut ids = BTreeSet::new();
        let mut n_targets = 0;
        for p in d["panels"].as_array().unwrap() {
            assert!(
                ids.insert(p["id"].as_i64().expect("panel id")),
                "{name}: duplicate panel id"
            );
            if p["type"] == "row" {
                continue;
            }
            assert_eq!(
                p["datasource"]["uid"], "${datasource}",
                "{name}: panel {}",
                p["title"]
            );
            for t in p["targets"].as_array().expect("targets") {
                assert_eq!(t["datasource"]["uid"], "${datasource}");
                n_targets += 1;
            }
        }
        assert!(n_targets >= 8, "{name}: too few queries");
    }
}

#[test]
fn dashboards_cover_the_issue_panels() {
    let titles = |name: &str| -> String {
        load_dashboard(name)["panels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["title"].as_str().unwrap_or("").to_lowercase())
            .collect::<Vec<_>>()
            .join("|")
    };
    let o = titles("soakd-overview");
    for t in [
        "last run result",
        "open incidents",
        "consecutive breaches",
        "runs over time",
        "next scheduled run",
        "journeys by result",
        "websocket sessions",
        "websocket reconnects",
        "drills (last run)",
        "sut checks (last run)",
        "regression verdicts (last run)",
    ] {
        assert!(o.contains(t), "overview lacks a {t:?} panel: {o}");
    }
    let s = titles("soakd-scenario");
    for t in [
        "p50 / p95 / p99",
        "target vs achieved rps",
        "errors by reason",
        "checks",
        "virtual users",
        "dropped iterations",
        "generator lag",
        "run results timeline",
        "journeys by result",
        "journey success ratio",
        "websocket sessions",
        "websocket messages",
        "websocket reconnects",
        "websocket connecting",
        "websocket message latency",
        "drill recovery",
        "drills (last run)",
        "sut checks",
        "regression verdicts",
    ] {
        assert!(s.contains(t), "scenario dashboard lacks a {t:?} panel: {s}");
    }
    let exprs = dashboard_exprs(&load_dashboard("soakd-scenario")).join("\n");
    let sel = r#"{job=~"$job", namespace=~"$namespace", scenario="$scenario"}"#;
    assert!(exprs.contains(&format!(
        "histogram_quantile(0.99, sum(rate(soakd_http_request_duration_seconds{sel}[$__rate_interval]))) \
         or histogram_quantile(0.99, sum by (le) (rate(soakd_http_request_duration_seconds_bucket{sel}[$__rate_interval])))"
    )));
    // The exact series soakd exports for journeys, WebSocket, drills, SUT checks, regressions.
    for e in [
        "soakd_journeys_total{",
        "soakd_ws_sessions_total{",
        "soakd_ws_messages_total{",
        "soakd_ws_reconnects_total{",
        "soakd_ws_connecting_seconds_bucket{",
        "soakd_ws_message_duration_seconds{",
        "soakd_drill_recovery_seconds{",
        "soakd_drill_passed{",
        r#"threshold=~"sut:.*""#,
        r#"threshold=~"regression:.*""#,
    ] {
        assert!(exprs.contains(e), "scenario dashboard: no query has {e}");
    }
    assert!(
        exprs.contains("soakd_threshold_limit"),
        "threshold limits drawn"
    );
}

#[test]
fn dashboards_use_only_design_metric_names() {
    let names = design_metrics();
    let allowed: BTreeSet<&str> = names
        .iter()
        .map(String::as_str)
        .chain(PROMQL_WORDS.iter().copied())
        .chain(DASHBOARD_EXTRA_METRICS.iter().copied())
        .chain(DASHBOARD_EXTRA_WORDS.iter().copied())
        .collect();
    for name in DASHBOARDS {
        let exprs = dashboard_exprs(&load_dashboard(name));
        assert!(!exprs.is_empty());
        for e in &exprs {
            for w in identifiers(e) {
                assert!(
                    allowed.contains(w.as_str()),
                    "{name}: `{w}` in `{e}` is not a DESIGN §5 / contract-extensions metric or known PromQL word"
                );
            }
        }
    }
}

/// Every dashboard expression (Grafana variables substituted) parses as PromQL: they are written
/// into a rules file as recording rules and checked with promtool.
#[test]
fn dashboard_promql_parses() {
    let mut rules = String::from("groups:\n  - name: dashboards\n    rules:\n");
    let mut n = 0;
    for name in DASHBOARDS {
        for e in dashboard_exprs(&load_dashboard(name)) {
            let e = e
                .replace("$__rate_interval", "1m")
                .replace("$__interval", "1m")
                .replace("$scenario", "demo");
            n += 1;
            let quoted = serde_json::to_string(&e).unwrap(); // a JSON string is a valid YAML scalar
            rules.push_str(&format!(
                "      - record: dashboard:expr:{n}\n        expr: {quoted}\n"
            ));
        }
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("dash.yaml"), &rules).unwrap();
    let out = run_ok("promtool", &["check", "rules", "dash.yaml"], dir.path());
    assert!(out.contains(&format!("SUCCESS: {n} rules found")), "{out}");
}

/// Every selector of every dashboard query (panels and annotations) is scoped by the `job` and
/// `namespace` variables, a threshold family's also by `threshold`; the variables exist with
/// All = `.*`, so series without a namespace label (Prometheus outside Kubernetes) still match.
#[test]
fn dashboards_scope_every_query_by_job_namespace_and_threshold() {
    let selector =
        regex::Regex::new(r"(?:^|[^A-Za-z0-9_:])((?:soakd|process)_[A-Za-z0-9_]+|up)(\{[^}]*\})?")
            .unwrap();
    for name in DASHBOARDS {
        let d = load_dashboard(name);
        let vars = d["templating"]["list"].as_array().expect("templating.list");
        for v in ["job", "namespace", "scenario", "threshold"] {
            let var = vars
                .iter()
                .find(|x| x["name"] == v)
                .unwrap_or_else(|| panic!("{name}: no {v} variable"));
            assert_eq!(var["type"], "query", "{name}: {v}");
            let query = var["query"]["query"].as_str().unwrap_or("");
            assert_eq!(var["definition"], query, "{name}: {v}");
            if v != "job" {
                assert!(query.contains(r#"job=~"$job""#), "{name}: {v}: {query}");
            }
            if v == "scenario" && name == "soakd-scenario" {
                continue; // one scenario at a time
            }
            assert_eq!(var["includeAll"], true, "{name}: {v}");
            assert_eq!(var["allValue"], ".*", "{name}: {v}");
        }
        let mut n = 0;
        for e in dashboard_exprs(&d) {
            for c in selector.captures_iter(&e) {
                n += 1;
                let metric = &c[1];
                let matchers = c.get(2).map_or("", |m| m.as_str());
                assert!(
                    matchers.contains(r#"job=~"$job""#)
                        && matchers.contains(r#"namespace=~"$namespace""#),
                    "{name}: {metric} is not scoped by $job and $namespace in `{e}`"
                );
                if metric.starts_with("soakd_threshold_") || metric == "soakd_incident_open" {
                    assert!(
                        matchers.contains(r#"threshold=~"$threshold""#),
                        "{name}: {metric} is not scoped by $threshold in `{e}`"
                    );
                }
            }
        }
        assert!(n >= 10, "{name}: {n} selectors");
    }
}

/// (panel title, target) of every panel target, rows included.
fn dashboard_targets(d: &serde_json::Value) -> Vec<(String, &serde_json::Value)> {
    let mut out = Vec::new();
    for p in all_panels(d) {
        for t in p["targets"].as_array().into_iter().flatten() {
            out.push((p["title"].as_str().unwrap_or("").to_owned(), t));
        }
    }
    out
}

/// Latency panels read the native histogram when Prometheus has it and the classic buckets
/// otherwise: on the overview and scenario dashboards in one query (`native or classic`), on the
/// latency dashboard side by side or with `or`. Every `histogram_quantile` target shows exemplars.
#[test]
fn dashboards_query_native_histograms_else_classic_with_exemplars() {
    let family = regex::Regex::new(r"(soakd_[a-z_]+_seconds)(_bucket)?\{").unwrap();
    for name in DASHBOARDS {
        let d = load_dashboard(name);
        let (mut native, mut classic) = (BTreeSet::new(), BTreeSet::new());
        for (title, t) in dashboard_targets(&d) {
            let e = t["expr"].as_str().unwrap_or("");
            if !e.contains("histogram_quantile") {
                continue;
            }
            assert_eq!(
                t["exemplar"], true,
                "{name}: {title}: exemplars off for `{e}`"
            );
            let (mut n, mut c) = (BTreeSet::new(), BTreeSet::new());
            for m in family.captures_iter(e) {
                let set = if m.get(2).is_some() { &mut c } else { &mut n };
                set.insert(m[1].to_owned());
            }
            if name != "soakd-latency" {
                assert!(
                    !n.is_empty() && n == c && e.contains(" or "),
                    "{name}: {title}: `{e}` is not `native or classic`"
                );
            }
            native.extend(n);
            classic.extend(c);
        }
        assert!(
            name == "soakd-overview" || !native.is_empty(),
            "{name}: no latency query"
        );
        assert_eq!(
            native, classic,
            "{name}: native and classic families differ"
        );
    }
}

/// Every `url` of the panels' data links (field config defaults), rows included.
fn data_links(d: &serde_json::Value) -> Vec<String> {
    all_panels(d)
        .into_iter()
        .flat_map(|p| {
            p["fieldConfig"]["defaults"]["links"]
                .as_array()
                .into_iter()
                .flatten()
        })
        .filter_map(|l| l["url"].as_str().map(str::to_owned))
        .collect()
}

/// Runs are annotated from `soakd_run_last_*` (start, end with the result) at the timestamps
/// the gauges hold; the dashboards link each other keeping the time range and the variables,
/// and panels drill down per scenario: overview → scenario → latency and back.
#[test]
fn dashboards_annotate_runs_and_link_each_other() {
    for name in ["soakd-overview", "soakd-scenario"] {
        let d = load_dashboard(name);
        let anns: Vec<&serde_json::Value> = d["annotations"]["list"]
            .as_array()
            .expect("annotations")
            .iter()
            .filter(|a| a["expr"].is_string())
            .collect();
        for (metric, what) in [
            ("soakd_run_last_start_timestamp_seconds", "start"),
            ("soakd_run_last_end_timestamp_seconds", "end"),
            ("soakd_run_last_passed", "result"),
        ] {
            assert!(
                anns.iter().any(|a| {
                    let e = a["expr"].as_str().unwrap_or("");
                    e.contains(metric)
                        && e.contains(") * 1000")
                        && a["useValueForTime"] == true
                        && a["datasource"]["uid"] == "${datasource}"
                }),
                "{name}: no run {what} annotation"
            );
        }
        for verdict in ["== 1)", "== 0)"] {
            assert!(
                anns.iter()
                    .any(|a| a["expr"].as_str().unwrap_or("").ends_with(verdict)),
                "{name}: no annotation for runs with soakd_run_last_passed {verdict}"
            );
        }
    }
    for name in DASHBOARDS {
        let d = load_dashboard(name);
        for other in DASHBOARDS.iter().filter(|o| **o != name) {
            let link = d["links"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|l| {
                    l["url"]
                        .as_str()
                        .is_some_and(|u| u.starts_with(&format!("/d/{other}/")))
                })
                .unwrap_or_else(|| panic!("{name}: no dashboard link to {other}"));
            assert_eq!(link["keepTime"], true, "{name} → {other}");
            assert_eq!(link["includeVars"], true, "{name} → {other}");
        }
    }
    for (from, to, var) in [
        (
            "soakd-overview",
            "soakd-scenario",
            "var-scenario=${__field.labels.scenario}",
        ),
        (
            "soakd-overview",
            "soakd-scenario",
            "var-scenario=${__data.fields.scenario}",
        ),
        (
            "soakd-scenario",
            "soakd-latency",
            "var-scenario=${scenario}",
        ),
        (
            "soakd-latency",
            "soakd-scenario",
            "var-scenario=${__field.labels.scenario}",
        ),
    ] {
        let links = data_links(&load_dashboard(from));
        assert!(
            links.iter().any(|u| u.starts_with(&format!("/d/{to}/"))
                && u.contains(var)
                && u.contains("${__url_time_range}")
                && u.contains("${job:queryparam}")
                && u.contains("${namespace:queryparam}")),
            "{from}: no data link to {to} with {var} keeping the time range: {links:?}"
        );
    }
}

/// Every metric a dashboard names is one soakd exports under exactly that name (counters with
/// `_total`, histograms under the bare native name and `_bucket`/`_sum`/`_count`), read from the
/// `# TYPE` lines of the exposition of a registry holding one scheduled scenario that ran, with
/// an HTTP request, a WebSocket session, a threshold and a drill (families without series are not
/// exposed).
#[test]
fn dashboard_metric_names_are_the_exported_ones() {
    use soakd::telemetry::{Format, Metrics};
    let m = Metrics::new();
    let meta = |name: &str, method: &str| soakd::plan::RequestMeta {
        name: name.into(),
        journey: "journey".into(),
        group: "group".into(),
        method: method.into(),
        checks: vec!["check".into()],
    };
    let sink = m.scenario_sink("s", &[meta("get", "GET"), meta("chat", "WS")]);
    soakd::record::Sink::request(
        &*sink,
        0,
        Some(503),
        Duration::from_millis(5),
        Some(soakd::client::FailureReason::Status),
        &[false],
    );
    m.run_started("s", 1.0, 1.0, 1.0);
    let outcome = soakd::verdict::Outcome {
        threshold: "http_req_duration:p(95)<100".into(),
        observed: Some(1.0),
        limit: 100.0,
        breached: false,
    };
    let consecutive = [(outcome.threshold.clone(), 0, false)];
    m.run_finished("s", "pass", 2.0, &[outcome], &consecutive);
    m.drills_finished("s", &[("drill".into(), Some(1.0), true)]);
    m.schedule_next("s", Some(3.0));
    m.config_reloaded(true, 1.0);
    let text = String::from_utf8(m.expose(Format::Text)).expect("utf-8");
    let mut exported = BTreeSet::new();
    for l in text.lines() {
        let Some((n, kind)) = l.strip_prefix("# TYPE ").and_then(|r| r.split_once(' ')) else {
            continue;
        };
        exported.insert(n.to_owned());
        if kind == "histogram" {
            for s in ["_bucket", "_sum", "_count"] {
                exported.insert(format!("{n}{s}"));
            }
        }
    }
    for must in [
        "soakd_journeys_total",
        "soakd_ws_sessions_total",
        "soakd_drill_passed",
    ] {
        assert!(exported.contains(must), "{must} not exposed: {text}");
    }
    for name in DASHBOARDS {
        for e in dashboard_exprs(&load_dashboard(name)) {
            for w in identifiers(&e) {
                if w.starts_with("soakd_") || w.starts_with("process_") {
                    assert!(
                        exported.contains(&w),
                        "{name}: soakd exports no `{w}` (`{e}`)"
                    );
                }
            }
        }
    }
}

// ------------------------------------------------------------------------------- scripts

#[test]
fn scripts_are_valid_bash() {
    for s in ["scripts/install-test-tools.sh", "scripts/check-ops.sh"] {
        let mut cmd = Command::new("bash");
        cmd.args(["-n", s]).current_dir(root());
        let out = run_with_timeout(&mut cmd, CHILD_TIMEOUT);
        assert!(
            out.status.success(),
            "{s}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn identifiers_tokenizer() {
    let w = identifiers(
        r#"histogram_quantile(0.95, sum by (le) (rate(soakd_x_bucket{scenario="$scenario", a=~"b.*"}[$__rate_interval]))) / 1000 > 1e3"#,
    );
    assert_eq!(
        w,
        [
            "histogram_quantile",
            "sum",
            "by",
            "le",
            "rate",
            "soakd_x_bucket",
            "scenario",
            "a"
        ]
    );
}

/// Every alert's `runbook_url` anchor is a section of docs/runbook.md (GitHub's anchors are the
/// lower-cased heading), and every alert has one.
#[test]
fn every_alert_links_a_runbook_section_that_exists() {
    let rules = read("config/prometheus/soakd-rules.yaml");
    let runbook = read("docs/runbook.md");
    let sections: BTreeSet<String> = runbook
        .lines()
        .filter_map(|l| l.strip_prefix("## "))
        .map(|h| h.trim().to_lowercase())
        .collect();
    let alerts: Vec<&str> = rules
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- alert: "))
        .collect();
    assert!(alerts.len() >= 7, "{alerts:?}");
    for alert in alerts {
        let anchor = alert.to_lowercase();
        assert!(
            rules.contains(&format!("docs/runbook.md#{anchor}'")),
            "{alert} has no runbook_url to docs/runbook.md#{anchor}"
        );
        assert!(
            sections.contains(&anchor),
            "docs/runbook.md has no section `## {alert}`"
        );
    }
}
