//! The fuzzers' regression corpora, replayed on every test run (CI has no nightly toolchain for
//! cargo-fuzz): each input of `fuzz/corpus/TARGET/` goes through the same calls as the fuzz
//! target of that name and must not panic. Crashes found by fuzzing live here for good.

use soakd::plan::Templates;
use soakd::report::{Summary, compare, html, markdown, regressions, render};
use std::collections::BTreeMap;
use std::path::Path;

fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut out: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    out.sort();
    assert!(!out.is_empty(), "{target} has a corpus");
    out
}

#[test]
fn threshold_parse_corpus() {
    for (_, data) in corpus("threshold_parse") {
        let text = String::from_utf8_lossy(&data);
        let (key, expr) = text.split_once('\n').unwrap_or((&text, "p(95)<250"));
        if let Ok(t) = soakd::plan::threshold::parse(key, expr) {
            let _ = t.to_string();
        }
        let _ = soakd::plan::threshold::parse("http_req_duration", &text);
        let _ = soakd::plan::threshold::parse_metric_key(&text);
    }
}

#[test]
fn template_compile_render_corpus() {
    for (_, data) in corpus("template_compile_render") {
        let mut t = Templates::new();
        if let Ok(tmpl) = t.add("fuzz", &String::from_utf8_lossy(&data)) {
            let vars = BTreeMap::from([("cursor".to_string(), "abc".to_string())]);
            let ctx = t.context(3, 7, &vars);
            let _ = t.render(&tmpl, &ctx);
            let _ = t.render(&tmpl, &Templates::with_body(&ctx, "{}"));
        }
    }
}

#[test]
fn config_load_corpus() {
    for (name, data) in corpus("config_load") {
        let text = String::from_utf8_lossy(&data);
        match soakd::config::load_str("fuzz.yaml", &text, Some(BTreeMap::new())) {
            Ok(loaded) => {
                if let Err(errs) = soakd::plan::compile_loaded(&loaded) {
                    assert!(!errs.is_empty(), "{name}");
                    assert!(
                        errs.iter().all(|e| !e.to_string().contains('\n')),
                        "{name}: one line per error"
                    );
                }
            }
            Err(e) => assert!(!e.0.is_empty(), "{name}"),
        }
    }
}

#[test]
fn summary_read_corpus() {
    for (_, data) in corpus("summary_read") {
        if let Ok(s) = serde_json::from_slice::<Summary>(&data) {
            let _ = render(&s);
            let _ = markdown(&s);
            let _ = html(&s);
            let _ = compare(&s, &s, 10.0);
            let _ = regressions(&s, &s, 10.0);
        }
    }
}
