//! The child processes of one test, its temp dir, clock and webhook: [`Stack`]. Children are
//! the shared `common::process::Proc` guards: killed by their own PID when the stack drops
//! (also when the test panics), never by name.

use super::webhook::Webhook;
use crate::common::process::{Proc, logged_command};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const POLL: Duration = Duration::from_millis(100);

/// Children (the shared [`Proc`] guard, stdout and stderr in one log), killed and reaped in
/// reverse start order on drop.
#[derive(Default)]
pub struct Procs(pub Vec<Proc>);

impl Drop for Procs {
    fn drop(&mut self) {
        while let Some(mut p) = self.0.pop() {
            p.kill();
        }
    }
}

pub fn free_port() -> u16 {
    crate::common::wire::free_addr().port()
}

pub struct Stack {
    // Field order is drop order: children die before their temp dir is removed.
    pub procs: Procs,
    /// Logs of children the test killed on purpose (still dumped on failure).
    retired: Vec<(String, u32, PathBuf)>,
    pub webhook: Webhook,
    pub dir: tempfile::TempDir,
    pub start: Instant,
    budget: Duration,
    tag: &'static str,
}

impl Stack {
    /// A stack for the test `tag` (the prefix of its log lines) that must end within `budget`.
    pub fn new(tag: &'static str, budget: Duration) -> Stack {
        Stack {
            procs: Procs::default(),
            retired: Vec::new(),
            webhook: Webhook::start(tag),
            dir: tempfile::tempdir().expect("tempdir"),
            start: Instant::now(),
            budget,
            tag,
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Starts `bin` in the temp dir, output into `<name>.log` (`<name>.<n>.log` when started
    /// again), without the developer's `SOAKD_*` variables, with `envs`. Returns its PID.
    pub fn spawn(&mut self, name: &str, bin: &Path, args: &[String], envs: &[(&str, &str)]) -> u32 {
        let again = self.retired.iter().filter(|(n, ..)| n == name).count();
        let file = match again {
            0 => format!("{name}.log"),
            n => format!("{name}.{n}.log"),
        };
        let log = self.path().join(file);
        let mut cmd = logged_command(bin, args, self.path(), &log);
        cmd.envs(envs.iter().copied());
        let child = Proc::spawn(name, cmd, log.clone(), log).unwrap_or_else(|e| {
            self.fail(&format!("cannot start {name} ({}): {e}", bin.display()))
        });
        let pid = child.pid();
        self.note(&format!(
            "started {name} pid {pid} ({} {})",
            bin.display(),
            args.join(" ")
        ));
        self.procs.0.push(child);
        pid
    }

    /// Kills the child `name` by its PID (SIGKILL, no graceful stop) and reaps it.
    pub fn kill(&mut self, name: &str) -> u32 {
        let Some(i) = self.procs.0.iter().position(|p| p.name == name) else {
            self.fail(&format!("no running child {name} to kill"))
        };
        let mut p = self.procs.0.remove(i);
        let pid = p.pid();
        p.kill();
        self.note(&format!("killed {name} pid {pid}"));
        self.retired.push((p.name.clone(), pid, p.stdout.clone()));
        pid
    }

    /// Seconds since the test started.
    pub fn t(&self) -> f64 {
        self.start.elapsed().as_secs_f64()
    }

    /// A progress line on stderr: `tag: [  12.3s] msg`.
    pub fn note(&self, msg: &str) {
        eprintln!("{}: [{:5.1}s] {msg}", self.tag, self.t());
    }

    /// Fails the test with the child logs (tails) and everything the webhook received.
    pub fn fail(&self, msg: &str) -> ! {
        let mut dump = String::new();
        let logs = self
            .retired
            .iter()
            .map(|(n, pid, log)| (n.as_str(), *pid, log))
            .chain(
                self.procs
                    .0
                    .iter()
                    .map(|p| (p.name.as_str(), p.pid(), &p.stdout)),
            );
        for (name, pid, log) in logs {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let tail = lines[lines.len().saturating_sub(60)..].join("\n");
            dump.push_str(&format!(
                "\n----- {name} (pid {pid}) log tail {} -----\n{tail}\n",
                log.display()
            ));
        }
        let hooks: Vec<String> = self
            .webhook
            .notifications()
            .iter()
            .map(|n| {
                format!(
                    "  +{:.1}s {} {}",
                    n.at.duration_since(self.start).as_secs_f64(),
                    n.path,
                    n.body
                )
            })
            .collect();
        panic!(
            "{} e2e failed at {:.1}s: {msg}\n----- webhook notifications -----\n{}\n{dump}",
            self.tag,
            self.t(),
            hooks.join("\n")
        );
    }

    /// Fails if a child exited while the test was waiting for `what`.
    fn check_children(&mut self, what: &str) {
        let exited: Vec<String> = self
            .procs
            .0
            .iter_mut()
            .filter_map(|p| {
                p.try_status()
                    .map(|st| format!("{} exited with {st}", p.name))
            })
            .collect();
        if !exited.is_empty() {
            self.fail(&format!("while waiting for {what}: {}", exited.join(", ")));
        }
    }
}

/// A test's own state around its [`Stack`]: gives it `wait`, `fail` and `t`, so that a wait's
/// condition can use the test's helpers (`|h| h.daemon_gauge(..)`).
pub trait Harness: Sized {
    fn stack(&self) -> &Stack;
    fn stack_mut(&mut self) -> &mut Stack;

    fn t(&self) -> f64 {
        self.stack().t()
    }

    fn fail(&self, msg: &str) -> ! {
        self.stack().fail(msg)
    }

    /// Polls `f` until it returns Some, a child exits, or `timeout` (bounded by the test budget).
    fn wait<T>(
        &mut self,
        what: &str,
        timeout: Duration,
        mut f: impl FnMut(&Self) -> Option<T>,
    ) -> T {
        let s = self.stack();
        let deadline = (Instant::now() + timeout).min(s.start + s.budget);
        loop {
            if let Some(v) = f(self) {
                return v;
            }
            self.stack_mut().check_children(what);
            if Instant::now() >= deadline {
                self.fail(&format!("timed out waiting for {what} ({timeout:?})"));
            }
            std::thread::sleep(POLL);
        }
    }

    /// Fails unless `f` holds on every poll for `period` (a "nothing happens" check); returns
    /// how many times it was checked.
    fn hold(
        &mut self,
        what: &str,
        period: Duration,
        mut f: impl FnMut(&Self) -> Result<(), String>,
    ) -> usize {
        let end = Instant::now() + period;
        let mut checks = 0;
        while Instant::now() < end {
            if let Err(e) = f(self) {
                self.fail(&format!("{what}: {e}"));
            }
            checks += 1;
            self.stack_mut().check_children(what);
            std::thread::sleep(POLL);
        }
        checks
    }
}

/// Implements [`Harness`] for a test's struct that holds its [`Stack`] in a field `stack`.
macro_rules! harness_with_stack {
    ($t:ty) => {
        impl $crate::e2e::Harness for $t {
            fn stack(&self) -> &$crate::e2e::Stack {
                &self.stack
            }
            fn stack_mut(&mut self) -> &mut $crate::e2e::Stack {
                &mut self.stack
            }
        }
    };
}
pub(crate) use harness_with_stack;

impl Harness for Stack {
    fn stack(&self) -> &Stack {
        self
    }
    fn stack_mut(&mut self) -> &mut Stack {
        self
    }
}
