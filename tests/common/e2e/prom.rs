//! Prometheus and Alertmanager as children of a [`Stack`], and Prometheus' query API.
//!
//! Alertmanager runs the shipped `config/alertmanager/alertmanager.yml` with only the webhook
//! URLs pointed at the test and the group timers shortened, so the tests exercise the routes
//! users get.

use super::http::{enc, get_json};
use super::stack::{Stack, free_port};
use super::tools::root;
use serde_json::Value;
use std::path::Path;

/// The shipped Alertmanager example with the webhook URL pointed at `webhook` and every
/// group_wait / group_interval / repeat_interval shortened. Fails if the shipped file changed so
/// that a replacement no longer applies (the test must keep exercising the shipped routes).
pub fn alertmanager_config(webhook: &str) -> String {
    let shipped = std::fs::read_to_string(root().join("config/alertmanager/alertmanager.yml"))
        .expect("read config/alertmanager/alertmanager.yml");
    let url = "http://127.0.0.1:9099/incident";
    assert!(
        shipped.contains(url),
        "config/alertmanager/alertmanager.yml no longer has the webhook URL {url}; update tests/common/e2e/prom.rs"
    );
    // The other receivers (pager, default) deliver to the same test webhook, on their own paths.
    let mut text = shipped
        .replace(url, &format!("http://{webhook}/incident"))
        .replace("http://127.0.0.1:9099/", &format!("http://{webhook}/"));
    for (key, value) in [
        ("group_wait", "1s"),
        ("group_interval", "1s"),
        ("repeat_interval", "1h"),
    ] {
        let re = regex::Regex::new(&format!(r"(?m)^(\s*{key}:)\s*\S+\s*$")).unwrap();
        assert!(
            re.find_iter(&text).count() >= 2,
            "config/alertmanager/alertmanager.yml: expected {key} on the root route and the ticket route"
        );
        text = re
            .replace_all(&text, format!("${{1}} {value}"))
            .into_owned();
    }
    text
}

/// Starts Alertmanager (`bin`) with [`alertmanager_config`] for the stack's webhook, on `addr`.
pub fn start_alertmanager(s: &mut Stack, bin: &Path, addr: &str) {
    let d = s.path().to_path_buf();
    let cfg = d.join("alertmanager.yml");
    std::fs::write(&cfg, alertmanager_config(&s.webhook.addr)).unwrap();
    std::fs::create_dir_all(d.join("am-data")).unwrap();
    let args = vec![
        format!("--config.file={}", cfg.display()),
        format!("--storage.path={}", d.join("am-data").display()),
        format!("--web.listen-address={addr}"),
        "--cluster.listen-address=".into(),
    ];
    s.spawn("alertmanager", bin, &args, &[]);
}

/// Starts Prometheus (`bin`) on `addr` with the config text `config` and `extra` flags.
pub fn start_prometheus(s: &mut Stack, bin: &Path, addr: &str, config: &str, extra: &[String]) {
    let d = s.path().to_path_buf();
    let cfg = d.join("prometheus.yml");
    std::fs::write(&cfg, config).unwrap();
    let mut args = vec![
        format!("--config.file={}", cfg.display()),
        format!("--storage.tsdb.path={}", d.join("prom-data").display()),
        format!("--web.listen-address={addr}"),
    ];
    args.extend_from_slice(extra);
    s.spawn("prometheus", bin, &args, &[]);
}

/// A fresh `127.0.0.1:PORT`.
pub fn loopback() -> String {
    format!("127.0.0.1:{}", free_port())
}

/// Prometheus' HTTP API at an address.
#[derive(Clone, Debug)]
pub struct Prom(pub String);

impl Prom {
    /// An instant query now; the result vector (empty when nothing matches).
    pub fn query(&self, q: &str) -> Result<Vec<Value>, String> {
        let v = get_json(&self.0, &format!("/api/v1/query?query={}", enc(q)))?;
        Ok(v["data"]["result"].as_array().cloned().unwrap_or_default())
    }

    /// An instant query evaluated at unix time `t` (past or future).
    pub fn query_at(&self, q: &str, t: f64) -> Result<Vec<Value>, String> {
        self.checked(&format!("/api/v1/query?query={}&time={t:.3}", enc(q)), q)
    }

    /// A range query from `start` to `end` every `step` seconds; one matrix row per series.
    pub fn range(&self, q: &str, start: f64, end: f64, step: f64) -> Result<Vec<Value>, String> {
        self.checked(
            &format!(
                "/api/v1/query_range?query={}&start={start:.3}&end={end:.3}&step={step}",
                enc(q)
            ),
            q,
        )
    }

    fn checked(&self, path: &str, q: &str) -> Result<Vec<Value>, String> {
        let v = get_json(&self.0, path)?;
        if v["status"] != "success" {
            return Err(format!("query {q}: {v}"));
        }
        Ok(v["data"]["result"].as_array().cloned().unwrap_or_default())
    }

    /// States (`pending`/`firing`) of the `alertname` alerts Prometheus holds right now.
    pub fn alert_states(&self, alertname: &str) -> Result<Vec<String>, String> {
        let v = get_json(&self.0, "/api/v1/alerts")?;
        Ok(v["data"]["alerts"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|a| a["labels"]["alertname"] == alertname)
            .map(|a| a["state"].as_str().unwrap_or("").to_owned())
            .collect())
    }

    /// The rule `name` as Prometheus loaded it (`/api/v1/rules`: query, duration, health, ...).
    pub fn rule(&self, name: &str) -> Result<Value, String> {
        let v = get_json(&self.0, "/api/v1/rules")?;
        v["data"]["groups"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|g| g["rules"].as_array().into_iter().flatten())
            .find(|r| r["name"] == name)
            .cloned()
            .ok_or_else(|| format!("Prometheus has no rule {name}"))
    }

    /// The first sample value of an instant query's first series, as a number.
    pub fn scalar(&self, q: &str) -> Option<f64> {
        sample(self.query(q).ok()?.first()?)
    }
}

/// The value of one instant-vector sample (`{"metric":..,"value":[t,"v"]}`).
pub fn sample(v: &Value) -> Option<f64> {
    v["value"][1].as_str()?.parse().ok()
}
