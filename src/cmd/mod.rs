//! The commands of the CLI, each a thin layer over the library; errors become exit codes here.

pub mod check;
pub mod daemon;
pub mod health;
pub mod once;
pub mod report;

use soakd::config;
use soakd::plan::{self, Plan};
use std::net::SocketAddr;
use std::path::Path;

/// How a command ended; `main` maps it to the exit code.
pub enum Exit {
    Ok,
    /// Invalid config or arguments (exit 2); the message lists every error.
    Invalid(String),
    /// A threshold failed or a regression exceeded its limit (exit 99).
    ThresholdsFailed,
    Error(anyhow::Error),
}

/// Loads and compiles a config file; every error, one per line.
pub fn load_plan(path: &Path) -> Result<Plan, String> {
    let loaded = config::load_file(path).map_err(|e| e.to_string())?;
    let compiled = plan::compile_loaded(&loaded);
    if let Ok(p) = &compiled {
        // From here on no log line may carry these values (see `redact`).
        soakd::redact::register(plan::secret_values(p));
        if let Some(t) = p
            .admin_token_file
            .as_ref()
            .and_then(|f| std::fs::read_to_string(f).ok())
        {
            soakd::redact::register([t.trim().to_string()]);
        }
    }
    compiled.map_err(|errs| {
        let lines: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
        format!(
            "{}\n{} error(s) in {}",
            lines.join("\n"),
            errs.len(),
            path.display()
        )
    })
}

pub fn schema() -> Exit {
    match serde_json::to_string_pretty(&config::schema()) {
        Ok(s) => {
            println!("{s}");
            Exit::Ok
        }
        Err(e) => Exit::Error(e.into()),
    }
}

pub async fn target(listen: SocketAddr) -> Exit {
    match testbed::serve(listen).await {
        Ok(()) => Exit::Ok,
        Err(e) => Exit::Error(e),
    }
}
