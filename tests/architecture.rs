//! The import direction of the soakd library, checked on every test run.
//!
//! soakd's data flows one way (DESIGN §1, docs/architecture.md): `config → load → plan →
//! schedule/client → action → run → record → verdict → sut → state → report/telemetry → server →
//! app/cli → cmd`. A module may import only from modules on its left (or of its own rank). This
//! test reads every `crate::…` path in `src/` and fails on an import from the right, so the
//! layering is enforced by the build rather than by review.
//!
//! `DEBT` lists the edges that still point right today, each with why; the redesign (issue 13)
//! removes them one by one, and the test fails when an edge in `DEBT` disappears so the list
//! only ever shrinks.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Rank of each top-level module of `src/` in the flow; equal ranks may import each other.
const LAYERS: &[(&str, u32)] = &[
    // Log redaction imports nothing of soakd: any layer may register a secret with it.
    ("redact", 0),
    ("config", 0),
    // The executors (one file each): validated from config, stored by plan, run by run.
    ("load", 1),
    ("plan", 2),
    ("schedule", 3),
    ("client", 3),
    ("action", 4),
    ("run", 5),
    ("record", 6),
    ("verdict", 7),
    ("sut", 8),
    ("state", 9),
    ("report", 10),
    ("telemetry", 10),
    ("server", 11),
    ("app", 12),
    ("logs", 12),
    ("cli", 12),
    ("cmd", 13),
];

/// Edges that still import from the right, with the reason each exists. Remove an entry when
/// the edge is gone (the test insists).
const DEBT: &[(&str, &str, &str)] = &[
    (
        "action",
        "record",
        "actions push samples into the Recorder handle; a Sample sink type on the left would end this",
    ),
    (
        "run",
        "record",
        "the run driver builds its Recorder and snapshots it at run end",
    ),
    (
        "run",
        "verdict",
        "a run judges its own thresholds (abort_on_fail and the final verdict)",
    ),
    (
        "run",
        "sut",
        "SUT checks and drills run inside the run's lifetime",
    ),
    (
        "record",
        "verdict",
        "the snapshot converts itself into verdict::RunNumbers",
    ),
];

fn rank(module: &str) -> Option<u32> {
    LAYERS.iter().find(|(m, _)| *m == module).map(|(_, r)| *r)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src/ is readable") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file of `src/` belongs to (`src/run/open.rs` → `run`).
fn owner(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    Some(first.trim_end_matches(".rs").to_string())
}

/// Every top-level module named by a `crate::` path in `text`, including grouped imports such
/// as `use crate::{plan::Plan, record::Recorder};`. Comments are skipped.
fn imported_modules(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + "crate::".len()..];
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

fn import_graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let Some(from) = owner(&src, &file) else {
            continue;
        };
        if from == "lib" || from == "main" {
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("source file is UTF-8");
        let targets = graph.entry(from.clone()).or_default();
        for to in imported_modules(&text) {
            if to != from {
                targets.insert(to);
            }
        }
    }
    graph
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
fn no_module_imports_from_its_right_beyond_the_recorded_debt() {
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
    let debt: BTreeSet<(String, String)> = DEBT
        .iter()
        .map(|(a, b, _)| (a.to_string(), b.to_string()))
        .collect();
    let new: Vec<_> = violations.difference(&debt).collect();
    assert!(
        new.is_empty(),
        "imports from the right of the flow (move the shared type left): {new:?}"
    );
    let paid: Vec<_> = debt.difference(&violations).collect();
    assert!(
        paid.is_empty(),
        "these DEBT edges no longer exist: remove them from the list: {paid:?}"
    );
}

#[test]
fn grouped_and_nested_crate_paths_are_all_seen() {
    let text = "use crate::{plan::Plan, record::Recorder};\nlet x = crate::verdict::judge(); // crate::app\n";
    let found: Vec<String> = imported_modules(text).into_iter().collect();
    assert_eq!(found, ["plan", "record", "verdict"]);
}
