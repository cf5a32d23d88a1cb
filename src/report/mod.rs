//! Reports: the run summary (JSON of DESIGN §7) and its k6-like terminal rendering.

mod compare;
mod html;
pub mod k6;
mod md5;
mod mix;
mod notable;
mod regression;
mod summary;
mod terminal;

pub use compare::{compare, markdown, regressions};
pub use html::{esc, html};
pub use mix::MixShare;
pub use summary::{
    CheckCounts, JourneyCounts, Metrics, RequestSummary, Summary, ThresholdLine, Times, WsSummary,
};
pub use terminal::{ms as render_ms, render};
