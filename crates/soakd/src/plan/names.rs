//! The names users give (scenarios, requests, groups, checks, stages) become file names, label
//! values and threshold filters: their rules are checked here, once, as part of `compile`.

use super::errors::Errors;
use crate::config::RawScenario;
use std::collections::BTreeSet;

/// Longest scenario, request or group name: names become file names and label values.
pub const MAX_NAME_LEN: usize = 64;
/// Longest check name (derived names quote a JSON path or a header).
pub const MAX_CHECK_NAME_LEN: usize = 128;

/// The `name` of each stage of `rs.load` (None for unnamed stages and stageless executors).
pub(super) fn stage_names(rs: &RawScenario) -> Vec<Option<String>> {
    rs.load.as_ref().map_or_else(Vec::new, |l| {
        let stages = crate::load::raw_parts(l).stages;
        stages.iter().map(|s| s.name.clone()).collect()
    })
}

/// Stage names are names like any other (they reach threshold labels) and unique per load.
pub(super) fn check_stage_names(rs: &RawScenario, path: &str, e: &mut Errors) {
    let mut seen = BTreeSet::new();
    for (i, n) in stage_names(rs).iter().enumerate() {
        let Some(n) = n else { continue };
        let at = format!("{path}.load.stages[{i}].name");
        if !valid_name(n) {
            e.push(
                &at,
                format!("{n:?} is not a name (letters, digits, _ and -)"),
            );
        } else if !seen.insert(n.clone()) {
            e.push(&at, format!("{n:?} names another stage too"));
        }
    }
}

/// Request and group names: letters, digits, `_ - . :`, at most 64; check names: printable,
/// no `"`, `\`, `{`, `}` or `,`, at most 128. These reach labels, summaries and thresholds.
pub(super) fn check_names(requests: &[super::RequestMeta], path: &str, e: &mut Errors) {
    let simple = |s: &str| {
        s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'))
    };
    for r in requests {
        for (what, v) in [("request", &r.name), ("group", &r.group)] {
            if !simple(v) || v.len() > MAX_NAME_LEN {
                e.push(
                    path,
                    format!(
                        "{what} name {v:?} is not valid (letters, digits, _ - . :, at most {MAX_NAME_LEN})"
                    ),
                );
            }
        }
        for c in &r.checks {
            let bad = |ch: char| ch.is_control() || matches!(ch, '"' | '\\' | '{' | '}' | ',');
            if c.chars().any(bad) || c.len() > MAX_CHECK_NAME_LEN {
                e.push(
                    path,
                    format!(
                        "check name {c:?} of request {:?} is not valid (printable, no \" \\ {{ }} or comma, at most {MAX_CHECK_NAME_LEN})",
                        r.name
                    ),
                );
            }
        }
    }
}

pub(super) fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}
