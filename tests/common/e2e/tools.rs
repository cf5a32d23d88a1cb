//! External programs of the end-to-end tests: found where tests/tools finds them, else
//! installed once by scripts/install-test-tools.sh (bounded by a timeout), else the test fails
//! loudly with the installer's output — never a silent skip. One of several names may do
//! (Debian's `prometheus-alertmanager` is upstream's `alertmanager`).

use crate::tools::find;
use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

const INSTALL_TIMEOUT: Duration = Duration::from_secs(900);

pub use crate::tools::root;

pub fn soakd_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_soakd"))
}

fn find_any(names: &[&str]) -> Option<PathBuf> {
    names.iter().find_map(|n| find(n))
}

static INSTALL: Once = Once::new();
static INSTALL_LOG: Mutex<String> = Mutex::new(String::new());

/// Path of the first of `names` found; runs the installer once if none is, then fails loudly.
pub fn tool(names: &[&str]) -> PathBuf {
    if let Some(p) = find_any(names) {
        return p;
    }
    INSTALL.call_once(|| {
        let script = root().join("scripts/install-test-tools.sh");
        eprintln!("e2e: {names:?} missing, running {}", script.display());
        let mut child = Command::new("bash")
            .arg(&script)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start install-test-tools.sh");
        let start = Instant::now();
        let status = loop {
            if let Some(st) = child.try_wait().expect("wait installer") {
                break Some(st);
            }
            if start.elapsed() > INSTALL_TIMEOUT {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        let mut out = String::new();
        let mut err = String::new();
        let _ = child.stdout.take().unwrap().read_to_string(&mut out);
        let _ = child.stderr.take().unwrap().read_to_string(&mut err);
        let log = format!("exit {status:?}\nstdout:\n{out}\nstderr:\n{err}");
        eprintln!("e2e: installer finished: {log}");
        *INSTALL_LOG.lock().unwrap() = log;
    });
    find_any(names).unwrap_or_else(|| {
        panic!(
            "required tool {names:?} not found in PATH, /usr/local/bin or ~/.local/bin even after \
             scripts/install-test-tools.sh; installer output:\n{}",
            INSTALL_LOG.lock().unwrap()
        )
    })
}
