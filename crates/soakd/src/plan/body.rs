//! Request bodies: JSON (string leaves may be templates) or text, static when nothing renders.

use super::errors::Errors;
use super::request::{Body, JsonT};
use super::template::{Templates, Tmpl};
use crate::config::RawBody;
use bytes::Bytes;

pub(crate) fn compile_body(b: &RawBody, path: &str, t: &mut Templates, e: &mut Errors) -> Body {
    match (&b.json, &b.text) {
        (Some(j), None) => match json_template(j, &format!("{path}.json"), t, e) {
            JsonT::Value(v) => Body::Static {
                bytes: Bytes::from(serde_json::to_vec(&v).unwrap_or_default()),
                content_type: "application/json",
            },
            other => Body::Json(other),
        },
        (None, Some(s)) => match t.add(&format!("{path}.text"), s) {
            Ok(Tmpl::Static(s)) => Body::Static {
                bytes: Bytes::from(s),
                content_type: "text/plain; charset=utf-8",
            },
            Ok(tp) => Body::Text(tp),
            Err(msg) => {
                e.push(format!("{path}.text"), msg);
                Body::None
            }
        },
        _ => {
            e.push(path, "needs exactly one of json or text");
            Body::None
        }
    }
}

/// Templates in string leaves; `JsonT::Value` when nothing is dynamic.
pub(crate) fn json_template(
    v: &serde_json::Value,
    path: &str,
    t: &mut Templates,
    e: &mut Errors,
) -> JsonT {
    use serde_json::Value as V;
    match v {
        V::String(s) => match t.add(path, s) {
            Ok(Tmpl::Static(_)) => JsonT::Value(v.clone()),
            Ok(tp) => JsonT::Str(tp),
            Err(msg) => {
                e.push(path, msg);
                JsonT::Value(v.clone())
            }
        },
        V::Array(items) => {
            let parts: Vec<JsonT> = items
                .iter()
                .enumerate()
                .map(|(i, x)| json_template(x, &format!("{path}[{i}]"), t, e))
                .collect();
            if parts.iter().all(|p| matches!(p, JsonT::Value(_))) {
                JsonT::Value(v.clone())
            } else {
                JsonT::Array(parts)
            }
        }
        V::Object(map) => {
            let parts: Vec<(String, JsonT)> = map
                .iter()
                .map(|(k, x)| (k.clone(), json_template(x, &format!("{path}.{k}"), t, e)))
                .collect();
            if parts.iter().all(|(_, p)| matches!(p, JsonT::Value(_))) {
                JsonT::Value(v.clone())
            } else {
                JsonT::Object(parts)
            }
        }
        _ => JsonT::Value(v.clone()),
    }
}
