//! The daemon's human side: the status page at `/` links each scenario's last run to its HTML
//! report, served at `/api/v1/runs/{id}/report.html` and written beside the summary.

#[path = "daemon/support.rs"]
#[allow(dead_code)]
mod support;

use std::time::Duration;
use support::*;

#[test]
fn the_status_page_links_the_last_run_to_its_html_report() {
    let dir = tempfile::tempdir().unwrap();
    let target = Target::start(dir.path());
    let config = format!(
        "{}scenarios:\n  page_demo:\n    schedule: {{ continuous: true }}\n    target: {{ base_url: \"{}\" }}\n    load: {{ executor: constant-arrival-rate, rate: 20, duration: 1s, pre_allocated_vus: 2 }}\n    mix: [ {{ name: ok, request: {{ url: /ok }} }} ]\n    thresholds: {{ http_req_duration: [\"p(95)<250\"] }}\n",
        config_head(dir.path(), ""),
        target.url()
    );
    let d = Daemon::start(dir.path(), "status", &config);
    let run_id = d.wait(Duration::from_secs(20), "a finished run", || {
        let runs = d.get("/api/v1/runs?scenario=page_demo&limit=1").json();
        runs["runs"][0]["run_id"].as_str().map(str::to_string)
    });
    let page = d.get("/");
    assert_eq!(page.status, 200);
    assert!(
        page.headers
            .to_ascii_lowercase()
            .contains("content-type: text/html"),
        "{}",
        page.headers
    );
    assert!(
        page.body.contains("page_demo") && page.body.contains("continuous"),
        "{}",
        page.body
    );
    let link = "/api/v1/runs/";
    assert!(
        page.body.contains(link) && page.body.contains("/report.html"),
        "{}",
        page.body
    );

    let report = d.get(&format!("/api/v1/runs/{run_id}/report.html"));
    assert_eq!(report.status, 200);
    assert!(
        report.body.contains("<svg") && report.body.contains("page_demo"),
        "{}",
        report.body
    );
    assert!(
        report.body.contains("http_req_duration:p(95)&lt;250"),
        "thresholds are listed, escaped"
    );
    assert_eq!(d.get("/api/v1/runs/nope/report.html").status, 404);
    assert_eq!(d.get("/api/v1/runs/..%2F..%2Fetc/report.html").status, 400);

    let html_files = files(&dir.path().join("results"))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|x| x == "html"))
        .count();
    assert!(html_files >= 1, "a report is written beside each summary");
}
