//! Actions: one iteration of a scenario — pick a mix entry, run its steps, record each request.
//!
//! Everything static about a request (URL, headers, body) is prepared once per run, so a
//! request without templates costs a few clones of shared bytes. Latency of the first request
//! of an open-model iteration is measured from the iteration's intended start.

mod checks;
mod prepare;

use crate::client::{FailureReason, HttpClient};
use crate::plan::{Scenario, Step};
use crate::record::Recorder;
use prepare::Prepared;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A virtual user's own state, carried between its iterations.
pub struct Vu {
    pub id: u32,
    pub iteration: u64,
    /// Values extracted earlier in the journey (`var.X`).
    pub vars: BTreeMap<String, String>,
    rng: SmallRng,
}

impl Vu {
    pub fn new(id: u32) -> Self {
        Vu {
            id,
            iteration: 0,
            vars: BTreeMap::new(),
            rng: SmallRng::from_rng(&mut rand::rng()),
        }
    }
}

/// Runs iterations of one scenario against its target.
pub struct Actor {
    scenario: Arc<Scenario>,
    client: HttpClient,
    recorder: Arc<Recorder>,
    prepared: Vec<Prepared>,
}

impl Actor {
    pub fn new(scenario: Arc<Scenario>, client: HttpClient, recorder: Arc<Recorder>) -> Self {
        let prepared = prepare::prepare_all(&scenario);
        Actor {
            scenario,
            client,
            recorder,
            prepared,
        }
    }

    pub fn recorder(&self) -> &Arc<Recorder> {
        &self.recorder
    }

    /// One iteration. `intended` is the open model's intended start (None in closed models).
    pub async fn iteration(&self, vu: &mut Vu, intended: Option<Instant>) {
        let began = Instant::now();
        let start = intended.unwrap_or(began);
        let lag = began.saturating_duration_since(start);
        let entry = self.pick(vu);
        let mut first_start = Some(start);
        let mut ctx = None;
        for step in &self.scenario.mix[entry].steps {
            match step {
                Step::Think { min, max } => {
                    let d = if max > min {
                        vu.rng.random_range(*min..=*max)
                    } else {
                        *min
                    };
                    tokio::time::sleep(d).await;
                }
                Step::Request(r) => {
                    let p = &self.prepared[r.index];
                    let measured_from = first_start.take().unwrap_or_else(Instant::now);
                    let built = match p.needs_context() {
                        false => p.build(r, &self.scenario.templates, None),
                        true => {
                            let c = ctx.get_or_insert_with(|| {
                                self.scenario
                                    .templates
                                    .context(vu.id, vu.iteration, &vu.vars)
                            });
                            p.build(r, &self.scenario.templates, Some(c))
                        }
                    };
                    let outcome = match built {
                        Ok(req) => self.client.send(req, r.timeout).await,
                        Err(_) => Err(FailureReason::Protocol),
                    };
                    let latency = measured_from.elapsed();
                    self.record(vu.id, r, outcome, latency);
                }
            }
        }
        self.recorder.iteration(vu.id, start.elapsed(), lag);
        vu.iteration += 1;
    }

    fn pick(&self, vu: &mut Vu) -> usize {
        let w = &self.scenario.cumulative_weights;
        if w.len() <= 1 {
            return 0;
        }
        let x: f64 = vu.rng.random();
        w.iter().position(|c| x < *c).unwrap_or(w.len() - 1)
    }

    fn record(
        &self,
        vu: u32,
        r: &crate::plan::RequestStep,
        outcome: Result<crate::client::Response, FailureReason>,
        latency: Duration,
    ) {
        match outcome {
            Ok(resp) => {
                let results = checks::run(&r.checks, &resp, latency);
                // k6's default: a response is failed unless its status is 2xx or 3xx.
                let failure = if resp.status >= 400 {
                    Some(FailureReason::Status)
                } else if results.iter().any(|ok| !ok) {
                    Some(FailureReason::Check)
                } else {
                    None
                };
                self.recorder
                    .request(vu, r.index, Some(resp.status), latency, failure, &results);
            }
            Err(reason) => {
                // Checks of a request that got no response all fail.
                let results = vec![false; r.checks.len()];
                self.recorder
                    .request(vu, r.index, None, latency, Some(reason), &results);
            }
        }
    }
}
