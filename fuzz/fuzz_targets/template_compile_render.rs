//! `soakd::plan::Templates`: compile arbitrary template text, then render it with a context
//! like the one a VU builds. Either step may fail with an error; neither may panic or hang.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use soakd::plan::Templates;

fuzz_target!(|data: &[u8]| {
    let Ok(source) = std::str::from_utf8(data) else {
        return;
    };
    let mut templates = Templates::new();
    let Ok(tmpl) = templates.add("scenarios.fuzz.mix[0].request.url", source) else {
        return;
    };
    let mut vars = BTreeMap::new();
    vars.insert("cursor".to_string(), "abc".to_string());
    vars.insert("id".to_string(), "42".to_string());
    let ctx = templates.context(3, 7, &vars);
    let _ = templates.render(&tmpl, &ctx);
    let with_body = Templates::with_body(&ctx, "{\"a\":1}");
    let _ = templates.render(&tmpl, &with_body);
});
