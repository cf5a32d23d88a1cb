//! Reports: the run summary (JSON of DESIGN §7), its k6-like terminal rendering, Markdown and
//! the HTML report (minijinja templates in `templates/`, rendered by `render`).

mod chart;
mod compare;
mod html;
pub mod k6;
mod md5;
mod mix;
mod notable;
mod regression;
mod render;
mod summary;
mod terminal;

pub use compare::{compare, markdown, regressions};
pub use html::html;
pub use mix::MixShare;
pub use render::{Pages, RenderError};
pub use summary::{
    CheckCounts, JourneyCounts, Metrics, RequestSummary, Summary, ThresholdLine, Times, WsSummary,
};
pub use terminal::{ms as render_ms, render};
