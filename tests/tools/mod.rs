//! External programs for the ops and end-to-end tests (tests/image.rs, tests/chart.rs, and
//! tests/common/e2e through tests/incident.rs and tests/replicas.rs): found on PATH (or
//! /usr/local/bin, ~/.local/bin), else installed once by scripts/install-test-tools.sh, else the
//! test fails naming the program — never a silent skip.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `name` in PATH, /usr/local/bin, ~/.local/bin or /usr/bin.
pub fn find(name: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.push("/usr/local/bin".into());
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(Path::new(&home).join(".local/bin"));
    }
    dirs.push("/usr/bin".into());
    dirs.into_iter().map(|d| d.join(name)).find(|p| p.is_file())
}

/// A program from PATH or, failing that, after scripts/install-test-tools.sh ran.
pub fn installed(name: &str) -> PathBuf {
    if let Some(p) = find(name) {
        return p;
    }
    run_ok(Command::new("bash").arg(root().join("scripts/install-test-tools.sh")));
    find(name)
        .unwrap_or_else(|| panic!("`{name}` missing even after scripts/install-test-tools.sh"))
}

/// Runs a command, panicking with its output unless it succeeds; returns stdout.
pub fn run_ok(cmd: &mut Command) -> String {
    let desc = format!("{cmd:?}");
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{desc}: cannot start: {e}"));
    assert!(
        out.status.success(),
        "{desc} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The YAML documents of `text` as JSON values (PyYAML), empty documents dropped.
pub fn yaml_documents(text: &str) -> Vec<serde_json::Value> {
    installed("python3");
    let mut child = Command::new("python3")
        .args([
            "-c",
            "import sys, json, yaml\nprint(json.dumps([d for d in yaml.safe_load_all(sys.stdin) if d]))",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start python3");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write yaml");
    let out = child.wait_with_output().expect("python3");
    assert!(
        out.status.success(),
        "YAML did not parse: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    match serde_json::from_slice(&out.stdout).expect("json") {
        serde_json::Value::Array(docs) => docs,
        other => panic!("not a list: {other}"),
    }
}
