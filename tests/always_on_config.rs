//! The always-on keys (circuit breaker, blackouts, statistical baseline) at check time: every
//! mistake names its file and field with the bad value, and the valid forms compile to what
//! they say. Fixtures under `tests/fixtures/always_on/`.

use soakd::config::load_str;
use soakd::plan::{Plan, compile_loaded};
use std::time::Duration;

const DIR: &str = "tests/fixtures/always_on";

fn check(name: &str) -> Result<Plan, Vec<String>> {
    let file = format!("{DIR}/{name}");
    let text =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(&file))
            .expect("fixture");
    let loaded = load_str(&file, &text, Some(Default::default()))
        .map_err(|e| e.0.iter().map(|x| x.to_string()).collect::<Vec<_>>())?;
    compile_loaded(&loaded).map_err(|e| e.iter().map(|x| x.to_string()).collect())
}

#[test]
fn every_always_on_mistake_names_its_field_and_value() {
    let mut got = check("invalid-always-on.yaml").expect_err("invalid");
    let f = "tests/fixtures/always_on/invalid-always-on.yaml";
    let mut want: Vec<String> = [
        r#"safety.blackouts[0].cron: "0 25 * * 2" is not a cron expression: hour 25 is out of range (0-23)"#,
        r#"safety.blackouts[1].timezone: "Mars/Olympus" is not an IANA timezone (e.g. UTC, Europe/Berlin)"#,
        r#"scenarios.feed.blackouts[0].duration: "forever" is not a duration (use e.g. 250ms, 30s, 3m, 1h)"#,
        r#"scenarios.feed.circuit_breaker.error_rate: 1.5 must be a ratio in (0, 1]"#,
        r#"scenarios.feed.circuit_breaker.max_cooldown: 5m is shorter than cooldown 10m"#,
        r#"scenarios.feed.baseline.against: "last_passing" is not last_N_passing with N in 1..=100 (e.g. last_10_passing)"#,
        r#"scenarios.feed.baseline.test: "t_test" is not supported (use mann_whitney)"#,
        r#"scenarios.feed.baseline.alpha: 0.7 must be in (0, 0.5)"#,
        r#"scenarios.feed.baseline.min_effect: "lots" is not a percentage such as 5%"#,
        // `other` inherits the defaults' breaker, which names no trip condition.
        r#"defaults.circuit_breaker: needs error_rate, p95 or both"#,
    ]
    .iter()
    .map(|l| format!("{f}: {l}"))
    .collect();
    got.sort();
    want.sort();
    assert_eq!(got, want);
}

#[test]
fn the_valid_forms_compile_to_what_they_say() {
    let plan = check("valid-always-on.yaml").unwrap_or_else(|e| panic!("{e:#?}"));
    let feed = &plan.scenarios["feed"].always_on;
    assert_eq!(
        feed.blackouts.len(),
        2,
        "safety.blackouts + the scenario's own"
    );
    let cb = feed
        .circuit_breaker
        .as_ref()
        .expect("the defaults' breaker");
    assert_eq!(
        (cb.error_rate, cb.p95),
        (Some(0.5), Some(Duration::from_secs(5)))
    );
    assert_eq!(
        (cb.window, cb.cooldown),
        (Duration::from_secs(30), Duration::from_secs(300))
    );
    let b = feed.statistical_baseline.expect("statistical baseline");
    assert_eq!((b.history, b.alpha, b.min_effect), (10, 0.01, 0.05));
    assert_eq!(
        plan.scenarios["feed"].baseline_max_regression, None,
        "no raw delta beside it"
    );
    let own = plan.scenarios["own_breaker"]
        .always_on
        .circuit_breaker
        .clone()
        .expect("own");
    assert_eq!(
        (own.error_rate, own.p95, own.min_requests, own.max_cooldown),
        (Some(0.2), None, 5, Duration::from_secs(600))
    );
}
