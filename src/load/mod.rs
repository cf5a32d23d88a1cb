//! Load models: every k6 executor reduced to "when does the next iteration start".
//!
//! This module is pure timing arithmetic, one file per executor, testable without a network.
//! Closed models say how many VUs should be looping at each moment; open (arrival-rate)
//! models yield each iteration's intended start offset; iteration-count models give budgets.
//! The run drivers in `crate::run` turn these into tasks.

mod constant_arrival_rate;
mod constant_vus;
mod per_vu_iterations;
mod ramping_arrival_rate;
mod ramping_vus;
mod shared_iterations;

pub use constant_arrival_rate::ConstantArrivals;
pub use constant_vus::ConstantVus;
pub use per_vu_iterations::PerVuIterations;
pub use ramping_arrival_rate::RampingArrivals;
pub use ramping_vus::RampingVus;
pub use shared_iterations::SharedIterations;

use crate::plan::{Executor, Load};
use std::time::Duration;

/// Closed model: how many VUs should be active `t` after the start.
pub trait VuProfile: Send + Sync {
    fn vus_at(&self, t: Duration) -> u32;
    /// When the profile ends (then `graceful_stop` applies).
    fn duration(&self) -> Duration;
    fn max_vus(&self) -> u32;
}

/// Open model: intended start offsets of successive iterations, ascending; None when done.
pub trait Arrivals: Send {
    fn next_offset(&mut self) -> Option<Duration>;
}

/// Iteration budget model: VUs loop until their share of iterations is used up.
pub trait Budget: Send + Sync {
    /// Claims the next iteration for `vu` (0-based); false when that VU is done.
    fn claim(&self, vu: u32) -> bool;
    fn vus(&self) -> u32;
    fn max_duration(&self) -> Duration;
    /// Iterations of the budget never claimed (k6 counts those left when `max_duration` runs
    /// out as `dropped_iterations`). Call it once every VU has stopped claiming.
    fn unclaimed(&self) -> u64;
}

/// What a driver needs to run a load.
pub enum Model {
    Closed {
        profile: Box<dyn VuProfile>,
        /// Grace for VUs removed by a ramp-down to finish their iteration.
        graceful_ramp_down: Duration,
    },
    Open {
        arrivals: Box<dyn Arrivals>,
        duration: Duration,
        pre_allocated_vus: u32,
        max_vus: u32,
    },
    Budgeted(Box<dyn Budget>),
}

/// Builds the model of an executor; open-model arrivals are shifted by `phase` (a fraction of
/// one inter-arrival gap, `Scenario::arrival_phase`) so sharded replicas interleave.
pub fn model(load: &Load, phase: f64) -> Model {
    match &load.executor {
        Executor::ConstantVus { vus, duration } => Model::Closed {
            profile: Box::new(ConstantVus::new(*vus, *duration)),
            graceful_ramp_down: Duration::ZERO,
        },
        Executor::RampingVus {
            start_vus,
            stages,
            graceful_ramp_down,
        } => Model::Closed {
            profile: Box::new(RampingVus::new(*start_vus, stages.clone())),
            graceful_ramp_down: *graceful_ramp_down,
        },
        Executor::ConstantArrivalRate {
            rate,
            duration,
            pre_allocated_vus,
            max_vus,
        } => Model::Open {
            arrivals: Box::new(ConstantArrivals::new(*rate, *duration).with_phase(phase)),
            duration: *duration,
            pre_allocated_vus: *pre_allocated_vus,
            max_vus: *max_vus,
        },
        Executor::RampingArrivalRate {
            start_rate,
            stages,
            pre_allocated_vus,
            max_vus,
        } => Model::Open {
            arrivals: Box::new(RampingArrivals::new(*start_rate, stages.clone()).with_phase(phase)),
            duration: load.executor.duration(),
            pre_allocated_vus: *pre_allocated_vus,
            max_vus: *max_vus,
        },
        Executor::PerVuIterations {
            vus,
            iterations,
            max_duration,
        } => Model::Budgeted(Box::new(PerVuIterations::new(
            *vus,
            *iterations,
            *max_duration,
        ))),
        Executor::SharedIterations {
            vus,
            iterations,
            max_duration,
        } => Model::Budgeted(Box::new(SharedIterations::new(
            *vus,
            *iterations,
            *max_duration,
        ))),
    }
}
