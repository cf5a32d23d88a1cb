//! The import direction of soakd's crates and modules, checked on every test run.
//!
//! soakd's data flows one way (DESIGN §1, docs/architecture.md): `config → load → plan →
//! schedule/client → record → verdict → action/sut → run → state → report/telemetry → server →
//! app/cli → cmd`. The sample and snapshot types (`record`) sit on the left of their users: an
//! action pushes samples into a recorder, the verdict reads its numbers, the run drives both. A
//! module may import only from modules on its left (or of its own rank). The engine is the
//! `soakd` library (`crates/soakd/src`, everything up to `app`); the command line (`cli`, `logs`,
//! `cmd`) is the root package (`src/`), which Cargo lets import the engine but not the other way
//! round. This test reads every `crate::…` path of both and every `soakd::…` path of the command
//! line, and fails on an import from the right, so the layering is enforced by the build rather
//! than by review. There is no recorded debt: every edge points left.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Rank of each top-level module in the flow; equal ranks may import each other.
const LAYERS: &[(&str, u32)] = &[
    // Log redaction imports nothing of soakd: any layer may register a secret with it.
    ("redact", 0),
    ("config", 0),
    // The executors (one file each): validated from config, stored by plan, run by run.
    ("load", 1),
    ("plan", 2),
    ("schedule", 3),
    ("client", 3),
    // The sample, the recorder and the snapshot with the `RunNumbers` it answers: defined on
    // the left of everything that writes or reads them.
    ("record", 4),
    ("verdict", 5),
    ("action", 6),
    ("sut", 6),
    ("run", 7),
    ("state", 8),
    ("report", 9),
    ("telemetry", 9),
    ("server", 10),
    ("app", 11),
    // The root package: the `soakd` binary's command line.
    ("logs", 12),
    ("cli", 12),
    ("cmd", 13),
];

/// The engine library's sources, where its own modules are `crate::…`.
const ENGINE: &str = "crates/soakd/src";
/// The command line's sources (the root package), where the engine is `soakd::…`.
const COMMAND_LINE: &str = "src";
/// The modules of the command line; every other module belongs to the engine.
const COMMAND_LINE_MODULES: &[&str] = &["cli", "cmd", "logs"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Each source tree with the path prefixes that name a module of the flow in it.
fn trees() -> [(PathBuf, &'static [&'static str]); 2] {
    [
        (root().join(ENGINE), &["crate::"]),
        (root().join(COMMAND_LINE), &["crate::", "soakd::"]),
    ]
}

fn rank(module: &str) -> Option<u32> {
    LAYERS.iter().find(|(m, _)| *m == module).map(|(_, r)| *r)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("the source tree is readable") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file of a source tree belongs to (`src/run/open.rs` → `run`).
fn owner(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    Some(first.trim_end_matches(".rs").to_string())
}

/// Every top-level module named by a `prefix` path (`crate::`) in `text`, including grouped
/// imports such as `use crate::{plan::Plan, record::Recorder};`. Comments are skipped.
fn imported_modules(text: &str, prefix: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(at) = rest.find(prefix) {
            // `soakd::` inside `my_soakd::` is another crate.
            let whole = rest[..at]
                .chars()
                .next_back()
                .is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
            rest = &rest[at + prefix.len()..];
            if !whole {
                continue;
            }
            if let Some(group) = rest.strip_prefix('{') {
                let end = group.find('}').unwrap_or(group.len());
                for item in group[..end].split(',') {
                    let name: String = item
                        .trim()
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    if !name.is_empty() {
                        found.insert(name);
                    }
                }
            } else {
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    found.insert(name);
                }
            }
        }
    }
    found
}

/// Each top-level module of both trees with the modules it imports.
fn import_graph() -> BTreeMap<String, BTreeSet<String>> {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (src, prefixes) in trees() {
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        for file in files {
            let Some(from) = owner(&src, &file) else {
                continue;
            };
            if from == "lib" || from == "main" {
                continue;
            }
            let text = std::fs::read_to_string(&file).expect("source file is UTF-8");
            let targets = graph.entry(from.clone()).or_default();
            for prefix in prefixes {
                for to in imported_modules(&text, prefix) {
                    if to != from {
                        targets.insert(to);
                    }
                }
            }
        }
    }
    graph
}

/// The top-level modules of one source tree (its `lib.rs` and `main.rs` aside).
fn modules_of(src: &Path) -> BTreeSet<String> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files
        .iter()
        .filter_map(|f| owner(src, f))
        .filter(|m| m != "lib" && m != "main")
        .collect()
}

#[test]
fn every_module_of_src_has_a_place_in_the_flow() {
    let unplaced: Vec<String> = import_graph()
        .keys()
        .filter(|m| rank(m).is_none())
        .cloned()
        .collect();
    assert!(
        unplaced.is_empty(),
        "modules without a layer in tests/architecture.rs LAYERS (place them in the flow): {unplaced:?}"
    );
}

#[test]
fn no_module_imports_from_its_right() {
    let graph = import_graph();
    let mut violations = BTreeSet::new();
    for (from, targets) in &graph {
        let Some(from_rank) = rank(from) else {
            continue;
        };
        for to in targets {
            match rank(to) {
                Some(to_rank) if to_rank > from_rank => {
                    violations.insert((from.clone(), to.clone()));
                }
                _ => {}
            }
        }
    }
    assert!(
        violations.is_empty(),
        "imports from the right of the flow (move the shared type left, or the module right): {violations:?}"
    );
}

#[test]
fn grouped_and_nested_crate_paths_are_all_seen() {
    let text = "use crate::{plan::Plan, record::Recorder};\nlet x = crate::verdict::judge(); // crate::app\n";
    let found: Vec<String> = imported_modules(text, "crate::").into_iter().collect();
    assert_eq!(found, ["plan", "record", "verdict"]);
    let text = "use soakd::{app::App, plan};\nlet y = soakd::run::execute; my_soakd::cmd::x();\n";
    let found: Vec<String> = imported_modules(text, "soakd::").into_iter().collect();
    assert_eq!(found, ["app", "plan", "run"]);
}

/// The engine is a library of its own (`crates/soakd`): the root package holds only the
/// command line, and the engine holds none of it.
#[test]
fn the_root_package_holds_the_command_line_and_the_engine_the_rest() {
    let command_line: BTreeSet<String> =
        COMMAND_LINE_MODULES.iter().map(|m| m.to_string()).collect();
    assert_eq!(modules_of(&root().join(COMMAND_LINE)), command_line);
    let engine = modules_of(&root().join(ENGINE));
    assert!(
        engine.contains("run") && engine.contains("app"),
        "{engine:?}"
    );
    let misplaced: Vec<&String> = engine.intersection(&command_line).collect();
    assert!(
        misplaced.is_empty(),
        "command-line modules in the engine: {misplaced:?}"
    );
}

/// The calibration and demo target (`crates/testbed`) is a command's business (`soakd target`,
/// `soakd demo`): no module of the flow links it, so a library user never carries it.
#[test]
fn only_the_commands_import_the_testbed() {
    let mut importers: Vec<String> = Vec::new();
    for (src, _) in trees() {
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        importers.extend(
            files
                .iter()
                .filter(|f| {
                    let text = std::fs::read_to_string(f).expect("source file is UTF-8");
                    text.lines()
                        .any(|l| l.split("//").next().unwrap_or("").contains("testbed::"))
                })
                .filter_map(|f| owner(&src, f)),
        );
    }
    importers.sort();
    importers.dedup();
    assert!(!importers.is_empty(), "the commands start the testbed");
    assert!(
        importers.iter().all(|m| m == "cmd"),
        "modules other than cmd import testbed: {importers:?}"
    );
}
