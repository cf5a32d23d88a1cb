//! PromQL checks: instant queries during a run, reduced to one verdict per check.
//!
//! Each check is sampled with `GET {url}/api/v1/query?query=…` every `every` (the first at the
//! run's start, one more at its end). A vector answer contributes its first sample, a scalar its
//! value; an empty vector contributes nothing. The verdict follows the check's aggregation.
//!
//! Errors. A query that fails (Prometheus unreachable, a non-2xx answer, `status: error`, a body
//! that is not the API's JSON) makes the whole check `error`: its observed value is unknown and,
//! with `on_error: fail` (the default), it counts as breached, so a broken Prometheus can never
//! turn into a pass. A run in which every query answered but none returned a sample is an error
//! too ("no data"): a check whose selector matches nothing must not pass silently.

use crate::client::HttpClient;
use crate::client::http;
use crate::plan::sut::{OnError, Prometheus, SutAgg, SutCheck};
use crate::verdict::Outcome;
use bytes::Bytes;
use http_body_util::Full;
use serde_json::Value;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Why one query produced no value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum QueryError {
    #[error("cannot read the bearer token file {path}: {reason}")]
    Token { path: String, reason: String },
    #[error("bad query URL: {0}")]
    Url(String),
    #[error("Prometheus unreachable: {0}")]
    Unreachable(String),
    #[error("Prometheus answered {status}: {body}")]
    Status { status: u16, body: String },
    #[error("Prometheus query failed: {0}")]
    Api(String),
    #[error("unexpected answer from Prometheus: {0}")]
    Decode(String),
}

/// One check's result for a run (the summary's `sut_checks` row).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CheckResult {
    pub name: String,
    pub threshold: String,
    pub query: String,
    /// Queries sent and samples they returned.
    pub queries: u32,
    pub samples: u32,
    pub observed: Option<f64>,
    pub breached: bool,
    /// Set when the check is `error` (failed queries or no data).
    pub error: Option<String>,
}

impl CheckResult {
    pub fn outcome(&self, limit: f64) -> Outcome {
        Outcome {
            threshold: self.threshold.clone(),
            observed: self.observed,
            limit,
            breached: self.breached,
        }
    }
}

/// A check's samples so far.
#[derive(Debug, Default)]
pub struct Samples {
    values: Vec<f64>,
    queries: u32,
    error: Option<QueryError>,
}

impl Samples {
    pub fn push(&mut self, r: Result<Option<f64>, QueryError>) {
        self.queries += 1;
        match r {
            Ok(Some(v)) if !v.is_nan() => self.values.push(v),
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "SUT check query failed");
                self.error.get_or_insert(e);
            }
        }
    }

    /// The verdict of `check` over these samples.
    pub fn judge(&self, check: &SutCheck) -> CheckResult {
        let error = match (&self.error, self.values.is_empty()) {
            (Some(e), _) => Some(e.to_string()),
            (None, true) => Some("no data: the query returned no sample".to_string()),
            (None, false) => None,
        };
        let observed = if error.is_some() {
            None
        } else {
            aggregate(check.aggregation, &self.values)
        };
        let breached = match observed {
            Some(v) => !check.op.holds(v, check.limit),
            None => check.on_error == OnError::Fail,
        };
        CheckResult {
            name: check.name.clone(),
            threshold: check.label.clone(),
            query: check.query.clone(),
            queries: self.queries,
            samples: self.values.len() as u32,
            observed,
            breached,
            error,
        }
    }
}

/// Reduces samples in time order; None when there are none.
pub fn aggregate(agg: SutAgg, v: &[f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    Some(match agg {
        SutAgg::Max => v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        SutAgg::Min => v.iter().copied().fold(f64::INFINITY, f64::min),
        SutAgg::Avg => v.iter().sum::<f64>() / v.len() as f64,
        SutAgg::Last => *v.last()?,
        // A drop is a counter reset: the new value is growth since the restart.
        SutAgg::Increase => v
            .windows(2)
            .map(|w| if w[1] >= w[0] { w[1] - w[0] } else { w[1] })
            .sum::<f64>(),
    })
}

/// Samples `check` until `stop`, then once more; returns every sample.
pub async fn sample_loop(
    client: HttpClient,
    prom: std::sync::Arc<Prometheus>,
    check: SutCheck,
    stop: CancellationToken,
) -> Samples {
    let mut s = Samples::default();
    let mut tick = tokio::time::interval(check.every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tick.tick() => s.push(query(&client, &prom, &check.query).await),
        }
    }
    s.push(query(&client, &prom, &check.query).await);
    s
}

/// One instant query; the value of its first sample, None for an empty vector.
pub async fn query(
    client: &HttpClient,
    prom: &Prometheus,
    q: &str,
) -> Result<Option<f64>, QueryError> {
    let mut url = prom
        .url
        .join("api/v1/query")
        .map_err(|e| QueryError::Url(e.to_string()))?;
    if !prom.url.path().ends_with('/') && prom.url.path() != "/" {
        // `join` would drop the last path segment of `http://host/prometheus`.
        url = prom.url.clone();
        url.set_path(&format!("{}/api/v1/query", prom.url.path()));
    }
    url.query_pairs_mut().append_pair("query", q);
    let mut req = http::Request::get(url.as_str());
    if let Some(path) = &prom.bearer_token_file {
        let token = std::fs::read_to_string(path).map_err(|e| QueryError::Token {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        req = req.header("authorization", format!("Bearer {}", token.trim()));
    }
    let req = req
        .body(Full::new(Bytes::new()))
        .map_err(|e| QueryError::Url(e.to_string()))?;
    let timeout = prom.timeout.max(Duration::from_millis(1));
    let resp = client
        .send(req, timeout)
        .await
        .map_err(|r| QueryError::Unreachable(r.to_string()))?;
    let body: Result<Value, _> = serde_json::from_slice(&resp.body);
    if !(200..300).contains(&resp.status) {
        // The API explains 4xx/5xx in `error`; show that rather than the raw body.
        let detail = body
            .ok()
            .and_then(|v| v["error"].as_str().map(str::to_owned))
            .unwrap_or_else(|| {
                String::from_utf8_lossy(&resp.body)
                    .chars()
                    .take(200)
                    .collect()
            });
        return Err(QueryError::Status {
            status: resp.status,
            body: detail,
        });
    }
    parse_answer(&body.map_err(|e| QueryError::Decode(e.to_string()))?)
}

/// Reads `{"status":"success","data":{"resultType":…,"result":…}}`.
pub fn parse_answer(v: &Value) -> Result<Option<f64>, QueryError> {
    if v["status"] != "success" {
        let msg = v["error"].as_str().unwrap_or("status is not success");
        return Err(QueryError::Api(msg.to_string()));
    }
    let data = &v["data"];
    let pair = match data["resultType"].as_str() {
        Some("scalar") => &data["result"],
        Some("vector") => match data["result"].as_array() {
            Some(a) if a.is_empty() => return Ok(None),
            Some(a) => &a[0]["value"],
            None => return Err(QueryError::Decode("vector result is not a list".into())),
        },
        other => {
            return Err(QueryError::Decode(format!(
                "result type {other:?} (use a query returning a scalar or an instant vector)"
            )));
        }
    };
    let text = pair[1]
        .as_str()
        .ok_or_else(|| QueryError::Decode(format!("sample {pair} is not [time, \"value\"]")))?;
    text.parse::<f64>()
        .map(Some)
        .map_err(|_| QueryError::Decode(format!("{text:?} is not a number")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn vector_scalar_and_empty_answers() {
        let vector = json!({"status":"success","data":{"resultType":"vector",
            "result":[{"metric":{},"value":[1.0,"0.9"]},{"metric":{},"value":[1.0,"0.1"]}]}});
        assert_eq!(parse_answer(&vector), Ok(Some(0.9)));
        let scalar = json!({"status":"success","data":{"resultType":"scalar","result":[1.0,"3"]}});
        assert_eq!(parse_answer(&scalar), Ok(Some(3.0)));
        let empty = json!({"status":"success","data":{"resultType":"vector","result":[]}});
        assert_eq!(parse_answer(&empty), Ok(None));
        let err = json!({"status":"error","error":"parse error"});
        assert!(matches!(parse_answer(&err), Err(QueryError::Api(_))));
        let matrix = json!({"status":"success","data":{"resultType":"matrix","result":[]}});
        assert!(matches!(parse_answer(&matrix), Err(QueryError::Decode(_))));
    }

    #[test]
    fn aggregations() {
        let v = [1.0, 4.0, 2.0, 5.0];
        assert_eq!(aggregate(SutAgg::Max, &v), Some(5.0));
        assert_eq!(aggregate(SutAgg::Min, &v), Some(1.0));
        assert_eq!(aggregate(SutAgg::Avg, &v), Some(3.0));
        assert_eq!(aggregate(SutAgg::Last, &v), Some(5.0));
        // 1→4 (+3), 4→2 reset (+2), 2→5 (+3)
        assert_eq!(aggregate(SutAgg::Increase, &v), Some(8.0));
        assert_eq!(aggregate(SutAgg::Max, &[]), None);
    }
}
