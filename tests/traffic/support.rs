//! Helpers of the realistic-traffic tests: scenarios with data pools next to a config file,
//! raw HTTP to the target's control endpoint, and a log capture.

use soakd::config::load_str;
use soakd::plan::{Scenario, compile_loaded};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Compiles scenario `t` (keys in `snippet`, `${TARGET}` replaced) with top-level `extra`
/// (e.g. `data:`) as if read from `dir/traffic.yaml`, so pool files resolve against `dir`.
pub fn scenario_in(dir: &Path, target: &str, extra: &str, snippet: &str) -> Arc<Scenario> {
    let yaml = format!(
        "{}\n{}",
        extra.trim(),
        super::common::config_yaml(target, "t", snippet)
    );
    let file = dir.join("traffic.yaml");
    let loaded = load_str(&file.display().to_string(), &yaml, Some(Default::default()))
        .unwrap_or_else(|e| panic!("config does not load:\n{e}\n---\n{yaml}"));
    let plan = compile_loaded(&loaded).unwrap_or_else(|errs| {
        let msgs: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
        panic!("config does not compile:\n{}\n---\n{yaml}", msgs.join("\n"))
    });
    plan.scenarios["t"].clone()
}

/// Writes `rows` as a JSON array of `{field: value}` objects to `dir/name`.
pub fn json_pool(dir: &Path, name: &str, field: &str, rows: &[String]) {
    let v: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| serde_json::json!({ field: r }))
        .collect();
    std::fs::write(dir.join(name), serde_json::to_vec(&v).unwrap()).unwrap();
}

/// Everything written by a `tracing` subscriber, as one buffer.
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

/// A TRACE-level subscriber writing into `cap` (install with `set_default` on a current-thread
/// runtime so every task of the test logs into it).
pub fn capture(cap: &Captured) -> impl tracing::Subscriber + Send + Sync {
    tracing_subscriber::fmt()
        .with_writer(cap.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .finish()
}

pub use super::common::http;
