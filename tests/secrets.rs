//! Secrets never leak (issue 8, DESIGN §4 "A secret read from env or a file never appears in
//! logs, labels or summaries").
//!
//! The daemon runs with three secrets, each a fresh random string: a bearer token read from
//! the child's environment into `defaults.headers.Authorization`, the admin token read from
//! `server.admin_token_file`, and a password from a `secret: true` data pool sent in request
//! bodies. With `SOAKD_LOG=trace` it runs a few scenarios (passing, failing and breaching),
//! answers the API (a wrong token included), and then its stderr, stdout, /metrics, every API
//! answer, every results file and the state file are searched for each secret: zero hits.

#[allow(dead_code)]
#[path = "daemon/support.rs"]
mod support;

use std::path::Path;
use std::time::Duration;

use support::{Daemon, Proc, Resp, files, free_addr, http};

fn random(prefix: &str) -> String {
    format!("{prefix}{}", uuid::Uuid::new_v4().simple())
}

fn config(dir: &Path, target: &str) -> String {
    format!(
        "server: {{ listen: \"${{LISTEN}}\", admin_token_file: \"{d}/admin-token\" }}\n\
         state_dir: \"{d}/state\"\n\
         results: {{ dir: \"{d}/results\", retention: 1d }}\n\
         safety: {{ allowed_hosts: [\"127.0.0.1\"], max_rps: 1000 }}\n\
         defaults:\n\
         \x20 timeout: 2s\n\
         \x20 headers: {{ Authorization: \"Bearer {{{{ env.SOAKD_TEST_SECRET_TOKEN }}}}\" }}\n\
         data:\n\
         \x20 creds: {{ file: creds.json, pick: round_robin, secret: true }}\n\
         scenarios:\n\
         \x20 api:\n\
         \x20   schedule: {{ continuous: true }}\n\
         \x20   target: {{ base_url: \"{target}\" }}\n\
         \x20   load: {{ executor: constant-arrival-rate, rate: 20, time_unit: 1s, duration: 1s, pre_allocated_vus: 5, max_vus: 10 }}\n\
         \x20   mix:\n\
         \x20     - {{ name: ok, request: {{ url: /ok }}, checks: [ {{ status: [200] }} ] }}\n\
         \x20     - name: login\n\
         \x20       request: {{ method: POST, url: /echo, body: {{ json: {{ user: \"{{{{ data.creds.user }}}}\", password: \"{{{{ data.creds.password }}}}\" }} }} }}\n\
         \x20       checks: [ {{ status: [200] }}, {{ body_contains: \"no-such-text\" }} ]\n\
         \x20     - {{ name: broken, request: {{ url: /status/500 }}, checks: [ {{ status: [200] }} ] }}\n\
         \x20   thresholds:\n\
         \x20     http_req_failed: [\"rate<0.01\"]\n\
         \x20     checks: [\"rate>0.99\"]\n\
         \x20   incident: {{ consecutive_breaches: 1 }}\n\
         \x20 manual_one:\n\
         \x20   target: {{ base_url: \"{target}\" }}\n\
         \x20   load: {{ executor: per-vu-iterations, vus: 2, iterations: 3 }}\n\
         \x20   mix:\n\
         \x20     - name: echo_token\n\
         \x20       request: {{ method: POST, url: /echo, body: {{ text: \"{{{{ env.SOAKD_TEST_SECRET_TOKEN }}}}\" }} }}\n\
         \x20       checks: [ {{ name: token_rendered, body_contains: \"envtok\" }} ]\n",
        d = dir.display()
    )
}

fn record(answers: &mut Vec<(String, String)>, what: &str, r: &Resp) {
    answers.push((what.to_string(), format!("{}\n{}", r.headers, r.body)));
}

#[test]
fn tokens_and_secret_data_never_appear_in_logs_metrics_results_or_api_answers() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let target = rt
        .block_on(testbed::spawn("127.0.0.1:0".parse().unwrap()))
        .expect("calibration target");

    let dir = tempfile::Builder::new()
        .prefix("soakd-secrets-")
        .tempdir()
        .expect("tempdir");
    let env_token = random("envtok");
    let admin_token = random("admtok");
    let password = random("pw");
    let secrets = [
        ("env token", env_token.as_str()),
        ("admin token", admin_token.as_str()),
        ("secret pool password", password.as_str()),
    ];
    std::fs::write(dir.path().join("admin-token"), format!("{admin_token}\n")).expect("token");
    std::fs::write(
        dir.path().join("creds.json"),
        format!(r#"[{{"user":"alice","password":"{password}"}},{{"user":"bob","password":"{password}"}}]"#),
    )
    .expect("creds");

    // `soakd check` prints the plan: no secret there either.
    let cfg = config(dir.path(), &target.url());
    let cfg_path = dir.path().join("check.yaml");
    std::fs::write(
        &cfg_path,
        cfg.replace("${LISTEN}", &free_addr().to_string()),
    )
    .expect("cfg");
    let mut check = Proc::soakd(
        "check",
        &["check", "--config", cfg_path.to_str().expect("utf-8")],
        dir.path(),
        &[
            ("SOAKD_LOG", "trace"),
            ("SOAKD_TEST_SECRET_TOKEN", env_token.as_str()),
        ],
    );
    let status = check
        .wait_exit(Duration::from_secs(20))
        .expect("check exits");
    assert!(status.success(), "check: {}", check.stdout_text());

    // The daemon, with the env token on the child only and every log level on.
    let addr = free_addr();
    let path = dir.path().join("soakd.yaml");
    std::fs::write(&path, cfg.replace("${LISTEN}", &addr.to_string())).expect("cfg");
    let proc = Proc::soakd(
        "daemon",
        &["run", "--config", path.to_str().expect("utf-8")],
        dir.path(),
        &[
            ("SOAKD_LOG", "trace"),
            ("SOAKD_TEST_SECRET_TOKEN", env_token.as_str()),
        ],
    );
    let d = Daemon {
        proc,
        addr,
        config: path,
    };
    d.wait(Duration::from_secs(20), "/healthz", || {
        http(addr, "GET", "/healthz", &[], None)
            .ok()
            .filter(|r| r.status == 200)
    });

    let mut answers = Vec::new();
    let good = format!("Bearer {admin_token}");
    let wrong = format!("Bearer {}", random("wrong"));
    // Almost the admin token: a prefix, as a timing or echo bug would show.
    let near = format!("Bearer {}", &admin_token[..admin_token.len() - 1]);
    for (what, auth) in [("good", &good), ("wrong", &wrong), ("near", &near)] {
        let r = http(
            addr,
            "POST",
            "/api/v1/scenarios/manual_one/runs",
            &[("Authorization", auth)],
            Some(""),
        )
        .expect("POST run");
        if what == "good" {
            assert!(r.status < 300, "{r:?}");
        } else {
            assert_eq!(r.status, 401, "{what} token: {r:?}");
        }
        record(&mut answers, &format!("POST run ({what} token)"), &r);
    }
    let r = http(
        addr,
        "DELETE",
        "/api/v1/runs/does-not-exist",
        &[("Authorization", &wrong)],
        None,
    )
    .expect("DELETE");
    record(&mut answers, "DELETE run (wrong token)", &r);

    // A few judged runs of the continuous scenario, and the manual one.
    d.wait(
        Duration::from_secs(30),
        "3 runs of api and 1 of manual_one",
        || {
            let m = d.metrics();
            (m.sum("soakd_runs_total", &[("scenario", "api")]) >= 3.0
                && m.sum("soakd_runs_total", &[("scenario", "manual_one")]) >= 1.0)
                .then_some(())
        },
    );
    assert!(target.stats().ok > 0, "the target saw no request");
    // Positive control: the env token was rendered and sent (the target echoed it back).
    let m = d.metrics();
    assert!(
        m.sum(
            "soakd_checks_total",
            &[
                ("scenario", "manual_one"),
                ("check", "token_rendered"),
                ("result", "pass")
            ]
        ) >= 6.0,
        "the env token was not rendered into the request"
    );

    for p in [
        "/healthz",
        "/readyz",
        "/metrics",
        "/api/v1/scenarios",
        "/api/v1/runs?limit=100",
        "/api/v1/runs?scenario=api&limit=5",
        "/api/v1/runs/not-a-run",
        "/api/v1/nope",
    ] {
        let r = d.get(p);
        record(&mut answers, &format!("GET {p}"), &r);
    }
    let runs = d.get("/api/v1/runs?limit=100").json();
    let ids: Vec<String> = runs["runs"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|r| r["run_id"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    assert!(ids.len() >= 4, "{runs}");
    for id in &ids {
        let r = d.get(&format!("/api/v1/runs/{id}"));
        assert_eq!(r.status, 200, "{r:?}");
        record(&mut answers, &format!("GET run {id}"), &r);
    }
    // Graceful stop, so everything the daemon logs on the way out is searched too.
    let mut d = d;
    d.proc.signal("TERM");
    d.proc.wait_exit(Duration::from_secs(20));

    let mut haystacks: Vec<(String, String)> = answers;
    haystacks.push(("daemon stderr".into(), d.proc.stderr_text()));
    haystacks.push(("daemon stdout".into(), d.proc.stdout_text()));
    haystacks.push(("check stderr".into(), check.stderr_text()));
    haystacks.push(("check stdout".into(), check.stdout_text()));
    let mut result_files = 0;
    for p in files(&dir.path().join("results"))
        .into_iter()
        .chain(files(&dir.path().join("state")))
    {
        result_files += 1;
        let text = String::from_utf8_lossy(&std::fs::read(&p).expect("read")).into_owned();
        haystacks.push((p.display().to_string(), text));
    }
    let log_bytes = d.proc.stderr_text().len();
    assert!(
        d.proc.stderr_text().contains("TRACE") || d.proc.stderr_text().contains("trace"),
        "stderr has no trace lines; SOAKD_LOG=trace was not in effect"
    );

    let mut hits = Vec::new();
    for (name, secret) in secrets {
        for (where_, text) in &haystacks {
            if let Some(at) = text.find(secret) {
                let from = at.saturating_sub(120);
                let to = (at + secret.len() + 40).min(text.len());
                hits.push(format!(
                    "{name} found in {where_}: …{}…",
                    text.get(from..to).unwrap_or("?")
                ));
            }
        }
    }
    eprintln!(
        "secrets: searched {} places ({} KiB of trace log, {result_files} results/state files, {} API answers) for 3 secrets: {} hits",
        haystacks.len(),
        log_bytes / 1024,
        ids.len() + 15,
        hits.len()
    );
    assert!(hits.is_empty(), "\n{}", hits.join("\n"));
}
