//! Results to object storage (`results.object_store`): every summary, report and export written
//! under `results.dir` is copied to a bucket as `<prefix>/<YYYY-MM-DD>/<file>`, and day prefixes
//! older than the retention are deleted there too.
//!
//! One task owns the upload queue, so runs never wait for the bucket: the run-end path only
//! `enqueue`s a path (a non-blocking channel send). The task uploads in order, one at a time;
//! a failed upload stays at the head and is retried with exponential backoff (1 s doubling to
//! 5 min), each attempt counted on `soakd_results_upload_failures_total{reason}`: nothing is
//! retried invisibly (object_store's own retries are switched off) and nothing is dropped
//! invisibly (a full queue counts `queue_full`). Files whose upload was lost (a full queue, a
//! restart while the bucket was down) are found again by the hourly maintenance pass, which
//! compares today's and yesterday's local files with the bucket and also prunes by retention.
//! File reads go through `tokio::fs` (a blocking pool thread), never an async worker.

mod connector;
mod task;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use object_store::aws::AmazonS3Builder;
use object_store::{ObjectStore, RetryConfig};
use tokio::sync::mpsc;

use crate::plan::object_store::{Credentials, ObjectStorePlan};

/// Most paths waiting for upload; past it new paths count as `queue_full` failures (the
/// maintenance pass picks them up later).
pub const MAX_PENDING: usize = 10_000;
/// Longest wait between two attempts at the same file.
pub const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// Time allowed for one request to the bucket (connect, send, answer).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How often local files are reconciled with the bucket and old days pruned.
pub const MAINTENANCE_EVERY: Duration = Duration::from_secs(3600);

/// Why an upload step failed: the `reason` label of `soakd_results_upload_failures_total`.
pub const FAILURE_REASONS: [&str; 5] = ["put", "read", "queue_full", "list", "delete"];

/// What the uploader reports, implemented by telemetry (this module stays left of it).
pub trait UploadObserver: Send + Sync + 'static {
    /// One object written to the bucket.
    fn uploaded(&self);
    /// One failed step; `reason` is one of [`FAILURE_REASONS`].
    fn failed(&self, reason: &'static str);
    /// Paths waiting (including one being retried).
    fn pending(&self, n: usize);
    /// Objects deleted from the bucket by retention.
    fn pruned(&self, n: usize);
}

/// Why the uploader could not start (bad credentials files, a client that cannot be built).
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("results.object_store.{field}: {path}: {source}", path = path.display())]
    Credential {
        field: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("results.object_store.{field}: {path} is empty", path = path.display())]
    EmptyCredential { field: &'static str, path: PathBuf },
    #[error("results.object_store: {0}")]
    Client(#[from] object_store::Error),
}

/// The handle runs use: cheap to clone, never blocks.
#[derive(Clone)]
pub struct Uploader {
    tx: mpsc::Sender<PathBuf>,
    observer: Arc<dyn UploadObserver>,
}

impl std::fmt::Debug for Uploader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Uploader")
    }
}

impl Uploader {
    /// Builds the S3 client and starts the upload task on the current runtime. Credentials
    /// from files are read here (and registered with the log redactor).
    pub fn start(
        plan: &ObjectStorePlan,
        results_dir: PathBuf,
        observer: Arc<dyn UploadObserver>,
    ) -> Result<Uploader, UploadError> {
        let store: Arc<dyn ObjectStore> = Arc::new(build_store(plan)?);
        let (tx, rx) = mpsc::channel(MAX_PENDING);
        observer.pending(0);
        let owner = task::UploadTask::new(store, plan, results_dir, observer.clone());
        tokio::spawn(owner.run(rx));
        Ok(Uploader { tx, observer })
    }

    /// Queues `path` (a file under `results.dir/<day>/`) for upload; never waits.
    pub fn enqueue(&self, path: PathBuf) {
        if let Err(e) = self.tx.try_send(path) {
            self.observer.failed("queue_full");
            tracing::warn!(
                file = %e.into_inner().display(),
                "results upload queue is full; the file is uploaded by the next maintenance pass"
            );
        }
    }
}

fn build_store(plan: &ObjectStorePlan) -> Result<object_store::aws::AmazonS3, UploadError> {
    let mut b = AmazonS3Builder::from_env()
        .with_bucket_name(&plan.bucket)
        .with_http_connector(connector::HyperConnector::new(REQUEST_TIMEOUT))
        .with_retry(RetryConfig {
            max_retries: 0,
            retry_timeout: REQUEST_TIMEOUT,
            ..RetryConfig::default()
        });
    if let Some(region) = &plan.region {
        b = b.with_region(region);
    } else if std::env::var_os("AWS_REGION").is_none()
        && std::env::var_os("AWS_DEFAULT_REGION").is_none()
    {
        b = b.with_region("us-east-1");
    }
    if let Some(endpoint) = &plan.endpoint {
        b = b
            .with_endpoint(endpoint)
            .with_allow_http(endpoint.starts_with("http://"));
    }
    if let Credentials::Files {
        access_key_id,
        secret_access_key,
        session_token,
    } = &plan.credentials
    {
        let key = read_secret("access_key_id_file", access_key_id)?;
        let secret = read_secret("secret_access_key_file", secret_access_key)?;
        b = b.with_access_key_id(key).with_secret_access_key(secret);
        if let Some(token) = session_token {
            b = b.with_token(read_secret("session_token_file", token)?);
        }
    }
    for var in ["AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"] {
        if let Ok(v) = std::env::var(var) {
            crate::redact::register([v]);
        }
    }
    Ok(b.build()?)
}

/// One credential file's trimmed contents, registered with the redactor before it is used.
fn read_secret(field: &'static str, path: &std::path::Path) -> Result<String, UploadError> {
    let text = std::fs::read_to_string(path).map_err(|source| UploadError::Credential {
        field,
        path: path.to_path_buf(),
        source,
    })?;
    let value = text.trim().to_string();
    if value.is_empty() {
        return Err(UploadError::EmptyCredential {
            field,
            path: path.to_path_buf(),
        });
    }
    crate::redact::register([value.clone()]);
    Ok(value)
}
