//! The mix a run achieved against the one the plan asked for (summary `mix`): per entry its
//! intended and achieved share of iterations and of HTTP requests. Seed plans state their mixes
//! by request ("80/15/5 read/write/delete"), and a journey of several requests shifts the
//! request mix away from the iteration weights; both views side by side show whether the plan
//! was run as written.

use serde::{Deserialize, Serialize};

use crate::plan::Scenario;
use crate::plan::rate_of::requests_of;
use crate::record::RunSnapshot;

/// One mix entry's shares (fractions of 1).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MixShare {
    pub entry: String,
    /// Its normalised weight: the intended share of iterations.
    pub intended_iterations: f64,
    pub achieved_iterations: f64,
    /// weight × requests per iteration, normalised: the intended share of requests.
    pub intended_requests: f64,
    pub achieved_requests: f64,
}

/// Shares of every entry; empty for a single-entry mix (nothing to compare).
pub fn shares(s: &Scenario, snap: &RunSnapshot) -> Vec<MixShare> {
    if s.mix.len() < 2 {
        return Vec::new();
    }
    let weights = s.weights();
    let req_weight: Vec<f64> = s
        .mix
        .iter()
        .zip(&weights)
        .map(|(m, w)| w * requests_of(m) as f64)
        .collect();
    let req_total: f64 = req_weight.iter().sum();
    let iterations: Vec<u64> = s
        .mix
        .iter()
        .map(|m| {
            snap.journey_counts()
                .find(|(n, _)| *n == m.name)
                .map_or(0, |(_, [ok, failed])| ok + failed)
        })
        .collect();
    let it_total: u64 = iterations.iter().sum();
    let requests: Vec<u64> = s
        .mix
        .iter()
        .map(|m| {
            s.requests
                .iter()
                .enumerate()
                .filter(|(_, r)| r.journey == m.name)
                .map(|(i, _)| snap.request_counts(i).0)
                .sum()
        })
        .collect();
    let rq_total: u64 = requests.iter().sum();
    let frac = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
    s.mix
        .iter()
        .enumerate()
        .map(|(i, m)| MixShare {
            entry: m.name.clone(),
            intended_iterations: weights[i],
            achieved_iterations: frac(iterations[i] as f64, it_total as f64),
            intended_requests: frac(req_weight[i], req_total),
            achieved_requests: frac(requests[i] as f64, rq_total as f64),
        })
        .collect()
}
