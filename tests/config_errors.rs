//! Every user-facing config error, pinned.
//!
//! One fixture per mistake under `tests/fixtures/config/invalid-*.yaml`, each a small realistic
//! config with one mistake (a few with several), and in [`INVALID`] the exact lines `soakd check`
//! prints for it: `file: field.path: message`. A change to any message shows up here as a diff.
//! `valid-*.yaml` files must compile; `valid-full.yaml` uses every implemented key of DESIGN §3.

use soakd::config::{self, LoadError, Loaded, load_str};
use soakd::plan::threshold::{Aggregation, Metric, Op};
use soakd::plan::{Plan, compile_loaded};
use std::collections::BTreeSet;
use std::path::Path;

const DIR: &str = "tests/fixtures/config";

/// (fixture, every error line it produces). Order does not matter; completeness does.
const INVALID: &[(&str, &[&str])] = &[
    (
        "invalid-all-weights-zero.yaml",
        &[
            r#"tests/fixtures/config/invalid-all-weights-zero.yaml: scenarios.feed.mix: all weights are zero; at least one entry needs a positive weight"#,
        ],
    ),
    (
        "invalid-bad-base-url.yaml",
        &[
            r#"tests/fixtures/config/invalid-bad-base-url.yaml: scenarios.feed.target.base_url: "http//oops" is not a valid http(s) URL"#,
        ],
    ),
    (
        "invalid-bad-cron.yaml",
        &[
            r#"tests/fixtures/config/invalid-bad-cron.yaml: scenarios.feed.schedule.cron: "0 25 * * *" is not a cron expression: hour 25 is out of range (0-23)"#,
        ],
    ),
    (
        "invalid-bad-header-regex.yaml",
        &[
            r#"tests/fixtures/config/invalid-bad-header-regex.yaml: scenarios.feed.mix[1].checks[1].header.matches: "application/(json" is not a regular expression: unclosed group"#,
        ],
    ),
    (
        "invalid-bad-json-path.yaml",
        &[
            r#"tests/fixtures/config/invalid-bad-json-path.yaml: scenarios.feed.mix[0].checks[1].json.path: "$.items[" is not a JSON path: at position 7, parser error"#,
        ],
    ),
    (
        "invalid-bad-listen-address.yaml",
        &[
            r#"tests/fixtures/config/invalid-bad-listen-address.yaml: server.listen: "127.0.0.1:94640" is not an address (e.g. 0.0.0.0:9464)"#,
        ],
    ),
    (
        "invalid-bad-stage-duration.yaml",
        &[
            r#"tests/fixtures/config/invalid-bad-stage-duration.yaml: scenarios.feed.load.stages[1].duration: "3x" is not a duration (use e.g. 250ms, 30s, 3m, 1h)"#,
        ],
    ),
    (
        "invalid-check-with-two-kinds.yaml",
        &[
            r#"tests/fixtures/config/invalid-check-with-two-kinds.yaml: scenarios.feed.mix[1].checks[0]: has status and body_contains; a check takes exactly one of status, body_contains, json, header, max_duration"#,
        ],
    ),
    (
        "invalid-duplicate-request-names.yaml",
        &[
            r#"tests/fixtures/config/invalid-duplicate-request-names.yaml: scenarios.feed.mix[1]: duplicate request name "feed_read""#,
        ],
    ),
    (
        "invalid-host-not-allowed.yaml",
        &[
            r#"tests/fixtures/config/invalid-host-not-allowed.yaml: scenarios.feed.target: host "staging.api.example.com" is not in safety.allowed_hosts ["127.0.0.1"]"#,
        ],
    ),
    (
        "invalid-max-vus-below-pre-allocated.yaml",
        &[
            r#"tests/fixtures/config/invalid-max-vus-below-pre-allocated.yaml: scenarios.feed.load.max_vus: 20 is less than pre_allocated_vus (50)"#,
        ],
    ),
    (
        "invalid-mistyped-request-url.yaml",
        &[
            r#"tests/fixtures/config/invalid-mistyped-request-url.yaml: scenarios.feed.mix[1].request.url: "http//oops" is not a valid http(s) URL (expected http://host/... or a path starting with /)"#,
        ],
    ),
    (
        "invalid-negative-rate.yaml",
        &[
            r#"tests/fixtures/config/invalid-negative-rate.yaml: scenarios.feed.load.rate: -20 must be a positive number"#,
        ],
    ),
    (
        "invalid-negative-stage-target.yaml",
        &[
            r#"tests/fixtures/config/invalid-negative-stage-target.yaml: scenarios.feed.load.stages[2].target: -10 must not be negative"#,
        ],
    ),
    (
        "invalid-negative-weight.yaml",
        &[
            r#"tests/fixtures/config/invalid-negative-weight.yaml: scenarios.feed.mix[1].weight: -20 must not be negative"#,
        ],
    ),
    (
        "invalid-not-yaml.yaml",
        &[
            r#"tests/fixtures/config/invalid-not-yaml.yaml: not valid YAML: mapping values are not allowed in this context at byte 105 line 3 column 29"#,
        ],
    ),
    (
        "invalid-rates-exceed-max-rps.yaml",
        &[
            r#"tests/fixtures/config/invalid-rates-exceed-max-rps.yaml: safety.max_rps: the scenarios together can ask for 180.0 requests/s, above max_rps 150"#,
        ],
    ),
    (
        "invalid-relative-url-without-base-url.yaml",
        &[
            r#"tests/fixtures/config/invalid-relative-url-without-base-url.yaml: scenarios.feed.mix[0].request.url: "/api/feed?page_size=50" is relative but the scenario has no target.base_url"#,
            r#"tests/fixtures/config/invalid-relative-url-without-base-url.yaml: scenarios.feed.mix[1].request.url: "/api/posts" is relative but the scenario has no target.base_url"#,
        ],
    ),
    (
        "invalid-template-does-not-compile.yaml",
        &[
            r#"tests/fixtures/config/invalid-template-does-not-compile.yaml: scenarios.feed.mix[0].request.headers.X-Request-Id: template "{{ uuid() " does not compile: syntax error (unexpected end of input, expected end of variable block)"#,
        ],
    ),
    (
        "invalid-three-mistakes-in-two-scenarios.yaml",
        &[
            r#"tests/fixtures/config/invalid-three-mistakes-in-two-scenarios.yaml: scenarios.feed.load.stages[1].duration: "3x" is not a duration (use e.g. 250ms, 30s, 3m, 1h)"#,
            r#"tests/fixtures/config/invalid-three-mistakes-in-two-scenarios.yaml: scenarios.feed.thresholds.http_req_duration[0]: "p(95)<25Oms": "25Oms" is not a number"#,
            r#"tests/fixtures/config/invalid-three-mistakes-in-two-scenarios.yaml: scenarios.nightly_soak.schedule.timezone: "Mars/Olympus" is not an IANA timezone (e.g. UTC, Europe/Berlin)"#,
        ],
    ),
    (
        "invalid-threshold-aggregation-not-for-metric.yaml",
        &[
            r#"tests/fixtures/config/invalid-threshold-aggregation-not-for-metric.yaml: scenarios.feed.thresholds.http_req_failed[0]: "p(95)" does not apply to http_req_failed (use rate)"#,
        ],
    ),
    (
        "invalid-threshold-bad-syntax.yaml",
        &[
            r#"tests/fixtures/config/invalid-threshold-bad-syntax.yaml: scenarios.feed.thresholds.http_req_duration[0]: "p(95)<25Oms": "25Oms" is not a number"#,
        ],
    ),
    (
        "invalid-threshold-filter-unknown-request.yaml",
        &[
            r#"tests/fixtures/config/invalid-threshold-filter-unknown-request.yaml: scenarios.feed.thresholds.http_req_duration{request:feed_write}[0]: filters on request "feed_write", which the mix does not have"#,
        ],
    ),
    (
        "invalid-threshold-unknown-metric.yaml",
        &[
            r#"tests/fixtures/config/invalid-threshold-unknown-metric.yaml: scenarios.feed.thresholds.http_req_duraton: unknown metric "http_req_duraton""#,
        ],
    ),
    (
        "invalid-unknown-check-kind.yaml",
        &[
            r#"tests/fixtures/config/invalid-unknown-check-kind.yaml: scenarios.feed.mix[1].checks[0].staus: unknown field `staus`, expected one of `name`, `status`, `body_contains`, `json`, `header`, `max_duration`"#,
        ],
    ),
    (
        "invalid-unknown-executor.yaml",
        &[
            r#"tests/fixtures/config/invalid-unknown-executor.yaml: scenarios.feed.load.executor: unknown variant `ramping-arrival`, expected one of `constant-vus`, `ramping-vus`, `constant-arrival-rate`, `ramping-arrival-rate`, `per-vu-iterations`, `shared-iterations`"#,
        ],
    ),
    (
        "invalid-unknown-scenario-key.yaml",
        &[
            r#"tests/fixtures/config/invalid-unknown-scenario-key.yaml: scenarios.feed.thresolds: unknown field `thresolds`, expected one of `schedule`, `target`, `load`, `mix`, `thresholds`, `incident`, `baseline`, `sut_checks`, `drills`, `circuit_breaker`, `blackouts`"#,
        ],
    ),
    (
        "invalid-unknown-timezone.yaml",
        &[
            r#"tests/fixtures/config/invalid-unknown-timezone.yaml: scenarios.feed.schedule.timezone: "Europe/Berln" is not an IANA timezone (e.g. UTC, Europe/Berlin)"#,
        ],
    ),
    (
        "invalid-unknown-top-level-key.yaml",
        &[
            r#"tests/fixtures/config/invalid-unknown-top-level-key.yaml: state_directory: unknown key (expected one of server, state_dir, results, safety, defaults, max_concurrent_runs, shutdown_timeout, prometheus, data, scenarios)"#,
        ],
    ),
    (
        "invalid-zero-vus.yaml",
        &[
            r#"tests/fixtures/config/invalid-zero-vus.yaml: scenarios.feed.load.vus: 0 must be at least 1"#,
        ],
    ),
    (
        "invalid-data-bad-pick.yaml",
        &[
            r#"tests/fixtures/config/invalid-data-bad-pick.yaml: data.creds.pick: "shuffle" is not per_vu, round_robin, random or unique"#,
        ],
    ),
    (
        "invalid-data-csv-ragged-line.yaml",
        &[
            r#"tests/fixtures/config/invalid-data-csv-ragged-line.yaml: data.creds.file: tests/fixtures/config/invalid-data-ragged.csv: line 3 has 1 fields, the header has 2"#,
        ],
    ),
    (
        "invalid-data-missing-file.yaml",
        &[
            r#"tests/fixtures/config/invalid-data-missing-file.yaml: data.creds.file: tests/fixtures/config/no-such-credentials.json: cannot read: No such file or directory (os error 2)"#,
        ],
    ),
    (
        "invalid-data-on-exhausted-without-unique.yaml",
        &[
            r#"tests/fixtures/config/invalid-data-on-exhausted-without-unique.yaml: data.creds.on_exhausted: only applies to pick: unique"#,
        ],
    ),
    (
        "invalid-extract-bad-json-path.yaml",
        &[
            r#"tests/fixtures/config/invalid-extract-bad-json-path.yaml: scenarios.feed.mix[0].extract.cursor.json: "$.next_cursor[" is not a JSON path: at position 13, parser error"#,
        ],
    ),
    (
        "invalid-extract-bad-variable-name.yaml",
        &[
            r#"tests/fixtures/config/invalid-extract-bad-variable-name.yaml: scenarios.feed.mix[0].extract.next-cursor: "next-cursor" is not a variable name (letters, digits and _)"#,
        ],
    ),
    (
        "invalid-extract-two-kinds.yaml",
        &[
            r#"tests/fixtures/config/invalid-extract-two-kinds.yaml: scenarios.feed.mix[0].extract.cursor: has json and header; an extract takes exactly one of json, header, regex, status"#,
        ],
    ),
    (
        "invalid-incident-zero-consecutive-breaches.yaml",
        &[
            r#"tests/fixtures/config/invalid-incident-zero-consecutive-breaches.yaml: scenarios.feed.incident.consecutive_breaches: 0 must be at least 1"#,
        ],
    ),
    (
        "invalid-max-concurrent-runs-zero.yaml",
        &[
            r#"tests/fixtures/config/invalid-max-concurrent-runs-zero.yaml: max_concurrent_runs: 0 must be at least 1"#,
        ],
    ),
    (
        "invalid-paginate-bad-next-path.yaml",
        &[
            r#"tests/fixtures/config/invalid-paginate-bad-next-path.yaml: scenarios.feed.mix[0].paginate.next: "next_cursor" is not a JSON path: at position 0, parser error (a JSON path starts with $, e.g. $.next_cursor)"#,
        ],
    ),
    (
        "invalid-paginate-zero-pages.yaml",
        &[
            r#"tests/fixtures/config/invalid-paginate-zero-pages.yaml: scenarios.feed.mix[0].paginate.max_pages: 0 must be between 1 and 10000"#,
        ],
    ),
    (
        "invalid-series-budget-exceeded.yaml",
        &[
            r#"tests/fixtures/config/invalid-series-budget-exceeded.yaml: scenarios.feed: could create up to 1331 Prometheus series, above safety.max_series_per_scenario (50); use fewer requests or checks, or raise the budget"#,
        ],
    ),
    (
        "invalid-shutdown-timeout-bad-duration.yaml",
        &[
            r#"tests/fixtures/config/invalid-shutdown-timeout-bad-duration.yaml: shutdown_timeout: "twenty" is not a duration (use e.g. 250ms, 30s, 3m, 1h)"#,
        ],
    ),
    (
        "invalid-unknown-schedule-word.yaml",
        &[
            r#"tests/fixtures/config/invalid-unknown-schedule-word.yaml: scenarios.feed.schedule: "nightly" is not a schedule (use manual, { cron: ... } or { continuous: true })"#,
        ],
    ),
    (
        "invalid-websocket-bad-scheme.yaml",
        &[
            r#"tests/fixtures/config/invalid-websocket-bad-scheme.yaml: scenarios.feed.mix[0].websocket.url: "ftp://127.0.0.1:8080/ws" is not a ws:// or wss:// URL (expected ws://host/..., wss://host/... or a path starting with /)"#,
        ],
    ),
    (
        "invalid-websocket-send-every-without-message.yaml",
        &[
            r#"tests/fixtures/config/invalid-websocket-send-every-without-message.yaml: scenarios.feed.mix[0].websocket: send_every and message go together"#,
        ],
    ),
    (
        "invalid-duration-ten-million-hours.yaml",
        &[
            r#"tests/fixtures/config/invalid-duration-ten-million-hours.yaml: scenarios.feed.load.duration: "10000000h" is longer than the limit of 10 years"#,
        ],
    ),
    (
        "invalid-empty-file.yaml",
        &[
            r#"tests/fixtures/config/invalid-empty-file.yaml: scenarios: no scenarios: a config needs at least one"#,
        ],
    ),
    (
        "invalid-graceful-stop-overflows.yaml",
        &[
            r#"tests/fixtures/config/invalid-graceful-stop-overflows.yaml: scenarios.feed.load.graceful_stop: "584942417355y" is not a duration (use e.g. 250ms, 30s, 3m, 1h)"#,
        ],
    ),
    (
        "invalid-max-body-bytes-huge.yaml",
        &[
            r#"tests/fixtures/config/invalid-max-body-bytes-huge.yaml: scenarios.feed.target.max_body_bytes: 1099511627776 is above the limit of 1073741824 (1 GiB)"#,
        ],
    ),
    (
        "invalid-max-duration-longer-than-30-days.yaml",
        &[
            r#"tests/fixtures/config/invalid-max-duration-longer-than-30-days.yaml: scenarios.feed.load.max_duration: a run of 60d is longer than the limit of 30d"#,
        ],
    ),
    (
        "invalid-max-rps-above-limit.yaml",
        &[
            r#"tests/fixtures/config/invalid-max-rps-above-limit.yaml: safety.max_rps: 50000000 is above the limit of 1000000"#,
        ],
    ),
    (
        "invalid-max-rps-infinite.yaml",
        &[
            r#"tests/fixtures/config/invalid-max-rps-infinite.yaml: safety.max_rps: .inf is not a finite number"#,
        ],
    ),
    (
        "invalid-max-vus-too-many.yaml",
        &[
            r#"tests/fixtures/config/invalid-max-vus-too-many.yaml: scenarios.feed.load.max_vus: asks for 200000 VUs, above the limit of 100000 per scenario"#,
        ],
    ),
    (
        "invalid-only-comments.yaml",
        &[
            r#"tests/fixtures/config/invalid-only-comments.yaml: scenarios: no scenarios: a config needs at least one"#,
        ],
    ),
    (
        "invalid-ramping-rate-target-too-high.yaml",
        &[
            r#"tests/fixtures/config/invalid-ramping-rate-target-too-high.yaml: scenarios.feed.load.stages: asks for 1000000000 iterations/s, above the limit of 1000000 per scenario"#,
        ],
    ),
    (
        "invalid-ramping-vus-target-too-many.yaml",
        &[
            r#"tests/fixtures/config/invalid-ramping-vus-target-too-many.yaml: scenarios.feed.load.stages: asks for 500000 VUs, above the limit of 100000 per scenario"#,
        ],
    ),
    (
        "invalid-rate-1e308.yaml",
        &[
            r#"tests/fixtures/config/invalid-rate-1e308.yaml: scenarios.feed.load.rate: asks for 1e308 iterations/s, above the limit of 1000000 per scenario"#,
        ],
    ),
    (
        "invalid-rate-overflows-to-infinity.yaml",
        &[
            r#"tests/fixtures/config/invalid-rate-overflows-to-infinity.yaml: scenarios.feed.load.rate: 1e400 is not a finite number"#,
        ],
    ),
    (
        "invalid-retention-too-long.yaml",
        &[
            r#"tests/fixtures/config/invalid-retention-too-long.yaml: results.retention: "100y" is longer than the limit of 10 years"#,
        ],
    ),
    (
        "invalid-run-longer-than-30-days.yaml",
        &[
            r#"tests/fixtures/config/invalid-run-longer-than-30-days.yaml: scenarios.feed.load.duration: a run of 31d is longer than the limit of 30d"#,
        ],
    ),
    (
        "invalid-stages-longer-than-30-days.yaml",
        &[
            r#"tests/fixtures/config/invalid-stages-longer-than-30-days.yaml: scenarios.feed.load.stages: a run of 40d is longer than the limit of 30d"#,
        ],
    ),
    (
        "invalid-time-unit-one-microsecond.yaml",
        &[
            r#"tests/fixtures/config/invalid-time-unit-one-microsecond.yaml: scenarios.feed.load.time_unit: "1us" is outside 1ms..1d"#,
            r#"tests/fixtures/config/invalid-time-unit-one-microsecond.yaml: safety.max_rps: the scenarios together can ask for 1000000.0 requests/s, above max_rps 500"#,
        ],
    ),
    (
        "invalid-time-unit-two-days.yaml",
        &[
            r#"tests/fixtures/config/invalid-time-unit-two-days.yaml: scenarios.feed.load.time_unit: "2d" is outside 1ms..1d"#,
        ],
    ),
    (
        "invalid-timeout-too-long.yaml",
        &[
            r#"tests/fixtures/config/invalid-timeout-too-long.yaml: scenarios.feed.target.timeout: "20y" is longer than the limit of 10 years"#,
        ],
    ),
    (
        "invalid-vus-one-billion.yaml",
        &[
            r#"tests/fixtures/config/invalid-vus-one-billion.yaml: scenarios.feed.load.vus: asks for 1000000000 VUs, above the limit of 100000 per scenario"#,
        ],
    ),
    (
        "invalid-weight-huge.yaml",
        &[
            r#"tests/fixtures/config/invalid-weight-huge.yaml: scenarios.feed.mix[0].weight: 1e300 is above the limit of 1000000000"#,
        ],
    ),
    (
        "invalid-weight-nan.yaml",
        &[
            r#"tests/fixtures/config/invalid-weight-nan.yaml: scenarios.feed.mix[0].weight: .nan is not a finite number"#,
        ],
    ),
    (
        "invalid-zero-scenarios.yaml",
        &[
            r#"tests/fixtures/config/invalid-zero-scenarios.yaml: scenarios: no scenarios: a config needs at least one"#,
        ],
    ),
    (
        "invalid-data-csv-header-only.yaml",
        &[
            r#"tests/fixtures/config/invalid-data-csv-header-only.yaml: data.creds.file: tests/fixtures/config/invalid-data-header-only.csv has no rows"#,
        ],
    ),
    (
        "invalid-data-csv-unclosed-quote.yaml",
        &[
            r#"tests/fixtures/config/invalid-data-csv-unclosed-quote.yaml: data.creds.file: tests/fixtures/config/invalid-data-unclosed-quote.csv: line 3: a quoted field is never closed"#,
        ],
    ),
    (
        "invalid-data-dev-zero.yaml",
        &[
            r#"tests/fixtures/config/invalid-data-dev-zero.yaml: data.creds.file: /dev/zero: is a device, not a regular file"#,
        ],
    ),
    (
        "invalid-data-directory.yaml",
        &[
            r#"tests/fixtures/config/invalid-data-directory.yaml: data.creds.file: tests/fixtures/config/.: is a directory, not a regular file"#,
        ],
    ),
    (
        "invalid-data-json-not-an-array.yaml",
        &[
            r#"tests/fixtures/config/invalid-data-json-not-an-array.yaml: data.creds.file: tests/fixtures/config/invalid-data-not-array.json: expected a JSON array of objects"#,
        ],
    ),
    (
        "invalid-data-json-row-not-an-object.yaml",
        &[
            r#"tests/fixtures/config/invalid-data-json-row-not-an-object.yaml: data.creds.file: tests/fixtures/config/invalid-data-row-not-object.json: row 1 is not an object"#,
        ],
    ),
    (
        "invalid-data-secret-fields-typo.yaml",
        &[
            r#"tests/fixtures/config/invalid-data-secret-fields-typo.yaml: data.creds.secret_fields[0]: "pasword" is not a field of the pool (fields: email, user_id)"#,
        ],
    ),
    (
        "invalid-yaml-alias-bomb.yaml",
        &[
            r#"tests/fixtures/config/invalid-yaml-alias-bomb.yaml: has more than 200000 YAML nodes once aliases are expanded (the limit; an alias bomb?)"#,
        ],
    ),
    (
        "invalid-yaml-list-as-key.yaml",
        &[
            r#"tests/fixtures/config/invalid-yaml-list-as-key.yaml: scenarios: a mapping key must be a plain value, not a list or mapping"#,
        ],
    ),
    (
        "invalid-yaml-tab-indent.yaml",
        &[
            r#"tests/fixtures/config/invalid-yaml-tab-indent.yaml: not valid YAML: tabs disallowed within this context (block indentation) at byte 41 line 3 column 2"#,
        ],
    ),
    (
        "invalid-yaml-two-documents.yaml",
        &[
            r#"tests/fixtures/config/invalid-yaml-two-documents.yaml: not valid YAML: more than one document (---); a config is one document"#,
        ],
    ),
    (
        "invalid-yaml-unknown-alias.yaml",
        &[
            r#"tests/fixtures/config/invalid-yaml-unknown-alias.yaml: not valid YAML: while parsing node, found unknown anchor at byte 34 line 2 column 9"#,
        ],
    ),
    (
        "invalid-top-level-list.yaml",
        &[
            r#"tests/fixtures/config/invalid-top-level-list.yaml: expected a mapping at the top level, found a list"#,
        ],
    ),
    (
        "invalid-yaml-too-deep.yaml",
        &[
            r#"tests/fixtures/config/invalid-yaml-too-deep.yaml: nested deeper than 64 levels at line 2 (the limit)"#,
        ],
    ),
    (
        "invalid-template-filter-unknown.yaml",
        &[
            r#"tests/fixtures/config/invalid-template-filter-unknown.yaml: scenarios.feed.mix[0].request.headers.X-Trace: template does not render with sample values: unknown filter (filter shout is unknown)"#,
        ],
    ),
    (
        "invalid-template-function-error.yaml",
        &[
            r#"tests/fixtures/config/invalid-template-function-error.yaml: scenarios.feed.mix[0].request.headers.X-Trace: template does not render with sample values: invalid operation (random_int(a, b) needs a <= b)"#,
        ],
    ),
    (
        "invalid-threshold-window.yaml",
        &[
            r#"tests/fixtures/config/invalid-threshold-window.yaml: scenarios.feed.thresholds.http_req_duration[0].window: 500ms is outside 1s..1d"#,
            r#"tests/fixtures/config/invalid-threshold-window.yaml: scenarios.feed.thresholds.vus[0].window: vus is a gauge; a window applies to counts, rates and trends"#,
        ],
    ),
    (
        "invalid-template-output-too-large.yaml",
        &[
            r#"tests/fixtures/config/invalid-template-output-too-large.yaml: scenarios.feed.mix[0].request.headers.X-Trace: template does not render with sample values: renders more than 1024 KiB, the limit of one render"#,
        ],
    ),
    (
        "invalid-template-loop-out-of-fuel.yaml",
        &[
            r#"tests/fixtures/config/invalid-template-loop-out-of-fuel.yaml: scenarios.feed.mix[0].request.headers.X-Trace: template does not render with sample values: engine ran out of fuel"#,
        ],
    ),
    (
        "invalid-template-renders-to-host-not-allowed.yaml",
        &[
            r#"tests/fixtures/config/invalid-template-renders-to-host-not-allowed.yaml: scenarios.feed.mix[0].request.url: renders to host "staging.api.example.com" (with sample values), which is not in safety.allowed_hosts ["127.0.0.1"]"#,
        ],
    ),
    (
        "invalid-template-undefined-function.yaml",
        &[
            r#"tests/fixtures/config/invalid-template-undefined-function.yaml: scenarios.feed.mix[0].request.url: template does not render with sample values: unknown function (user_uuid is unknown)"#,
        ],
    ),
    (
        "invalid-template-undefined-pool.yaml",
        &[
            r#"tests/fixtures/config/invalid-template-undefined-pool.yaml: scenarios.feed.mix[0].request.url: template does not render with sample values: undefined value"#,
        ],
    ),
    (
        "invalid-check-name-with-comma.yaml",
        &[
            r#"tests/fixtures/config/invalid-check-name-with-comma.yaml: scenarios.feed: check name "ok, really" of request "feed_read" is not valid (printable, no " \ { } or comma, at most 128)"#,
        ],
    ),
    (
        "invalid-continuous-sub-second-run.yaml",
        &[
            r#"tests/fixtures/config/invalid-continuous-sub-second-run.yaml: scenarios.feed.schedule: a continuous scenario needs runs of at least 1s; its load lasts 500ms"#,
        ],
    ),
    (
        "invalid-continuous-zero-duration.yaml",
        &[
            r#"tests/fixtures/config/invalid-continuous-zero-duration.yaml: scenarios.feed.load.duration: "0s" must be longer than 0"#,
            r#"tests/fixtures/config/invalid-continuous-zero-duration.yaml: scenarios.feed.schedule: a continuous scenario needs runs of at least 1s; its load lasts 0s"#,
        ],
    ),
    (
        "invalid-group-name-with-braces.yaml",
        &[
            r#"tests/fixtures/config/invalid-group-name-with-braces.yaml: scenarios.feed: group name "api{read}" is not valid (letters, digits, _ - . :, at most 64)"#,
        ],
    ),
    (
        "invalid-request-name-with-quote.yaml",
        &[
            r#"tests/fixtures/config/invalid-request-name-with-quote.yaml: scenarios.feed: request name "feed\"read\n" is not valid (letters, digits, _ - . :, at most 64)"#,
        ],
    ),
    (
        "invalid-scenario-name-200-chars.yaml",
        &[
            r#"tests/fixtures/config/invalid-scenario-name-200-chars.yaml: scenarios.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa: scenario name is 200 characters, above the limit of 64"#,
        ],
    ),
    (
        "invalid-scenario-name-with-slash.yaml",
        &[
            r#"tests/fixtures/config/invalid-scenario-name-with-slash.yaml: scenarios.../feed: "../feed" is not a valid scenario name (letters, digits, _ and -)"#,
        ],
    ),
    (
        "invalid-threshold-status-not-a-number.yaml",
        &[
            r#"tests/fixtures/config/invalid-threshold-status-not-a-number.yaml: scenarios.feed.thresholds.http_req_duration{status:abc}[0]: "abc" is not an HTTP status code (e.g. status:200)"#,
        ],
    ),
    (
        "invalid-request-file-url.yaml",
        &[
            r#"tests/fixtures/config/invalid-request-file-url.yaml: scenarios.feed.mix[0].request.url: "file:///etc/passwd" is not a valid http(s) URL (expected http://host/... or a path starting with /)"#,
        ],
    ),
    (
        "invalid-load-wrong-type.yaml",
        &[
            r#"tests/fixtures/config/invalid-load-wrong-type.yaml: scenarios.feed.load.vus: invalid type: sequence, expected i64"#,
        ],
    ),
    (
        "invalid-continuous-not-boolean.yaml",
        &[
            r#"tests/fixtures/config/invalid-continuous-not-boolean.yaml: scenarios.feed.schedule.continuous: invalid type: string "yes-please", expected a boolean"#,
        ],
    ),
    (
        "invalid-schedule-unknown-key.yaml",
        &[
            r#"tests/fixtures/config/invalid-schedule-unknown-key.yaml: scenarios.feed.schedule.timezon: unknown field `timezon`, expected `cron` or `timezone`"#,
        ],
    ),
    (
        "invalid-threshold-entry-unknown-key.yaml",
        &[
            r#"tests/fixtures/config/invalid-threshold-entry-unknown-key.yaml: scenarios.feed.thresholds.checks[0].abort_on_fial: unknown field `abort_on_fial`, expected one of `threshold`, `abort_on_fail`, `delay_abort_eval`, `window`"#,
        ],
    ),
    (
        "invalid-admin-token-file-missing.yaml",
        &[
            r#"tests/fixtures/config/invalid-admin-token-file-missing.yaml: server.admin_token_file: /nonexistent/soakd/admin-token is not a readable file"#,
        ],
    ),
    (
        "invalid-object-store-endpoint-not-allowed.yaml",
        &[
            r#"tests/fixtures/config/invalid-object-store-endpoint-not-allowed.yaml: results.object_store.endpoint: uploads would go to minio.internal, which is not in safety.allowed_hosts"#,
        ],
    ),
    (
        "invalid-object-store-url-and-credentials.yaml",
        &[
            r#"tests/fixtures/config/invalid-object-store-url-and-credentials.yaml: results.object_store.url: "https://Soakd_Results/nightly" is not an s3:// URL (e.g. s3://soakd-results/staging)"#,
            r#"tests/fixtures/config/invalid-object-store-url-and-credentials.yaml: results.object_store.endpoint: "http://127.0.0.1:9000/bucket-path" is not an http(s) URL of a host (e.g. http://minio:9000), without a path or credentials"#,
            r#"tests/fixtures/config/invalid-object-store-url-and-credentials.yaml: results.object_store.access_key_id_file: /nonexistent/soakd/access_key_id is not a readable file"#,
        ],
    ),
];

fn read(file: &str) -> String {
    let full = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

/// Loads `file` with the given environment (never the process's, so `SOAKD__…` variables of
/// whoever runs the tests cannot change the outcome).
fn load(file: &str, env: &[(&str, &str)]) -> Result<Loaded, LoadError> {
    let env = env.iter().map(|(k, v)| (k.to_string(), v.to_string()));
    load_str(file, &read(file), Some(env.collect()))
}

/// Loads and compiles `file`; the errors are the lines the user sees.
fn check(file: &str) -> Result<Plan, Vec<String>> {
    let lines = |errors: Vec<config::ConfigError>| errors.iter().map(|e| e.to_string()).collect();
    match load(file, &[]) {
        Err(LoadError(errors)) => Err(lines(errors)),
        Ok(loaded) => compile_loaded(&loaded).map_err(lines),
    }
}

fn compiles(file: &str) -> Plan {
    check(file).unwrap_or_else(|errors| panic!("{file} should compile:\n{}", errors.join("\n")))
}

fn fixtures(prefix: &str) -> BTreeSet<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(DIR);
    std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("readable dir entry").file_name())
        .filter_map(|name| name.into_string().ok())
        .filter(|name| name.starts_with(prefix) && name.ends_with(".yaml"))
        .collect()
}

#[test]
fn each_invalid_fixture_reports_exactly_its_pinned_errors() {
    let mut failures = Vec::new();
    for (name, expected) in INVALID {
        let file = format!("{DIR}/{name}");
        let mut actual = match check(&file) {
            Ok(_) => vec![],
            Err(lines) => lines,
        };
        let mut expected: Vec<String> = expected.iter().map(|l| l.to_string()).collect();
        actual.sort();
        expected.sort();
        if actual != expected {
            failures.push(format!(
                "{file}\n  expected:\n    {}\n  actual:\n    {}",
                expected.join("\n    "),
                actual.join("\n    ")
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
}

#[test]
fn every_invalid_fixture_has_a_row_in_the_table_and_every_row_a_fixture() {
    let in_table: BTreeSet<String> = INVALID.iter().map(|(name, _)| name.to_string()).collect();
    assert_eq!(fixtures("invalid-"), in_table);
    assert!(in_table.len() >= 100, "only {} fixtures", in_table.len());
}

#[test]
fn every_config_error_is_one_line_naming_the_file() {
    for (name, lines) in INVALID {
        assert!(
            !lines.is_empty(),
            "{name}: an invalid fixture must report something"
        );
        for line in *lines {
            assert!(!line.contains('\n'), "{name}: {line:?}");
            assert!(line.starts_with(&format!("{DIR}/{name}: ")), "{line}");
        }
    }
}

#[test]
fn mistakes_in_different_scenarios_are_all_reported_at_once() {
    let file = format!("{DIR}/invalid-three-mistakes-in-two-scenarios.yaml");
    let errors = check(&file).expect_err("invalid");
    assert_eq!(errors.len(), 3, "{errors:#?}");
    assert!(errors.iter().any(|e| e.contains("scenarios.feed.")));
    assert!(errors.iter().any(|e| e.contains("scenarios.nightly_soak.")));
}

#[test]
fn every_valid_fixture_compiles() {
    let valid = fixtures("valid-");
    assert!(valid.contains("valid-full.yaml"));
    for name in valid {
        compiles(&format!("{DIR}/{name}"));
    }
}

#[test]
fn the_full_example_compiles_to_the_expected_plan() {
    let plan = compiles(&format!("{DIR}/valid-full.yaml"));
    assert_eq!(plan.listen.to_string(), "127.0.0.1:9464");
    assert_eq!(plan.allowed_hosts, ["127.0.0.1"]);
    assert_eq!(plan.max_rps, Some(2000.0));
    assert_eq!(plan.max_concurrent_runs, Some(2));
    assert_eq!(plan.retention.as_secs(), 180 * 86_400);
    assert!(plan.results_k6);
    let store = plan.object_store.as_ref().expect("results.object_store");
    assert_eq!(
        (store.bucket.as_str(), store.prefix.as_str()),
        ("soakd-results", "staging")
    );
    assert_eq!(store.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
    assert_eq!(store.region.as_deref(), Some("eu-west-1"));
    assert_eq!(store.retention.as_secs(), 400 * 86_400);
    assert_eq!(
        store.credentials,
        soakd::plan::object_store::Credentials::Environment
    );

    let executors: Vec<(&str, &str, String)> = plan
        .scenarios
        .values()
        .map(|s| {
            (
                s.name.as_str(),
                s.load.executor.name(),
                s.schedule.describe(),
            )
        })
        .collect();
    assert_eq!(
        executors,
        [
            (
                "community_feed",
                "ramping-arrival-rate",
                r#"cron "0 5 * * *" (Europe/Berlin)"#.to_string()
            ),
            ("per_vu", "per-vu-iterations", "manual".into()),
            ("ramp", "ramping-vus", "manual".into()),
            ("shared", "shared-iterations", "manual".into()),
            ("smoke", "constant-vus", "manual".into()),
            ("soak", "constant-arrival-rate", "continuous".into()),
        ]
    );
    for s in plan.scenarios.values() {
        assert_eq!(s.cumulative_weights.len(), s.mix.len(), "{}", s.name);
        let last = s.cumulative_weights.last().copied().unwrap_or_default();
        assert!(
            (last - 1.0).abs() < 1e-9,
            "{}: {:?}",
            s.name,
            s.cumulative_weights
        );
    }

    let feed = &plan.scenarios["community_feed"];
    assert_eq!(feed.cumulative_weights, [0.8, 1.0]);
    let requests: Vec<(&str, &str)> = feed
        .requests
        .iter()
        .map(|r| (r.name.as_str(), r.group.as_str()))
        .collect();
    assert_eq!(
        requests,
        [
            ("feed_read", "api_read"),
            ("browse_then_post_0", ""),
            ("create_post", "api_write")
        ]
    );
    assert_eq!(
        feed.requests[0].checks,
        [
            "status",
            "json:$.items",
            "has_next",
            "header:content-type",
            "body_contains",
            "max_duration"
        ]
    );
    assert_eq!(feed.max_body_bytes, 1_048_576);
    // `rate_of: requests`: 80 % single requests and 20 % two-request journeys send 1.2
    // requests per iteration, so 120 requests/s are 100 iterations/s.
    assert!(feed.rate_of_requests);
    assert!((feed.requests_per_iteration - 1.2).abs() < 1e-9);
    assert!((feed.peak_rate().unwrap() - 120.0).abs() < 1e-9);
    assert!((feed.load.executor.peak_rate().unwrap() - 100.0).abs() < 1e-9);

    let labels: Vec<&str> = feed.thresholds.iter().map(|t| t.label.as_str()).collect();
    assert_eq!(
        labels,
        [
            "checks:rate>=0.98",
            "http_req_duration:p(95)<250",
            "http_req_duration:p(99)<1000",
            "http_req_duration{group:api_read}:p(95)<200",
            "http_req_failed:rate<0.01",
            "http_req_failed:rate<0.05[1m]",
            "http_reqs:rate>=100",
        ]
    );
    let checks = &feed.thresholds[0];
    assert_eq!(
        (checks.metric, checks.aggregation, checks.op, checks.limit),
        (Metric::Checks, Aggregation::Rate, Op::Ge, 0.98)
    );
    assert!(checks.abort_on_fail);
    assert_eq!(checks.delay_abort_eval.map(|d| d.as_secs()), Some(60));
    let p95 = &feed.thresholds[1];
    assert_eq!(
        (p95.metric, p95.aggregation, p95.op, p95.limit),
        (Metric::HttpReqDuration, Aggregation::P(95.0), Op::Lt, 250.0)
    );
    assert!(!p95.abort_on_fail);

    let soak = &plan.scenarios["soak"];
    assert_eq!(soak.cumulative_weights, [0.25, 1.0]);
    assert_eq!(soak.peak_rate(), Some(60.0), "3600 per 1m is 60 per second");
}

const FEED: &str = r#"
scenarios:
  feed:
    target: { base_url: "http://127.0.0.1:8080" }
    load: { executor: constant-arrival-rate, rate: 20, duration: 1m, pre_allocated_vus: 5 }
    mix: [ { name: home, request: { url: "/" } } ]
"#;

fn feed_rate(env: &[(&str, &str)]) -> Option<f64> {
    let env = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let loaded = load_str("feed.yaml", FEED, Some(env)).expect("loads");
    let plan = compile_loaded(&loaded).expect("compiles");
    plan.scenarios["feed"].peak_rate()
}

#[test]
fn an_env_variable_overrides_a_nested_key_and_its_value_is_parsed_as_a_number() {
    assert_eq!(feed_rate(&[]), Some(20.0));
    assert_eq!(
        feed_rate(&[("SOAKD__SCENARIOS__FEED__LOAD__RATE", "50")]),
        Some(50.0)
    );
}

#[test]
fn env_override_names_are_case_insensitive() {
    assert_eq!(
        feed_rate(&[("soakd__scenarios__feed__load__rate", "50")]),
        Some(50.0)
    );
    assert_eq!(
        feed_rate(&[("Soakd__Scenarios__Feed__Load__Rate", "50")]),
        Some(50.0)
    );
}

#[test]
fn env_overrides_reach_names_with_single_underscores_and_keys_in_the_file_keep_their_case() {
    let file = format!("{DIR}/valid-full.yaml");
    let loaded = load(
        &file,
        &[("SOAKD__SCENARIOS__COMMUNITY_FEED__LOAD__MAX_VUS", "300")],
    )
    .expect("loads");
    let plan = compile_loaded(&loaded).expect("compiles");
    assert_eq!(
        plan.scenarios["community_feed"].load.executor.max_vus(),
        300
    );
    // Only env keys are lowercased: the header name written in the file is kept as written.
    assert!(loaded.raw.defaults.headers.contains_key("Authorization"));
}

#[test]
fn an_env_override_that_breaks_the_config_is_reported_against_the_variable_not_the_file() {
    let env = [("SOAKD__SCENARIOS__FEED__LOAD__RATE", "-1")];
    let env = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let loaded = load_str("feed.yaml", FEED, Some(env)).expect("loads");
    let errors: Vec<String> = compile_loaded(&loaded)
        .expect_err("invalid")
        .iter()
        .map(|e| e.to_string())
        .collect();
    assert_eq!(
        errors,
        [
            "env SOAKD__SCENARIOS__FEED__LOAD__RATE: scenarios.feed.load.rate: -1 must be a positive number"
        ]
    );
}

/// Every string a schema allows literally (`const` and `enum` values), anywhere in it.
fn literals(schema: &serde_json::Value, out: &mut BTreeSet<String>) {
    match schema {
        serde_json::Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value) {
                    ("const", serde_json::Value::String(s)) => {
                        out.insert(s.clone());
                    }
                    ("enum", serde_json::Value::Array(items)) => {
                        out.extend(items.iter().filter_map(|i| i.as_str().map(String::from)));
                    }
                    _ => literals(value, out),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|i| literals(i, out)),
        _ => {}
    }
}

#[test]
fn the_json_schema_describes_scenarios_and_names_every_executor() {
    let schema = config::schema();
    assert!(schema["properties"]["scenarios"].is_object(), "{schema:#}");
    let mut allowed = BTreeSet::new();
    literals(&schema, &mut allowed);
    for executor in [
        "constant-vus",
        "ramping-vus",
        "constant-arrival-rate",
        "ramping-arrival-rate",
        "per-vu-iterations",
        "shared-iterations",
    ] {
        assert!(
            allowed.contains(executor),
            "{executor} missing from {allowed:?}"
        );
    }
}

/// Loads `text` as `feed.yaml` with `env`, compiles it, and returns the error lines.
fn errors_with_env(text: &str, env: &[(&str, &str)]) -> Vec<String> {
    let env = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let lines = |errors: Vec<config::ConfigError>| errors.iter().map(|e| e.to_string()).collect();
    match load_str("feed.yaml", text, Some(env)) {
        Err(LoadError(errors)) => lines(errors),
        Ok(loaded) => compile_loaded(&loaded).err().map(lines).unwrap_or_default(),
    }
}

#[test]
fn a_non_finite_max_rps_from_the_environment_is_rejected_and_blames_the_variable() {
    for bad in ["inf", "NaN", "-inf", "1e400", "Infinity"] {
        assert_eq!(
            errors_with_env(FEED, &[("SOAKD__SAFETY__MAX_RPS", bad)]),
            [format!(
                "env SOAKD__SAFETY__MAX_RPS: safety.max_rps: \"{bad}\" is not a finite number"
            )],
            "{bad}"
        );
    }
}

#[test]
fn a_wrongly_typed_env_value_blames_the_variable() {
    assert_eq!(
        errors_with_env(
            FEED,
            &[("SOAKD__SCENARIOS__FEED__LOAD__PRE_ALLOCATED_VUS", "many")]
        ),
        [
            "env SOAKD__SCENARIOS__FEED__LOAD__PRE_ALLOCATED_VUS: scenarios.feed.load.pre_allocated_vus: \"many\" is not a number"
        ]
    );
}

#[test]
fn an_env_override_keeps_the_case_of_the_scenario_name_in_the_file() {
    let text = FEED.replace("  feed:", "  CommunityFeed:");
    let env = [("SOAKD__SCENARIOS__COMMUNITYFEED__LOAD__RATE", "50")]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let loaded = load_str("feed.yaml", &text, Some(env)).expect("loads");
    let plan = compile_loaded(&loaded).expect("compiles");
    assert_eq!(
        plan.scenarios.keys().collect::<Vec<_>>(),
        ["CommunityFeed"],
        "no second, lower-cased scenario"
    );
    assert_eq!(plan.scenarios["CommunityFeed"].peak_rate(), Some(50.0));
}

#[test]
fn a_utf8_byte_order_mark_is_accepted() {
    assert_eq!(
        errors_with_env(&format!("\u{feff}{FEED}"), &[]),
        Vec::<String>::new()
    );
}

#[test]
fn a_50_mb_bad_value_is_cut_in_the_message() {
    let huge = "x".repeat(50 << 20);
    let lines = errors_with_env(FEED, &[("SOAKD__SCENARIOS__FEED__LOAD__RATE", &huge)]);
    assert_eq!(lines.len(), 1, "{}", lines.len());
    let line = &lines[0];
    assert!(line.len() < 1_000, "{} bytes", line.len());
    assert!(
        line.starts_with("env SOAKD__SCENARIOS__FEED__LOAD__RATE: scenarios.feed.load.rate: \"xxx"),
        "{}",
        &line[..200]
    );
    // The message is the value quoted (2) and " is not a number" (16).
    let whole = (50 << 20) + 2 + 16;
    assert!(
        line.ends_with(&format!("… ({whole} bytes in all)")),
        "{}",
        &line[line.len() - 80..]
    );
}
