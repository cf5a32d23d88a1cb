//! Compiles a raw `load:` block into a validated [`Load`], collecting every mistake: each
//! executor validates itself (`crate::load`), reporting into the plan's [`Errors`].

use super::errors::Errors;
use super::executor::Load;
use crate::config::RawLoad;
use std::time::Duration;

/// Validates one `load:` block. `path` is e.g. `scenarios.feed.load`.
pub fn compile_load(raw: &RawLoad, path: &str, e: &mut Errors) -> Load {
    crate::load::compile(raw, path, e)
}

impl crate::load::Check for Errors {
    fn push(&mut self, path: String, message: String) {
        Errors::push(self, path, message)
    }
    fn duration(&mut self, path: &str, s: &str) -> Option<Duration> {
        Errors::duration(self, path, s)
    }
    fn duration_or(&mut self, path: &str, s: &Option<String>, default: Duration) -> Duration {
        Errors::duration_or(self, path, s, default)
    }
    fn count(&mut self, path: &str, v: i64, min: i64) -> u32 {
        Errors::count(self, path, v, min)
    }
}
