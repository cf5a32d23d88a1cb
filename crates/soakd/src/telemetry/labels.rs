//! Label sets and bucket layouts of the `soakd_*` families (DESIGN §5).
//!
//! Every label value comes from a bounded set: names from config (scenario, request, group,
//! check, threshold label), the request's method, a status class, a numeric status code, a
//! failure reason or a run result. Nothing derived from URLs or bodies ever becomes a label, so
//! cardinality is fixed by the config, not by traffic.

use prometheus_client::encoding::{
    EncodeLabelSet, EncodeLabelValue, LabelSetEncoder, LabelValueEncoder,
};
use std::fmt::Write;

/// `1xx`..`5xx`, or `error` when no response arrived (or the code is outside 100..=599).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StatusClass {
    Informational,
    Success,
    Redirection,
    ClientError,
    ServerError,
    Error,
}

impl StatusClass {
    /// Every class, in label order; `class as usize` indexes this array.
    pub const ALL: [StatusClass; 6] = [
        StatusClass::Informational,
        StatusClass::Success,
        StatusClass::Redirection,
        StatusClass::ClientError,
        StatusClass::ServerError,
        StatusClass::Error,
    ];

    pub fn of(status: Option<u16>) -> StatusClass {
        match status {
            Some(100..=199) => StatusClass::Informational,
            Some(200..=299) => StatusClass::Success,
            Some(300..=399) => StatusClass::Redirection,
            Some(400..=499) => StatusClass::ClientError,
            Some(500..=599) => StatusClass::ServerError,
            _ => StatusClass::Error,
        }
    }

    /// The metric label value.
    pub fn as_str(self) -> &'static str {
        match self {
            StatusClass::Informational => "1xx",
            StatusClass::Success => "2xx",
            StatusClass::Redirection => "3xx",
            StatusClass::ClientError => "4xx",
            StatusClass::ServerError => "5xx",
            StatusClass::Error => "error",
        }
    }
}

impl EncodeLabelValue for StatusClass {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        encoder.write_str(self.as_str())
    }
}

/// Families keyed by scenario alone (gauges and counters of runs and schedules).
#[derive(Clone, Debug, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct ScenarioLabels {
    pub scenario: String,
}

/// `soakd_http_request_duration_seconds`: the largest family (about 20 bucket lines per series),
/// so its label text is rendered once, not once per line and label.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DurationLabels {
    pub scenario: String,
    pub request: String,
    pub group: String,
    pub method: String,
    pub status_class: StatusClass,
    /// `scenario="…",request="…",group="…",method="…",status_class`, built by [`Self::new`].
    rendered: std::sync::Arc<str>,
}

impl DurationLabels {
    pub fn new(
        scenario: &str,
        request: &str,
        group: &str,
        method: &str,
        status_class: StatusClass,
    ) -> Self {
        let rendered = format!(
            "scenario=\"{}\",request=\"{}\",group=\"{}\",method=\"{}\",status_class",
            escape_label_value(scenario),
            escape_label_value(request),
            escape_label_value(group),
            escape_label_value(method),
        );
        DurationLabels {
            scenario: scenario.to_owned(),
            request: request.to_owned(),
            group: group.to_owned(),
            method: method.to_owned(),
            status_class,
            rendered: rendered.into(),
        }
    }
}

impl EncodeLabelSet for DurationLabels {
    /// The OpenMetrics text encoder writes a label as `key="value"` and escapes what goes
    /// through a value encoder, but not what goes through a key encoder. The first four pairs
    /// and the last key go out as one pre-rendered key (its values escaped by
    /// [`escape_label_value`] when built), then the status class as its value: the same bytes as
    /// the derived encoder in 4 writes instead of 25. The tests
    /// `duration_labels_encode_like_the_derived_encoder` and
    /// `hostile_names_are_escaped_like_the_derived_encoder` pin the output.
    fn encode(&self, encoder: &mut LabelSetEncoder) -> Result<(), std::fmt::Error> {
        let mut label = encoder.encode_label();
        let mut key = label.encode_label_key()?;
        key.write_str(&self.rendered)?;
        let mut value = key.encode_label_value()?;
        value.write_str(self.status_class.as_str())?;
        value.finish()
    }
}

/// A label value as the text formats (OpenMetrics 1.0 and Prometheus 0.0.4) require it:
/// backslash, double quote and line feed escaped as `\\`, `\"` and `\n`, everything else as is.
pub fn escape_label_value(value: &str) -> std::borrow::Cow<'_, str> {
    if !value.contains(['\\', '"', '\n']) {
        return value.into();
    }
    let mut out = String::with_capacity(value.len() + 8);
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.into()
}

/// `soakd_http_requests_total`; `status` is the numeric code, `0` when no response arrived
/// (k6's convention, and the recorder's).
#[derive(Clone, Debug, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct RequestLabels {
    pub scenario: String,
    pub request: String,
    pub method: String,
    pub status: String,
}

/// `soakd_http_request_failures_total`; `reason` is `FailureReason::as_str`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct FailureLabels {
    pub scenario: String,
    pub request: String,
    pub reason: &'static str,
}

/// `soakd_checks_total`; `result` is `pass` or `fail`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct CheckLabels {
    pub scenario: String,
    pub request: String,
    pub check: String,
    pub result: &'static str,
}

/// `soakd_ws_connecting_seconds`, `soakd_ws_message_duration_seconds` and
/// `soakd_ws_reconnects_total`; `session` is the session's request name from config.
#[derive(Clone, Debug, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct WsLabels {
    pub scenario: String,
    pub session: String,
}

/// `soakd_ws_sessions_total`; `result` is `ok` or `dropped`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct WsSessionLabels {
    pub scenario: String,
    pub session: String,
    pub result: &'static str,
}

/// `soakd_ws_messages_total`; `direction` is `sent`, `received` or `lost`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct WsMessageLabels {
    pub scenario: String,
    pub session: String,
    pub direction: &'static str,
}

/// `soakd_journeys_total`; `journey` is the mix entry's name, `result` `ok` or `failed`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct JourneyLabels {
    pub scenario: String,
    pub journey: String,
    pub result: &'static str,
}

/// `soakd_run_last_info`: one series per scenario, its last run (value: the run's end time).
/// `report_url` and `dashboard_url` are built from `server.external_url` / `server.grafana_url`
/// (relative paths without them), so an alert can link the run's report.
#[derive(Clone, Debug, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct RunInfoLabels {
    pub scenario: String,
    pub run_id: String,
    pub report_url: String,
    pub dashboard_url: String,
}

/// `soakd_runs_total`; `result` is `pass`, `fail`, `aborted` or `error`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct RunLabels {
    pub scenario: String,
    pub result: String,
}

/// `soakd_threshold_*` and `soakd_incident_open`; `threshold` is `METRIC{TAGS}:EXPR`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct ThresholdLabels {
    pub scenario: String,
    pub threshold: String,
}

/// `soakd_drill_*`; `drill` is a drill name from the config.
#[derive(Clone, Debug, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct DrillLabels {
    pub scenario: String,
    pub drill: String,
}

/// `soakd_schedule_skipped_total`; `reason` is `overlap`, `max_concurrent` or `missed`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct SkipLabels {
    pub scenario: String,
    pub reason: String,
}

/// `soakd_build_info`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct BuildLabels {
    pub version: String,
    pub revision: String,
}

/// Reasons every scheduled scenario's `soakd_schedule_skipped_total` starts at zero for.
pub const SKIP_REASONS: [&str; 3] = ["overlap", "max_concurrent", "missed"];

/// Run results every scenario's `soakd_runs_total` starts at zero for.
pub const RUN_RESULTS: [&str; 4] = ["pass", "fail", "aborted", "error"];

/// Boundaries (s) of the WebSocket histograms: 1 ms to 10 s, coarse (their native histogram
/// is the precise view).
pub const WS_LATENCY_BUCKETS: [f64; 13] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Generator lag boundaries in seconds: a healthy generator stays in the first few.
pub const LAG_BUCKETS: [f64; 10] = [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0];

/// Growth factor of the dense part of the request duration layout.
pub const LATENCY_BUCKET_GROWTH: f64 = 1.1;

/// Default request duration boundaries (s). `histogram_quantile` interpolates linearly inside
/// the bucket holding the quantile, so both the estimate and the exact value lie in one bucket
/// (a, b] and the relative error is below (b - a) / a. From 5 ms to 5 s each boundary is the
/// previous one times 1.1 rounded down to three significant digits, restarting at every power
/// of ten (so 0.01, 0.1 and 1 are boundaries), which keeps that error within 10 %; the coarse
/// WebSocket layout (1 ms to 10 s, with 2.5 ms, 25 ms, 0.25 s…) is merged in. Threshold limits
/// are added by [`latency_buckets`], so verdict limits are exact boundaries.
pub fn default_latency_buckets() -> Vec<f64> {
    let round_down_3 = |x: f64| {
        let scale = 10f64.powi(2 - x.log10().floor() as i32);
        // The 1e-9 absorbs binary noise (0.0055 * 1000 = 5.499999…).
        (x * scale + 1e-9).floor() / scale
    };
    let mut b = WS_LATENCY_BUCKETS.to_vec();
    for (start, end) in [(0.005, 0.01), (0.01, 0.1), (0.1, 1.0), (1.0, 5.0)] {
        let mut x: f64 = start;
        while x < end {
            b.push(x);
            x = round_down_3(x * LATENCY_BUCKET_GROWTH);
        }
    }
    b.sort_by(f64::total_cmp);
    b.dedup();
    b
}

/// The default boundaries plus every latency threshold limit (ms, converted to s), sorted and
/// deduplicated, so `histogram_quantile` is exact at the limits that decide verdicts.
pub fn latency_buckets(threshold_limits_ms: &[f64]) -> Vec<f64> {
    let mut b: Vec<f64> = default_latency_buckets()
        .into_iter()
        .chain(
            threshold_limits_ms
                .iter()
                .filter(|ms| ms.is_finite() && **ms > 0.0)
                .map(|ms| ms / 1000.0),
        )
        .collect();
    b.sort_by(f64::total_cmp);
    b.dedup();
    b
}

impl super::histfamily::SeriesLabels for DurationLabels {
    fn pairs(&self) -> Vec<(&'static str, &str)> {
        vec![
            ("scenario", &self.scenario),
            ("request", &self.request),
            ("group", &self.group),
            ("method", &self.method),
            ("status_class", self.status_class.as_str()),
        ]
    }

    /// The pre-rendered (escaped) text plus the status class.
    fn write_text(&self, out: &mut String) {
        out.push_str(&self.rendered);
        out.push_str("=\"");
        out.push_str(self.status_class.as_str());
        out.push('"');
    }
}

impl super::histfamily::SeriesLabels for WsLabels {
    fn pairs(&self) -> Vec<(&'static str, &str)> {
        vec![("scenario", &self.scenario), ("session", &self.session)]
    }
}

impl super::histfamily::SeriesLabels for ScenarioLabels {
    fn pairs(&self) -> Vec<(&'static str, &str)> {
        vec![("scenario", &self.scenario)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plan_knows_how_many_default_latency_buckets_there_are() {
        assert_eq!(
            default_latency_buckets().len() as u64,
            crate::plan::DEFAULT_LATENCY_BUCKETS,
            "update plan::DEFAULT_LATENCY_BUCKETS (the series estimate uses it)"
        );
    }
    use prometheus_client::metrics::family::Family;
    use prometheus_client::metrics::histogram::Histogram;
    use prometheus_client::registry::Registry;

    /// What `#[derive(EncodeLabelSet)]` would make of the same fields.
    #[derive(Clone, Debug, PartialEq, Eq, Hash, EncodeLabelSet)]
    struct Derived {
        scenario: String,
        request: String,
        group: String,
        method: String,
        status_class: StatusClass,
    }

    fn exposition<
        L: EncodeLabelSet + Clone + std::hash::Hash + Eq + Send + Sync + std::fmt::Debug + 'static,
    >(
        labels: L,
    ) -> String {
        fn buckets() -> Histogram {
            Histogram::new([0.01, 0.1, 1.0])
        }
        let family = Family::<L, Histogram, fn() -> Histogram>::new_with_constructor(buckets);
        family.get_or_create(&labels).observe(0.05);
        let mut registry = Registry::default();
        registry.register("d", "help", family);
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &registry).unwrap();
        out
    }

    #[test]
    fn duration_labels_encode_like_the_derived_encoder() {
        for class in StatusClass::ALL {
            let fast = exposition(DurationLabels::new(
                "feed", "list", "api_read", "GET", class,
            ));
            let derived = exposition(Derived {
                scenario: "feed".into(),
                request: "list".into(),
                group: "api_read".into(),
                method: "GET".into(),
                status_class: class,
            });
            assert_eq!(fast, derived);
            assert!(fast.contains(&format!(
                "d_bucket{{le=\"0.1\",scenario=\"feed\",request=\"list\",group=\"api_read\",method=\"GET\",status_class=\"{}\"}} 1",
                class.as_str()
            )));
        }
    }

    #[test]
    fn dense_latency_buckets_keep_interpolation_within_ten_percent_from_5ms_to_5s() {
        let b = default_latency_buckets();
        assert!(b.windows(2).all(|w| w[0] < w[1]), "{b:?}");
        let dense: Vec<f64> = b
            .iter()
            .copied()
            .filter(|x| (0.005..=5.0).contains(x))
            .collect();
        assert_eq!((dense[0], dense[dense.len() - 1]), (0.005, 5.0));
        for w in dense.windows(2) {
            assert!(w[1] / w[0] <= 1.1 + 1e-12, "{} → {}", w[0], w[1]);
        }
        assert!(
            b.contains(&0.001) && b.contains(&10.0) && b.contains(&0.1),
            "{b:?}"
        );
        assert!(b.len() <= 90, "{} boundaries", b.len());
    }

    #[test]
    fn hostile_names_are_escaped_like_the_derived_encoder() {
        let hostile = "a\"} 1\nevil_total{x=\"\\";
        let fast = exposition(DurationLabels::new(
            hostile,
            hostile,
            "g\nroup",
            "GET",
            StatusClass::Success,
        ));
        let derived = exposition(Derived {
            scenario: hostile.into(),
            request: hostile.into(),
            group: "g\nroup".into(),
            method: "GET".into(),
            status_class: StatusClass::Success,
        });
        assert_eq!(fast, derived);
        assert!(!fast.lines().any(|l| l.starts_with("evil")), "{fast}");
        assert!(
            fast.contains(r#"request="a\"} 1\nevil_total{x=\"\\",group="g\nroup""#),
            "{fast}"
        );
    }
}
