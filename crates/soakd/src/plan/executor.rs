//! Validated load models (k6 executors): each is one file of `crate::load`, registered once
//! there (`executors!`); the plan stores them.
//!
//! Arrival rates are stored per second whatever `time_unit` the user wrote, so that
//! `--time-scale` can shrink every duration without touching a rate.

pub use super::load_compile::compile_load;
pub use crate::load::{
    ConstantArrivalRate, ConstantVus, Executor, Load, PerVuIterations, RampingArrivalRate,
    RampingVus, SharedIterations, Stage,
};
