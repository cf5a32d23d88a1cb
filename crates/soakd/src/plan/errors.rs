//! Error collection for `compile`: every mistake is kept, each with its file and field path.

use crate::config::ConfigError;
use std::time::Duration;

/// Collects errors while compiling; never stops at the first.
#[derive(Debug, Default)]
pub struct Errors {
    file: String,
    pub list: Vec<ConfigError>,
}

impl Errors {
    pub fn new(file: &str) -> Self {
        Errors {
            file: file.to_string(),
            list: Vec::new(),
        }
    }

    /// Records `message` (a text or a typed error, by its `Display`) at `path`.
    pub fn push(&mut self, path: impl Into<String>, message: impl std::fmt::Display) {
        self.list.push(ConfigError {
            file: self.file.clone(),
            path: path.into(),
            message: message.to_string(),
        });
    }

    /// Parses a duration or records `"3x" is not a duration`.
    pub fn duration(&mut self, path: &str, s: &str) -> Option<Duration> {
        let d = super::parse_duration(s);
        if d.is_some_and(|d| d > super::bounds::MAX_DURATION) {
            self.push(path, super::bounds::too_long(s));
            return None;
        }
        if d.is_none() {
            self.push(
                path,
                format!("{s:?} is not a duration (use e.g. 250ms, 30s, 3m, 1h)"),
            );
        }
        d
    }

    /// An optional duration with a default.
    pub fn duration_or(&mut self, path: &str, s: &Option<String>, default: Duration) -> Duration {
        match s {
            Some(s) => self.duration(path, s).unwrap_or(default),
            None => default,
        }
    }

    /// A count that must be ≥ `min`.
    pub fn count(&mut self, path: &str, v: i64, min: i64) -> u32 {
        if v < min || v > u32::MAX as i64 {
            self.push(path, format!("{v} must be at least {min}"));
            return min.max(0) as u32;
        }
        v as u32
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}
