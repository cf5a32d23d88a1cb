//! The k6 threshold grammar, parsed once at plan time.
//!
//! Users bring thresholds from k6 scripts (`"http_req_duration{group:api_read}": ["p(95)<200"]`),
//! so soakd accepts k6's syntax and k6's rules about which aggregation fits which metric. Parsing
//! happens once, when the plan is compiled: a typo is a config error that names the bad part,
//! never a surprise at the end of a six-hour soak. The engine only sees a typed [`Threshold`],
//! whose `label` is the canonical text used as the `threshold` label in `/metrics` (DESIGN §5).

use std::fmt;
use std::time::Duration;

pub use super::tag_filter::{TagFilter, TagKey, parse_metric_key};

/// A built-in metric a threshold can watch (k6's names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Metric {
    HttpReqDuration,
    HttpReqFailed,
    HttpReqs,
    Checks,
    Iterations,
    DroppedIterations,
    IterationDuration,
    /// Share of journeys (mix entries) whose every request succeeded and passed its checks.
    Journeys,
    /// WebSocket handshake time (trend, ms).
    WsConnecting,
    /// Round trip of a sent message to its matching reply (trend, ms).
    WsMsgLatency,
    /// Share of sessions that dropped before their end (rate).
    WsSessionsDropped,
    /// Messages received (counter).
    WsMsgsReceived,
    /// VUs active (gauge; `value` is the last sample, taken once a second like k6's).
    Vus,
    /// Most VUs the run had at once (gauge).
    VusMax,
}

/// How a metric's samples are reduced to one number. Durations are in milliseconds, like k6.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Aggregation {
    Avg,
    Min,
    Max,
    Med,
    /// Percentile N, 0 ≤ N ≤ 100 (`p(99.9)` is allowed, `p(0)` is the minimum, as in k6).
    P(f64),
    /// Fraction of true samples (rate metrics) or count per second (counters).
    Rate,
    Count,
    /// A gauge's last value (`vus`, `vus_max`).
    Value,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Threshold {
    pub metric: Metric,
    pub filter: TagFilter,
    pub aggregation: Aggregation,
    pub op: Op,
    /// As written; durations in ms like k6.
    pub limit: f64,
    /// Canonical `METRIC{TAGS}:EXPR`, e.g. `http_req_duration{group:api_read}:p(95)<200`.
    pub label: String,
    pub abort_on_fail: bool,
    pub delay_abort_eval: Option<Duration>,
    /// `window: 1m`: judged on every sliding window of this length (breached if any window
    /// breaches, the worst window reported) instead of on the whole run; its label ends in
    /// `[1m]`.
    pub window: Option<Duration>,
}

/// Why a threshold key or expression was refused; each message quotes the bad part.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ThresholdError {
    #[error("unknown metric \"{name}\"")]
    UnknownMetric { name: String },
    #[error("unknown tag \"{key}\" (use request, group, method, status, journey, stage)")]
    UnknownTag { key: String },
    #[error("\"{key}\": missing \"}}\" after the tags")]
    UnclosedTags { key: String },
    #[error("\"{key}\": unexpected \"{rest}\" after \"}}\"")]
    TrailingAfterTags { key: String, rest: String },
    #[error("\"{part}\": expected tag:value")]
    BadTag { part: String },
    #[error("tag \"{key}\" has no value")]
    EmptyTagValue { key: String },
    #[error("tag \"{key}\" is given twice")]
    DuplicateTag { key: String },
    #[error("\"{key}\": empty tag filter (drop the braces or name a tag)")]
    EmptyFilter { key: String },
    #[error("{metric} takes no tags (only {TAGGED} do)")]
    TagsNotSupported { metric: &'static str },
    #[error("empty threshold expression")]
    Empty,
    /// The expression (trimmed) does not follow `AGGREGATION OP NUMBER`.
    #[error("\"{expr}\": {problem}")]
    Syntax { expr: String, problem: Syntax },
    #[error("\"{aggregation}\" does not apply to {metric} (use {hint})")]
    NotApplicable {
        aggregation: String,
        metric: &'static str,
        hint: &'static str,
    },
}

const TAGGED: &str = "http_req_duration, http_req_failed, http_reqs, checks and journeys";

/// What is wrong inside an expression; shown after the quoted expression.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Syntax {
    #[error("missing aggregation before the operator (use {hint})")]
    MissingAggregation { hint: &'static str },
    #[error("unknown aggregation \"{found}\" (use avg, min, max, med, p(N), rate, count or value)")]
    UnknownAggregation { found: String },
    #[error("missing \")\" after the percentile")]
    UnclosedPercentile,
    #[error("percentile {value} is out of range (0 <= N <= 100)")]
    PercentileRange { value: f64 },
    #[error("expected one of < <= > >= == != between the aggregation and the limit")]
    BadOperator,
    #[error("missing the limit after the operator")]
    MissingLimit,
    #[error("\"{token}\" is not a number")]
    NotANumber { token: String },
    #[error("\"{token}\" is not a number (durations are in ms, write {ms})")]
    DurationUnit { token: String, ms: f64 },
    #[error("unexpected \"{rest}\" after the limit")]
    TrailingAfterLimit { rest: String },
}

use ThresholdError as E;

/// k6's metric types, which decide the aggregations a metric takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Trend,
    Rate,
    Counter,
    Gauge,
}

impl Metric {
    pub const ALL: [Metric; 14] = [
        Metric::HttpReqDuration,
        Metric::HttpReqFailed,
        Metric::HttpReqs,
        Metric::Checks,
        Metric::Iterations,
        Metric::DroppedIterations,
        Metric::IterationDuration,
        Metric::Journeys,
        Metric::WsConnecting,
        Metric::WsMsgLatency,
        Metric::WsSessionsDropped,
        Metric::WsMsgsReceived,
        Metric::Vus,
        Metric::VusMax,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Metric::HttpReqDuration => "http_req_duration",
            Metric::HttpReqFailed => "http_req_failed",
            Metric::HttpReqs => "http_reqs",
            Metric::Checks => "checks",
            Metric::Iterations => "iterations",
            Metric::DroppedIterations => "dropped_iterations",
            Metric::IterationDuration => "iteration_duration",
            Metric::Journeys => "journeys",
            Metric::WsConnecting => "ws_connecting",
            Metric::WsMsgLatency => "ws_msg_latency",
            Metric::WsSessionsDropped => "ws_sessions_dropped",
            Metric::WsMsgsReceived => "ws_msgs_received",
            Metric::Vus => "vus",
            Metric::VusMax => "vus_max",
        }
    }

    pub fn from_name(name: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.as_str() == name)
    }

    /// Whether samples of this metric carry request tags (iterations do not).
    pub fn takes_tags(self) -> bool {
        matches!(
            self,
            Metric::HttpReqDuration
                | Metric::HttpReqFailed
                | Metric::HttpReqs
                | Metric::Checks
                | Metric::Journeys
        )
    }

    /// Whether this metric is a trend (a distribution of durations in ms).
    pub fn is_trend(self) -> bool {
        self.kind() == Kind::Trend
    }

    fn kind(self) -> Kind {
        match self {
            Metric::HttpReqDuration
            | Metric::IterationDuration
            | Metric::WsConnecting
            | Metric::WsMsgLatency => Kind::Trend,
            Metric::HttpReqFailed
            | Metric::Checks
            | Metric::Journeys
            | Metric::WsSessionsDropped => Kind::Rate,
            Metric::HttpReqs
            | Metric::Iterations
            | Metric::DroppedIterations
            | Metric::WsMsgsReceived => Kind::Counter,
            Metric::Vus | Metric::VusMax => Kind::Gauge,
        }
    }

    fn hint(self) -> &'static str {
        match self.kind() {
            Kind::Trend => "avg, min, max, med or p(N)",
            Kind::Rate => "rate",
            Kind::Counter => "count or rate",
            Kind::Gauge => "value",
        }
    }

    /// Whether k6 allows `aggregation` on this metric.
    pub fn accepts(self, aggregation: Aggregation) -> bool {
        use Aggregation as A;
        match self.kind() {
            Kind::Trend => matches!(aggregation, A::Avg | A::Min | A::Max | A::Med | A::P(_)),
            Kind::Rate => aggregation == A::Rate,
            Kind::Counter => matches!(aggregation, A::Count | A::Rate),
            Kind::Gauge => aggregation == A::Value,
        }
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Aggregation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Aggregation::Avg => f.write_str("avg"),
            Aggregation::Min => f.write_str("min"),
            Aggregation::Max => f.write_str("max"),
            Aggregation::Med => f.write_str("med"),
            Aggregation::P(n) => write!(f, "p({n})"),
            Aggregation::Rate => f.write_str("rate"),
            Aggregation::Count => f.write_str("count"),
            Aggregation::Value => f.write_str("value"),
        }
    }
}

impl Op {
    /// Whether `observed OP limit` is true, i.e. the threshold passes. NaN never passes
    /// (except `!=`, as in k6, which compares floats the same way).
    pub fn holds(self, observed: f64, limit: f64) -> bool {
        match self {
            Op::Lt => observed < limit,
            Op::Le => observed <= limit,
            Op::Gt => observed > limit,
            Op::Ge => observed >= limit,
            Op::Eq => observed == limit,
            Op::Ne => observed != limit,
        }
    }
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label)
    }
}

/// Parse one expression such as `p(95)<250` for the metric named by `key`, checking that the
/// aggregation applies to that metric. `abort_on_fail` is false and `delay_abort_eval` is None;
/// the plan compiler sets them from the long form `{ threshold, abort_on_fail, … }`.
pub fn parse(key: &str, expr: &str) -> Result<Threshold, ThresholdError> {
    let (metric, filter) = parse_metric_key(key)?;
    let expr = expr.trim();
    if expr.is_empty() {
        return Err(E::Empty);
    }
    let syntax = |problem| E::Syntax {
        expr: expr.into(),
        problem,
    };
    let (left, op, right) = split_at_op(expr).ok_or_else(|| syntax(Syntax::BadOperator))?;
    let aggregation = parse_aggregation(left, metric).map_err(syntax)?;
    let limit = parse_limit(right).map_err(syntax)?;
    if !metric.accepts(aggregation) {
        let (aggregation, metric, hint) = (compact(left), metric.as_str(), metric.hint());
        return Err(E::NotApplicable {
            aggregation,
            metric,
            hint,
        });
    }
    let label = format!("{}{}:{}", metric.as_str(), filter, compact(expr));
    Ok(Threshold {
        metric,
        filter,
        aggregation,
        op,
        limit,
        label,
        abort_on_fail: false,
        delay_abort_eval: None,
        window: None,
    })
}

/// Shortest and longest `window` of a windowed threshold.
pub const MIN_WINDOW: Duration = Duration::from_secs(1);
pub const MAX_WINDOW: Duration = Duration::from_secs(86_400);

/// `t` judged on sliding windows of `window`: counts, rates and trends only (a gauge such as
/// `vus` has no per-window meaning). The label gains the window, `…:p(95)<800[1m]`.
pub fn windowed(mut t: Threshold, window: Duration) -> Result<Threshold, WindowError> {
    if matches!(t.metric, Metric::Vus | Metric::VusMax) {
        return Err(WindowError::Gauge(t.metric.as_str()));
    }
    if !(MIN_WINDOW..=MAX_WINDOW).contains(&window) {
        return Err(WindowError::OutOfRange(window));
    }
    t.label = format!("{}[{}]", t.label, humantime::format_duration(window));
    t.window = Some(window);
    Ok(t)
}

/// Why a threshold's `window` cannot apply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WindowError {
    #[error("{0} is a gauge; a window applies to counts, rates and trends")]
    Gauge(&'static str),
    #[error("{} is outside 1s..1d", humantime::format_duration(*.0))]
    OutOfRange(Duration),
}

/// `s` without any whitespace: the canonical spelling used in labels.
fn compact(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// Splits at the first operator: (aggregation, operator, limit), both sides trimmed. Longest
/// operator first; `===` is k6's alias for `==`.
pub(crate) fn split_at_op(expr: &str) -> Option<(&str, Op, &str)> {
    const OPS: [(&str, Op); 7] = [
        ("===", Op::Eq),
        ("<=", Op::Le),
        (">=", Op::Ge),
        ("==", Op::Eq),
        ("!=", Op::Ne),
        ("<", Op::Lt),
        (">", Op::Gt),
    ];
    let at = expr.find(['<', '>', '=', '!'])?;
    let (left, rest) = expr.split_at(at);
    let (text, op) = OPS.iter().find(|(text, _)| rest.starts_with(text))?;
    Some((left.trim(), *op, rest[text.len()..].trim()))
}

fn parse_aggregation(left: &str, metric: Metric) -> Result<Aggregation, Syntax> {
    let unknown = || Syntax::UnknownAggregation { found: left.into() };
    Ok(match left {
        "" => {
            return Err(Syntax::MissingAggregation {
                hint: metric.hint(),
            });
        }
        "avg" => Aggregation::Avg,
        "min" => Aggregation::Min,
        "max" => Aggregation::Max,
        "med" => Aggregation::Med,
        "rate" => Aggregation::Rate,
        "count" => Aggregation::Count,
        "value" => Aggregation::Value,
        _ => {
            let rest = left.strip_prefix('p').ok_or_else(unknown)?.trim_start();
            let inner = rest.strip_prefix('(').ok_or_else(unknown)?;
            let (arg, after) = inner.split_once(')').ok_or(Syntax::UnclosedPercentile)?;
            if !after.trim().is_empty() {
                return Err(unknown());
            }
            let arg = arg.trim();
            let value = parse_number(arg).ok_or_else(|| not_a_number(arg))?;
            if !(0.0..=100.0).contains(&value) {
                return Err(Syntax::PercentileRange { value });
            }
            Aggregation::P(value)
        }
    })
}

/// The limit after the operator: one number and nothing else. A duration such as
/// `250ms` gets a hint, since k6 users often expect units to work.
fn parse_limit(right: &str) -> Result<f64, Syntax> {
    if right.is_empty() {
        return Err(Syntax::MissingLimit);
    }
    if right.starts_with(['<', '>', '=', '!']) {
        return Err(Syntax::BadOperator);
    }
    let (token, rest) = right.split_once(char::is_whitespace).unwrap_or((right, ""));
    let rest = rest.trim();
    let duration = |token: &str, value: f64, factor: f64| {
        let (token, ms) = (token.into(), value * factor);
        Syntax::DurationUnit { token, ms }
    };
    if let Some(value) = parse_number(token) {
        return match (rest, unit_in_ms(rest)) {
            ("", _) => Ok(value),
            (_, Some(factor)) => Err(duration(right, value, factor)),
            _ => Err(Syntax::TrailingAfterLimit { rest: rest.into() }),
        };
    }
    let (number, unit) = token.split_at(token.find(char::is_alphabetic).unwrap_or(token.len()));
    match (parse_number(number), unit_in_ms(unit)) {
        (Some(value), Some(factor)) => Err(duration(token, value, factor)),
        _ => Err(not_a_number(token)),
    }
}

fn not_a_number(token: &str) -> Syntax {
    Syntax::NotANumber {
        token: token.into(),
    }
}

/// A decimal number with an optional exponent (`250`, `-1`, `.5`, `2.5e2`, `1E-3`), finite:
/// what k6's `strconv.ParseFloat` reads, except `inf`, `NaN` and hex floats, which no limit
/// needs (a NaN limit would never pass).
fn parse_number(s: &str) -> Option<f64> {
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (mantissa, exponent) = match digits.split_once(['e', 'E']) {
        Some((m, e)) => (m, Some(e.strip_prefix(['-', '+']).unwrap_or(e))),
        None => (digits, None),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all_digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !all_digits(int) || !all_digits(frac) {
        return None;
    }
    if exponent.is_some_and(|e| e.is_empty() || !all_digits(e)) {
        return None;
    }
    s.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// Milliseconds in one `unit`, for the hint when someone writes `250ms` or `1s`.
fn unit_in_ms(unit: &str) -> Option<f64> {
    Some(match unit {
        "ns" => 1e-6,
        "us" | "µs" => 1e-3,
        "ms" => 1.0,
        "s" => 1e3,
        "m" => 60e3,
        "h" => 3_600e3,
        _ => return None,
    })
}

#[cfg(test)]
#[path = "threshold_tests.rs"]
mod tests;

impl Threshold {
    /// Whether this threshold's value grows with the traffic volume, so that replica I of N
    /// (which runs a uniform 1/N of it) must judge it against limit/N: `count` of `http_reqs`,
    /// `iterations`, `dropped_iterations`, `ws_msgs_received`, and `rate` (per second) of
    /// `http_reqs` and `iterations`. Ratios, percentiles and durations do not scale.
    pub fn scales_with_volume(&self) -> bool {
        match self.aggregation {
            Aggregation::Count => matches!(
                self.metric,
                Metric::HttpReqs
                    | Metric::Iterations
                    | Metric::DroppedIterations
                    | Metric::WsMsgsReceived
            ),
            Aggregation::Rate => matches!(self.metric, Metric::HttpReqs | Metric::Iterations),
            _ => false,
        }
    }

    /// The threshold as replica `index` of `count` judges it: volume limits divided by `count`
    /// (`http_reqs: rate>=25` is `rate>=8.33` on each of 3 replicas), everything else as
    /// written. The label stays the one written, so alerts and breach streaks are the same on
    /// every replica.
    pub fn sharded(&self, count: u32) -> Threshold {
        let mut t = self.clone();
        if count > 1 && t.scales_with_volume() {
            t.limit /= count as f64;
        }
        t
    }
}

impl Threshold {
    /// The threshold as a run scaled by `--time-scale factor` judges it: a count of a volume
    /// metric (`http_reqs: count<=400`, `iterations: count>=100`) is a rate times the run's
    /// length, so its limit shrinks with the timeline, as a replica's does with its share; rates
    /// per second, ratios and latencies stay as written. The label stays the one written.
    pub fn time_scaled(&self, factor: f64) -> Threshold {
        let mut t = self.clone();
        if t.aggregation == Aggregation::Count && t.scales_with_volume() {
            t.limit *= factor;
        }
        t.window = t.window.map(|w| w.mul_f64(factor));
        t
    }
}

#[cfg(test)]
mod shard_tests {
    use super::parse;

    fn limit_on_replica(key: &str, expr: &str) -> f64 {
        parse(key, expr).expect("valid threshold").sharded(4).limit
    }

    #[test]
    fn volume_limits_are_divided_by_the_replica_count() {
        assert_eq!(limit_on_replica("http_reqs", "rate>=100"), 25.0);
        assert_eq!(limit_on_replica("http_reqs", "count>=400"), 100.0);
        assert_eq!(limit_on_replica("iterations", "rate>=8"), 2.0);
        assert_eq!(limit_on_replica("iterations", "count>4"), 1.0);
        assert_eq!(limit_on_replica("dropped_iterations", "count<40"), 10.0);
        assert_eq!(limit_on_replica("ws_msgs_received", "count>=80"), 20.0);
    }

    #[test]
    fn time_scale_shrinks_count_limits_and_windows_but_not_rates() {
        let scaled = |key: &str, expr: &str| parse(key, expr).unwrap().time_scaled(0.02).limit;
        assert_eq!(scaled("http_reqs{status:201}", "count<=400"), 8.0);
        assert_eq!(scaled("dropped_iterations", "count==0"), 0.0);
        assert_eq!(scaled("http_reqs", "rate>=100"), 100.0);
        assert_eq!(scaled("http_req_failed", "rate<0.01"), 0.01);
        assert_eq!(scaled("http_req_duration", "p(95)<250"), 250.0);
        let t = parse("http_reqs", "count<=400").unwrap().time_scaled(0.5);
        assert_eq!(
            t.label, "http_reqs:count<=400",
            "the label is the one written"
        );
    }

    #[test]
    fn ratios_percentiles_and_durations_are_judged_as_written() {
        assert_eq!(limit_on_replica("http_req_failed", "rate<0.01"), 0.01);
        assert_eq!(limit_on_replica("checks", "rate>=0.99"), 0.99);
        assert_eq!(limit_on_replica("http_req_duration", "p(95)<250"), 250.0);
        assert_eq!(limit_on_replica("iteration_duration", "avg<1000"), 1000.0);
    }

    #[test]
    fn one_replica_judges_everything_as_written() {
        let t = parse("http_reqs", "rate>=100").unwrap();
        assert_eq!(t.sharded(1).limit, 100.0);
        assert_eq!(
            t.sharded(4).label,
            t.label,
            "the label stays the one written"
        );
    }
}
