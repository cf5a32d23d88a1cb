//! Command-line interface (clap): the commands and flags of DESIGN §2.

use clap::{Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "soakd",
    version,
    about = "Continuous synthetic load that speaks Prometheus"
)]
pub struct Cli {
    /// Log format on stderr: `text` (colour only on a terminal) or `json` (one object a line).
    /// Level filter: env SOAKD_LOG, else RUST_LOG (EnvFilter directives), else info.
    #[arg(long, global = true, value_enum, env = "SOAKD_LOG_FORMAT", default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Copy, Clone, Debug, ValueEnum, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// Shape of an exported run summary.
#[derive(Copy, Clone, Debug, ValueEnum, PartialEq, Eq)]
pub enum SummaryFormat {
    /// soakd's run summary (DESIGN §7).
    Soakd,
    /// k6's `--summary-export` JSON (`root_group`, `metrics`), for scripts that parse k6's.
    K6,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// The daemon: schedules, /metrics, API, hot reload.
    Run {
        #[arg(long)]
        config: Option<PathBuf>,
        /// This replica's share of the load, `INDEX/COUNT` (e.g. 0/3); also env SOAKD_SHARD.
        #[arg(long, env = "SOAKD_SHARD")]
        shard: Option<String>,
    },
    /// Validate the config and print the plan.
    Check {
        #[arg(long)]
        config: Option<PathBuf>,
        /// Print the plan as replica `INDEX/COUNT` runs it (its share, the limits it judges).
        #[arg(long)]
        shard: Option<String>,
        /// Print the plan as `--time-scale F` runs it (same requests per second, less time).
        #[arg(long)]
        time_scale: Option<f64>,
    },
    /// Run one scenario now in the foreground (or an ad-hoc GET with --url).
    Once(OnceArgs),
    /// The embedded default: demo target + daemon with the bundled example config.
    Demo {
        /// Address of the daemon's /metrics and API.
        #[arg(long, default_value = "127.0.0.1:9464")]
        listen: SocketAddr,
        /// Address of the demo target.
        #[arg(long, default_value = "127.0.0.1:8080")]
        target: SocketAddr,
        /// Keep state and results here (kept after exit). Default: a fresh temp dir per start,
        /// removed on exit, so no incident of an earlier demo is already open.
        #[arg(long)]
        state_dir: Option<PathBuf>,
    },
    /// The demo / calibration target alone.
    Target {
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
    },
    /// Render a run summary; compare with a baseline.
    Report {
        summary: PathBuf,
        #[arg(long)]
        baseline: Option<PathBuf>,
        #[arg(long)]
        markdown: Option<PathBuf>,
        /// Write a self-contained HTML report (charts, tables) here.
        #[arg(long)]
        html: Option<PathBuf>,
        /// Regression limit against the baseline, in percent.
        #[arg(long, default_value_t = 10.0)]
        max_regression: f64,
    },
    /// Print the JSON Schema of the config.
    Schema,
    /// Exit 0 when the daemon answers `GET /healthz` with 200, else 1 (Docker HEALTHCHECK).
    Healthcheck {
        /// Config whose `server.listen` is probed (an unspecified address means loopback).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Probe this address instead of the config's `server.listen`.
        #[arg(long)]
        address: Option<SocketAddr>,
        /// Give up after this long, e.g. 5s.
        #[arg(long, default_value = "5s")]
        timeout: humantime::Duration,
    },
}

#[derive(clap::Args, Debug)]
pub struct OnceArgs {
    /// Scenario name from the config.
    pub scenario: Option<String>,
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Write the summary JSON here.
    #[arg(long)]
    pub summary_export: Option<PathBuf>,
    /// Shape of `--summary-export`: soakd's summary, or k6's `--summary-export` JSON.
    #[arg(long, value_enum, default_value_t = SummaryFormat::Soakd)]
    pub summary_format: SummaryFormat,
    /// Multiply the timeline by F (0 < F ≤ 1): durations, stages, drills; never rates, think
    /// time or `send_every` (same requests per second, for less time).
    #[arg(long)]
    pub time_scale: Option<f64>,
    /// Ad-hoc: GET this URL (no config file).
    #[arg(long)]
    pub url: Option<String>,
    /// Ad-hoc closed model: this many VUs.
    #[arg(long, conflicts_with = "rate")]
    pub vus: Option<u32>,
    /// Ad-hoc open model: this many requests per second.
    #[arg(long)]
    pub rate: Option<f64>,
    /// Ad-hoc: duration, e.g. 10s.
    #[arg(long)]
    pub duration: Option<String>,
    /// Ad-hoc: most VUs of the open model (default max(100, rate/10)).
    #[arg(long)]
    pub max_vus: Option<u32>,
    /// Ad-hoc threshold `METRIC[{tags}]:EXPR`, e.g. `http_req_duration:p(95)<250`. Repeatable.
    #[arg(long = "threshold")]
    pub thresholds: Vec<String>,
    /// Never print the live progress line.
    #[arg(long)]
    pub quiet: bool,
}

/// `$SOAKD_CONFIG`, else `config/soakd.yaml`.
pub fn config_path(flag: &Option<PathBuf>) -> PathBuf {
    flag.clone()
        .or_else(|| std::env::var_os("SOAKD_CONFIG").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("config/soakd.yaml"))
}
