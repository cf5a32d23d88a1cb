//! soakd's own saturation: the standard `process_*` families (as client_golang names them), read
//! from /proc at scrape time. A load generator that runs out of CPU or file descriptors skews
//! every latency it reports, so these must sit beside the latency families. Scrapes are encoded
//! on a blocking thread (`server::metrics`), so the /proc reads never run on an async worker.
//! Off Linux the files are missing and the series stay at 0.

use super::families::F64Gauge;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

/// Linux reports /proc times in USER_HZ ticks, 100 per second on every mainstream architecture.
const TICKS_PER_SECOND: f64 = 100.0;

#[derive(Clone, Debug, Default)]
pub struct ProcessFamilies {
    cpu: Counter<f64, AtomicU64>,
    /// CPU seconds already added to `cpu` (the counter only moves forward).
    cpu_seen: Arc<Mutex<f64>>,
    rss: Gauge,
    virtual_memory: Gauge,
    open_fds: Gauge,
    max_fds: Gauge,
    start_time: F64Gauge,
}

impl ProcessFamilies {
    pub fn register(&self, r: &mut Registry) {
        r.register(
            "process_cpu_seconds",
            "Total user and system CPU time spent in seconds",
            self.cpu.clone(),
        );
        r.register(
            "process_resident_memory_bytes",
            "Resident memory size in bytes",
            self.rss.clone(),
        );
        r.register(
            "process_virtual_memory_bytes",
            "Virtual memory size in bytes",
            self.virtual_memory.clone(),
        );
        r.register(
            "process_open_fds",
            "Number of open file descriptors",
            self.open_fds.clone(),
        );
        r.register(
            "process_max_fds",
            "Maximum number of open file descriptors",
            self.max_fds.clone(),
        );
        r.register(
            "process_start_time_seconds",
            "Start time of the process since unix epoch in seconds",
            self.start_time.clone(),
        );
        if let Some(start) = start_time() {
            self.start_time.set(start);
        }
        self.refresh();
    }

    /// Reads /proc/self once (a few small files); called before each exposition.
    pub fn refresh(&self) {
        if let Some(stat) = read("/proc/self/stat").and_then(|s| stat_fields(&s)) {
            let cpu = (stat.utime + stat.stime) / TICKS_PER_SECOND;
            let mut seen = self.cpu_seen.lock().unwrap_or_else(|p| p.into_inner());
            if cpu > *seen {
                self.cpu.inc_by(cpu - *seen);
                *seen = cpu;
            }
            self.virtual_memory.set(stat.vsize as i64);
        }
        if let Some(kb) = read("/proc/self/status").and_then(|s| status_kb(&s, "VmRSS:")) {
            self.rss.set((kb * 1024) as i64);
        }
        if let Ok(dir) = std::fs::read_dir("/proc/self/fd") {
            self.open_fds.set(dir.count() as i64);
        }
        if let Some(max) = read("/proc/self/limits").and_then(|s| max_open_files(&s)) {
            self.max_fds.set(max as i64);
        }
    }
}

fn read(path: &str) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

struct Stat {
    utime: f64,
    stime: f64,
    starttime: f64,
    vsize: u64,
}

/// Fields of /proc/self/stat after the `(comm)` (which may hold spaces): utime and stime are
/// fields 14 and 15, starttime 22 and vsize 23 (1-based, proc(5)).
fn stat_fields(s: &str) -> Option<Stat> {
    let rest = &s[s.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state).
    let field = |n: usize| f.get(n - 3).copied();
    Some(Stat {
        utime: field(14)?.parse().ok()?,
        stime: field(15)?.parse().ok()?,
        starttime: field(22)?.parse().ok()?,
        vsize: field(23)?.parse().ok()?,
    })
}

fn status_kb(s: &str, key: &str) -> Option<u64> {
    let line = s.lines().find(|l| l.starts_with(key))?;
    line[key.len()..].split_whitespace().next()?.parse().ok()
}

fn max_open_files(s: &str) -> Option<u64> {
    let line = s.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Boot time (`btime` of /proc/stat) plus the process' start in ticks since boot.
fn start_time() -> Option<f64> {
    let btime: f64 = read("/proc/stat")?
        .lines()
        .find_map(|l| l.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()?;
    let stat = stat_fields(&read("/proc/self/stat")?)?;
    Some(btime + stat.starttime / TICKS_PER_SECOND)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_survive_a_command_name_with_spaces_and_parens() {
        let line = "42 (soak d) x) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 8 0 12345 987654 321 18446744073709551615";
        let s = stat_fields(line).expect("parses");
        assert_eq!(
            (s.utime, s.stime, s.starttime, s.vsize),
            (250.0, 50.0, 12345.0, 987654)
        );
    }

    #[test]
    fn this_process_has_a_start_time_and_open_fds() {
        let p = ProcessFamilies::default();
        p.register(&mut Registry::default());
        assert!(p.start_time.get() > 1.6e9, "{}", p.start_time.get());
        assert!(p.open_fds.get() >= 3 && p.rss.get() > 0);
    }
}
