//! The external judges of tests/prometheus_native.rs: `promtool check metrics` (Debian package
//! `prometheus`, installed by scripts/install-test-tools.sh) and the strict OpenMetrics parser of
//! PyPI `prometheus_client` (installed with pip when missing). A missing tool is installed once,
//! then the test fails loudly: nothing is skipped.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn find(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .chain(["/usr/local/bin".into(), "/usr/bin".into()])
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

/// `program`, installing the test tools first when it is missing.
pub fn tool(program: &str) -> PathBuf {
    if let Some(p) = find(program) {
        return p;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/install-test-tools.sh");
    let st = Command::new("bash").arg(&script).status();
    eprintln!("{} → {st:?}", script.display());
    find(program).unwrap_or_else(|| panic!("{program} missing even after {}", script.display()))
}

/// Runs `cmd` with `input` on stdin; (success, stdout + stderr).
fn run_with_stdin(mut cmd: Command, input: &[u8]) -> (bool, String) {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("start {cmd:?}: {e}"));
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input)
        .expect("write stdin");
    let out = child.wait_with_output().expect("wait");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

/// Every line `promtool check metrics` reports about `text` (empty: it passed).
pub fn promtool_problems(text: &str) -> Vec<String> {
    let mut cmd = Command::new(tool("promtool"));
    cmd.args(["check", "metrics"]);
    let (ok, report) = run_with_stdin(cmd, text.as_bytes());
    let mut problems: Vec<String> = report
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect();
    if !ok && problems.is_empty() {
        problems.push("promtool failed without a message".into());
    }
    problems
}

const PARSE: &str = r#"
import json, sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
text = sys.stdin.read()
for fam in text_string_to_metric_families(text):
    for s in fam.samples:
        ex = s.exemplar
        print(json.dumps({"type": fam.type, "family": fam.name, "name": s.name,
                          "labels": s.labels, "value": s.value,
                          "trace_id": ex.labels.get("trace_id") if ex else None}))
"#;

fn python() -> PathBuf {
    let py = tool("python3");
    let has = |py: &Path| {
        Command::new(py)
            .args(["-c", "import prometheus_client.openmetrics.parser"])
            .status()
            .is_ok_and(|s| s.success())
    };
    if !has(&py) {
        let st = Command::new(&py)
            .args(["-m", "pip", "install", "--quiet", "prometheus_client"])
            .status();
        eprintln!("pip install prometheus_client → {st:?}");
        assert!(has(&py), "prometheus_client missing even after pip install");
    }
    py
}

/// One sample as the strict parser returned it.
#[derive(Debug, serde::Deserialize)]
pub struct ParsedSample {
    #[serde(rename = "type")]
    pub kind: String,
    pub family: String,
    pub name: String,
    pub labels: std::collections::BTreeMap<String, String>,
    pub value: f64,
    /// The `trace_id` label of the sample's exemplar.
    #[allow(dead_code)]
    pub trace_id: Option<String>,
}

/// The strict OpenMetrics parse of `text` by PyPI `prometheus_client`, or the parser's error.
pub fn openmetrics_parse(text: &str) -> Result<Vec<ParsedSample>, String> {
    let mut cmd = Command::new(python());
    cmd.args(["-c", PARSE]);
    let (ok, out) = run_with_stdin(cmd, text.as_bytes());
    if !ok {
        return Err(out);
    }
    Ok(out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect())
}
