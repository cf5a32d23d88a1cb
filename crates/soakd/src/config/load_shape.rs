//! Field paths for mistakes inside `load:`.
//!
//! `RawLoad` is tagged by its `executor` field, and serde reads such an enum through a buffer
//! that hides where in it a mistake is: `vus: many` came out as `load: invalid type` without the
//! field. When that happens, the same block is read again as this mirror, tagged from outside
//! (`{ constant-vus: { vus: many } }`), whose errors carry the field path. The mirror only
//! diagnoses: `RawLoad` stays the type the rest of soakd reads.

use super::RawStage;
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
#[allow(dead_code)] // Read only for its errors.
enum Shape {
    ConstantVus {
        vus: i64,
        duration: String,
        graceful_stop: Option<String>,
    },
    RampingVus {
        #[serde(default)]
        start_vus: i64,
        stages: Vec<RawStage>,
        graceful_ramp_down: Option<String>,
        graceful_stop: Option<String>,
    },
    ConstantArrivalRate {
        rate: f64,
        time_unit: Option<String>,
        duration: String,
        pre_allocated_vus: i64,
        max_vus: Option<i64>,
        graceful_stop: Option<String>,
    },
    RampingArrivalRate {
        #[serde(default)]
        start_rate: f64,
        time_unit: Option<String>,
        stages: Vec<RawStage>,
        pre_allocated_vus: i64,
        max_vus: Option<i64>,
        graceful_stop: Option<String>,
    },
    PerVuIterations {
        vus: i64,
        iterations: i64,
        max_duration: Option<String>,
        graceful_stop: Option<String>,
    },
    SharedIterations {
        vus: i64,
        iterations: i64,
        max_duration: Option<String>,
        graceful_stop: Option<String>,
    },
}

/// The (path inside `load`, serde message) of the mistake in `load`, when the mirror finds one
/// below the top of the block.
pub fn diagnose(load: &Value) -> Option<(String, String)> {
    let Value::Object(map) = load else {
        return None;
    };
    let executor = map.get("executor")?.as_str()?.to_string();
    let mut rest = map.clone();
    rest.remove("executor");
    let tagged = Value::Object([(executor, Value::Object(rest))].into_iter().collect());
    let err = serde_path_to_error::deserialize::<_, Shape>(tagged).err()?;
    let path = err.path().to_string();
    // Drop the executor segment; nothing left means the mistake is the block itself.
    let inner = path.split_once('.').map(|(_, p)| p.to_string())?;
    Some((inner, err.into_inner().to_string()))
}

/// The field and message of a mistake in a `schedule:` mapping (`{ cron, timezone }` or
/// `{ continuous }`), chosen by its keys.
pub fn diagnose_schedule(v: &Value) -> Option<(String, String)> {
    let map = v.as_object()?;
    let err = if map.contains_key("cron") {
        serde_path_to_error::deserialize::<_, super::RawCron>(v.clone()).err()?
    } else if map.contains_key("continuous") {
        serde_path_to_error::deserialize::<_, super::RawContinuous>(v.clone()).err()?
    } else {
        return None;
    };
    Some((err.path().to_string(), err.into_inner().to_string()))
}

/// The field and message of a mistake in the threshold entry at `KEY[I]` (the error path)
/// when it is a `{ threshold, abort_on_fail, delay_abort_eval }` mapping.
pub fn diagnose_threshold(thresholds: &Value, at: &str) -> Option<(String, String)> {
    let (key, index) = at.strip_suffix(']')?.rsplit_once('[')?;
    let entry = thresholds.get(key)?.get(index.parse::<usize>().ok()?)?;
    entry.as_object()?;
    let err =
        serde_path_to_error::deserialize::<_, super::RawThresholdFull>(entry.clone()).err()?;
    Some((err.path().to_string(), err.into_inner().to_string()))
}
