//! Load models: every k6 executor in one file, reduced to "when does the next iteration start".
//!
//! Each executor file holds the executor's validated config, how it is compiled from its raw
//! `load:` block (validation with field paths), scaled (`--time-scale`), sharded (replica I of
//! N), described (`soakd check`) and the timing model it runs on, behind [`ExecutorKind`]. The
//! [`executors!`] list below is the one registration: it makes the [`Executor`] enum and every
//! dispatch from it. Closed models say how many VUs should be looping at each moment; open
//! (arrival-rate) models yield each iteration's intended start offset; iteration-count models
//! give budgets. The run drivers in `crate::run` turn these into tasks, on a [`Clock`].
//!
//! This module imports only `config`: `plan` stores its types and collects its errors through
//! [`Check`].

mod clock;
mod validate;

pub use clock::{Clock, Iterate, Starts, TimerStarts, TokioClock};
pub use validate::Check;

use crate::config::{RawLoad, RawStage};
use std::time::Duration;

/// One stage of a ramp: reach `target` (VUs or iterations per second) linearly over `duration`.
#[derive(Debug, Clone, PartialEq)]
pub struct Stage {
    pub duration: Duration,
    pub target: f64,
}

/// An executor with the stop grace all executors share.
#[derive(Debug, Clone, PartialEq)]
pub struct Load {
    pub executor: Executor,
    pub graceful_stop: Duration,
}

/// The config field whose value sets a quantity, for messages about it (`bounds`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// The most VUs the executor uses.
    Vus,
    /// Its peak arrival rate (open models).
    Rate,
    /// How long it runs.
    Duration,
}

/// The parts of a raw `load:` block read outside its executor (`plan::bounds`, `rate_of`, stage
/// names).
#[derive(Debug, Default)]
pub struct RawParts<'a> {
    pub time_unit: Option<&'a str>,
    pub rate_of: Option<&'a str>,
    pub stages: &'a [RawStage],
}

/// What `describe` needs of its scenario.
pub struct Describe<'a> {
    /// `rate_of: requests`: rates are shown as written, in requests per second (the stored
    /// iteration rate times this).
    pub requests_per_iteration: Option<f64>,
    /// A note after stage `i` (its name and the thresholds judged on it), or "".
    pub stage_note: &'a dyn Fn(usize) -> String,
}

/// One k6 executor: its config and everything soakd does with it. Implemented by one file.
pub trait ExecutorKind {
    /// Validates the raw block (always of this executor's variant; see `executors!`), pushing
    /// every mistake with its field path under `path` (e.g. `scenarios.feed.load`).
    fn compile(raw: &RawLoad, path: &str, e: &mut dyn Check) -> Load
    where
        Self: Sized;
    /// The raw parts read elsewhere (the raw block is of this executor's variant).
    fn raw_parts(_raw: &RawLoad) -> RawParts<'_>
    where
        Self: Sized,
    {
        RawParts::default()
    }
    /// The k6 name, e.g. `ramping-arrival-rate`.
    fn name(&self) -> &'static str;
    /// Planned duration, without graceful stop (for iteration-count executors: the cap).
    fn duration(&self) -> Duration;
    /// Most VUs this executor may use at once.
    fn max_vus(&self) -> u32;
    /// Highest iteration rate of an open model; None for closed models (unbounded by config).
    fn peak_rate(&self) -> Option<f64> {
        None
    }
    /// Iterations the plan asks for, when that is known in advance.
    fn expected_iterations(&self) -> Option<f64> {
        None
    }
    /// The stages of a ramping executor (empty for the others).
    fn stages(&self) -> &[Stage] {
        &[]
    }
    /// The config field that sets `f` (for messages about it).
    fn field(&self, f: Field) -> &'static str;
    /// Every duration multiplied by `f`; rates and counts unchanged (`--time-scale`).
    fn scale(&mut self, f: f64);
    /// Replica `index` of `count`'s share: rates divided by `count`, VUs and iterations split
    /// with [`share`] so the replicas together run exactly the whole (like k6 segments).
    fn shard(&mut self, index: u32, count: u32);
    /// Divides every arrival rate by `per` (`rate_of: requests`); closed models have none.
    fn divide_rates(&mut self, _per: f64) {}
    /// The `soakd check` text after `executor: NAME `: one line, then one per stage.
    fn describe(&self, cx: &Describe) -> String;
    /// The timing model a driver runs; open-model arrivals are shifted by `phase` (a fraction
    /// of one inter-arrival gap, `Scenario::arrival_phase`) so sharded replicas interleave.
    fn model(&self, phase: f64) -> Model;
}

/// Replica `index` of `count`'s part of `v` whole things: the parts add up to `v`.
pub fn share(v: u32, index: u32, count: u32) -> u32 {
    let n = count.max(1);
    v / n + u32::from(index < v % n)
}

/// The registration: one line per executor, `Variant => file::Type`, where `Variant` is the
/// executor's `RawLoad` variant. It declares the files and makes the `Executor` enum (one
/// variant per executor, holding its file's type), its dispatch, and `compile`/`raw_parts`
/// from a raw block (the match is exhaustive: a `RawLoad` variant without an executor fails to
/// build).
macro_rules! executors {
    ($($variant:ident => $file:ident::$ty:ident),* $(,)?) => {
        $(mod $file; pub use $file::$ty;)*

        /// A validated k6 executor: one variant per executor file.
        #[derive(Debug, Clone, PartialEq)]
        pub enum Executor {
            $($variant($ty),)*
        }

        $(impl From<$ty> for Executor {
            fn from(x: $ty) -> Self {
                Executor::$variant(x)
            }
        })*

        impl Executor {
            /// The executor behind the enum.
            pub fn kind(&self) -> &dyn ExecutorKind {
                match self {
                    $(Executor::$variant(x) => x,)*
                }
            }

            pub fn kind_mut(&mut self) -> &mut dyn ExecutorKind {
                match self {
                    $(Executor::$variant(x) => x,)*
                }
            }
        }

        /// Validates one `load:` block. `path` is e.g. `scenarios.feed.load`.
        pub fn compile(raw: &RawLoad, path: &str, e: &mut dyn Check) -> Load {
            match raw {
                $(RawLoad::$variant { .. } => <$ty as ExecutorKind>::compile(raw, path, e),)*
            }
        }

        /// The parts of `raw` read outside its executor.
        pub fn raw_parts(raw: &RawLoad) -> RawParts<'_> {
            match raw {
                $(RawLoad::$variant { .. } => <$ty as ExecutorKind>::raw_parts(raw),)*
            }
        }
    };
}

executors! {
    ConstantVus => constant_vus::ConstantVus,
    RampingVus => ramping_vus::RampingVus,
    ConstantArrivalRate => constant_arrival_rate::ConstantArrivalRate,
    RampingArrivalRate => ramping_arrival_rate::RampingArrivalRate,
    PerVuIterations => per_vu_iterations::PerVuIterations,
    SharedIterations => shared_iterations::SharedIterations,
}

pub use constant_arrival_rate::ConstantArrivals;
pub use per_vu_iterations::PerVuBudget;
pub use ramping_arrival_rate::RampingArrivals;
pub use shared_iterations::SharedBudget;

impl Executor {
    /// The k6 name, e.g. `ramping-arrival-rate`.
    pub fn name(&self) -> &'static str {
        self.kind().name()
    }
    /// Planned duration, without graceful stop (for iteration-count executors: the cap).
    pub fn duration(&self) -> Duration {
        self.kind().duration()
    }
    /// Most VUs this executor may use at once.
    pub fn max_vus(&self) -> u32 {
        self.kind().max_vus()
    }
    /// Highest iteration rate of an open model; None for closed models.
    pub fn peak_rate(&self) -> Option<f64> {
        self.kind().peak_rate()
    }
    /// Iterations the plan asks for, when that is known in advance.
    pub fn expected_iterations(&self) -> Option<f64> {
        self.kind().expected_iterations()
    }
    /// The stages of a ramping executor (empty for the others).
    pub fn stages(&self) -> &[Stage] {
        self.kind().stages()
    }
}

impl Load {
    /// Every duration multiplied by `f`; rates and counts unchanged.
    pub fn scaled(&self, f: f64) -> Load {
        let mut l = self.clone();
        l.executor.kind_mut().scale(f);
        l.graceful_stop = self.graceful_stop.mul_f64(f);
        l
    }

    /// Replica `index` of `count`'s share: rates divided by `count`, VUs and iterations split
    /// so that the replicas together run exactly the whole (like k6 execution segments).
    pub fn sharded(&self, index: u32, count: u32) -> Load {
        let mut l = self.clone();
        l.executor.kind_mut().shard(index, count.max(1));
        l
    }
}

/// Stages with every duration multiplied by `f`.
fn scaled_stages(stages: &mut [Stage], f: f64) {
    for s in stages {
        s.duration = s.duration.mul_f64(f);
    }
}

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

/// An open model: when iterations arrive, for how long, and the VUs that may run them.
pub struct OpenModel {
    pub arrivals: Box<dyn Arrivals>,
    pub duration: Duration,
    pub pre_allocated_vus: u32,
    pub max_vus: u32,
    /// Highest rate of the model (per second): picks the pacing (see `run::open`).
    pub peak_rate: f64,
    /// A sharded replica starts on the next multiple of this period of Unix time: one
    /// inter-arrival gap of its share for a constant rate (every replica's arrivals then sit on
    /// one global lattice, each on its own residue), a whole second for a ramp (replicas fired
    /// by one trigger start their ramps together).
    pub grid: Duration,
}

/// What a driver needs to run a load.
pub enum Model {
    Closed {
        profile: Box<dyn VuProfile>,
        /// Grace for VUs removed by a ramp-down to finish their iteration.
        graceful_ramp_down: Duration,
    },
    Open(OpenModel),
    Budgeted(Box<dyn Budget>),
}

/// Builds the model of an executor; open-model arrivals are shifted by `phase`.
pub fn model(load: &Load, phase: f64) -> Model {
    load.executor.kind().model(phase)
}
