//! Reduces a run's numbers to one value per threshold and compares it with the limit.
//!
//! Units follow k6: durations are compared in milliseconds (the recorder keeps microseconds; we
//! divide by 1000 and keep the fraction), `rate` is a fraction for rate metrics and a count per
//! second of wall time for counters.
//!
//! No data. k6 skips a metric with an empty sink while the test runs, then at the end evaluates
//! it anyway with zeros: a trend with no samples reads 0 for every aggregation (`p(95)<250`
//! passes, `avg>10` fails) and a rate reads 0/0. soakd instead reports `observed: None` ("no
//! data") and does not count it as a breach, for trends and for rates with no samples alike: a
//! filter that matched nothing in one run is not a regression, and a fabricated 0 on a dashboard
//! would look like a real, suspiciously fast measurement. The verdict, though, is k6's: an
//! empty trend is judged as k6 judges it, on 0 (`p(95)<250` passes, `avg>10` is breached), so a
//! plan brought from k6 passes and fails on the same runs. Counters are different: a count of 0
//! is real data (`dropped_iterations: count==0` should pass on 0), so they always observe.

use std::time::Duration;

use hdrhistogram::Histogram;

use super::{Outcome, RunNumbers};
use crate::plan::threshold::{Aggregation, Metric, Threshold};

/// Evaluates one threshold against the run's numbers.
pub fn evaluate(t: &Threshold, n: &dyn RunNumbers) -> Outcome {
    let observed = observe(t, n);
    let empty_trend = t.metric.is_trend() && t.metric.accepts(t.aggregation);
    let breached = match observed {
        Some(v) => !t.op.holds(v, t.limit),
        None => empty_trend && !t.op.holds(0.0, t.limit),
    };
    Outcome {
        threshold: t.label.clone(),
        observed,
        limit: t.limit,
        breached,
    }
}

/// Evaluates every threshold, in order.
pub fn evaluate_all(ts: &[Threshold], n: &dyn RunNumbers) -> Vec<Outcome> {
    ts.iter().map(|t| evaluate(t, n)).collect()
}

/// Whether this outcome should stop the run now: the threshold asked for it
/// (`abort_on_fail`), it is breached, and the run is past `delay_abort_eval`.
///
/// The delay is inclusive (`elapsed >= delay`); k6 waits strictly longer than it, which makes
/// no difference at the granularity runs are evaluated at.
pub fn should_abort(t: &Threshold, outcome: &Outcome, elapsed: Duration) -> bool {
    t.abort_on_fail && outcome.breached && elapsed >= t.delay_abort_eval.unwrap_or_default()
}

/// The aggregated value, or None for no data. A hand-built threshold whose aggregation does not
/// fit its metric (the parser refuses those) also observes nothing rather than a wrong number.
fn observe(t: &Threshold, n: &dyn RunNumbers) -> Option<f64> {
    let elapsed = n.elapsed();
    match t.metric {
        Metric::HttpReqDuration => trend(&n.request_latency(&t.filter)?, t.aggregation),
        Metric::IterationDuration => trend(&n.iteration_latency()?, t.aggregation),
        Metric::HttpReqFailed => {
            let (total, failed) = n.requests(&t.filter);
            rate(t.aggregation, failed, total)
        }
        Metric::Checks => {
            let (passes, fails) = n.checks(&t.filter);
            rate(t.aggregation, passes, passes.saturating_add(fails))
        }
        Metric::Journeys => {
            let (ok, failed) = n.journeys(&t.filter);
            rate(t.aggregation, ok, ok.saturating_add(failed))
        }
        Metric::WsConnecting => trend(&n.ws_connecting()?, t.aggregation),
        Metric::WsMsgLatency => trend(&n.ws_msg_latency()?, t.aggregation),
        Metric::WsSessionsDropped => {
            let (dropped, total) = n.ws_sessions();
            rate(t.aggregation, dropped, total)
        }
        Metric::WsMsgsReceived => counter(t.aggregation, n.ws_msgs_received(), elapsed),
        Metric::HttpReqs => counter(t.aggregation, n.requests(&t.filter).0, elapsed),
        Metric::Iterations => counter(t.aggregation, n.iterations(), elapsed),
        Metric::DroppedIterations => counter(t.aggregation, n.dropped_iterations(), elapsed),
        Metric::Vus | Metric::VusMax => {
            let (last, max) = n.vus()?;
            let value = if t.metric == Metric::Vus { last } else { max };
            (t.aggregation == Aggregation::Value).then_some(value as f64)
        }
    }
}

/// A trend aggregation over a histogram of microseconds, in milliseconds.
fn trend(h: &Histogram<u64>, aggregation: Aggregation) -> Option<f64> {
    if h.is_empty() {
        return None;
    }
    let quantile = |q: f64| h.value_at_quantile(q) as f64;
    let micros = match aggregation {
        Aggregation::Avg => h.mean(),
        Aggregation::Min => h.min() as f64,
        Aggregation::Max => h.max() as f64,
        Aggregation::Med => quantile(0.5),
        Aggregation::P(0.0) => h.min() as f64,
        Aggregation::P(n) if n > 0.0 && n <= 100.0 => quantile(n / 100.0),
        Aggregation::P(_) | Aggregation::Rate | Aggregation::Count | Aggregation::Value => {
            return None;
        }
    };
    Some(micros / 1000.0)
}

/// The fraction `hits / total` of a rate metric; None when there were no samples.
fn rate(aggregation: Aggregation, hits: u64, total: u64) -> Option<f64> {
    (aggregation == Aggregation::Rate && total > 0).then(|| hits as f64 / total as f64)
}

/// A counter's total, or its total per second of wall time (None before any time has passed).
fn counter(aggregation: Aggregation, count: u64, elapsed: Duration) -> Option<f64> {
    match aggregation {
        Aggregation::Count => Some(count as f64),
        Aggregation::Rate if !elapsed.is_zero() => Some(count as f64 / elapsed.as_secs_f64()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::plan::threshold::{TagFilter, parse, parse_metric_key};

    /// A run whose numbers are set by hand; numbers are looked up by the exact filter asked for,
    /// so a test sees whether the threshold's filter reached the recorder.
    #[derive(Default)]
    struct Run {
        latency_ms: HashMap<TagFilter, Vec<u64>>,
        iteration_ms: Vec<u64>,
        requests: HashMap<TagFilter, (u64, u64)>,
        checks: HashMap<TagFilter, (u64, u64)>,
        iterations: u64,
        dropped: u64,
        elapsed: Duration,
    }

    fn histogram(ms: &[u64]) -> Option<Histogram<u64>> {
        let mut h = Histogram::new_with_bounds(1, 3_600_000_000, 3).unwrap();
        for v in ms {
            h.record(v * 1000).unwrap();
        }
        (!h.is_empty()).then_some(h)
    }

    impl RunNumbers for Run {
        fn request_latency(&self, filter: &TagFilter) -> Option<Histogram<u64>> {
            histogram(self.latency_ms.get(filter)?)
        }
        fn iteration_latency(&self) -> Option<Histogram<u64>> {
            histogram(&self.iteration_ms)
        }
        fn requests(&self, filter: &TagFilter) -> (u64, u64) {
            self.requests.get(filter).copied().unwrap_or_default()
        }
        fn checks(&self, filter: &TagFilter) -> (u64, u64) {
            self.checks.get(filter).copied().unwrap_or_default()
        }
        fn iterations(&self) -> u64 {
            self.iterations
        }
        fn dropped_iterations(&self) -> u64 {
            self.dropped
        }
        fn elapsed(&self) -> Duration {
            self.elapsed
        }
    }

    fn filter(key: &str) -> TagFilter {
        parse_metric_key(key).unwrap().1
    }

    /// Requests of 1, 2, …, 100 ms with no filter; 1..=10 ms for `{group:api_read}`.
    fn one_to_hundred_ms() -> Run {
        let mut run = Run::default();
        run.latency_ms
            .insert(TagFilter::default(), (1..=100).collect());
        run.latency_ms.insert(
            filter("http_req_duration{group:api_read}"),
            (1..=10).collect(),
        );
        run
    }

    fn observed(key: &str, expr: &str, run: &Run) -> Option<f64> {
        evaluate(&parse(key, expr).unwrap(), run).observed
    }

    /// Within HdrHistogram's 3 significant figures.
    fn assert_near(observed: Option<f64>, expected: f64) {
        let v = observed.expect("observed a value");
        assert!(
            (v - expected).abs() <= expected * 1e-3,
            "{v} is not ~{expected}"
        );
    }

    #[test]
    fn trend_aggregations_are_reported_in_milliseconds() {
        let run = one_to_hundred_ms();
        let d = "http_req_duration";
        assert_near(observed(d, "p(95)<1", &run), 95.0);
        assert_near(observed(d, "p(99.9)<1", &run), 100.0);
        assert_near(observed(d, "avg<1", &run), 50.5);
        assert_near(observed(d, "med<1", &run), 50.0);
        assert_near(observed(d, "min<1", &run), 1.0);
        assert_near(observed(d, "max<1", &run), 100.0);
    }

    #[test]
    fn fractions_of_a_millisecond_are_kept() {
        let mut h = Histogram::new_with_bounds(1, 3_600_000_000, 3).unwrap();
        h.record(1_500).unwrap();
        assert_eq!(trend(&h, Aggregation::Max), Some(1.5));
    }

    #[test]
    fn a_threshold_is_breached_when_its_expression_does_not_hold() {
        let run = one_to_hundred_ms();
        let passed = evaluate(&parse("http_req_duration", "p(95)<250").unwrap(), &run);
        assert_eq!(passed.threshold, "http_req_duration:p(95)<250");
        assert_eq!((passed.limit, passed.breached), (250.0, false));
        let failed = evaluate(&parse("http_req_duration", "p(95) < 90").unwrap(), &run);
        assert_eq!(
            (failed.threshold.as_str(), failed.breached),
            ("http_req_duration:p(95)<90", true)
        );
    }

    #[test]
    fn the_tag_filter_is_passed_to_the_recorder() {
        let run = one_to_hundred_ms();
        assert_near(
            observed("http_req_duration{group:api_read}", "max<1", &run),
            10.0,
        );
        assert_eq!(
            observed("http_req_duration{group:other}", "max<1", &run),
            None
        );
    }

    #[test]
    fn rate_metrics_are_the_fraction_of_true_samples() {
        let mut run = Run::default();
        run.requests.insert(TagFilter::default(), (200, 3));
        run.requests
            .insert(filter("http_req_failed{method:POST}"), (10, 5));
        run.checks.insert(TagFilter::default(), (98, 2));
        assert_eq!(observed("http_req_failed", "rate<0.01", &run), Some(0.015));
        assert_eq!(
            observed("http_req_failed{method:POST}", "rate<0.01", &run),
            Some(0.5)
        );
        let checks = evaluate(&parse("checks", "rate>=0.98").unwrap(), &run);
        assert_eq!((checks.observed, checks.breached), (Some(0.98), false));
    }

    #[test]
    fn counters_give_a_count_or_a_rate_per_second_of_wall_time() {
        let mut run = Run {
            iterations: 120,
            dropped: 3,
            elapsed: Duration::from_secs(60),
            ..Run::default()
        };
        run.requests.insert(TagFilter::default(), (600, 0));
        assert_eq!(observed("http_reqs", "count>0", &run), Some(600.0));
        assert_eq!(observed("http_reqs", "rate>=100", &run), Some(10.0));
        assert_eq!(observed("iterations", "rate>0", &run), Some(2.0));
        assert_eq!(observed("dropped_iterations", "count==0", &run), Some(3.0));
    }

    #[test]
    fn iteration_duration_reads_the_iteration_histogram() {
        let run = Run {
            iteration_ms: vec![1000, 3000],
            ..Run::default()
        };
        assert_near(observed("iteration_duration", "avg<1", &run), 2000.0);
    }

    #[test]
    fn no_samples_means_no_data_and_no_breach_except_for_counts() {
        let run = Run::default();
        for (key, expr) in [
            ("http_req_duration", "p(95)<250"),
            ("iteration_duration", "max<1"),
            ("http_req_failed", "rate<0.01"),
            ("checks", "rate>=0.98"),
            ("http_reqs", "rate>=100"), // no wall time has passed yet
        ] {
            let outcome = evaluate(&parse(key, expr).unwrap(), &run);
            assert_eq!(
                (outcome.observed, outcome.breached),
                (None, false),
                "{key} {expr}"
            );
        }
        // An empty trend is judged on 0 like k6 (`avg>10` fails there), still reported as no data.
        let trend = evaluate(&parse("http_req_duration", "avg>10").unwrap(), &run);
        assert_eq!((trend.observed, trend.breached), (None, true));
        let zero = evaluate(&parse("http_reqs", "count>0").unwrap(), &run);
        assert_eq!((zero.observed, zero.breached), (Some(0.0), true));
        assert_eq!(observed("dropped_iterations", "count==0", &run), Some(0.0));
    }

    #[test]
    fn a_mismatched_hand_built_threshold_observes_nothing() {
        let mut t = parse("http_req_duration", "p(95)<250").unwrap();
        t.aggregation = Aggregation::Count;
        assert_eq!(evaluate(&t, &one_to_hundred_ms()).observed, None);
        t.aggregation = Aggregation::P(f64::NAN);
        assert_eq!(evaluate(&t, &one_to_hundred_ms()).observed, None);
    }

    #[test]
    fn evaluate_all_keeps_the_order_of_the_thresholds() {
        let ts = [
            parse("http_reqs", "count>0").unwrap(),
            parse("checks", "rate>0").unwrap(),
        ];
        let labels: Vec<_> = evaluate_all(&ts, &Run::default())
            .into_iter()
            .map(|o| o.threshold)
            .collect();
        assert_eq!(labels, ["http_reqs:count>0", "checks:rate>0"]);
    }

    #[test]
    fn an_outcome_serializes_no_data_as_null() {
        let outcome = evaluate(&parse("checks", "rate>0.9").unwrap(), &Run::default());
        let json = serde_json::to_value(&outcome).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"threshold": "checks:rate>0.9", "observed": null, "limit": 0.9, "breached": false})
        );
    }

    #[test]
    fn abort_needs_abort_on_fail_a_breach_and_the_delay_to_have_passed() {
        let run = one_to_hundred_ms();
        let mut t = parse("http_req_duration", "p(95)<90").unwrap();
        let breached = evaluate(&t, &run);
        let secs = Duration::from_secs;
        assert!(
            !should_abort(&t, &breached, secs(60)),
            "abort_on_fail is off"
        );
        t.abort_on_fail = true;
        assert!(
            should_abort(&t, &breached, Duration::ZERO),
            "no delay: abort at once"
        );
        t.delay_abort_eval = Some(secs(30));
        assert!(!should_abort(&t, &breached, secs(29)));
        assert!(should_abort(&t, &breached, secs(30)));
        let passed = Outcome {
            breached: false,
            ..breached
        };
        assert!(!should_abort(&t, &passed, secs(60)));
    }
}
