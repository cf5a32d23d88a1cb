//! Validated checks: assertions on a response (status, body, JSON path, header, duration).

use super::errors::Errors;
use crate::config::RawCheck;
use hyper::http::HeaderName;
use regex::Regex;
use serde_json_path::JsonPath;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Check {
    pub name: String,
    pub kind: CheckKind,
}

#[derive(Debug, Clone)]
pub enum CheckKind {
    Status(Vec<u16>),
    BodyContains(String),
    JsonExists {
        path: JsonPath,
        exists: bool,
    },
    JsonEquals {
        path: JsonPath,
        value: serde_json::Value,
    },
    Header {
        name: HeaderName,
        matches: Regex,
    },
    MaxDuration(Duration),
}

/// The one-line reason of a regex error (its Display is a multi-line diagram).
fn regex_reason(err: &regex::Error) -> String {
    let text = err.to_string();
    let last = text.lines().last().unwrap_or_default().trim();
    last.strip_prefix("error: ").unwrap_or(last).to_string()
}

pub(crate) fn compile_checks(raw: &[RawCheck], owner: &str, e: &mut Errors) -> Vec<Check> {
    let mut out: Vec<Check> = Vec::new();
    for (i, c) in raw.iter().enumerate() {
        let p = format!("{owner}.checks[{i}]");
        let mut kinds: Vec<(String, CheckKind)> = Vec::new();
        if let Some(codes) = &c.status {
            let mut ok = Vec::new();
            for (j, code) in codes.iter().enumerate() {
                if (100..=599).contains(code) {
                    ok.push(*code as u16);
                } else {
                    e.push(
                        format!("{p}.status[{j}]"),
                        format!("{code} is not an HTTP status"),
                    );
                }
            }
            kinds.push(("status".into(), CheckKind::Status(ok)));
        }
        if let Some(s) = &c.body_contains {
            kinds.push(("body_contains".into(), CheckKind::BodyContains(s.clone())));
        }
        if let Some(j) = &c.json {
            match JsonPath::parse(&j.path) {
                Ok(path) => {
                    let label = format!("json:{}", j.path);
                    let kind = match (&j.equals, j.exists) {
                        (Some(v), _) => CheckKind::JsonEquals {
                            path,
                            value: v.clone(),
                        },
                        (None, x) => CheckKind::JsonExists {
                            path,
                            exists: x.unwrap_or(true),
                        },
                    };
                    kinds.push((label, kind));
                }
                Err(err) => e.push(
                    format!("{p}.json.path"),
                    format!("{:?} is not a JSON path: {err}", j.path),
                ),
            }
        }
        if let Some(h) = &c.header {
            let name = HeaderName::from_bytes(h.name.to_ascii_lowercase().as_bytes());
            let re = Regex::new(&h.matches);
            match (name, re) {
                (Ok(name), Ok(matches)) => kinds.push((
                    format!("header:{}", h.name.to_ascii_lowercase()),
                    CheckKind::Header { name, matches },
                )),
                (Err(_), _) => e.push(
                    format!("{p}.header.name"),
                    format!("{:?} is not a header name", h.name),
                ),
                (_, Err(err)) => e.push(
                    format!("{p}.header.matches"),
                    format!(
                        "{:?} is not a regular expression: {}",
                        h.matches,
                        regex_reason(&err)
                    ),
                ),
            }
        }
        if let Some(d) = &c.max_duration
            && let Some(d) = e.duration(&format!("{p}.max_duration"), d)
        {
            kinds.push(("max_duration".into(), CheckKind::MaxDuration(d)));
        }
        let given: Vec<&str> = [
            ("status", c.status.is_some()),
            ("body_contains", c.body_contains.is_some()),
            ("json", c.json.is_some()),
            ("header", c.header.is_some()),
            ("max_duration", c.max_duration.is_some()),
        ]
        .into_iter()
        .filter_map(|(kind, set)| set.then_some(kind))
        .collect();
        if given.len() != 1 {
            let found = match given.len() {
                0 => "has no kind".to_string(),
                _ => format!("has {}", given.join(" and ")),
            };
            e.push(
                &p,
                format!(
                    "{found}; a check takes exactly one of status, body_contains, json, header, max_duration"
                ),
            );
        }
        for (label, kind) in kinds.into_iter().take(1) {
            let mut name = c.name.clone().unwrap_or(label);
            if out.iter().any(|x| x.name == name) {
                name = format!("{name}#{i}");
            }
            out.push(Check { name, kind });
        }
    }
    out
}
