//! The summary/report reader: `serde_json::from_slice::<soakd::report::Summary>` on arbitrary
//! bytes (what `soakd report FILE` and the API read back), then every renderer on what parsed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use soakd::report::{Summary, compare, markdown, render};

fuzz_target!(|data: &[u8]| {
    let Ok(summary) = serde_json::from_slice::<Summary>(data) else {
        return;
    };
    let _ = render(&summary);
    let _ = markdown(&summary);
    let _ = compare(&summary, &summary, 10.0);
    let bytes = serde_json::to_vec(&summary).expect("a parsed summary serialises");
    let _ = serde_json::from_slice::<Summary>(&bytes);
});
