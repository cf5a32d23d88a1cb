//! Tests of the threshold grammar: every valid form and every message users see.
use super::*;

fn ok(key: &str, expr: &str) -> Threshold {
    parse(key, expr).unwrap_or_else(|e| panic!("{key} {expr}: {e}"))
}

fn err(key: &str, expr: &str) -> String {
    match parse(key, expr) {
        Ok(t) => panic!("{key} {expr} parsed as {t:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn trend_metrics_take_avg_min_max_med_and_percentiles() {
    use Aggregation::*;
    for (expr, aggregation) in [
        ("avg<100", Avg),
        ("min<100", Min),
        ("max<100", Max),
        ("med<100", Med),
        ("p(95)<100", P(95.0)),
        ("p(99.9)<100", P(99.9)),
        ("p(100)<100", P(100.0)),
        ("p(0.1)<100", P(0.1)),
        ("p(0)<100", P(0.0)),
    ] {
        for key in ["http_req_duration", "iteration_duration"] {
            assert_eq!(ok(key, expr).aggregation, aggregation, "{key} {expr}");
        }
    }
}

#[test]
fn rate_metrics_take_rate_and_counters_take_count_and_rate() {
    assert_eq!(
        ok("http_req_failed", "rate<0.01").aggregation,
        Aggregation::Rate
    );
    assert_eq!(ok("checks", "rate>=0.98").aggregation, Aggregation::Rate);
    for key in ["http_reqs", "iterations", "dropped_iterations"] {
        assert_eq!(ok(key, "count<10").aggregation, Aggregation::Count);
        assert_eq!(ok(key, "rate>=100").aggregation, Aggregation::Rate);
    }
}

#[test]
fn every_operator_parses() {
    for (expr, op) in [
        ("rate<1", Op::Lt),
        ("rate<=1", Op::Le),
        ("rate>1", Op::Gt),
        ("rate>=1", Op::Ge),
        ("rate==1", Op::Eq),
        ("rate===1", Op::Eq),
        ("rate!=1", Op::Ne),
    ] {
        assert_eq!(ok("checks", expr).op, op, "{expr}");
    }
}

#[test]
fn whitespace_is_allowed_around_tokens_and_dropped_from_the_label() {
    let t = ok(" http_req_duration ", "  p( 95 )  <  250  ");
    assert_eq!(
        (t.aggregation, t.op, t.limit),
        (Aggregation::P(95.0), Op::Lt, 250.0)
    );
    assert_eq!(t.label, "http_req_duration:p(95)<250");
    assert_eq!(t.to_string(), t.label);
    assert!(!t.abort_on_fail);
    assert_eq!(t.delay_abort_eval, None);
}

#[test]
fn limits_are_plain_decimals_including_negative_ones() {
    assert_eq!(ok("checks", "rate>0.5").limit, 0.5);
    assert_eq!(ok("checks", "rate>.5").limit, 0.5);
    assert_eq!(ok("checks", "rate>-1").limit, -1.0);
    assert_eq!(ok("http_req_duration", "avg<1500").limit, 1500.0);
    assert_eq!(ok("http_req_duration", "avg<1.5e3").limit, 1500.0);
    assert_eq!(ok("checks", "rate>1E-2").limit, 0.01);
}

#[test]
fn tag_filters_are_trimmed_sorted_by_key_and_part_of_the_label() {
    let t = ok(
        "http_req_duration{ status: 200 , method:GET,group : api read , request:feed_read}",
        "p(95)<200",
    );
    assert_eq!(
        t.filter.0,
        vec![
            (TagKey::Request, "feed_read".to_string()),
            (TagKey::Group, "api read".to_string()),
            (TagKey::Method, "GET".to_string()),
            (TagKey::Status, "200".to_string()),
        ]
    );
    assert_eq!(t.filter.get(TagKey::Method), Some("GET"));
    assert_eq!(
        t.label,
        "http_req_duration{request:feed_read,group:api read,method:GET,status:200}:p(95)<200"
    );
    let design_example = ok("http_req_duration{group:api_read}", "p(95)<200");
    assert_eq!(
        design_example.label,
        "http_req_duration{group:api_read}:p(95)<200"
    );
}

#[test]
fn a_filter_value_may_hold_any_character_but_comma() {
    let (_, filter) = parse_metric_key("checks{request:a:b/c d=e}").unwrap();
    assert_eq!(filter.0, vec![(TagKey::Request, "a:b/c d=e".to_string())]);
    let (_, filter) = parse_metric_key("checks{request:a{b}c}").unwrap();
    assert_eq!(filter.0, vec![(TagKey::Request, "a{b}c".to_string())]);
    // k6 refuses an empty filter (`metric{}`), and so does soakd.
    assert_eq!(
        parse_metric_key("http_reqs{}").unwrap_err().to_string(),
        r#""http_reqs{}": empty tag filter (drop the braces or name a tag)"#
    );
}

#[test]
fn every_metric_name_round_trips() {
    for m in Metric::ALL {
        assert_eq!(Metric::from_name(m.as_str()), Some(m));
    }
    assert_eq!(Metric::from_name("vus"), Some(Metric::Vus));
    assert_eq!(Metric::from_name("vus_min"), None);
}

#[test]
fn op_holds_compares_observed_against_limit() {
    assert!(Op::Lt.holds(1.0, 2.0) && !Op::Lt.holds(2.0, 2.0));
    assert!(Op::Le.holds(2.0, 2.0) && !Op::Le.holds(2.1, 2.0));
    assert!(Op::Gt.holds(3.0, 2.0) && !Op::Gt.holds(2.0, 2.0));
    assert!(Op::Ge.holds(2.0, 2.0) && !Op::Ge.holds(1.9, 2.0));
    assert!(Op::Eq.holds(2.0, 2.0) && !Op::Eq.holds(1.0, 2.0));
    assert!(Op::Ne.holds(1.0, 2.0) && !Op::Ne.holds(2.0, 2.0));
    assert!(!Op::Lt.holds(f64::NAN, 2.0));
}

#[test]
#[rustfmt::skip]
fn bad_keys_are_refused_with_a_message_quoting_the_bad_part() {
    for (key, message) in [
        ("http_req_durations", r#"unknown metric "http_req_durations""#),
        ("", r#"unknown metric """#),
        ("http_req_duration{foo:bar}", r#"unknown tag "foo" (use request, group, method, status, journey, stage)"#),
        ("http_req_duration{group:api_read", r#""http_req_duration{group:api_read": missing "}" after the tags"#),
        ("checks{group:a}x", r#""checks{group:a}x": unexpected "x" after "}""#),
        ("checks{group}", r#""group": expected tag:value"#),
        ("checks{group:a,}", r#""": expected tag:value"#),
        ("checks{group: }", r#"tag "group" has no value"#),
        ("checks{group:a,group:b}", r#"tag "group" is given twice"#),
        ("iterations{group:a}", "iterations takes no tags (only http_req_duration, http_req_failed, http_reqs, checks and journeys do)"),
    ] {
        assert_eq!(err(key, "rate<1"), message, "{key}");
    }
}

#[test]
#[rustfmt::skip]
fn bad_expressions_are_refused_with_a_message_quoting_the_bad_part() {
    let d = "http_req_duration";
    let op = "expected one of < <= > >= == != between the aggregation and the limit";
    let aggs = "(use avg, min, max, med, p(N), rate, count or value)";
    for (key, expr, message) in [
        (d, "p(95)<25Oms", r#""p(95)<25Oms": "25Oms" is not a number"#.to_string()),
        (d, "p(95)<abc", r#""p(95)<abc": "abc" is not a number"#.into()),
        (d, "p(95)<250ms", r#""p(95)<250ms": "250ms" is not a number (durations are in ms, write 250)"#.into()),
        (d, "p(95)<1.5s", r#""p(95)<1.5s": "1.5s" is not a number (durations are in ms, write 1500)"#.into()),
        (d, "p(95)<250 ms", r#""p(95)<250 ms": "250 ms" is not a number (durations are in ms, write 250)"#.into()),
        (d, "p(95)<NaN", r#""p(95)<NaN": "NaN" is not a number"#.into()),
        (d, "p(95)<inf", r#""p(95)<inf": "inf" is not a number"#.into()),
        (d, "p(95)<1e", r#""p(95)<1e": "1e" is not a number"#.into()),
        (d, "p(abc)<250", r#""p(abc)<250": "abc" is not a number"#.into()),
        (d, "p(-1)<250", r#""p(-1)<250": percentile -1 is out of range (0 <= N <= 100)"#.into()),
        (d, "p(101)<250", r#""p(101)<250": percentile 101 is out of range (0 <= N <= 100)"#.into()),
        (d, "p(95<250", r#""p(95<250": missing ")" after the percentile"#.into()),
        (d, "p95<250", format!(r#""p95<250": unknown aggregation "p95" {aggs}"#)),
        (d, "p(95) x<250", format!(r#""p(95) x<250": unknown aggregation "p(95) x" {aggs}"#)),
        (d, "<250", r#""<250": missing aggregation before the operator (use avg, min, max, med or p(N))"#.into()),
        (d, "", "empty threshold expression".into()),
        (d, "   ", "empty threshold expression".into()),
        (d, "p(95)", format!(r#""p(95)": {op}"#)),
        (d, "p(95) 250", format!(r#""p(95) 250": {op}"#)),
        (d, "p(95)<<250", format!(r#""p(95)<<250": {op}"#)),
        (d, "p(95)=250", format!(r#""p(95)=250": {op}"#)),
        (d, "p(95)<", r#""p(95)<": missing the limit after the operator"#.into()),
        (d, "p(95)<250 abc", r#""p(95)<250 abc": unexpected "abc" after the limit"#.into()),
        (d, "p(95)<250 <300", r#""p(95)<250 <300": unexpected "<300" after the limit"#.into()),
        (d, "rate<0.01", r#""rate" does not apply to http_req_duration (use avg, min, max, med or p(N))"#.into()),
        ("http_req_failed", "p(95)<250", r#""p(95)" does not apply to http_req_failed (use rate)"#.into()),
        ("checks", "count>1", r#""count" does not apply to checks (use rate)"#.into()),
        ("http_reqs", "avg>1", r#""avg" does not apply to http_reqs (use count or rate)"#.into()),
        ("http_req_durations", "p(95)<250", r#"unknown metric "http_req_durations""#.into()),
    ] {
        assert_eq!(err(key, expr), message, "{key} {expr}");
    }
}

#[test]
fn odd_input_never_panics() {
    for expr in [
        "p(",
        "p()",
        "(",
        ")<",
        "µ<1",
        "p(95)<µs",
        "<=>",
        "!",
        "p(-1)<1",
        "é<é",
    ] {
        assert!(parse("http_req_duration", expr).is_err(), "{expr}");
    }
    for key in ["{", "}", "{}", "checks{:}", "checks{{}", "é{é:é}"] {
        let _ = parse_metric_key(key);
    }
}
