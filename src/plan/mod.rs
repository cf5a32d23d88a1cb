//! The validated plan: what the engine runs. Built from raw config by `compile`.

pub mod threshold;
