//! Entry point: parse the CLI, build the runtime, run the command, map errors to exit codes.
//!
//! Exit codes: 0 success / pass, 1 other error, 2 invalid config or arguments, 99 a threshold
//! failed (or a regression beyond the limit in `report`).

use clap::Parser;
use soakd_cli::cli::{Cli, Command, LogFormat};
use soakd_cli::cmd::{self, Exit};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    init_logs(cli.log_format);
    // One core (taskset, a 1-CPU pod): a current-thread runtime skips the work-stealing
    // machinery that only pays off with several workers.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut builder = if cores == 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    let runtime = match builder.enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let exit = runtime.block_on(async move {
        match cli.command {
            Command::Check {
                config,
                shard,
                time_scale,
            } => cmd::check::run(&config, shard.as_deref(), time_scale),
            Command::Schema => cmd::schema(),
            Command::Healthcheck {
                config,
                address,
                timeout,
            } => cmd::health::run(&config, address, timeout.into()).await,
            Command::Once(args) => cmd::once::run(args).await,
            Command::Target { listen } => cmd::target(listen).await,
            Command::Report {
                summary,
                baseline,
                markdown,
                html,
                max_regression,
            } => cmd::report::run(
                &summary,
                baseline.as_deref(),
                markdown.as_deref(),
                html.as_deref(),
                max_regression,
            ),
            Command::Run { config, shard } => cmd::daemon::run(&config, shard.as_deref()).await,
            Command::Demo {
                listen,
                target,
                state_dir,
            } => cmd::daemon::demo(listen, target, state_dir).await,
        }
    });
    match exit {
        Exit::Ok => ExitCode::SUCCESS,
        Exit::Invalid(msg) => {
            // Not eprintln!: it panics when stderr is a closed pipe (`soakd check 2>&1 | head -1`).
            let _ =
                std::io::Write::write_all(&mut std::io::stderr(), format!("{msg}\n").as_bytes());
            ExitCode::from(2)
        }
        Exit::ThresholdsFailed => ExitCode::from(99),
        Exit::Error(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// Every command logs through the one subscriber `soakd_cli::logs` builds.
fn init_logs(format: LogFormat) {
    soakd_cli::logs::init(match format {
        LogFormat::Json => soakd_cli::logs::Format::Json,
        LogFormat::Text => soakd_cli::logs::Format::Text,
    });
}
