//! Fault configuration of the calibration target and the per-request decisions it drives.
//!
//! Faults change rarely (a `POST /_control`) but are read on every request, so the current
//! configuration is an immutable `Arc` swapped under a `RwLock` that readers hold only for a
//! pointer clone. Rolls are skipped entirely when a rate is zero, keeping `/ok` cheap.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Added latency: fixed milliseconds, or uniform in `[lo, hi]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Latency {
    Fixed(u64),
    Range([u64; 2]),
}

/// The full fault state; every field off by default.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<Latency>,
    #[serde(default)]
    pub error_rate: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_status: Option<u16>,
    #[serde(default)]
    pub reset_rate: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stall_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stall_rate: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slow_body_bytes_per_sec: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub huge_body_bytes: Option<u64>,
    /// Share of `/ws/chat` connections closed abruptly after a random 200–800 ms.
    #[serde(default)]
    pub ws_drop_rate: f64,
    /// Pages of the `/api/activity` feed (default 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity_pages: Option<u32>,
}

/// A rejected fault update.
#[derive(Debug, thiserror::Error)]
pub enum FaultError {
    #[error("invalid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("expected a JSON object")]
    NotAnObject,
    #[error("{0}")]
    Invalid(String),
}

/// Longest latency or stall the target accepts (keeps a typo from hanging a test for hours).
pub const MAX_DELAY_MS: u64 = 600_000;

/// Most pages the activity feed can be set to.
pub const MAX_ACTIVITY_PAGES: u32 = 10_000;

impl FaultConfig {
    /// Checks ranges: rates in `[0, 1]`, statuses in `100..=599`, delays ≤ [`MAX_DELAY_MS`].
    pub fn validate(&self) -> Result<(), FaultError> {
        let bad = |m: &str| Err(FaultError::Invalid(m.to_owned()));
        let rate_ok = |r: f64| (0.0..=1.0).contains(&r);
        if !rate_ok(self.error_rate) || !rate_ok(self.reset_rate) || !rate_ok(self.ws_drop_rate) {
            return bad("rates must be within [0, 1]");
        }
        if self.stall_rate.is_some_and(|r| !rate_ok(r)) {
            return bad("stall_rate must be within [0, 1]");
        }
        if self.error_status.is_some_and(|s| !(100..=599).contains(&s)) {
            return bad("error_status must be within 100..=599");
        }
        match self.latency_ms {
            Some(Latency::Range([lo, hi])) if lo > hi => {
                return bad("latency_ms range is [lo, hi]");
            }
            Some(Latency::Fixed(ms) | Latency::Range([_, ms])) if ms > MAX_DELAY_MS => {
                return bad("latency_ms too large");
            }
            _ => {}
        }
        if self.stall_ms.is_some_and(|ms| ms > MAX_DELAY_MS) {
            return bad("stall_ms too large");
        }
        if self.slow_body_bytes_per_sec == Some(0) {
            return bad("slow_body_bytes_per_sec must be > 0");
        }
        if self
            .activity_pages
            .is_some_and(|n| !(1..=MAX_ACTIVITY_PAGES).contains(&n))
        {
            return bad("activity_pages must be within 1..=10000");
        }
        Ok(())
    }

    /// Status used for injected errors.
    pub fn error_status(&self) -> u16 {
        self.error_status.unwrap_or(500)
    }

    /// Whether any per-request fault could fire (fast path for a clean target). The shape of
    /// the feeds (`activity_pages`) and WebSocket drops are not per-request faults.
    pub fn is_clean(&self) -> bool {
        self.latency_ms.is_none()
            && self.error_rate == 0.0
            && self.error_status.is_none()
            && self.reset_rate == 0.0
            && self.stall_ms.is_none()
            && self.stall_rate.is_none()
            && self.slow_body_bytes_per_sec.is_none()
            && self.huge_body_bytes.is_none()
    }

    /// Pages of the activity feed.
    pub fn activity_pages(&self) -> u32 {
        self.activity_pages.unwrap_or(5)
    }

    pub fn roll_ws_drop(&self) -> bool {
        roll(self.ws_drop_rate)
    }

    /// Draws the added latency for one request.
    pub fn latency(&self) -> Option<Duration> {
        let ms = match self.latency_ms? {
            Latency::Fixed(ms) => ms,
            Latency::Range([lo, hi]) if lo >= hi => lo,
            Latency::Range([lo, hi]) => rand::random_range(lo..=hi),
        };
        (ms > 0).then(|| Duration::from_millis(ms))
    }

    /// Draws whether this request stalls, and for how long.
    pub fn stall(&self) -> Option<Duration> {
        let ms = self.stall_ms.filter(|&ms| ms > 0)?;
        roll(self.stall_rate.unwrap_or(1.0)).then(|| Duration::from_millis(ms))
    }

    pub fn roll_reset(&self) -> bool {
        roll(self.reset_rate)
    }

    pub fn roll_error(&self) -> bool {
        roll(self.error_rate)
    }
}

fn roll(rate: f64) -> bool {
    if rate <= 0.0 {
        false
    } else if rate >= 1.0 {
        true
    } else {
        rand::random::<f64>() < rate
    }
}

/// The live, shared fault state of one target.
#[derive(Debug, Default)]
pub struct Faults {
    current: RwLock<Arc<FaultConfig>>,
}

impl Faults {
    /// The configuration in force right now.
    pub fn get(&self) -> Arc<FaultConfig> {
        match self.current.read() {
            Ok(guard) => Arc::clone(&guard),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Replaces the whole configuration after validating it.
    pub fn set(&self, cfg: FaultConfig) -> Result<(), FaultError> {
        cfg.validate()?;
        let cfg = Arc::new(cfg);
        match self.current.write() {
            Ok(mut guard) => *guard = cfg,
            Err(poisoned) => *poisoned.into_inner() = cfg,
        }
        Ok(())
    }

    /// Turns every fault off.
    pub fn reset(&self) {
        // The default configuration always validates.
        let _ = self.set(FaultConfig::default());
    }

    /// Applies a partial JSON update: present keys replace, `null` clears, absent keys stay.
    pub fn patch_json(&self, body: &[u8]) -> Result<Arc<FaultConfig>, FaultError> {
        let Value::Object(patch) = serde_json::from_slice::<Value>(body)? else {
            return Err(FaultError::NotAnObject);
        };
        let Value::Object(mut merged) = serde_json::to_value(&*self.get())? else {
            return Err(FaultError::NotAnObject);
        };
        for (k, v) in patch {
            if v.is_null() {
                merged.remove(&k);
            } else {
                merged.insert(k, v);
            }
        }
        let cfg: FaultConfig = serde_json::from_value(Value::Object(merged))?;
        self.set(cfg)?;
        Ok(self.get())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_update_keeps_other_fields_and_null_clears() {
        let f = Faults::default();
        f.patch_json(br#"{"error_rate":0.5,"latency_ms":[10,20]}"#)
            .unwrap();
        let cfg = f.patch_json(br#"{"error_status":503}"#).unwrap();
        assert_eq!(cfg.error_rate, 0.5);
        assert_eq!(cfg.latency_ms, Some(Latency::Range([10, 20])));
        assert_eq!(cfg.error_status(), 503);
        let cfg = f.patch_json(br#"{"latency_ms":null}"#).unwrap();
        assert_eq!(cfg.latency_ms, None);
    }

    #[test]
    fn bad_updates_are_rejected_and_state_kept() {
        let f = Faults::default();
        assert!(f.patch_json(br#"{"error_rate":2}"#).is_err());
        assert!(f.patch_json(br#"{"latency_ms":[20,10]}"#).is_err());
        assert!(f.patch_json(br#"{"bogus":1}"#).is_err());
        assert!(f.patch_json(b"[1]").is_err());
        assert!(f.patch_json(b"{").is_err());
        assert!(f.patch_json(br#"{"ws_drop_rate":1.5}"#).is_err());
        assert!(f.patch_json(br#"{"activity_pages":0}"#).is_err());
        assert!(f.get().is_clean());
    }

    #[test]
    fn feed_shape_and_ws_drops_are_not_request_faults() {
        let f = Faults::default();
        let cfg = f
            .patch_json(br#"{"activity_pages":3,"ws_drop_rate":0.5}"#)
            .unwrap();
        assert!(cfg.is_clean());
        assert_eq!(cfg.activity_pages(), 3);
    }

    #[test]
    fn stall_rate_defaults_to_one() {
        let cfg = FaultConfig {
            stall_ms: Some(5),
            ..FaultConfig::default()
        };
        assert_eq!(cfg.stall(), Some(Duration::from_millis(5)));
    }
}
