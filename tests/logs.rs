//! tests/logs.rs — why this exists: pod logs are files and pipes, never terminals. A daemon
//! whose stderr is redirected to a file must write plain text without escape sequences, or one
//! JSON object per line with `--log-format json`; field values are printed as values
//! (`shard=0/1`, not a Rust Debug dump); `SOAKD_LOG` wins over `RUST_LOG`, which is honoured.

#[path = "daemon/support.rs"]
#[allow(dead_code)]
mod support;

use std::path::Path;
use support::*;

fn config(dir: &Path) -> String {
    format!(
        "{}scenarios:\n  idle:\n    target: {{ base_url: \"http://127.0.0.1:9\" }}\n    load: {{ executor: constant-vus, vus: 1, duration: 1s }}\n    mix: [ {{ name: ok, request: {{ method: GET, url: /ok }} }} ]\n",
        config_head(dir, "")
    )
}

/// Starts `soakd [ARGS] run` with `env`, waits until it serves, stops it; returns its stderr.
fn daemon_stderr(global: &[&str], env: &[(&str, &str)]) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let addr = free_addr();
    let path = dir.path().join("soakd.yaml");
    std::fs::write(
        &path,
        config(dir.path()).replace("${LISTEN}", &addr.to_string()),
    )
    .unwrap();
    let mut args: Vec<&str> = global.to_vec();
    args.extend(["run", "--config", path.to_str().unwrap()]);
    let mut p = Proc::soakd("logs", &args, dir.path(), env);
    wait_for(
        std::time::Duration::from_secs(20),
        "daemon answers /healthz",
        || {
            if let Some(s) = p.try_status() {
                p.fail(&format!("daemon exited early: {s}"));
            }
            http(addr, "GET", "/healthz", &[], None)
                .ok()
                .filter(|r| r.status == 200)
        },
    );
    p.signal("TERM");
    if p.wait_exit(std::time::Duration::from_secs(20)).is_none() {
        p.fail("daemon did not stop on SIGTERM");
    }
    p.stderr_text()
}

#[test]
fn text_logs_to_a_file_have_no_escape_sequences_and_print_values() {
    let err = daemon_stderr(&[], &[]);
    assert!(
        !err.contains('\u{1b}'),
        "escape sequences in a redirected log:\n{err}"
    );
    let running = err
        .lines()
        .find(|l| l.contains("soakd running"))
        .unwrap_or_else(|| panic!("no `soakd running` line:\n{err}"));
    assert!(
        running.contains("shard=0/1"),
        "shard printed as a value: {running}"
    );
    assert!(!running.contains("Shard {"), "no Debug output: {running}");
}

#[test]
fn json_logs_are_one_object_per_line_with_flat_fields() {
    let err = daemon_stderr(&["--log-format", "json"], &[]);
    assert!(
        !err.contains('\u{1b}'),
        "escape sequences in JSON logs:\n{err}"
    );
    let mut running = None;
    for line in err.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}\nwhole log:\n{err}"));
        assert!(
            v["level"].is_string() && v["timestamp"].is_string(),
            "{line}"
        );
        if v["message"] == "soakd running" {
            running = Some(v);
        }
    }
    let running = running.unwrap_or_else(|| panic!("no `soakd running` object:\n{err}"));
    assert_eq!(running["shard"], "0/1", "{running}");
    assert_eq!(running["level"], "INFO", "{running}");
}

#[test]
fn rust_log_is_honoured_and_soakd_log_wins() {
    // Proc::soakd sets SOAKD_LOG=info; an empty SOAKD_LOG counts as unset.
    let warn_only = daemon_stderr(&[], &[("SOAKD_LOG", ""), ("RUST_LOG", "warn")]);
    assert!(
        !warn_only.contains("soakd running"),
        "RUST_LOG=warn ignored:\n{warn_only}"
    );
    let soakd_wins = daemon_stderr(&[], &[("SOAKD_LOG", "info"), ("RUST_LOG", "warn")]);
    assert!(
        soakd_wins.contains("soakd running"),
        "SOAKD_LOG=info must win:\n{soakd_wins}"
    );
}
