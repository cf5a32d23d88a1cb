//! Reports: a real run's HTML report renders in headless Chromium with drawn charts and no
//! console errors; Markdown has its tables; a baseline comparison fails past the limit only.

use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_soakd");

fn soakd(args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .env("SOAKD_LOG", "warn")
        .output()
        .expect("soakd runs")
}

/// Finds Chromium, installing Debian's package when missing (CI runs as root); never skips.
fn chromium() -> PathBuf {
    let find = || {
        ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
            .iter()
            .map(PathBuf::from)
            .find(|p| p.exists())
    };
    if let Some(p) = find() {
        return p;
    }
    // A fresh machine may have no package lists yet: update, then install.
    for args in [
        &["update", "-qq"][..],
        &["install", "-y", "-qq", "chromium"][..],
    ] {
        let status = Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status();
        eprintln!("apt-get {args:?}: {status:?}");
    }
    find().expect("chromium is required for the report test and could not be installed")
}

/// A real run of a few seconds against the in-process target, exported as a summary.
async fn real_summary(dir: &Path) -> PathBuf {
    let target = testbed::spawn("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let out = dir.join("summary.json");
    let url = format!("{}/delay/5", target.url());
    let (u, o) = (url.clone(), out.clone());
    let status = tokio::task::spawn_blocking(move || {
        soakd(&[
            "once",
            "--quiet",
            "--url",
            &u,
            "--rate",
            "100",
            "--duration",
            "3s",
            "--threshold",
            "http_req_duration:p(95)<250",
            "--summary-export",
            o.to_str().unwrap(),
        ])
    })
    .await
    .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    out
}

#[tokio::test]
async fn the_html_report_of_a_real_run_draws_its_charts_in_headless_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let summary = real_summary(dir.path()).await;
    let html = dir.path().join("report.html");
    let md = dir.path().join("report.md");
    let out = soakd(&[
        "report",
        summary.to_str().unwrap(),
        "--html",
        html.to_str().unwrap(),
        "--markdown",
        md.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let markdown = std::fs::read_to_string(&md).unwrap();
    assert!(
        markdown.contains("| `http_req_duration:p(95)<250` |"),
        "{markdown}"
    );

    let chrome = chromium();
    let profile = dir.path().join("profile");
    let common = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--enable-logging=stderr",
        "--v=0",
    ];
    let url = format!("file://{}", html.display());
    let dom = Command::new(&chrome)
        .args(common)
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(["--dump-dom", &url])
        .output()
        .expect("chromium runs");
    let text = String::from_utf8_lossy(&dom.stdout);
    let log = String::from_utf8_lossy(&dom.stderr);
    assert!(
        !log.contains("Uncaught") && !log.contains(":CONSOLE("),
        "console errors:\n{log}"
    );
    let lines = text.matches("<polyline class=\"series\"").count();
    assert_eq!(
        lines, 5,
        "p50, p95, p99, throughput and errors are drawn:\n{text}"
    );
    let points = text.split("points=\"").skip(1).map(|s| {
        s.split('"')
            .next()
            .unwrap_or("")
            .split(' ')
            .filter(|p| !p.is_empty())
            .count()
    });
    assert!(
        points.clone().all(|n| n >= 3),
        "every series has points: {:?}",
        points.collect::<Vec<_>>()
    );
    assert!(
        text.contains("class=\"limit\""),
        "the threshold limit is drawn"
    );

    let shot = dir.path().join("shot.png");
    let status = Command::new(&chrome)
        .args(common)
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", shot.display()))
        .args(["--window-size=900,1200", &url])
        .output()
        .expect("chromium runs");
    assert!(
        status.status.success() || shot.exists(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    assert!(
        std::fs::metadata(&shot).map(|m| m.len()).unwrap_or(0) > 10_000,
        "a drawn screenshot"
    );
}

fn with_p95(base: &serde_json::Value, factor: f64) -> serde_json::Value {
    let mut v = base.clone();
    let t = &mut v["metrics"]["response_times_ms"];
    for k in ["p95", "p99", "avg"] {
        t[k] = serde_json::json!(t[k].as_f64().unwrap() * factor);
    }
    v
}

#[tokio::test]
async fn a_baseline_comparison_fails_past_ten_percent_only() {
    let dir = tempfile::tempdir().unwrap();
    let summary = real_summary(dir.path()).await;
    let base: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&summary).unwrap()).unwrap();
    let write = |name: &str, v: &serde_json::Value| {
        let p = dir.path().join(name);
        std::fs::write(&p, serde_json::to_vec(v).unwrap()).unwrap();
        p
    };
    let b = write("base.json", &base);
    let slower9 = write("slower9.json", &with_p95(&base, 1.09));
    let slower11 = write("slower11.json", &with_p95(&base, 1.11));
    let run = |cur: &Path| {
        soakd(&[
            "report",
            cur.to_str().unwrap(),
            "--baseline",
            b.to_str().unwrap(),
        ])
        .status
        .code()
    };
    assert_eq!(run(&slower9), Some(0), "9% slower is within the 10% limit");
    assert_eq!(run(&slower11), Some(99), "11% slower is a regression");
}

#[test]
fn a_file_that_is_not_a_summary_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x.json");
    std::fs::write(&p, b"{\"hello\": 1}").unwrap();
    let out = soakd(&["report", p.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a soakd run summary"));
}
