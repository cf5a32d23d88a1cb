//! `soakd run` (the daemon) and `soakd demo` (the embedded default: demo target + daemon).

use super::{Exit, load_plan};
use crate::cli::config_path;
use soakd::app::{self, App, Shard};
use soakd::plan::Plan;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

/// The bundled example config of `soakd demo`; `${TARGET}` is the demo target's URL.
pub const DEMO_CONFIG: &str = include_str!("../../config/demo.yaml");

pub async fn run(config: &Option<PathBuf>, shard: Option<&str>) -> Exit {
    let path = config_path(config);
    let shard = match shard.map(Shard::parse).transpose() {
        Ok(s) => s.unwrap_or(Shard::WHOLE),
        Err(e) => return Exit::Invalid(e.to_string()),
    };
    let plan = match load_plan(&path) {
        Ok(p) => p,
        Err(msg) => return Exit::Invalid(msg),
    };
    daemon(plan, Some(path), shard, None).await
}

/// `soakd demo`: the demo target and the daemon with the embedded config. State lives in
/// `state_dir` when given (kept), else in a fresh temp dir removed on exit: a second demo must
/// not start with the first one's breach streaks and open incidents.
pub async fn demo(listen: SocketAddr, target_addr: SocketAddr, state_dir: Option<PathBuf>) -> Exit {
    let fresh = state_dir.is_none();
    let dir = state_dir.unwrap_or_else(|| {
        std::env::temp_dir().join(format!("soakd-demo-{}", uuid::Uuid::new_v4().simple()))
    });
    let exit = demo_in(listen, target_addr, dir.clone()).await;
    if fresh {
        let _ = tokio::task::spawn_blocking(move || std::fs::remove_dir_all(&dir)).await;
    }
    exit
}

async fn demo_in(listen: SocketAddr, target_addr: SocketAddr, dir: PathBuf) -> Exit {
    let target = match testbed::spawn(target_addr).await {
        Ok(t) => t,
        Err(e) => return Exit::Error(anyhow::anyhow!("demo target on {target_addr}: {e}")),
    };
    let text = DEMO_CONFIG
        .replace("${TARGET}", &target.url())
        .replace("${LISTEN}", &listen.to_string())
        .replace("${DIR}", &dir.display().to_string());
    let compiled = soakd::config::load_str("<embedded demo config>", &text, None)
        .map_err(|e| e.to_string())
        .and_then(|l| {
            soakd::plan::compile_loaded(&l).map_err(|errs| {
                errs.iter()
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        });
    let plan = match compiled {
        Ok(p) => p,
        Err(msg) => return Exit::Error(anyhow::anyhow!("embedded demo config: {msg}")),
    };
    let banner = format!(
        "soakd demo\n  status page:  http://{listen}/\n  demo target:  {}  (faults: POST {}/_control)\n  metrics:      http://{listen}/metrics\n  scenarios:    http://{listen}/api/v1/scenarios\n  runs:         http://{listen}/api/v1/runs\n  state:        {}\n  scenarios `demo_ok` (passes) and `demo_slow` (breaches every run: an incident opens after its\n  second run, within a minute) run continuously; `demo_cron` fires every minute. Ctrl-C stops.\n",
        target.url(),
        target.url(),
        dir.display()
    );
    let exit = daemon(plan, None, Shard::WHOLE, Some(banner)).await;
    target.shutdown().await;
    exit
}

async fn daemon(plan: Plan, path: Option<PathBuf>, shard: Shard, banner: Option<String>) -> Exit {
    let listen = plan.listen;
    let stop = stop_signals();
    let app = match App::new(plan, path, shard).await {
        Ok(a) => a,
        Err(e) => return Exit::Error(e),
    };
    let listener = match soakd::server::bind(listen).await {
        Ok(l) => l,
        Err(e) => return Exit::Error(anyhow::anyhow!("cannot listen on {listen}: {e}")),
    };
    let bound = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    tracing::info!(listen = %bound, scenarios = app.plan().scenarios.len(), shard = %shard, "soakd running");
    if let Some(b) = banner {
        println!("{b}");
    }
    let handle: soakd::server::Handle = app.clone();
    let server = tokio::spawn(soakd::server::serve(listener, handle));
    app.start_triggers();
    let watcher = tokio::spawn(app::watch_config(app.clone()));
    stop.await;
    tracing::info!("stopping: no new runs; active runs finish as aborted");
    app.stop().await;
    watcher.abort();
    let _ = server.await;
    tracing::info!("stopped");
    let _: Arc<App> = app;
    Exit::Ok
}

/// SIGTERM or SIGINT, registered when called (not when first awaited): the daemon calls it
/// before it listens, so a signal sent as soon as `/healthz` answers stops it gracefully
/// instead of killing it with the default action.
fn stop_signals() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{Signal, SignalKind, signal};
    let term = signal(SignalKind::terminate()).ok();
    let int = signal(SignalKind::interrupt()).ok();
    let one = |s: Option<Signal>| async move {
        match s {
            Some(mut s) => {
                s.recv().await;
            }
            None => std::future::pending().await,
        }
    };
    async move {
        tokio::select! {
            _ = one(term) => {}
            _ = one(int) => {}
        }
    }
}
