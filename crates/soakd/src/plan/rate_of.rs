//! `rate_of: requests` for the arrival-rate executors: the seeds speak of requests per second
//! ("120 RPS") while k6's arrival rates count iterations, so with a two-request journey in the
//! mix "120" would send about 145 requests/s. Here the plan converts once: the iteration rate is
//! the request rate divided by the mix's expected requests per iteration (Σ weightᵢ·requestsᵢ /
//! Σ weight). The arrivals stay a paced open model; over a run the request rate then matches the
//! plan as closely as the weighted draw matches its weights. Each request step counts once (a
//! paginating step's extra pages and WebSocket sessions are not requests of the plan's rate).

use super::errors::Errors;
use super::executor::Load;
use super::request::{MixEntry, Step};
use crate::config::RawLoad;

/// HTTP requests one iteration of `entry` sends (its request steps).
pub fn requests_of(entry: &MixEntry) -> usize {
    entry
        .steps
        .iter()
        .filter(|s| matches!(s, Step::Request(_)))
        .count()
}

/// Expected HTTP requests per iteration for a mix with these (unnormalised) weights.
pub fn requests_per_iteration(mix: &[MixEntry], weights: &[f64]) -> f64 {
    let total: f64 = weights.iter().sum();
    if total <= 0.0 {
        return 0.0;
    }
    mix.iter()
        .zip(weights)
        .map(|(m, w)| w * requests_of(m) as f64)
        .sum::<f64>()
        / total
}

/// Applies the raw `rate_of` of `raw` (at `path`) to `load`: returns the load with iteration
/// rates, and the requests per iteration when the rates were given in requests.
pub fn apply(
    load: Load,
    raw: Option<&RawLoad>,
    mix: &[MixEntry],
    weights: &[f64],
    path: &str,
    e: &mut Errors,
) -> (Load, Option<f64>) {
    let rate_of = raw.and_then(|r| crate::load::raw_parts(r).rate_of);
    match rate_of {
        None | Some("iterations") => (load, None),
        Some("requests") => {
            let per = requests_per_iteration(mix, weights);
            if per <= 0.0 {
                e.push(
                    path,
                    "requests: the mix sends no HTTP request, so a request rate cannot be paced",
                );
                return (load, None);
            }
            (divided(load, per), Some(per))
        }
        Some(other) => {
            e.push(
                path,
                format!("{other:?} is not one of iterations, requests"),
            );
            (load, None)
        }
    }
}

/// The same load with every arrival rate divided by `per`.
fn divided(mut load: Load, per: f64) -> Load {
    load.executor.kind_mut().divide_rates(per);
    load
}
