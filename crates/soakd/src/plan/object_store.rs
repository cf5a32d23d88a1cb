//! `results.object_store` validated: which bucket, prefix, endpoint and credentials the results
//! uploader uses (seed 000 keeps its results in S3 for 180 days).
//!
//! Checked once here so that `soakd check` and a reload report a bad URL, a missing credential
//! file or an endpoint outside `safety.allowed_hosts` by field, like every other config error.
//! The endpoint is an outgoing connection like any other: it passes the same allow-list check
//! as targets, SUT Prometheus and drills. Credential files are only checked to exist here; their
//! contents are read when the uploader starts and never enter the plan (so a `Debug` print of a
//! plan cannot carry them).

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::errors::Errors;
use crate::config::RawObjectStore;

/// Where summaries and reports are uploaded.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectStorePlan {
    /// The configured `s3://bucket/prefix`, for messages.
    pub url: String,
    pub bucket: String,
    /// Key prefix without leading or trailing `/`; may be empty.
    pub prefix: String,
    /// Explicit endpoint (`http(s)://host[:port]`), else AWS's regional one.
    pub endpoint: Option<String>,
    /// `None`: from the AWS environment, else `us-east-1`.
    pub region: Option<String>,
    pub credentials: Credentials,
    pub retention: Duration,
}

/// Where the uploader finds its keys.
#[derive(Debug, Clone, PartialEq)]
pub enum Credentials {
    /// The standard AWS environment (`AWS_ACCESS_KEY_ID`, web identity, container credentials).
    Environment,
    /// Files holding one value each (a mounted Kubernetes Secret).
    Files {
        access_key_id: PathBuf,
        secret_access_key: PathBuf,
        session_token: Option<PathBuf>,
    },
}

impl ObjectStorePlan {
    /// The host the uploader connects to, as the allow-list sees it.
    pub fn host(&self) -> String {
        match &self.endpoint {
            Some(e) => url::Url::parse(e)
                .ok()
                .and_then(|u| u.host_str().map(str::to_string))
                .unwrap_or_default(),
            None => format!(
                "s3.{}.amazonaws.com",
                self.region.as_deref().unwrap_or("us-east-1")
            ),
        }
    }
}

/// Validates `raw` (at `results.object_store`); relative credential paths are relative to the
/// config file's directory `base`, as data pools are.
pub fn compile(
    raw: &RawObjectStore,
    base: &Path,
    default_retention: Duration,
    allowed_hosts: &[String],
    e: &mut Errors,
) -> Option<ObjectStorePlan> {
    const AT: &str = "results.object_store";
    let field = |f: &str| format!("{AT}.{f}");
    let Some(url) = raw.url.as_deref() else {
        e.push(
            field("url"),
            "missing: give the bucket as s3://bucket/prefix",
        );
        return None;
    };
    let parsed = parse_s3_url(url).map_err(|m| e.push(field("url"), m)).ok();
    let endpoint = raw.endpoint.as_deref().and_then(|v| {
        let v = v.trim_end_matches('/');
        match url::Url::parse(v) {
            Ok(u)
                if matches!(u.scheme(), "http" | "https")
                    && u.host_str().is_some()
                    && u.username().is_empty()
                    && u.password().is_none()
                    && matches!(u.path(), "" | "/") =>
            {
                Some(v.to_string())
            }
            _ => {
                e.push(
                    field("endpoint"),
                    format!(
                        "{:?} is not an http(s) URL of a host (e.g. http://minio:9000), without \
                         a path or credentials",
                        v
                    ),
                );
                None
            }
        }
    });
    let region = raw.region.as_deref().and_then(|r| {
        let ok = !r.is_empty()
            && r.len() <= 64
            && r.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !ok {
            e.push(
                field("region"),
                format!("{:?} is not a region name (e.g. eu-west-1)", r),
            );
        }
        ok.then(|| r.to_string())
    });
    let credentials = credentials(raw, base, e);
    let retention = e.duration_or(&field("retention"), &raw.retention, default_retention);
    let (bucket, prefix) = parsed?;
    let plan = ObjectStorePlan {
        url: url.to_string(),
        bucket,
        prefix,
        endpoint,
        region,
        credentials: credentials?,
        retention,
    };
    let host = plan.host();
    if raw.endpoint.is_some() == plan.endpoint.is_some()
        && !super::allow::host_allowed(&host, allowed_hosts)
    {
        e.push(
            field(if plan.endpoint.is_some() {
                "endpoint"
            } else {
                "region"
            }),
            format!("uploads would go to {host}, which is not in safety.allowed_hosts"),
        );
        return None;
    }
    Some(plan)
}

/// `s3://bucket[/prefix]` → (bucket, prefix without surrounding slashes).
fn parse_s3_url(url: &str) -> Result<(String, String), S3UrlError> {
    let Some(rest) = url.strip_prefix("s3://") else {
        return Err(S3UrlError::Scheme(url.to_string()));
    };
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    // S3's bucket naming rules: 3-63 of lowercase letters, digits, '.', '-'.
    let bucket_ok = (3..=63).contains(&bucket.len())
        && bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
    if !bucket_ok {
        return Err(S3UrlError::Bucket {
            url: url.to_string(),
            bucket: bucket.to_string(),
        });
    }
    let prefix = prefix.trim_matches('/');
    let prefix_ok = prefix.len() <= 512
        && prefix.split('/').all(|seg| {
            seg.is_empty() && prefix.is_empty()
                || (!seg.is_empty()
                    && seg != "."
                    && seg != ".."
                    && seg
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')))
        });
    if !prefix_ok {
        return Err(S3UrlError::Prefix(url.to_string()));
    }
    Ok((bucket.to_string(), prefix.to_string()))
}

/// Why `results.object_store.url` is not `s3://bucket[/prefix]`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum S3UrlError {
    #[error("{0:?} is not an s3:// URL (e.g. s3://soakd-results/staging)")]
    Scheme(String),
    #[error(
        "{url:?}: bucket {bucket:?} is not a valid S3 bucket name (3-63 lowercase letters, digits, '.', '-')"
    )]
    Bucket { url: String, bucket: String },
    #[error("{0:?}: the prefix may hold letters, digits, '-', '_', '.' between single '/'")]
    Prefix(String),
}

fn credentials(raw: &RawObjectStore, base: &Path, e: &mut Errors) -> Option<Credentials> {
    let mut file = |name: &str, v: &Option<String>| -> Option<Option<PathBuf>> {
        let Some(v) = v else { return Some(None) };
        let path = base.join(v);
        if path.is_file() {
            Some(Some(path))
        } else {
            e.push(
                format!("results.object_store.{name}"),
                format!("{} is not a readable file", path.display()),
            );
            None
        }
    };
    let key = file("access_key_id_file", &raw.access_key_id_file);
    let secret = file("secret_access_key_file", &raw.secret_access_key_file);
    let token = file("session_token_file", &raw.session_token_file);
    match (key?, secret?, token?) {
        (None, None, None) => Some(Credentials::Environment),
        (Some(access_key_id), Some(secret_access_key), session_token) => Some(Credentials::Files {
            access_key_id,
            secret_access_key,
            session_token,
        }),
        _ => {
            e.push(
                "results.object_store",
                "access_key_id_file and secret_access_key_file go together (or neither: the AWS \
                 environment is used)",
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_s3_url_splits_into_bucket_and_prefix() {
        assert_eq!(
            parse_s3_url("s3://soakd-results/staging/eu/").unwrap(),
            ("soakd-results".into(), "staging/eu".into())
        );
        assert_eq!(
            parse_s3_url("s3://soakd-results").unwrap(),
            ("soakd-results".into(), String::new())
        );
    }

    #[test]
    fn urls_that_are_not_a_bucket_and_a_clean_prefix_are_refused() {
        for bad in [
            "https://soakd-results/x",
            "s3://Upper/x",
            "s3://ab",
            "s3://bucket/../up",
            "s3://bucket/a//b",
            "s3://bucket/a b",
        ] {
            assert!(parse_s3_url(bad).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn the_default_endpoint_host_follows_the_region() {
        let plan = ObjectStorePlan {
            url: "s3://b/p".into(),
            bucket: "b".into(),
            prefix: "p".into(),
            endpoint: None,
            region: Some("eu-west-1".into()),
            credentials: Credentials::Environment,
            retention: Duration::from_secs(1),
        };
        assert_eq!(plan.host(), "s3.eu-west-1.amazonaws.com");
        let minio = ObjectStorePlan {
            endpoint: Some("http://MinIO.local:9000".into()),
            ..plan
        };
        assert_eq!(minio.host(), "minio.local");
    }
}
