//! tests/object_store.rs — why this exists: seed 000 keeps its run results in an S3 bucket with
//! 180-day retention, so `results.object_store` must really land them there, keep doing so
//! through an outage of the bucket without holding up a single run, and prune the bucket by
//! retention (issue 16, item 5).
//!
//! The bucket is moto's S3 server (`moto_server`, PyPI `moto[server]`) as a plain child process
//! on a free 127.0.0.1 port; soakd signs with keys read from files, as a Kubernetes Secret mount
//! would provide them. The test talks to moto with raw path-style HTTP (moto accepts unsigned
//! requests) to create the bucket, seed an expired object and list what arrived.

#[path = "daemon/support.rs"]
#[allow(dead_code)]
mod support;
#[path = "tools/mod.rs"]
#[allow(dead_code)]
mod tools;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use support::{Daemon, Proc, Target, files, free_addr, http, wait_for};

const BUCKET: &str = "soakd-results";
const PREFIX: &str = "nightly";
const SECRET: &str = "moto-secret-key-7f3a9c";

/// moto's S3 server on `addr`, with the bucket created.
fn start_moto(addr: SocketAddr, logs: &Path, name: &str) -> Proc {
    let moto = tools::installed("moto_server");
    let port = addr.port().to_string();
    let proc = Proc::program(name, &moto, &["-H", "127.0.0.1", "-p", &port], logs, &[]);
    wait_for(Duration::from_secs(30), "moto answers", || {
        http(addr, "PUT", &format!("/{BUCKET}"), &[], None)
            .ok()
            .filter(|r| r.status == 200)
    });
    proc
}

/// Keys under `prefix` in the bucket (one page: the test stays far below 1,000 objects).
fn keys(moto: SocketAddr, prefix: &str) -> BTreeSet<String> {
    let path = format!("/{BUCKET}?list-type=2&prefix={prefix}");
    let Ok(r) = http(moto, "GET", &path, &[], None) else {
        return BTreeSet::new();
    };
    assert_eq!(r.status, 200, "list: {r:?}");
    r.body
        .split("<Key>")
        .skip(1)
        .filter_map(|s| s.split_once("</Key>").map(|(k, _)| k.to_string()))
        .collect()
}

/// The ETag (MD5 of the content, for a single PUT) of one object, from a listing.
fn etag(moto: SocketAddr, key: &str) -> String {
    let r = http(
        moto,
        "GET",
        &format!("/{BUCKET}?list-type=2&prefix={key}"),
        &[],
        None,
    )
    .unwrap();
    let tag = r
        .body
        .split("<ETag>")
        .nth(1)
        .and_then(|s| s.split_once("</ETag>"));
    let tag = tag
        .unwrap_or_else(|| panic!("no ETag for {key}: {}", r.body))
        .0;
    tag.replace("&#34;", "")
        .replace("&quot;", "")
        .trim_matches('"')
        .to_string()
}

/// `nightly/<day>/<file>` for a local `results/<day>/<file>`.
fn key_of(results: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(results).expect("under results");
    format!(
        "{PREFIX}/{}",
        rel.to_str().expect("utf-8").replace('\\', "/")
    )
}

/// Finished result files (no temp files) under `results`, with their modification times.
fn local_results(results: &Path) -> Vec<(PathBuf, SystemTime)> {
    files(results)
        .into_iter()
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or(".");
            !name.starts_with('.')
        })
        .filter_map(|p| Some((p.clone(), std::fs::metadata(&p).ok()?.modified().ok()?)))
        .collect()
}

fn config(dir: &Path, moto: SocketAddr, target: &str) -> String {
    let d = dir.display();
    std::fs::write(dir.join("access_key_id"), "moto-access-key\n").unwrap();
    std::fs::write(dir.join("secret_access_key"), format!("{SECRET}\n")).unwrap();
    format!(
        "server: {{ listen: \"${{LISTEN}}\" }}\n\
         state_dir: \"{d}/state\"\n\
         results:\n\
         \x20 dir: \"{d}/results\"\n\
         \x20 retention: 30d\n\
         \x20 object_store:\n\
         \x20   url: s3://{BUCKET}/{PREFIX}\n\
         \x20   endpoint: http://{moto}\n\
         \x20   region: eu-west-1\n\
         \x20   access_key_id_file: \"{d}/access_key_id\"\n\
         \x20   secret_access_key_file: \"{d}/secret_access_key\"\n\
         safety: {{ allowed_hosts: [\"127.0.0.1\"], max_rps: 1000 }}\n\
         scenarios:\n\
         \x20 nightly:\n\
         \x20   schedule: {{ continuous: true }}\n\
         \x20   target: {{ base_url: \"{target}\" }}\n\
         \x20   load: {{ executor: constant-arrival-rate, rate: 10, time_unit: 1s, duration: 1s, pre_allocated_vus: 2, max_vus: 4 }}\n\
         \x20   mix:\n\
         \x20     - {{ name: ok, request: {{ url: /ok }} }}\n\
         \x20   thresholds:\n\
         \x20     http_req_failed: [\"rate<0.01\"]\n"
    )
}

fn counter(d: &Daemon, name: &str, labels: &[(&str, &str)]) -> f64 {
    d.metrics().value(name, labels).unwrap_or(0.0)
}

#[test]
fn results_land_in_the_bucket_survive_its_outage_and_are_pruned_by_retention() {
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("results");
    let target = Target::start(dir.path());
    let moto_addr = free_addr();
    let moto = start_moto(moto_addr, dir.path(), "moto1");
    // An object of a day long past the 30-day retention, from an earlier deployment.
    let expired = format!("{PREFIX}/2020-01-01/nightly-old.json");
    let put = http(
        moto_addr,
        "PUT",
        &format!("/{BUCKET}/{expired}"),
        &[],
        Some("{}"),
    )
    .unwrap();
    assert_eq!(put.status, 200, "{put:?}");

    let d = Daemon::start(
        dir.path(),
        "soakd",
        &config(dir.path(), moto_addr, &target.url()),
    );

    // 1. Summaries and reports arrive, byte for byte; the expired day is pruned.
    let uploaded = d.wait(
        Duration::from_secs(60),
        "two runs' files in the bucket",
        || {
            let remote = keys(moto_addr, PREFIX);
            let local = local_results(&results);
            let both = local
                .iter()
                .filter(|(p, _)| remote.contains(&key_of(&results, p)))
                .count();
            (both >= 4 && !remote.contains(&expired)).then_some(local)
        },
    );
    let (summary, _) = uploaded
        .iter()
        .find(|(p, _)| {
            p.extension().is_some_and(|e| e == "json")
                && keys(moto_addr, PREFIX).contains(&key_of(&results, p))
        })
        .expect("an uploaded summary");
    let etag = etag(moto_addr, &key_of(&results, summary));
    let md5 = tools::run_ok(std::process::Command::new("md5sum").arg(summary));
    assert_eq!(
        etag,
        md5.split_whitespace().next().unwrap(),
        "the object is the local summary, byte for byte"
    );
    assert!(
        keys(moto_addr, PREFIX).iter().any(|k| k.ends_with(".html")),
        "reports are uploaded too"
    );
    assert!(counter(&d, "soakd_results_pruned_objects_total", &[]) >= 1.0);
    assert_eq!(
        counter(
            &d,
            "soakd_results_upload_failures_total",
            &[("reason", "put")]
        ),
        0.0
    );

    // 2. The bucket goes away: attempts fail and are counted, runs go on regardless.
    drop(moto);
    let down_at = SystemTime::now();
    let runs_before = counter(
        &d,
        "soakd_runs_total",
        &[("scenario", "nightly"), ("result", "pass")],
    );
    d.wait(
        Duration::from_secs(30),
        "failed uploads counted while moto is down",
        || {
            (counter(
                &d,
                "soakd_results_upload_failures_total",
                &[("reason", "put")],
            ) >= 2.0
                && counter(&d, "soakd_results_upload_pending", &[]) >= 1.0)
                .then_some(())
        },
    );
    d.wait(
        Duration::from_secs(30),
        "runs continue during the outage",
        || {
            (counter(
                &d,
                "soakd_runs_total",
                &[("scenario", "nightly"), ("result", "pass")],
            ) >= runs_before + 2.0)
                .then_some(())
        },
    );

    // 3. The bucket is back (empty: moto keeps nothing): everything written since the outage
    //    began arrives, from the retried queue.
    let _moto = start_moto(moto_addr, dir.path(), "moto2");
    d.wait(
        Duration::from_secs(90),
        "the backlog uploaded after the outage",
        || {
            let remote = keys(moto_addr, PREFIX);
            let written_since: Vec<String> = local_results(&results)
                .into_iter()
                .filter(|(_, t)| *t >= down_at)
                .map(|(p, _)| key_of(&results, &p))
                .collect();
            (written_since.len() >= 2 && written_since.iter().all(|k| remote.contains(k)))
                .then_some(())
        },
    );
    assert!(counter(&d, "soakd_results_uploads_total", &[]) >= 6.0);

    // The secret key was never logged.
    let log = d.proc.stderr_text() + &d.proc.stdout_text();
    assert!(
        !log.contains(SECRET),
        "the secret access key appears in the daemon log"
    );
    assert!(
        log.contains("results upload failed; retrying"),
        "the outage is logged"
    );
}
