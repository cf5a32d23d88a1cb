//! The commands quoted in the headers of `config/examples/*.yaml` work as written: each parses
//! with soakd's real command line (no invented flag such as `--scenario`), points `--config` at
//! the file it is written in, and names a scenario that file defines.

use clap::Parser;
use soakd_cli::cli::{Cli, Command};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `(line number, argv)` of every command line in the file's comments: an indented comment
/// (`#   …`) whose first word after env assignments is `soakd`; `\` continues a line.
fn commands(text: &str) -> Vec<(usize, Vec<String>)> {
    let mut out = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (i, line) in text.lines().enumerate() {
        let Some(body) = line.strip_prefix("#   ") else {
            continue;
        };
        let body = body.split(" # ").next().unwrap_or("").trim();
        let (n, joined) = match pending.take() {
            Some((n, head)) => (n, format!("{head} {body}")),
            None => (i + 1, body.to_string()),
        };
        if let Some(head) = joined.strip_suffix('\\') {
            pending = Some((n, head.trim().to_string()));
            continue;
        }
        let words: Vec<String> = joined
            .split_whitespace()
            .skip_while(|w| w.contains('=') && !w.starts_with('-'))
            .map(str::to_string)
            .collect();
        if words.first().is_some_and(|w| w == "soakd") && words.last().is_none_or(|w| w != "&") {
            out.push((n, words));
        }
    }
    out
}

fn scenarios(file: &Path) -> Vec<String> {
    let loaded =
        soakd::config::load_file(file).unwrap_or_else(|e| panic!("{}: {:?}", file.display(), e.0));
    loaded.raw.scenarios.keys().cloned().collect()
}

#[test]
fn every_command_in_the_example_headers_runs_as_written() {
    let dir = root().join("config/examples");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).expect("config/examples") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "yaml") {
            continue;
        }
        let rel = format!(
            "config/examples/{}",
            path.file_name().unwrap().to_string_lossy()
        );
        let text = std::fs::read_to_string(&path).expect("read example");
        for (line, argv) in commands(&text) {
            let at = format!("{rel}:{line}: {}", argv.join(" "));
            let cli = Cli::try_parse_from(&argv).unwrap_or_else(|e| panic!("{at}\n{e}"));
            let (config, scenario) = match cli.command {
                Command::Once(a) => (a.config, a.scenario),
                Command::Check { config, .. } => (config, None),
                _ => continue,
            };
            assert_eq!(
                config.as_deref(),
                Some(Path::new(&rel)),
                "{at}: --config is not this file"
            );
            if let Some(s) = scenario {
                assert!(
                    scenarios(&path).contains(&s),
                    "{at}: no scenario {s:?} in {rel}"
                );
            }
            checked += 1;
        }
    }
    assert!(
        checked >= 6,
        "only {checked} commands found in the example headers"
    );
}

/// `soakd check` shows what a run will be judged on besides thresholds: SUT checks with their
/// queries, drills with their timing and expectations, and the always-on settings.
#[test]
fn check_lists_sut_checks_drills_blackouts_breakers_and_baselines() {
    let plan = |f: &str| {
        soakd_cli::cmd::load_plan(&root().join("config/examples").join(f))
            .unwrap_or_else(|e| panic!("{f}: {e}"))
    };
    let sut = soakd_cli::cmd::check::describe(&plan("sut.yaml"));
    for line in [
        "  sut checks:",
        "    sut:memory_headroom:max<0.75 every 15s: max(demo_memory_ratio)",
        "  drills:",
        "    queue_outage at 2m, undone after 3m",
        "      expect drill:queue_outage:recovery<=300",
        "      expect drill:db_failover:errors<=2",
    ] {
        assert!(
            sut.lines().any(|l| l == line),
            "missing {line:?} in:\n{sut}"
        );
    }
    for line in [
        "    sut:worker_restarts:increase<1 every 1m: sum(demo_worker_restarts_total)",
        "    sut:queue_drained:last<1 every 15s: max(demo_queue_depth)",
        "    cache_purge at 2m, undone after 2m",
        "      expect drill:cache_purge:errors<=0",
    ] {
        assert!(
            sut.lines().any(|l| l == line),
            "missing {line:?} in:\n{sut}"
        );
    }
    // The overnight soak: one cron run a night, judged on every 5-minute window too.
    let academy = soakd_cli::cmd::check::describe(&plan("academy-community.yaml"));
    for line in [
        "  schedule: cron \"0 1 * * *\" (UTC)",
        "    http_req_failed:rate<0.01[5m] (judged on every 5m window, the worst decides)",
        "  circuit breaker: error_rate >= 0.5 or p95 >= 5s over 30s, cooldown 5m (doubling, max 1h)",
        "  baseline: last 10 passing run(s), mann_whitney + two_proportion at alpha 0.01, min effect 5%",
    ] {
        assert!(
            academy.lines().any(|l| l == line),
            "missing {line:?} in:\n{academy}"
        );
    }
    // No example needs a blackout any more (the soak is clear of the nightly run): the
    // always-on fixture shows how check prints one.
    let fixture =
        soakd_cli::cmd::load_plan(&root().join("tests/fixtures/always_on/valid-always-on.yaml"))
            .unwrap_or_else(|e| panic!("{e}"));
    let text = soakd_cli::cmd::check::describe(&fixture);
    assert!(
        text.lines()
            .any(|l| l == "  blackout: cron \"0 5 * * *\" (UTC) for 10m"),
        "{text}"
    );
}
