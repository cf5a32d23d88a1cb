//! Durable state: consecutive-breach streaks and run summaries on disk.
//!
//! Incidents open after N consecutive breached runs (DESIGN §4), so a streak must survive a
//! restart or a crash; run summaries (DESIGN §7) are what the API and humans read afterwards.
//! Everything here is written through [`write_atomic`], so a file is always either the old
//! version or the new one, never a torn mix. A state file that cannot be read is an error, not
//! a reset: silently zeroing a streak would hide an ongoing incident.
//!
//! The I/O is blocking `std::fs`; async callers wrap calls in `tokio::task::spawn_blocking`.

mod atomic;
mod breaches;
mod index;
mod results;
pub mod upload;

use std::path::PathBuf;

pub use atomic::write_atomic;
pub use breaches::{BreachRecord, BreachTracker, STATE_FILE, STATE_VERSION};
pub use index::ResultsIndex;
pub use results::{ResultsStore, RunIndexEntry, day_expired, index_entry, parse_day, valid_id};

/// Why a state or results operation failed; every variant names the file or value involved.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("{path}: {source}", path = path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{path}: not a valid breach state file ({source}); fix or move it aside, soakd will not \
         reset streaks on its own",
        path = path.display()
    )]
    Corrupt {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "{path}: state file version {found} is not supported (this soakd reads version {supported})",
        path = path.display()
    )]
    UnsupportedVersion {
        path: PathBuf,
        found: u64,
        supported: u64,
    },
    #[error("{path}: cannot encode JSON: {source}", path = path.display())]
    Encode {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("{kind} {value:?} is not valid (letters, digits, _ and - only)")]
    InvalidId { kind: &'static str, value: String },
}

impl StateError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        StateError::Io {
            path: path.into(),
            source,
        }
    }
}
