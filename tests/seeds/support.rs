//! Helpers of the seed-plan tests: copies of `config/examples/*.yaml` aimed at an in-process
//! demo target, `soakd once` runs of them, and the exported summaries' verdicts.
//!
//! A copy differs from the example in these ways only: `http://127.0.0.1:8080` becomes the
//! in-process target's URL, `http://127.0.0.1:9090` the URL of the Prometheus that scrapes it
//! (`sut.yaml`), and for closed models (VU executors) the VU counts are multiplied
//! by the time scale like every duration is (ceil, at least 1), so that think times shrunk by
//! `--time-scale` do not multiply the plan's request rate (`--time-scale` keeps open-model
//! rates as written, and this keeps closed-model rates close to them too).

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_soakd");
/// The address the examples use (the `soakd demo` target).
pub const DEMO_URL: &str = "http://127.0.0.1:8080";
/// The Prometheus `config/examples/sut.yaml` queries.
pub const DEMO_PROMETHEUS: &str = "http://127.0.0.1:9090";
/// The webhook secret the runs sign with and the target verifies.
pub const WEBHOOK_SECRET: &str = "whsec_seed_tests";

/// Two lanes for runs: a scaled seed run keeps well under a core busy (its rates are the
/// seed's, a few hundred requests/s), so two fit on two shared cores. A run that also starts
/// Prometheus and times drills (`sut.yaml`) takes both lanes: it runs alone.
static LANES: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// Waits for a lane; the run holds it while the guard lives.
pub async fn lane() -> tokio::sync::SemaphorePermit<'static> {
    LANES.acquire().await.expect("the lanes are never closed")
}

/// Waits until no other run goes, and keeps it so while the guard lives.
pub async fn alone() -> tokio::sync::SemaphorePermit<'static> {
    LANES
        .acquire_many(2)
        .await
        .expect("the lanes are never closed")
}

pub fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("config/examples")
}

/// Parses a YAML config the way soakd does (same crate, aliases resolved).
pub fn yaml_tree(text: &str) -> Value {
    config::Config::builder()
        .add_source(config::File::from_str(text, config::FileFormat::Yaml))
        .build()
        .and_then(|c| c.try_deserialize::<Value>())
        .unwrap_or_else(|e| panic!("not YAML: {e}"))
}

fn scale_count(v: &mut Value, f: f64) {
    if let Some(n) = v.as_f64().filter(|n| *n > 0.0) {
        *v = Value::from(((n * f).ceil() as i64).max(1));
    }
}

/// Multiplies the VU counts of VU-executor scenarios by `f`.
fn scale_vus(tree: &mut Value, f: f64) {
    let Some(scenarios) = tree.get_mut("scenarios").and_then(Value::as_object_mut) else {
        return;
    };
    for s in scenarios.values_mut() {
        let Some(load) = s.get_mut("load").and_then(Value::as_object_mut) else {
            continue;
        };
        let exec = load.get("executor").and_then(Value::as_str).unwrap_or("");
        if !exec.ends_with("-vus") && !exec.ends_with("-iterations") {
            continue;
        }
        for k in ["vus", "start_vus"] {
            if let Some(v) = load.get_mut(k) {
                scale_count(v, f);
            }
        }
        if let Some(Value::Array(stages)) = load.get_mut("stages") {
            for st in stages {
                if let Some(t) = st.get_mut("target") {
                    scale_count(t, f);
                }
            }
        }
    }
}

/// Writes the example `file` (and every data file beside it) into `dir`, aimed at `url` (and
/// its SUT checks at `prometheus`), prepared for `--time-scale scale`; returns the copy's path.
pub fn prepare(dir: &Path, file: &str, url: &str, prometheus: Option<&str>, scale: f64) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    for entry in std::fs::read_dir(examples_dir()).unwrap() {
        let p = entry.unwrap().path();
        let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("");
        if matches!(ext, "json" | "csv") {
            std::fs::copy(&p, dir.join(p.file_name().unwrap())).unwrap();
        }
    }
    let mut text = std::fs::read_to_string(examples_dir().join(file))
        .unwrap()
        .replace(DEMO_URL, url);
    if text.contains(DEMO_PROMETHEUS) {
        let prom = prometheus.unwrap_or_else(|| panic!("{file} queries a Prometheus: start one"));
        text = text.replace(DEMO_PROMETHEUS, prom);
    }
    let mut tree = yaml_tree(&text);
    scale_vus(&mut tree, scale);
    let path = dir.join(file);
    // JSON is YAML: the copy loads through the same parser.
    std::fs::write(&path, serde_json::to_vec_pretty(&tree).unwrap()).unwrap();
    path
}

/// One finished `soakd once` run.
#[derive(Debug)]
pub struct Outcome {
    pub code: i32,
    pub summary: Value,
    pub took: Duration,
    pub stderr: String,
}

impl Outcome {
    /// Labels of the breached thresholds in the exported summary.
    pub fn breached(&self) -> BTreeSet<String> {
        self.summary["thresholds"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter(|t| t["breached"] == Value::Bool(true))
                    .filter_map(|t| t["threshold"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Requests of the mix entry / step `name` in the summary.
    pub fn requests(&self, name: &str) -> u64 {
        self.summary["requests"][name]["requests_total"]
            .as_u64()
            .unwrap_or(0)
    }

    pub fn describe(&self) -> String {
        format!(
            "exit {} after {:.1?}; breached {:?}\nthresholds: {}\nrequests: {}\nstderr: {}",
            self.code,
            self.took,
            self.breached(),
            self.summary["thresholds"],
            self.summary["requests"],
            self.stderr.chars().take(2000).collect::<String>()
        )
    }
}

/// `soakd once NAME --config CONFIG --time-scale SCALE --summary-export …`.
pub async fn once(config: &Path, name: &str, scale: f64) -> Outcome {
    let export = config.with_file_name(format!("{name}-summary.json"));
    let t0 = Instant::now();
    let out = Command::new(BIN)
        .args(["once", "--quiet", name, "--config"])
        .arg(config)
        .args(["--time-scale", &scale.to_string(), "--summary-export"])
        .arg(&export)
        .env_remove("SOAKD_CONFIG")
        .env("STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(60), out)
        .await
        .unwrap_or_else(|_| panic!("{name}: soakd once did not end within 60 s"))
        .expect("soakd runs");
    let summary = std::fs::read(&export)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(Value::Null);
    Outcome {
        code: out.status.code().unwrap_or(-1),
        summary,
        took: t0.elapsed(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `POST /_control` on the in-process target.
pub async fn control(addr: std::net::SocketAddr, body: &str) {
    let (status, answer) = http(addr, "POST", "/_control", body).await;
    assert_eq!(status, 200, "control {body} refused: {answer}");
}

pub use super::common::http;
