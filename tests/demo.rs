//! tests/demo.rs — why this exists: `soakd demo` once reused one state dir, so a second demo
//! started with the first one's breach streaks (an incident already open). Each start now gets
//! a fresh state dir, removed on exit; `--state-dir` keeps state where the user says.

#[path = "daemon/support.rs"]
#[allow(dead_code)]
mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;
use support::*;

/// Runs `soakd demo [extra]` until it serves, stops it; returns the state dir from its banner.
fn demo_once(tmp: &Path, extra: &[&str]) -> PathBuf {
    let (listen, target) = (free_addr(), free_addr());
    let (l, t) = (listen.to_string(), target.to_string());
    let mut args = vec!["demo", "--listen", &l, "--target", &t];
    args.extend_from_slice(extra);
    let mut p = Proc::soakd(
        "demo",
        &args,
        tmp,
        &[("TMPDIR", tmp.to_str().expect("utf-8"))],
    );
    let state = wait_for(
        Duration::from_secs(20),
        "demo banner names its state dir",
        || {
            if let Some(s) = p.try_status() {
                p.fail(&format!("soakd demo exited early: {s}"));
            }
            p.stdout_text().lines().find_map(|l| {
                l.trim()
                    .strip_prefix("state:")
                    .map(|d| PathBuf::from(d.trim()))
            })
        },
    );
    wait_for(Duration::from_secs(20), "demo answers /healthz", || {
        http(listen, "GET", "/healthz", &[], None)
            .ok()
            .filter(|r| r.status == 200)
    });
    assert!(
        state.is_dir(),
        "state dir {state:?} exists while the demo runs"
    );
    p.signal("TERM");
    let st = p
        .wait_exit(Duration::from_secs(25))
        .unwrap_or_else(|| p.fail("demo did not stop on SIGTERM"));
    assert!(st.success(), "demo exit {st}");
    state
}

#[test]
fn each_demo_start_gets_a_fresh_state_dir_removed_on_exit() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let first = demo_once(tmp.path(), &[]);
    let second = demo_once(tmp.path(), &[]);
    assert_ne!(first, second, "two demos shared a state dir");
    for d in [&first, &second] {
        assert!(d.starts_with(tmp.path()), "{d:?} is under TMPDIR");
        assert!(!d.exists(), "{d:?} left behind after exit");
    }
}

#[test]
fn demo_state_dir_flag_keeps_state_where_asked() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let keep = tmp.path().join("my-demo");
    let used = demo_once(tmp.path(), &["--state-dir", keep.to_str().expect("utf-8")]);
    assert_eq!(used, keep);
    assert!(keep.is_dir(), "--state-dir is kept after exit");
}
