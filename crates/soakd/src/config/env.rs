//! `SOAKD__A__B=value` environment overrides, laid over the file's tree.
//!
//! Environment variable names are case-insensitive by habit (and shells upper-case them), but
//! config keys are not: a scenario named `CommunityFeed` must be reached by
//! `SOAKD__SCENARIOS__COMMUNITYFEED__…`, not be shadowed by a new `communityfeed`. So each
//! segment matches an existing key of the file regardless of case, and only keys the file does
//! not have are taken lower-cased (every built-in key is lower-case). Values are parsed like
//! YAML scalars (`true`, `42`, `2.5`); anything else, including `inf` and `NaN`, stays a string,
//! so a number field rejects it by name. Each override is remembered with its path, so that an
//! error in that field blames the variable, not the file.

use serde_json::{Map, Number, Value};

const PREFIX: &str = "SOAKD__";

/// Applies every `SOAKD__…` variable of `env` to `tree`; returns (field path, variable) pairs.
pub fn overlay(tree: &mut Value, env: Vec<(String, String)>) -> Vec<(String, String)> {
    let mut applied = Vec::new();
    let mut env: Vec<(String, String)> = env
        .into_iter()
        .filter(|(k, _)| {
            k.len() > PREFIX.len()
                && k.is_char_boundary(PREFIX.len())
                && k[..PREFIX.len()].eq_ignore_ascii_case(PREFIX)
        })
        .collect();
    env.sort();
    for (var, raw) in env {
        let segments: Vec<&str> = var[PREFIX.len()..].split("__").collect();
        if segments.iter().any(|s| s.is_empty()) {
            continue;
        }
        if !tree.is_object() {
            *tree = Value::Object(Map::new());
        }
        let mut node = &mut *tree;
        let mut path = Vec::new();
        for (i, seg) in segments.iter().enumerate() {
            let map = match node {
                Value::Object(map) => map,
                other => {
                    *other = Value::Object(Map::new());
                    let Value::Object(map) = other else {
                        unreachable!("just set")
                    };
                    map
                }
            };
            let key = map
                .keys()
                .find(|k| k.eq_ignore_ascii_case(seg))
                .cloned()
                .unwrap_or_else(|| seg.to_ascii_lowercase());
            path.push(key.clone());
            if i + 1 == segments.len() {
                map.insert(key, scalar(&raw));
                break;
            }
            node = map.entry(key).or_insert_with(|| Value::Object(Map::new()));
        }
        applied.push((path.join("."), var));
    }
    applied
}

fn scalar(raw: &str) -> Value {
    let t = raw.trim();
    if t.eq_ignore_ascii_case("true") {
        return Value::Bool(true);
    }
    if t.eq_ignore_ascii_case("false") {
        return Value::Bool(false);
    }
    if let Ok(i) = t.parse::<i64>() {
        return Value::Number(i.into());
    }
    if let Some(n) = t.parse::<f64>().ok().and_then(Number::from_f64) {
        return Value::Number(n);
    }
    Value::String(raw.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn an_override_keeps_the_case_of_the_key_in_the_file() {
        let mut tree = json!({"scenarios": {"CommunityFeed": {"load": {"rate": 1}}}});
        let applied = overlay(
            &mut tree,
            env(&[("SOAKD__SCENARIOS__COMMUNITYFEED__LOAD__RATE", "5")]),
        );
        assert_eq!(tree["scenarios"]["CommunityFeed"]["load"]["rate"], json!(5));
        assert_eq!(applied[0].0, "scenarios.CommunityFeed.load.rate");
    }

    #[test]
    fn non_finite_numbers_stay_strings_for_the_field_to_reject() {
        let mut tree = json!({});
        overlay(
            &mut tree,
            env(&[("SOAKD__SAFETY__MAX_RPS", "inf"), ("OTHER", "1")]),
        );
        assert_eq!(tree, json!({"safety": {"max_rps": "inf"}}));
    }
}
