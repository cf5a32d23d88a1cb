//! The demo API's read cache (the seeds' Redis) and its purge drill.
//!
//! Seed 001's cache-purge drill flushes Redis at peak traffic and expects the API to keep
//! serving through its database fallback with a latency spike under 200 ms. The target needs a
//! fault whose cost is known exactly, so a drill and a windowed latency threshold can be
//! checked against it:
//!
//! - `POST /_control {"cache_purge_ms": 60000}` flushes the cache now; it is rebuilt over the
//!   next 60 s, and until then every read of a cached route (`GET /api/communities/{id}/feed`,
//!   `GET /api/profile/activity`) misses and is served through the database fallback,
//!   `cache_fallback_ms` slower (default 50 ms). `{"cache_purge_ms": 0}` ends a rebuild now
//!   (with none running it changes nothing). Other routes never touch the cache.
//! - `{"cache_fallback_ms": 400}` makes the fallback that slow (a database that cannot take the
//!   cache's load), for tests that the spike threshold catches it.
//!
//! `/_stats` shows `cache_purges` and `cache_misses`; `GET /metrics` exports them as
//! `demo_cache_purges_total` and `demo_cache_misses_total`.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use hyper::http::Method;
use serde_json::{Map, Value};

use super::faults::{FaultError, MAX_DELAY_MS};
use super::routes::TargetStats;

const DEFAULT_FALLBACK_MS: u64 = 50;

/// Cache state of one target.
#[derive(Debug)]
pub(crate) struct Cache {
    /// End of the current rebuild, if one runs or ran.
    rebuilt_at: Mutex<Option<Instant>>,
    fallback_ms: AtomicU64,
    purges: AtomicU64,
    misses: AtomicU64,
}

impl Default for Cache {
    fn default() -> Self {
        Cache {
            rebuilt_at: Mutex::new(None),
            fallback_ms: AtomicU64::new(DEFAULT_FALLBACK_MS),
            purges: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }
}

/// Whether `method path` reads through the cache.
fn cached(method: &Method, path: &str) -> bool {
    if method != Method::GET {
        return false;
    }
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    matches!(
        segs.as_slice(),
        ["api", "communities", _, "feed"] | ["api", "profile", "activity"]
    )
}

impl Cache {
    fn rebuilt_at(&self) -> std::sync::MutexGuard<'_, Option<Instant>> {
        self.rebuilt_at.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes the cache keys off a `/_control` update and applies them; returns the rest. Both
    /// keys are validated before either is applied.
    pub(crate) fn take_controls(
        &self,
        mut patch: Map<String, Value>,
    ) -> Result<Map<String, Value>, FaultError> {
        let ms = |patch: &mut Map<String, Value>, key: &str| {
            patch
                .remove(key)
                .map(|v| match v.as_u64() {
                    Some(ms) if ms <= MAX_DELAY_MS => Ok(ms),
                    _ => Err(FaultError::Invalid(format!(
                        "{key} must be an integer of milliseconds <= {MAX_DELAY_MS}"
                    ))),
                })
                .transpose()
        };
        let purge = ms(&mut patch, "cache_purge_ms")?;
        let fallback = ms(&mut patch, "cache_fallback_ms")?;
        if let Some(ms) = fallback {
            self.fallback_ms.store(ms, Relaxed);
        }
        if let Some(ms) = purge {
            let now = Instant::now();
            let mut g = self.rebuilt_at();
            if ms > 0 {
                *g = Some(now + Duration::from_millis(ms));
                self.purges.fetch_add(1, Relaxed);
            } else if g.is_some_and(|end| end > now) {
                *g = Some(now);
            }
        }
        Ok(patch)
    }

    /// The fallback's added latency when this request misses the cache (a rebuild runs and
    /// the route is cached); None on a hit or an uncached route (cheap when no rebuild runs).
    pub(crate) fn miss(&self, method: &Method, path: &str) -> Option<Duration> {
        let end = (*self.rebuilt_at())?;
        if Instant::now() >= end || !cached(method, path) {
            return None;
        }
        self.misses.fetch_add(1, Relaxed);
        Some(Duration::from_millis(self.fallback_ms.load(Relaxed)))
    }

    pub(crate) fn fill(&self, s: &mut TargetStats) {
        s.cache_purges = self.purges.load(Relaxed);
        s.cache_misses = self.misses.load(Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctl(c: &Cache, j: &str) -> Result<Map<String, Value>, FaultError> {
        c.take_controls(serde_json::from_str(j).unwrap())
    }

    const FEED: &str = "/api/communities/1/feed";

    #[test]
    fn cached_reads_miss_only_while_the_cache_is_rebuilt() {
        let c = Cache::default();
        assert_eq!(
            c.miss(&Method::GET, FEED),
            None,
            "no purge: every read hits"
        );
        ctl(&c, r#"{"cache_purge_ms": 60000}"#).unwrap();
        assert_eq!(
            c.miss(&Method::GET, FEED),
            Some(Duration::from_millis(DEFAULT_FALLBACK_MS))
        );
        assert!(c.miss(&Method::GET, "/api/profile/activity").is_some());
        assert_eq!(
            c.miss(&Method::GET, "/ok"),
            None,
            "calibration routes never change"
        );
        assert_eq!(
            c.miss(&Method::POST, "/api/posts"),
            None,
            "writes bypass the cache"
        );
        ctl(&c, r#"{"cache_fallback_ms": 400}"#).unwrap();
        assert_eq!(c.miss(&Method::GET, FEED), Some(Duration::from_millis(400)));
        // 0 ends the rebuild now; a second 0 is a no-op.
        ctl(&c, r#"{"cache_purge_ms": 0}"#).unwrap();
        assert_eq!(c.miss(&Method::GET, FEED), None);
        ctl(&c, r#"{"cache_purge_ms": 0}"#).unwrap();
        let mut s = TargetStats::default();
        c.fill(&mut s);
        assert_eq!((s.cache_purges, s.cache_misses), (1, 3));
    }

    #[test]
    fn a_rebuild_ends_on_its_own() {
        let c = Cache::default();
        ctl(&c, r#"{"cache_purge_ms": 20}"#).unwrap();
        assert!(c.miss(&Method::GET, FEED).is_some());
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(c.miss(&Method::GET, FEED), None);
    }

    #[test]
    fn cache_controls_are_validated_and_others_passed_on() {
        let c = Cache::default();
        let rest = ctl(&c, r#"{"cache_fallback_ms": 10, "latency_ms": 5}"#).unwrap();
        assert!(rest.contains_key("latency_ms") && !rest.contains_key("cache_fallback_ms"));
        for bad in [
            r#"{"cache_purge_ms": -1}"#,
            r#"{"cache_purge_ms": 600001}"#,
            r#"{"cache_fallback_ms": "slow", "cache_purge_ms": 1000}"#,
        ] {
            assert!(ctl(&c, bad).is_err(), "{bad}");
        }
        assert_eq!(
            c.miss(&Method::GET, FEED),
            None,
            "a rejected update applied nothing"
        );
    }
}
