//! Taking values from a response: `extract` into `var.X`, and pagination cursors.

use crate::client::Response;
use crate::plan::follow::Extract;
use serde_json_path::JsonPath;
use std::collections::BTreeMap;

/// Sets each extracted variable that the response has; a missing one is left unset.
pub fn apply(extract: &[(String, Extract)], resp: &Response, vars: &mut BTreeMap<String, String>) {
    let mut json: Option<Option<serde_json::Value>> = None;
    for (name, how) in extract {
        let value = match how {
            Extract::Json(path) => {
                let doc = json.get_or_insert_with(|| serde_json::from_slice(&resp.body).ok());
                doc.as_ref().and_then(|d| first(path, d))
            }
            Extract::Header(h) => resp.headers.get(h).map(str::to_string),
            Extract::Regex(re) => {
                let text = String::from_utf8_lossy(&resp.body);
                re.captures(&text)
                    .and_then(|c| c.get(1).or_else(|| c.get(0)))
                    .map(|m| m.as_str().to_string())
            }
            Extract::Status => Some(resp.status.to_string()),
        };
        match value {
            Some(v) => {
                vars.insert(name.clone(), v);
            }
            None => {
                vars.remove(name);
            }
        }
    }
}

/// The next cursor: the value at `path` unless it is missing, null or empty.
pub fn cursor(path: &JsonPath, resp: &Response) -> Option<String> {
    let doc: serde_json::Value = serde_json::from_slice(&resp.body).ok()?;
    first(path, &doc).filter(|c| !c.is_empty())
}

fn first(path: &JsonPath, doc: &serde_json::Value) -> Option<String> {
    match path.query(doc).all().first()? {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}
