//! The one child-process harness of the tests: real programs (soakd, the target, Prometheus,
//! Alertmanager, moto) started as direct children of the test, their output in log files, none
//! of the developer's `SOAKD_*` overrides inherited, and each held by a [`Proc`] guard that
//! SIGKILLs exactly its own PID on drop (also when the test panics). Signals go through
//! `kill -SIG PID` to that PID only; nothing is ever killed by name.
//!
//! It depends on `std` only, so every test binary includes it (`mod common;`, or
//! `#[path = "../common/process.rs"]` from tests/daemon).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The soakd binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_soakd");

/// A command for `bin ARGS…`: stdin closed, stdout into `stdout`, stderr into `stderr` (one
/// file when both paths are the same), run in `dir` when given, without any `SOAKD_*`
/// variable of the environment the tests run in (config overrides, `SOAKD_SHARD`, …).
pub fn command(
    bin: &Path,
    args: &[String],
    dir: Option<&Path>,
    stdout: &Path,
    stderr: &Path,
) -> Command {
    let out = std::fs::File::create(stdout).expect("create stdout log");
    let err = if stderr == stdout {
        out.try_clone().expect("clone log handle")
    } else {
        std::fs::File::create(stderr).expect("create stderr log")
    };
    let mut cmd = Command::new(bin);
    cmd.args(args).stdin(Stdio::null()).stdout(out).stderr(err);
    if let Some(dir) = dir {
        cmd.current_dir(dir);
    }
    for (k, _) in std::env::vars() {
        if k.starts_with("SOAKD") {
            cmd.env_remove(k);
        }
    }
    cmd
}

/// [`command`] run in `dir` with stdout and stderr both into `log`.
pub fn logged_command(bin: &Path, args: &[String], dir: &Path, log: &Path) -> Command {
    command(bin, args, Some(dir), log, log)
}

/// A child process killed (SIGKILL, this PID only) when the guard drops.
pub struct Proc {
    child: Child,
    pub name: String,
    pub stderr: PathBuf,
    pub stdout: PathBuf,
    status: Option<ExitStatus>,
}

impl Proc {
    /// Starts `soakd ARGS…` with stdout/stderr captured into `logs/NAME.{out,err}`.
    pub fn soakd(name: &str, args: &[&str], logs: &Path, env: &[(&str, &str)]) -> Proc {
        let mut env = env.to_vec();
        env.insert(0, ("SOAKD_LOG", "info"));
        Self::program(name, Path::new(BIN), args, logs, &env)
    }

    /// Starts any `program ARGS…` (a test server such as moto) the same way.
    pub fn program(
        name: &str,
        program: &Path,
        args: &[&str],
        logs: &Path,
        env: &[(&str, &str)],
    ) -> Proc {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let stdout = logs.join(format!("{name}.out"));
        let stderr = logs.join(format!("{name}.err"));
        let mut cmd = command(program, &args, None, &stdout, &stderr);
        cmd.envs(env.iter().copied());
        Self::spawn(name, cmd, stdout, stderr)
            .unwrap_or_else(|e| panic!("spawn {} {args:?}: {e}", program.display()))
    }

    /// Spawns a prepared [`command`] whose output goes to `stdout` and `stderr`.
    pub fn spawn(
        name: &str,
        mut cmd: Command,
        stdout: PathBuf,
        stderr: PathBuf,
    ) -> std::io::Result<Proc> {
        Ok(Proc {
            child: cmd.spawn()?,
            name: name.to_string(),
            stderr,
            stdout,
            status: None,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends `sig` (e.g. "TERM", "HUP", "KILL") to this child only.
    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.pid().to_string())
            .status()
            .expect("run kill")
            .success();
        assert!(ok, "kill -{sig} {} failed", self.pid());
    }

    /// The exit status if the child has exited.
    pub fn try_status(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().expect("try_wait");
        }
        self.status
    }

    /// Waits for the child to exit, at most `limit`.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let end = Instant::now() + limit;
        loop {
            if let Some(s) = self.try_status() {
                return Some(s);
            }
            if Instant::now() >= end {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL and reap (what a crash looks like to the daemon).
    pub fn kill(&mut self) {
        if self.try_status().is_none() {
            let _ = self.child.kill();
            self.status = self.child.wait().ok();
        }
    }

    pub fn stderr_text(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    pub fn stdout_text(&self) -> String {
        std::fs::read_to_string(&self.stdout).unwrap_or_default()
    }

    /// Panics with the child's logs attached.
    pub fn fail(&self, msg: &str) -> ! {
        panic!(
            "{msg}\n--- {} stdout ---\n{}\n--- {} stderr (tail) ---\n{}",
            self.name,
            self.stdout_text(),
            self.name,
            tail(&self.stderr_text(), 60)
        );
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The last `n` lines of `s`.
pub fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
