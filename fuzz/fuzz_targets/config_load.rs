//! `soakd::config::load_str` then `soakd::plan::compile_loaded` on arbitrary text: every
//! mistake must come back as config errors (one line each, naming the file), never a panic.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // An empty environment: the fuzzer's own variables must not change the outcome.
    let loaded = match soakd::config::load_str("fuzz.yaml", text, Some(BTreeMap::new())) {
        Ok(loaded) => loaded,
        Err(soakd::config::LoadError(errors)) => {
            assert!(
                !errors.is_empty(),
                "a load error names at least one mistake"
            );
            for e in &errors {
                let _ = e.to_string();
            }
            return;
        }
    };
    match soakd::plan::compile_loaded(&loaded) {
        Ok(plan) => {
            for s in plan.scenarios.values() {
                let _ = s.peak_rate();
                let _ = s.schedule.describe();
            }
        }
        Err(errors) => {
            assert!(
                !errors.is_empty(),
                "a failed compile names at least one mistake"
            );
            for e in &errors {
                let _ = e.to_string();
            }
        }
    }
});
