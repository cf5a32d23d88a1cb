//! Hot reload: on SIGHUP or a change of the config file, validate first, then apply per
//! scenario. An invalid file keeps the old plan running (every error logged, the reload gauge
//! at 0). Unchanged scenarios are untouched; changed ones take the new definition at their next
//! run (their trigger restarts only if the schedule changed); removed ones stop gracefully and
//! drop their series; new ones are scheduled.

use super::{App, read_token, shard_plan, unix_now};
use crate::{config, plan};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

impl App {
    /// Reloads the config file; true when the new plan is in force. Reads files (the config,
    /// data pools) and compiles: call it off the async workers (see [`reload_blocking`]).
    pub fn reload(&self) -> bool {
        let Some(path) = &self.config_path else {
            return false;
        };
        // Two reloads at once (SIGHUP and the API) would each apply their plan: one at a time.
        let _one = RELOADING.lock().unwrap_or_else(|p| p.into_inner());
        let compiled = config::load_file(path)
            .map_err(|e| e.0)
            .and_then(|loaded| plan::compile_loaded(&loaded));
        let new = match compiled {
            Ok(p) => {
                crate::redact::register(plan::secret_values(&p));
                shard_plan(p, self.shard)
            }
            Err(errors) => {
                for e in &errors {
                    tracing::error!(error = %e, "config reload rejected; the old plan keeps running");
                }
                self.metrics.config_reloaded(false, unix_now());
                return false;
            }
        };
        let token = match read_token(&new) {
            Ok(t) => {
                crate::redact::register(t.clone());
                t
            }
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "config reload rejected; the old plan keeps running");
                self.metrics.config_reloaded(false, unix_now());
                return false;
            }
        };
        let old = self.plan();
        let (mut added, mut removed, mut changed) = (vec![], vec![], vec![]);
        // Triggers start once the new plan is in force: a trigger's first run looks its
        // scenario up in the plan (this runs on a blocking thread, so a trigger task can run
        // before this function returns).
        let mut to_start = Vec::new();
        for (name, s) in &old.scenarios {
            match new.scenarios.get(name) {
                None => removed.push(name.clone()),
                Some(n) if n.fingerprint != s.fingerprint => {
                    changed.push(name.clone());
                    if !n.schedule.same_as(&s.schedule) {
                        to_start.push((name.clone(), n.schedule.clone()));
                    }
                }
                Some(_) => {}
            }
        }
        for (name, s) in &new.scenarios {
            if !old.scenarios.contains_key(name) {
                added.push(name.clone());
                to_start.push((name.clone(), s.schedule.clone()));
            }
        }
        *self.plan.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(new);
        *self.admin_token.write().unwrap_or_else(|p| p.into_inner()) = token;
        self.replace_uploader(&old, &self.plan());
        for (name, schedule) in &to_start {
            self.start_trigger(name, schedule);
        }
        if self.plan().max_rps != old.max_rps {
            *self.limiter.write().unwrap_or_else(|p| p.into_inner()) =
                super::plan_limiter(&self.plan());
        }
        for name in &removed {
            self.stop_trigger(name);
            if let Some(r) = self.active_run(name) {
                r.abort();
            }
            self.metrics.remove_scenario(name);
        }
        if !removed.is_empty() {
            let keep: Vec<String> = self.plan().scenarios.keys().cloned().collect();
            self.retain_scenarios(keep);
        }
        self.metrics.config_reloaded(true, unix_now());
        tracing::info!(
            added = %added.join(","),
            removed = %removed.join(","),
            changed = %changed.join(","),
            "config reloaded"
        );
        true
    }
}

static RELOADING: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// [`App::reload`] on the blocking pool, so that a slow file (a large data pool, a slow disk)
/// never stalls /metrics or the runs on the async workers.
pub async fn reload_blocking(app: Arc<App>) -> bool {
    tokio::task::spawn_blocking(move || app.reload())
        .await
        .unwrap_or(false)
}

/// Reloads on SIGHUP and when the config file's modification time or size changes.
pub async fn watch_config(app: Arc<App>) {
    let Some(path) = app.config_path.clone() else {
        return;
    };
    let stamp = |p: &std::path::Path| {
        std::fs::metadata(p)
            .ok()
            .map(|m| (m.modified().unwrap_or(SystemTime::UNIX_EPOCH), m.len()))
    };
    let mut last = stamp(&path);
    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
    loop {
        let by_signal = tokio::select! {
            _ = app.shutdown.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_secs(1)) => false,
            _ = async { match hup.as_mut() { Some(h) => { h.recv().await; } None => std::future::pending().await } } => true,
        };
        let now = stamp(&path);
        if by_signal || (now != last && now.is_some()) {
            last = now;
            tracing::info!(by_signal, path = %path.display(), "reloading config");
            reload_blocking(app.clone()).await;
        }
    }
}
