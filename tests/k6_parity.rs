//! k6 parity, pinned by k6's own tests.
//!
//! Every case below restates one case of grafana/k6's test suite (commit 87883075, Aug 2026)
//! and cites it as `file:line`: the threshold grammar (`metrics/thresholds_parser_test.go`),
//! threshold evaluation and aggregation-per-type rules (`metrics/thresholds_test.go`), metric
//! keys with tag filters (`metrics/metric_test.go`), executor defaults and validation
//! (`lib/executor/executors_test.go`) and end-to-end behaviour (`internal/cmd/tests/
//! cmd_run_test.go`). k6's names map to soakd's: k6's `test_metric{abc:123}` becomes a soakd
//! metric and tag of the same shape. Where soakd is deliberately stricter for a daemon the case
//! says so (`Stricter`): a tag filter that can never match (an unknown tag, an empty value) is
//! a config error, since a threshold that silently never sees data would pass forever.

mod common;

use hdrhistogram::Histogram;
use soakd::config::load_str;
use soakd::plan::compile_loaded;
use soakd::plan::executor::{
    ConstantArrivalRate, ConstantVus, Executor, Load, PerVuIterations, RampingArrivalRate,
    RampingVus, SharedIterations, Stage,
};
use soakd::plan::threshold::{Aggregation, TagFilter, TagKey, parse, parse_metric_key};
use soakd::verdict::{RunNumbers, evaluate};
use std::collections::BTreeMap;
use std::time::Duration;

const PARSER: &str = "metrics/thresholds_parser_test.go";
const THRESHOLDS: &str = "metrics/thresholds_test.go";
const METRIC: &str = "metrics/metric_test.go";
const EXECUTORS: &str = "lib/executor/executors_test.go";
const CMD_RUN: &str = "internal/cmd/tests/cmd_run_test.go";
/// Not a test file: the k6 source a behaviour comes from, cited where no test pins it.
const SOURCE: &str = "source";

/// Expected outcome: parses (or is valid), or is refused.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Want {
    Ok,
    Err,
    /// k6 accepts it; soakd refuses it on purpose (see the module doc).
    Stricter,
}
use Want::*;

// ------------------------------------------------------------------ threshold expressions

/// (k6 file, line, metric key, expression, outcome, aggregation when it parses).
type ExpressionCase = (
    &'static str,
    u32,
    &'static str,
    &'static str,
    Want,
    Option<Aggregation>,
);

#[rustfmt::skip]
const EXPRESSIONS: &[ExpressionCase] = &[
    (PARSER, 21, "http_reqs", "count!20", Err, None),
    (PARSER, 27, "http_reqs", "foo>20", Err, None),
    (PARSER, 33, "http_reqs", "count>abc", Err, None),
    (PARSER, 39, "http_reqs", "count>20", Ok, Some(Aggregation::Count)),
    (PARSER, 83, "http_reqs", "count<1", Ok, Some(Aggregation::Count)),
    (PARSER, 90, "http_req_failed", "rate<1", Ok, Some(Aggregation::Rate)),
    (PARSER, 97, "vus", "value<1", Ok, Some(Aggregation::Value)),
    (PARSER, 104, "http_req_duration", "avg<1", Ok, Some(Aggregation::Avg)),
    (PARSER, 111, "http_req_duration", "min<1", Ok, Some(Aggregation::Min)),
    (PARSER, 118, "http_req_duration", "max<1", Ok, Some(Aggregation::Max)),
    (PARSER, 125, "http_req_duration", "med<1", Ok, Some(Aggregation::Med)),
    (PARSER, 132, "http_req_duration", "p(99)<1", Ok, Some(Aggregation::P(99.0))),
    (PARSER, 139, "http_req_duration", "p(99.9)<1", Ok, Some(Aggregation::P(99.9))),
    (PARSER, 146, "http_req_duration", "p(0)<1", Ok, Some(Aggregation::P(0.0))),
    (PARSER, 153, "http_req_duration", "p(100)<1", Ok, Some(Aggregation::P(100.0))),
    (PARSER, 160, "http_req_duration", "foo<1", Err, None),
    (PARSER, 167, "http_req_duration", "p()<1", Err, None),
    (PARSER, 174, "http_req_duration", "p(99<1", Err, None),
    (PARSER, 181, "http_req_duration", "p(foo)<1", Err, None),
    (PARSER, 188, "http_req_duration", "p(-1)<1", Err, None),
    (PARSER, 195, "http_req_duration", "p(101)<1", Err, None),
    (PARSER, 202, "http_req_duration", "p(NaN)<1", Err, None),
    (PARSER, 209, "http_req_duration", "p(+Inf)<1", Err, None),
    (PARSER, 261, "checks", "rate<=1", Ok, Some(Aggregation::Rate)),
    (PARSER, 269, "checks", "rate<1", Ok, Some(Aggregation::Rate)),
    (PARSER, 277, "checks", "rate>=1", Ok, Some(Aggregation::Rate)),
    (PARSER, 285, "checks", "rate>1", Ok, Some(Aggregation::Rate)),
    (PARSER, 293, "checks", "rate===1", Ok, Some(Aggregation::Rate)),
    (PARSER, 301, "checks", "rate==1", Ok, Some(Aggregation::Rate)),
    (PARSER, 309, "checks", "rate!=1", Ok, Some(Aggregation::Rate)),
    (PARSER, 317, "checks", "  rate  <=1", Ok, Some(Aggregation::Rate)),
    (PARSER, 325, "checks", "rate<=  1  ", Ok, Some(Aggregation::Rate)),
    (PARSER, 333, "checks", "rate!1", Err, None),
    // k6 reads the limit with strconv.ParseFloat (metrics/thresholds_parser.go:88): exponents.
    (SOURCE, 88, "http_req_duration", "p(95)<2.5e2", Ok, Some(Aggregation::P(95.0))),
    (SOURCE, 88, "http_req_failed", "rate<1E-2", Ok, Some(Aggregation::Rate)),
    // ParseFloat also reads "+Inf" and "NaN" as limits; a NaN limit never passes: refused.
    (SOURCE, 88, "http_req_duration", "p(95)<NaN", Stricter, None),
    (THRESHOLDS, 271, "checks", "foo&1", Err, None),
    // Aggregation methods checked against the metric's type (Validate, thresholds_test.go).
    (THRESHOLDS, 401, "http_reqs", "count==1", Ok, Some(Aggregation::Count)),
    (THRESHOLDS, 409, "http_reqs", "rate==1", Ok, Some(Aggregation::Rate)),
    (THRESHOLDS, 417, "http_reqs{request:bar}", "rate==1", Ok, Some(Aggregation::Rate)),
    (THRESHOLDS, 425, "http_reqs{request:123,group:doremi}", "rate==1", Ok, Some(Aggregation::Rate)),
    (THRESHOLDS, 433, "vus_max", "value==1", Ok, Some(Aggregation::Value)),
    (THRESHOLDS, 441, "http_req_failed", "rate==1", Ok, Some(Aggregation::Rate)),
    (THRESHOLDS, 449, "http_req_duration", "avg==1", Ok, Some(Aggregation::Avg)),
    (THRESHOLDS, 457, "http_req_duration", "min==1", Ok, Some(Aggregation::Min)),
    (THRESHOLDS, 465, "http_req_duration", "max==1", Ok, Some(Aggregation::Max)),
    (THRESHOLDS, 473, "http_req_duration", "med==1", Ok, Some(Aggregation::Med)),
    (THRESHOLDS, 481, "http_req_duration", "p(99)==1", Ok, Some(Aggregation::P(99.0))),
    // ... and refused on another type (metrics/metric_type.go supportedAggregationMethods).
    (THRESHOLDS, 276, "vus", "avg<1", Err, None),
    (THRESHOLDS, 276, "http_req_duration", "value<1", Err, None),
    (THRESHOLDS, 276, "http_req_failed", "count<1", Err, None),
    (THRESHOLDS, 276, "http_reqs", "value<1", Err, None),
    (THRESHOLDS, 330, "no_such_metric", "rate<1", Err, None),
    (CMD_RUN, 336, "http_req_duration{status:200}", " max == 0", Ok, Some(Aggregation::Max)),
    (CMD_RUN, 406, "iteration_duration", "p(0)<50", Ok, Some(Aggregation::P(0.0))),
    (CMD_RUN, 406, "iteration_duration", "p(99.99)<200", Ok, Some(Aggregation::P(99.99))),
];

#[test]
fn threshold_expressions_parse_as_in_k6() {
    for &(file, line, key, expr, want, aggregation) in EXPRESSIONS {
        let got = parse(key, expr);
        let case = format!("{file}:{line} {key} {expr:?}");
        match want {
            Ok => assert_eq!(got.map(|t| t.aggregation).ok(), aggregation, "{case}"),
            Err | Stricter => assert!(got.is_err(), "{case} parsed as {got:?}"),
        }
    }
}

// ------------------------------------------------------------------ metric keys and filters

type Tags = &'static [(TagKey, &'static str)];

/// (k6 file, line, key, outcome, the filter it must give).
#[rustfmt::skip]
const KEYS: &[(&str, u32, &str, Want, Tags)] = &[
    (METRIC, 82, "http_req_duration", Ok, &[]),
    (METRIC, 88, "http_req_duration{request:123}", Ok, &[(TagKey::Request, "123")]),
    (METRIC, 95, "http_req_duration{request:123,method:doremi}", Ok, &[(TagKey::Request, "123"), (TagKey::Method, "doremi")]),
    (METRIC, 102, "http_req_duration{request:123, method:doremi}", Ok, &[(TagKey::Request, "123"), (TagKey::Method, "doremi")]),
    // k6's group tag is a path: `::mygroup`; soakd's groups are plain names.
    (METRIC, 109, "http_req_duration{group:::mygroup}", Ok, &[(TagKey::Group, "mygroup")]),
    // k6 issue 2512: braces and colons inside a tag value.
    (METRIC, 116, "http_req_duration{request:http://${}.com}", Ok, &[(TagKey::Request, "http://${}.com")]),
    (METRIC, 123, "http_req_duration{request:http://${}.com,group:ssh://github.com:grafana/k6}", Ok,
        &[(TagKey::Request, "http://${}.com"), (TagKey::Group, "ssh://github.com:grafana/k6")]),
    (METRIC, 130, "http_req_duration{method}", Err, &[]),
    (METRIC, 135, "http_req_duration{method:}", Err, &[]),
    (METRIC, 140, "http_req_duration{request:123,method:}", Err, &[]),
    (METRIC, 145, "http_req_duration{request:123,method:doremi", Err, &[]),
    (METRIC, 150, "http_req_durationrequest:123,method:doremi}", Err, &[]),
    (METRIC, 155, "http_req_duration}request:123,method:doremi}", Err, &[]),
    (METRIC, 160, "http_req_duration}request{bar", Err, &[]),
    (METRIC, 165, "http_req_duration{method:ba}r", Err, &[]),
    // Quoted tag values lose their quotes (Metric.AddSubmetric).
    (METRIC, 48, r#"http_req_duration{request : '1' , status : "200"}"#, Ok, &[(TagKey::Request, "1"), (TagKey::Status, "200")]),
    (METRIC, 49, r#"http_req_duration{request : ' 1' , method : "2 "}"#, Ok, &[(TagKey::Request, " 1"), (TagKey::Method, "2 ")]),
    (METRIC, 43, "http_req_duration{ request : 1 }", Ok, &[(TagKey::Request, "1")]),
    // An empty filter `metric{}` is an error (ParseMetricName: a tag without a value).
    (METRIC, 39, "http_req_duration{}", Err, &[]),
    (METRIC, 40, "http_req_duration{  }", Err, &[]),
    // k6 makes a submetric matching an empty tag value; here it could never match a request.
    (METRIC, 45, r#"http_req_duration{request:"",method: ''}"#, Stricter, &[]),
    (METRIC, 41, "http_req_duration{request}", Stricter, &[]),
    // k6 accepts any tag name (`{nonexistent:tag}` counts 0); soakd knows its tags.
    (CMD_RUN, 334, "http_reqs{nonexistent:tag}", Stricter, &[]),
];

#[test]
fn metric_keys_and_tag_filters_parse_as_in_k6() {
    for &(file, line, key, want, tags) in KEYS {
        let got = parse_metric_key(key);
        let case = format!("{file}:{line} {key:?}");
        match want {
            Ok => {
                let mut expected: Vec<_> = tags.iter().map(|(k, v)| (*k, v.to_string())).collect();
                expected.sort_by_key(|(k, _)| *k);
                assert_eq!(
                    got.map(|(_, f)| f),
                    Result::Ok(TagFilter(expected)),
                    "{case}"
                );
            }
            Err | Stricter => assert!(got.is_err(), "{case} parsed as {got:?}"),
        }
    }
}

// ------------------------------------------------------------------ evaluation

/// A run's numbers set by hand: one latency distribution, request and check counts.
#[derive(Default)]
struct Numbers {
    latency_ms: Vec<f64>,
    requests: (u64, u64),
    checks: (u64, u64),
    iterations: u64,
    vus: Option<(u32, u32)>,
    elapsed: Duration,
}

fn hist(ms: &[f64]) -> Option<Histogram<u64>> {
    let mut h = Histogram::new(3).unwrap();
    for v in ms {
        h.record((v * 1000.0) as u64).unwrap();
    }
    (!h.is_empty()).then_some(h)
}

impl RunNumbers for Numbers {
    fn request_latency(&self, _: &TagFilter) -> Option<Histogram<u64>> {
        hist(&self.latency_ms)
    }
    fn iteration_latency(&self) -> Option<Histogram<u64>> {
        hist(&self.latency_ms)
    }
    fn requests(&self, _: &TagFilter) -> (u64, u64) {
        self.requests
    }
    fn checks(&self, _: &TagFilter) -> (u64, u64) {
        self.checks
    }
    fn iterations(&self) -> u64 {
        self.iterations
    }
    fn dropped_iterations(&self) -> u64 {
        0
    }
    fn vus(&self) -> Option<(u32, u32)> {
        self.vus
    }
    fn elapsed(&self) -> Duration {
        self.elapsed
    }
}

fn checks_rate(passes: u64, total: u64) -> Numbers {
    Numbers {
        checks: (passes, total - passes),
        ..Numbers::default()
    }
}

fn latencies(ms: &[f64]) -> Numbers {
    Numbers {
        latency_ms: ms.to_vec(),
        ..Numbers::default()
    }
}

/// (k6 file, line, key, expression, the run, breached).
#[rustfmt::skip]
fn verdicts() -> Vec<(&'static str, u32, &'static str, &'static str, Numbers, bool)> {
    vec![
        // runNoTaint: a rate of 1, 0.01, 0.00001 or 0.02 against each operator.
        (THRESHOLDS, 47, "checks", "rate>0.01", checks_rate(100, 100), false),
        (THRESHOLDS, 63, "checks", "rate>=0.01", checks_rate(1, 100), false),
        (THRESHOLDS, 71, "checks", "rate<=0.01", checks_rate(1, 100), false),
        (THRESHOLDS, 79, "checks", "rate<0.01", checks_rate(1, 100_000), false),
        (THRESHOLDS, 87, "checks", "rate==0.01", checks_rate(1, 100), false),
        (THRESHOLDS, 95, "checks", "rate===0.01", checks_rate(1, 100), false),
        (THRESHOLDS, 103, "checks", "rate!=0.01", checks_rate(2, 100), false),
        (THRESHOLDS, 111, "checks", "rate>0.01", checks_rate(1, 100_000), true),
        // A rate with no samples is skipped: it passes.
        (THRESHOLDS, 119, "checks", "rate>0.01", Numbers::default(), false),
        (THRESHOLDS, 187, "http_req_failed", "rate<0.01", Numbers { requests: (10_000, 1), ..Numbers::default() }, false),
        (THRESHOLDS, 213, "http_req_failed", "rate<0.01", Numbers { requests: (10, 10), ..Numbers::default() }, true),
        // Thresholds.Run on counters and trends.
        (THRESHOLDS, 662, "iterations", "count<2000", Numbers { iterations: 1234, ..Numbers::default() }, false),
        (THRESHOLDS, 672, "iterations", "count<2000", Numbers { iterations: 3000, ..Numbers::default() }, true),
        (THRESHOLDS, 694, "iterations", "rate<100", Numbers { iterations: 1234, ..Numbers::default() }, false),
        (THRESHOLDS, 704, "http_req_duration", "med<39", latencies(&[]), false),
        (THRESHOLDS, 714, "http_req_duration", "med>39", latencies(&[]), true),
        (THRESHOLDS, 724, "http_req_duration", "med>39", latencies(&[70.0, 80.0, 90.0]), false),
        (THRESHOLDS, 734, "http_req_duration", "med<39", latencies(&[70.0, 80.0, 90.0]), true),
        (THRESHOLDS, 608, "http_req_duration", "p(95)<200", latencies(&[500.0]), true),
        // A trend filter with no samples is judged on 0: `max == 0` passes with no requests.
        (CMD_RUN, 336, "http_req_duration{status:200}", "max == 0", latencies(&[]), false),
        (CMD_RUN, 336, "http_req_duration{status:200}", "avg > 10", latencies(&[]), true),
        (CMD_RUN, 331, "iterations", "count == 2", Numbers { iterations: 2, ..Numbers::default() }, false),
        // p(0) is the fastest sample.
        (CMD_RUN, 406, "iteration_duration", "p(0)<50", latencies(&[10.0, 300.0]), false),
        (CMD_RUN, 406, "iteration_duration", "p(0)<50", latencies(&[60.0, 300.0]), true),
        (CMD_RUN, 406, "iteration_duration", "p(99.5)<150", latencies(&[1.0, 2.0]), false),
        // Gauges: `vus` is the last sample, `vus_max` the most VUs (TestActiveVUsCount).
        (CMD_RUN, 1719, "vus_max", "value==10", Numbers { vus: Some((3, 10)), ..Numbers::default() }, false),
        (CMD_RUN, 1720, "vus", "value==3", Numbers { vus: Some((3, 10)), ..Numbers::default() }, false),
        (CMD_RUN, 1720, "vus", "value>5", Numbers { vus: Some((3, 10)), ..Numbers::default() }, true),
    ]
}

#[test]
fn thresholds_pass_and_fail_on_the_runs_k6_pins() {
    for (file, line, key, expr, mut run, breached) in verdicts() {
        if run.elapsed.is_zero() {
            run.elapsed = Duration::from_secs(60);
        }
        let t = parse(key, expr).unwrap_or_else(|e| panic!("{file}:{line} {key} {expr}: {e}"));
        let o = evaluate(&t, &run);
        assert_eq!(
            o.breached, breached,
            "{file}:{line} {key} {expr} observed {:?}",
            o.observed
        );
    }
}

// ------------------------------------------------------------------ executors

fn compile_load(load: &str) -> Result<Load, Vec<String>> {
    let yaml = format!(
        "scenarios:\n  s:\n    target: {{ base_url: \"http://127.0.0.1:8080\" }}\n    load: {load}\n    mix: [ {{ name: home, request: {{ url: \"/\" }} }} ]\n"
    );
    let lines = |errors: Vec<soakd::config::ConfigError>| -> Vec<String> {
        errors.iter().map(|e| e.to_string()).collect()
    };
    let loaded = load_str("k6.yaml", &yaml, Some(BTreeMap::new())).map_err(|e| lines(e.0))?;
    let plan = compile_loaded(&loaded).map_err(lines)?;
    Result::Ok(plan.scenarios["s"].load.clone())
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// (k6 file, line, `load:` block, outcome, what a valid one compiles to).
#[rustfmt::skip]
fn executors() -> Vec<(&'static str, u32, &'static str, Want, Option<Load>)> {
    let load = |executor, graceful_stop| Some(Load { executor, graceful_stop });
    let grace = secs(30);
    vec![
        (EXECUTORS, 97, "{ executor: constant-vus, duration: 60s }", Ok,
            load(Executor::from(ConstantVus { vus: 1, duration: secs(60) }), grace)),
        (EXECUTORS, 99, "{ executor: constant-vus }", Err, None),
        (EXECUTORS, 101, "{ executor: constant-vus, vus: 10 }", Err, None),
        (EXECUTORS, 102, "{ executor: constant-vus, vus: 0, duration: 60s }", Err, None),
        (EXECUTORS, 103, "{ executor: constant-vus, vus: -1, duration: 60s }", Err, None),
        (EXECUTORS, 104, "{ executor: constant-vus, vus: 10, duration: 0s }", Err, None),
        (EXECUTORS, 107, "{ executor: constant-vus, vus: 10, duration: 10s, graceful_stop: -2s }", Err, None),
        (EXECUTORS, 110, "{ executor: ramping-vus, start_vus: 20, graceful_stop: 15s, graceful_ramp_down: 10s, stages: [ { duration: 60s, target: 30 }, { duration: 130s, target: 10 } ] }", Ok,
            load(Executor::from(RampingVus { start_vus: 20, stages: vec![Stage { duration: secs(60), target: 30.0 }, Stage { duration: secs(130), target: 10.0 }], graceful_ramp_down: secs(10) }), secs(15))),
        (EXECUTORS, 164, "{ executor: ramping-vus, start_vus: 1, graceful_stop: 0s, graceful_ramp_down: 0s, stages: [ { duration: 10s, target: 10 }, { duration: 0s, target: 1 }, { duration: 10s, target: 5 } ] }", Ok,
            load(Executor::from(RampingVus { start_vus: 1, stages: vec![Stage { duration: secs(10), target: 10.0 }, Stage { duration: secs(0), target: 1.0 }, Stage { duration: secs(10), target: 5.0 }], graceful_ramp_down: secs(0) }), secs(0))),
        (EXECUTORS, 194, "{ executor: ramping-vus, start_vus: 0, stages: [ { duration: 60s, target: 0 } ] }", Err, None),
        (EXECUTORS, 195, "{ executor: ramping-vus, start_vus: -1, stages: [ { duration: 60s, target: 30 } ] }", Err, None),
        (EXECUTORS, 196, "{ executor: ramping-vus, start_vus: 2, stages: [ { duration: -60s, target: 30 } ] }", Err, None),
        (EXECUTORS, 197, "{ executor: ramping-vus, start_vus: 2, stages: [ { duration: 60s, target: -30 } ] }", Err, None),
        (EXECUTORS, 198, "{ executor: ramping-vus, stages: [ { duration: 60s } ] }", Err, None),
        (EXECUTORS, 199, "{ executor: ramping-vus, stages: [ { target: 30 } ] }", Err, None),
        (EXECUTORS, 200, "{ executor: ramping-vus, stages: [] }", Err, None),
        (EXECUTORS, 201, "{ executor: ramping-vus }", Err, None),
        (EXECUTORS, 204, "{ executor: shared-iterations, iterations: 22, vus: 12, max_duration: 100s }", Ok,
            load(Executor::from(SharedIterations { vus: 12, iterations: 22, max_duration: secs(100) }), grace)),
        (EXECUTORS, 269, "{ executor: shared-iterations }", Ok,
            load(Executor::from(SharedIterations { vus: 1, iterations: 1, max_duration: secs(600) }), grace)),
        (EXECUTORS, 270, "{ executor: shared-iterations, iterations: 20 }", Ok,
            load(Executor::from(SharedIterations { vus: 1, iterations: 20, max_duration: secs(600) }), grace)),
        (EXECUTORS, 271, "{ executor: shared-iterations, vus: 10 }", Err, None),
        (EXECUTORS, 272, "{ executor: shared-iterations, iterations: 20, vus: 10, max_duration: 30m }", Ok,
            load(Executor::from(SharedIterations { vus: 10, iterations: 20, max_duration: secs(1800) }), grace)),
        (EXECUTORS, 273, "{ executor: shared-iterations, iterations: 20, vus: 10, max_duration: -3m }", Err, None),
        (EXECUTORS, 274, "{ executor: shared-iterations, iterations: 20, vus: 10, max_duration: 0s }", Err, None),
        (EXECUTORS, 275, "{ executor: shared-iterations, iterations: 20, vus: -10 }", Err, None),
        (EXECUTORS, 276, "{ executor: shared-iterations, iterations: -1, vus: 1 }", Err, None),
        (EXECUTORS, 277, "{ executor: shared-iterations, iterations: 20, vus: 30 }", Err, None),
        // A bare number for graceful_stop is milliseconds (lib/types/types.go:84).
        (EXECUTORS, 280, "{ executor: per-vu-iterations, iterations: 23, vus: 13, graceful_stop: 0 }", Ok,
            load(Executor::from(PerVuIterations { vus: 13, iterations: 23, max_duration: secs(600) }), secs(0))),
        (SOURCE, 84, "{ executor: per-vu-iterations, graceful_stop: 1500 }", Ok,
            load(Executor::from(PerVuIterations { vus: 1, iterations: 1, max_duration: secs(600) }), Duration::from_millis(1500))),
        (EXECUTORS, 305, "{ executor: per-vu-iterations }", Ok,
            load(Executor::from(PerVuIterations { vus: 1, iterations: 1, max_duration: secs(600) }), grace)),
        (EXECUTORS, 306, "{ executor: per-vu-iterations, iterations: 20 }", Ok,
            load(Executor::from(PerVuIterations { vus: 1, iterations: 20, max_duration: secs(600) }), grace)),
        (EXECUTORS, 307, "{ executor: per-vu-iterations, vus: 10 }", Ok,
            load(Executor::from(PerVuIterations { vus: 10, iterations: 1, max_duration: secs(600) }), grace)),
        (EXECUTORS, 308, "{ executor: per-vu-iterations, iterations: 20, vus: 10 }", Ok,
            load(Executor::from(PerVuIterations { vus: 10, iterations: 20, max_duration: secs(600) }), grace)),
        (EXECUTORS, 309, "{ executor: per-vu-iterations, iterations: 20, vus: 10, max_duration: -3m }", Err, None),
        (EXECUTORS, 310, "{ executor: per-vu-iterations, iterations: 20, vus: 10, max_duration: 0s }", Err, None),
        (EXECUTORS, 311, "{ executor: per-vu-iterations, iterations: 20, vus: -10 }", Err, None),
        (EXECUTORS, 312, "{ executor: per-vu-iterations, iterations: -1, vus: 1 }", Err, None),
        (EXECUTORS, 316, "{ executor: constant-arrival-rate, rate: 30, time_unit: 1m, duration: 10m, pre_allocated_vus: 20, max_vus: 30 }", Ok,
            load(Executor::from(ConstantArrivalRate { rate: 0.5, duration: secs(600), pre_allocated_vus: 20, max_vus: 30 }), grace)),
        (EXECUTORS, 343, "{ executor: constant-arrival-rate, rate: 10, duration: 10m, pre_allocated_vus: 20, max_vus: 30 }", Ok,
            load(Executor::from(ConstantArrivalRate { rate: 10.0, duration: secs(600), pre_allocated_vus: 20, max_vus: 30 }), grace)),
        (EXECUTORS, 344, "{ executor: constant-arrival-rate, rate: 10, duration: 10m, pre_allocated_vus: 20, max_vus: 30, time_unit: -1s }", Err, None),
        (EXECUTORS, 345, "{ executor: constant-arrival-rate, rate: 10, duration: 10m, pre_allocated_vus: 20, max_vus: 30, time_unit: 0s }", Err, None),
        (EXECUTORS, 347, "{ executor: constant-arrival-rate, rate: 10, duration: 10m, pre_allocated_vus: 20 }", Ok,
            load(Executor::from(ConstantArrivalRate { rate: 10.0, duration: secs(600), pre_allocated_vus: 20, max_vus: 20 }), grace)),
        (EXECUTORS, 353, "{ executor: constant-arrival-rate, rate: 10, duration: 10m, max_vus: 30 }", Err, None),
        (EXECUTORS, 354, "{ executor: constant-arrival-rate, rate: 10, pre_allocated_vus: 20, max_vus: 30 }", Err, None),
        (EXECUTORS, 355, "{ executor: constant-arrival-rate, duration: 10m, pre_allocated_vus: 20, max_vus: 30 }", Err, None),
        (EXECUTORS, 356, "{ executor: constant-arrival-rate, rate: 10, duration: 0m, pre_allocated_vus: 20, max_vus: 30 }", Err, None),
        (EXECUTORS, 357, "{ executor: constant-arrival-rate, rate: 0, duration: 10m, pre_allocated_vus: 20, max_vus: 30 }", Err, None),
        (EXECUTORS, 358, "{ executor: constant-arrival-rate, rate: 10, duration: 10m, pre_allocated_vus: 20, max_vus: 15 }", Err, None),
        (EXECUTORS, 359, "{ executor: constant-arrival-rate, rate: 10, duration: 0s, pre_allocated_vus: 20, max_vus: 25 }", Err, None),
        (EXECUTORS, 360, "{ executor: constant-arrival-rate, rate: 10, duration: 10m, pre_allocated_vus: -2, max_vus: 25 }", Err, None),
        (EXECUTORS, 363, "{ executor: ramping-arrival-rate, start_rate: 10, time_unit: 30s, pre_allocated_vus: 20, max_vus: 50, stages: [ { duration: 3m, target: 30 }, { duration: 5m, target: 10 } ] }", Ok,
            load(Executor::from(RampingArrivalRate { start_rate: 10.0 / 30.0, stages: vec![Stage { duration: secs(180), target: 1.0 }, Stage { duration: secs(300), target: 10.0 / 30.0 }], pre_allocated_vus: 20, max_vus: 50 }), grace)),
        (EXECUTORS, 395, "{ executor: ramping-arrival-rate, pre_allocated_vus: 20, max_vus: 50, stages: [ { duration: 5m, target: 10 } ] }", Ok,
            load(Executor::from(RampingArrivalRate { start_rate: 0.0, stages: vec![Stage { duration: secs(300), target: 10.0 }], pre_allocated_vus: 20, max_vus: 50 }), grace)),
        (EXECUTORS, 396, "{ executor: ramping-arrival-rate, pre_allocated_vus: -20, max_vus: 50, stages: [ { duration: 5m, target: 10 } ] }", Err, None),
        (EXECUTORS, 397, "{ executor: ramping-arrival-rate, start_rate: -1, pre_allocated_vus: 20, max_vus: 50, stages: [ { duration: 5m, target: 10 } ] }", Err, None),
        (EXECUTORS, 399, "{ executor: ramping-arrival-rate, pre_allocated_vus: 20, stages: [ { duration: 5m, target: 10 } ] }", Ok,
            load(Executor::from(RampingArrivalRate { start_rate: 0.0, stages: vec![Stage { duration: secs(300), target: 10.0 }], pre_allocated_vus: 20, max_vus: 20 }), grace)),
        (EXECUTORS, 405, "{ executor: ramping-arrival-rate, max_vus: 50, stages: [ { duration: 5m, target: 10 } ] }", Err, None),
        (EXECUTORS, 406, "{ executor: ramping-arrival-rate, pre_allocated_vus: 20, max_vus: 50 }", Err, None),
        (EXECUTORS, 407, "{ executor: ramping-arrival-rate, pre_allocated_vus: 20, max_vus: 50, stages: [] }", Err, None),
        (EXECUTORS, 408, "{ executor: ramping-arrival-rate, pre_allocated_vus: 20, max_vus: 50, stages: [ { duration: 5m, target: 10 } ], time_unit: -1s }", Err, None),
        (EXECUTORS, 409, "{ executor: ramping-arrival-rate, pre_allocated_vus: 20, max_vus: 50, stages: [ { duration: 5m, target: 10 } ], time_unit: 0s }", Err, None),
        (EXECUTORS, 410, "{ executor: ramping-arrival-rate, pre_allocated_vus: 30, max_vus: 20, stages: [ { duration: 5m, target: 10 } ] }", Err, None),
    ]
}

#[test]
fn executor_defaults_and_validation_follow_k6() {
    for (file, line, block, want, expected) in executors() {
        let got = compile_load(block);
        let case = format!("{file}:{line} {block}");
        match want {
            Ok => assert_eq!(got.as_ref().ok(), expected.as_ref(), "{case}: {got:?}"),
            Err | Stricter => assert!(got.is_err(), "{case} compiled to {got:?}"),
        }
    }
}

// ------------------------------------------------------------------ templates

/// k6 numbers VUs from 1 (`__VU`; cmd_run_test.go:1308 aborts "in non-first init code" with
/// `if (__VU > 1)`), and so does `{{ vu }}`: one VU, one iteration (the shared-iterations
/// defaults, executors_test.go:269), and the target sees `vu=1`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vu_in_templates_is_numbered_from_1_like_k6s_vu() {
    let t = common::start_target().await;
    let s = common::scenario(
        &t,
        r#"
        target: { base_url: "${TARGET}" }
        load: { executor: shared-iterations }
        mix:
          - name: echo
            request: { method: POST, url: /echo, body: { json: { vu: "{{ vu }}" } } }
            checks: [ { json: { path: "$.vu", equals: "1" } } ]
        "#,
    );
    let (r, _) = common::run(s).await;
    assert_eq!(r.snapshot.iterations, 1, "k6's default: 1 iteration");
    assert_eq!(
        r.snapshot.checks(&TagFilter::default()),
        (1, 0),
        "the first VU is vu=1"
    );
}

// ------------------------------------------------------------------ the table itself

/// Every case cites a k6 file and line; prints how many cases each k6 file contributes.
#[test]
fn every_case_cites_a_k6_file_and_line() {
    let mut per_file: BTreeMap<&str, usize> = BTreeMap::new();
    let cites = EXPRESSIONS
        .iter()
        .map(|c| (c.0, c.1))
        .chain(KEYS.iter().map(|c| (c.0, c.1)))
        .chain(verdicts().into_iter().map(|c| (c.0, c.1)))
        .chain(executors().into_iter().map(|c| (c.0, c.1)))
        .chain([(CMD_RUN, 1308)]);
    for (file, line) in cites {
        assert!(line > 0, "{file}");
        *per_file.entry(file).or_default() += 1;
    }
    for (file, n) in &per_file {
        println!("{n:>3} cases from {file}");
    }
    assert_eq!(
        per_file.len(),
        6,
        "all five k6 test files and the k6 source are cited"
    );
}

/// The errors these rules add name the file, the field and the rule, like every config error.
#[test]
fn the_new_refusals_say_which_field_and_why() {
    let l = "k6.yaml: scenarios.s.load";
    for (block, line) in [
        (
            "{ executor: constant-vus, duration: 0s }",
            format!(r#"{l}.duration: "0s" must be longer than 0"#),
        ),
        (
            "{ executor: shared-iterations, max_duration: 0s }",
            format!(r#"{l}.max_duration: "0s" must be longer than 0"#),
        ),
        (
            "{ executor: shared-iterations, vus: 10 }",
            format!(
                "{l}.iterations: 1 is less than vus (10): every VU needs at least one iteration"
            ),
        ),
        (
            "{ executor: ramping-vus, stages: [ { duration: 1m, target: 0 } ] }",
            format!(
                "{l}.stages: either start_vus or one of the stage targets must be greater than 0"
            ),
        ),
    ] {
        assert_eq!(compile_load(block).unwrap_err(), vec![line], "{block}");
    }
    assert_eq!(
        parse_metric_key("http_req_duration{}")
            .unwrap_err()
            .to_string(),
        r#""http_req_duration{}": empty tag filter (drop the braces or name a tag)"#
    );
}

/// The terminal summary says why a threshold with no data failed.
#[test]
fn an_empty_trend_breach_says_it_was_judged_on_0() {
    let t = |name: &str, breached: bool| serde_json::json!({ "threshold": name, "observed": null, "limit": 10.0, "breached": breached });
    let times =
        serde_json::json!({"avg":0.0,"min":0.0,"max":0.0,"p50":0.0,"p90":0.0,"p95":0.0,"p99":0.0});
    let s: soakd::report::Summary = serde_json::from_value(serde_json::json!({
        "run_id": "r", "scenario": "s", "started_at": "", "ended_at": "", "duration_seconds": 1.0,
        "result": "fail", "executor": "constant-vus",
        "metrics": { "requests_total": 0, "requests_per_second": 0.0, "error_rate": 0.0,
            "iterations": 0, "dropped_iterations": 0, "response_times_ms": times },
        "requests": {}, "checks": {}, "consecutive_breaches": {},
        "thresholds": [t("http_req_duration:avg>10", true), t("http_req_failed:rate<0.01", false)],
    }))
    .unwrap();
    let text = soakd::report::render(&s);
    assert!(
        text.contains("http_req_duration:avg>10  observed no data, judged as 0 like k6"),
        "{text}"
    );
    assert!(
        text.contains("http_req_failed:rate<0.01  observed no data (limit"),
        "{text}"
    );
}
