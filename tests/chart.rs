//! tests/chart.rs — why this exists: the chart is what users install, so its promises are checked
//! with the real `helm` (no Kubernetes needed): the ServiceMonitor selects exactly one Service (a
//! second one would double every rate), `values.schema.json` rejects unknown keys anywhere
//! (including inside `config`, which is `soakd schema`'s own schema), the `release` label for
//! kube-prometheus-stack, JSON logs by default, and a README values table equal to values.yaml.

mod tools;

use serde_json::Value;
use std::process::Command;
use tools::{installed, root, run_ok, yaml_documents};

fn helm(args: &[&str]) -> std::process::Output {
    Command::new(installed("helm"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("run helm")
}

fn render(set: &[&str]) -> Vec<Value> {
    let mut args = vec!["template", "soakd", "helm/soakd", "--namespace", "staging"];
    for s in set {
        args.extend(["--set", s]);
    }
    let out = helm(&args);
    assert!(
        out.status.success(),
        "helm template {set:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    yaml_documents(&String::from_utf8_lossy(&out.stdout))
}

fn of_kind<'a>(docs: &'a [Value], kind: &str) -> Vec<&'a Value> {
    docs.iter().filter(|d| d["kind"] == kind).collect()
}

fn labels(doc: &Value) -> &serde_json::Map<String, Value> {
    doc["metadata"]["labels"].as_object().expect("labels")
}

#[test]
fn service_monitor_selects_exactly_one_service() {
    let docs = render(&["replicas=3", "serviceMonitor.enabled=true"]);
    let sm = of_kind(&docs, "ServiceMonitor");
    assert_eq!(sm.len(), 1);
    let want = sm[0]["spec"]["selector"]["matchLabels"]
        .as_object()
        .expect("matchLabels");
    let services = of_kind(&docs, "Service");
    assert_eq!(services.len(), 2, "metrics + headless Service");
    let selected: Vec<&str> = services
        .iter()
        .filter(|s| want.iter().all(|(k, v)| labels(s).get(k) == Some(v)))
        .map(|s| s["metadata"]["name"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        selected,
        ["soakd"],
        "ServiceMonitor {want:?} selects {selected:?}"
    );
    let port = sm[0]["spec"]["endpoints"][0]["port"].as_str();
    let svc = services
        .iter()
        .find(|s| s["metadata"]["name"] == "soakd")
        .unwrap();
    assert!(
        svc["spec"]["ports"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"].as_str() == port),
        "the selected Service has the scraped port {port:?}"
    );
}

#[test]
fn prometheus_release_label_goes_on_the_service_monitor_and_the_rule() {
    let docs = render(&[
        "serviceMonitor.enabled=true",
        "prometheusRule.enabled=true",
        "prometheusRelease=kube-prometheus-stack",
    ]);
    for kind in ["ServiceMonitor", "PrometheusRule"] {
        let d = of_kind(&docs, kind);
        assert_eq!(d.len(), 1, "{kind}");
        assert_eq!(
            labels(d[0]).get("release"),
            Some(&Value::from("kube-prometheus-stack")),
            "{kind}"
        );
    }
    let plain = render(&["serviceMonitor.enabled=true"]);
    assert!(
        labels(of_kind(&plain, "ServiceMonitor")[0])
            .get("release")
            .is_none()
    );
}

#[test]
fn pods_log_json_by_default_and_text_on_request() {
    let env_of = |docs: &[Value], name: &str| -> Option<String> {
        let sts = of_kind(docs, "StatefulSet")[0];
        sts["spec"]["template"]["spec"]["containers"][0]["env"]
            .as_array()
            .expect("env")
            .iter()
            .find(|e| e["name"] == name)
            .map(|e| e["value"].as_str().unwrap_or("").to_string())
    };
    let docs = render(&[]);
    assert_eq!(env_of(&docs, "SOAKD_LOG_FORMAT").as_deref(), Some("json"));
    assert_eq!(
        env_of(&docs, "SOAKD_LOG"),
        None,
        "no level override by default"
    );
    let docs = render(&["logFormat=text", "logLevel=debug"]);
    assert_eq!(env_of(&docs, "SOAKD_LOG_FORMAT").as_deref(), Some("text"));
    assert_eq!(env_of(&docs, "SOAKD_LOG").as_deref(), Some("debug"));
}

#[test]
fn values_schema_rejects_typos_in_chart_values_and_in_config() {
    assert!(
        helm(&["lint", "--strict", "helm/soakd"]).status.success(),
        "defaults lint clean"
    );
    for (set, key) in [
        ("replica=3", "replica"),
        ("serviceMonitor.enable=true", "enable"),
        ("persistence.sise=1Gi", "sise"),
        ("config.scenarios.smoke.load.vu=3", "vu"),
        ("config.server.listn=0.0.0.0:1", "listn"),
    ] {
        for cmd in ["lint", "template"] {
            let out = helm(&[cmd, "helm/soakd", "--set", set]);
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(
                !out.status.success(),
                "helm {cmd} accepted --set {set}:\n{text}"
            );
            assert!(
                text.contains(&format!("Additional property {key} is not allowed")),
                "helm {cmd} --set {set} must name {key}:\n{text}"
            );
        }
    }
    let out = helm(&["template", "helm/soakd", "--set", "replicas=three"]);
    assert!(!out.status.success(), "replicas must be an integer");
}

#[test]
fn values_schema_config_section_is_soakd_schema() {
    let chart: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("helm/soakd/values.schema.json")).expect("read"),
    )
    .expect("values.schema.json is JSON");
    let mut want = serde_json::to_value(soakd::config::schema()).expect("schema");
    let defs = want
        .as_object_mut()
        .unwrap()
        .remove("$defs")
        .expect("$defs");
    let mut have = chart["properties"]["config"].clone();
    for v in [&mut want, &mut have] {
        let o = v.as_object_mut().unwrap();
        o.remove("$schema");
        o.remove("description");
    }
    let hint = "helm/soakd/values.schema.json is out of date: run scripts/sync-chart-schema.sh";
    assert_eq!(have, want, "{hint}");
    assert_eq!(chart["$defs"], defs, "{hint}");
    assert_eq!(chart["additionalProperties"], false);
}

#[test]
fn readme_values_table_matches_values_yaml() {
    installed("python3");
    let out = run_ok(
        Command::new("python3")
            .arg(root().join("scripts/chart-values-table.py"))
            .arg("--check"),
    );
    assert!(out.is_empty(), "{out}");
    let readme = std::fs::read_to_string(root().join("helm/soakd/README.md")).expect("README");
    for key in [
        "`replicas`",
        "`prometheusRelease`",
        "`logFormat`",
        "`serviceMonitor.enabled`",
    ] {
        assert!(
            readme.contains(&format!("| {key} |")),
            "README values table lacks {key}"
        );
    }
}
