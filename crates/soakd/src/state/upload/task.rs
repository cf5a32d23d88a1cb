//! The one task that owns the upload queue: uploads in order with backoff, and every
//! [`MAINTENANCE_EVERY`] prunes expired day prefixes in the bucket and re-queues local files of
//! today and yesterday that the bucket lacks.

use std::collections::{BTreeSet, HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use object_store::path::Path as Key;
use object_store::{Attribute, Attributes, ObjectStore, ObjectStoreExt, PutOptions, PutPayload};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::{MAINTENANCE_EVERY, MAX_BACKOFF, MAX_PENDING, UploadObserver};
use crate::plan::object_store::ObjectStorePlan;
use crate::state::{day_expired, parse_day};

pub struct UploadTask {
    store: Arc<dyn ObjectStore>,
    /// `s3://bucket/prefix`, for logs.
    url: String,
    prefix: String,
    results_dir: PathBuf,
    retention: Duration,
    observer: Arc<dyn UploadObserver>,
    queue: VecDeque<PathBuf>,
    queued: HashSet<PathBuf>,
    /// Consecutive failed attempts at the head of the queue.
    failures: u32,
}

impl UploadTask {
    pub fn new(
        store: Arc<dyn ObjectStore>,
        plan: &ObjectStorePlan,
        results_dir: PathBuf,
        observer: Arc<dyn UploadObserver>,
    ) -> Self {
        UploadTask {
            store,
            url: plan.url.clone(),
            prefix: plan.prefix.clone(),
            results_dir,
            retention: plan.retention,
            observer,
            queue: VecDeque::new(),
            queued: HashSet::new(),
            failures: 0,
        }
    }

    /// Runs until every handle is dropped and the queue is empty.
    pub async fn run(mut self, mut rx: mpsc::Receiver<PathBuf>) {
        let mut maintenance = tokio::time::interval(MAINTENANCE_EVERY);
        maintenance.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut next_attempt = Instant::now();
        let mut open = true;
        loop {
            tokio::select! {
                biased;
                got = rx.recv(), if open => match got {
                    Some(path) => self.push(path),
                    None => open = false,
                },
                _ = maintenance.tick() => self.maintain(Utc::now()).await,
                _ = tokio::time::sleep_until(next_attempt), if !self.queue.is_empty() => {
                    next_attempt = Instant::now() + self.attempt_head().await;
                }
                else => break,
            }
            self.observer.pending(self.queue.len());
            if !open && self.queue.is_empty() {
                break;
            }
        }
    }

    fn push(&mut self, path: PathBuf) {
        if self.queued.contains(&path) {
            return;
        }
        if self.queue.len() >= MAX_PENDING {
            self.observer.failed("queue_full");
            return;
        }
        self.queued.insert(path.clone());
        self.queue.push_back(path);
    }

    /// Tries the head of the queue once; returns how long to wait before the next attempt.
    async fn attempt_head(&mut self) -> Duration {
        let Some(path) = self.queue.front().cloned() else {
            return Duration::ZERO;
        };
        let Some(key) = self.key_for(&path) else {
            tracing::warn!(file = %path.display(), "not under results.dir/<day>/; not uploaded");
            self.pop();
            return Duration::ZERO;
        };
        let bytes = match tokio::fs::read(&path).await {
            Ok(b) => b,
            // Pruned locally before its turn: nothing left to copy.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                self.pop();
                return Duration::ZERO;
            }
            Err(e) => {
                self.observer.failed("read");
                tracing::warn!(file = %path.display(), error = %e, "cannot read a result file for upload");
                self.pop();
                return Duration::ZERO;
            }
        };
        let opts = PutOptions {
            attributes: Attributes::from_iter([(Attribute::ContentType, content_type(&path))]),
            ..PutOptions::default()
        };
        match self
            .store
            .put_opts(&key, PutPayload::from(bytes), opts)
            .await
        {
            Ok(_) => {
                if self.failures > 0 {
                    tracing::info!(bucket = %self.url, after_failures = self.failures, "results uploads recovered");
                }
                self.failures = 0;
                self.observer.uploaded();
                self.pop();
                Duration::ZERO
            }
            Err(e) => {
                self.failures += 1;
                self.observer.failed("put");
                let wait = backoff(self.failures);
                // The first failure of a streak, then one line per ten attempts.
                if self.failures % 10 == 1 {
                    tracing::warn!(
                        bucket = %self.url,
                        key = %key,
                        attempts = self.failures,
                        retry_in_s = wait.as_secs_f64(),
                        error = %e,
                        "results upload failed; retrying"
                    );
                }
                wait
            }
        }
    }

    fn pop(&mut self) {
        if let Some(p) = self.queue.pop_front() {
            self.queued.remove(&p);
        }
    }

    /// `<prefix>/<day>/<file>` for `results.dir/<day>/<file>`.
    fn key_for(&self, path: &std::path::Path) -> Option<Key> {
        let rel = path.strip_prefix(&self.results_dir).ok()?;
        let mut parts = rel.iter().map(|c| c.to_str());
        let (Some(Some(day)), Some(Some(file)), None) = (parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        parse_day(day)?;
        Some(self.day_key(day).join(file))
    }

    fn day_key(&self, day: &str) -> Key {
        if self.prefix.is_empty() {
            Key::from(day)
        } else {
            Key::from(self.prefix.as_str()).join(day)
        }
    }

    /// Prunes expired days in the bucket, then re-queues today's and yesterday's local files
    /// the bucket does not have.
    async fn maintain(&mut self, now: DateTime<Utc>) {
        self.prune(now).await;
        let today = now.date_naive();
        for day in [today.pred_opt(), Some(today)].into_iter().flatten() {
            let day = day.format("%Y-%m-%d").to_string();
            let local = local_files(self.results_dir.join(&day)).await;
            if local.is_empty() {
                continue;
            }
            let Some(remote) = self.remote_names(&self.day_key(&day)).await else {
                return;
            };
            for (name, path) in local {
                if !remote.contains(&name) {
                    self.push(path);
                }
            }
        }
    }

    async fn prune(&mut self, now: DateTime<Utc>) {
        let root = (!self.prefix.is_empty()).then(|| Key::from(self.prefix.as_str()));
        let listing = match self.store.list_with_delimiter(root.as_ref()).await {
            Ok(l) => l,
            Err(e) => {
                self.observer.failed("list");
                tracing::warn!(bucket = %self.url, error = %e, "cannot list the results bucket");
                return;
            }
        };
        let mut deleted = 0;
        for day_prefix in listing.common_prefixes {
            let expired = day_prefix
                .filename()
                .and_then(parse_day)
                .is_some_and(|d| day_expired(d, now, self.retention));
            if !expired {
                continue;
            }
            let mut objects = self.store.list(Some(&day_prefix));
            while let Some(meta) = objects.next().await {
                let removed = match meta {
                    Ok(m) => self.store.delete(&m.location).await.map(|_| ()),
                    Err(e) => Err(e),
                };
                match removed {
                    Ok(()) => deleted += 1,
                    Err(e) => {
                        self.observer.failed("delete");
                        tracing::warn!(bucket = %self.url, prefix = %day_prefix, error = %e, "cannot prune expired results");
                        break;
                    }
                }
            }
        }
        if deleted > 0 {
            self.observer.pruned(deleted);
            tracing::info!(bucket = %self.url, objects = deleted, "pruned expired results from the bucket");
        }
    }

    /// File names under one day prefix, or `None` if the bucket cannot be listed.
    async fn remote_names(&self, day: &Key) -> Option<BTreeSet<String>> {
        let mut names = BTreeSet::new();
        let mut objects = self.store.list(Some(day));
        while let Some(meta) = objects.next().await {
            match meta {
                Ok(m) => {
                    if let Some(n) = m.location.filename() {
                        names.insert(n.to_string());
                    }
                }
                Err(e) => {
                    self.observer.failed("list");
                    tracing::warn!(bucket = %self.url, error = %e, "cannot list the results bucket");
                    return None;
                }
            }
        }
        Some(names)
    }
}

/// 1 s after the first failure, doubling up to [`MAX_BACKOFF`].
fn backoff(failures: u32) -> Duration {
    let exp = failures.saturating_sub(1).min(16);
    Duration::from_secs(1u64 << exp).min(MAX_BACKOFF)
}

fn content_type(path: &std::path::Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}

/// `(file name, path)` of the finished files of one local day directory (temp files of
/// `write_atomic` end in `.tmp` and are skipped), read on a blocking thread.
async fn local_files(dir: PathBuf) -> Vec<(String, PathBuf)> {
    let listed = tokio::task::spawn_blocking(move || {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Vec::new();
        };
        entries
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .filter_map(|e| Some((e.file_name().to_str()?.to_string(), e.path())))
            .filter(|(name, _)| !name.ends_with(".tmp") && !name.starts_with('.'))
            .collect()
    });
    listed.await.unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_one_second_to_five_minutes() {
        let waits: Vec<u64> = (1..=11).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
        assert_eq!(backoff(u32::MAX), MAX_BACKOFF);
    }
}
