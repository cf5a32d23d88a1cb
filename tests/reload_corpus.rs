//! Hot reload with every invalid config of the corpus keeps the old plan running: the reload is
//! refused, the plan and its scenarios stay as they were, and the reload gauge says so.

use soakd::app::{App, Shard};
use std::path::Path;

const GOOD: &str = r#"
server: { listen: "127.0.0.1:0" }
state_dir: "${DIR}/state"
results: { dir: "${DIR}/results" }
scenarios:
  keep:
    target: { base_url: "http://127.0.0.1:9" }
    load: { executor: constant-vus, vus: 1, duration: 1s }
    mix: [ { name: a, request: { url: /ok } } ]
"#;

#[tokio::test]
async fn every_invalid_fixture_is_refused_on_reload_and_the_old_plan_keeps_running() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("soakd.yaml");
    std::fs::write(
        &path,
        GOOD.replace("${DIR}", &dir.path().display().to_string()),
    )
    .unwrap();
    let plan = soakd::plan::compile_loaded(&soakd::config::load_file(&path).unwrap()).unwrap();
    let app = App::new(plan, Some(path.clone()), Shard::WHOLE)
        .await
        .unwrap();
    let before: Vec<String> = app.plan().scenarios.keys().cloned().collect();

    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/config");
    let mut tried = 0;
    for entry in std::fs::read_dir(&fixtures).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with("invalid-") {
            continue;
        }
        std::fs::write(&path, std::fs::read(entry.path()).unwrap()).unwrap();
        assert!(!app.reload(), "{name} was accepted on reload");
        let after: Vec<String> = app.plan().scenarios.keys().cloned().collect();
        assert_eq!(after, before, "{name} changed the running plan");
        let metrics = app.metrics.encode();
        assert!(
            metrics.contains("soakd_config_last_reload_successful 0"),
            "{name}: the gauge says the reload failed"
        );
        tried += 1;
    }
    assert!(tried >= 40, "the corpus has {tried} invalid configs");
    // A valid file afterwards is taken.
    std::fs::write(
        &path,
        GOOD.replace("${DIR}", &dir.path().display().to_string())
            .replace("keep:", "renamed:"),
    )
    .unwrap();
    assert!(app.reload());
    assert!(app.plan().scenarios.contains_key("renamed"));
    assert!(
        app.metrics
            .encode()
            .contains("soakd_config_last_reload_successful 1")
    );
}
