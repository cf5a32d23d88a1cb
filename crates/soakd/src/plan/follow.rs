//! What a request step takes from its response: extracted values and pagination cursors.

use super::errors::Errors;
use crate::config::{RawExtract, RawPaginate};
use hyper::http::HeaderName;
use regex::Regex;
use serde_json_path::JsonPath;
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
pub enum Extract {
    Json(JsonPath),
    Header(HeaderName),
    /// First capture group, or the whole match without groups.
    Regex(Regex),
    Status,
}

#[derive(Debug, Clone)]
pub struct Paginate {
    pub next: JsonPath,
    /// Query parameter that carries the cursor.
    pub param: String,
    pub max_pages: u32,
}

pub fn compile_extract(
    raw: &BTreeMap<String, RawExtract>,
    owner: &str,
    e: &mut Errors,
) -> Vec<(String, Extract)> {
    let mut out = Vec::new();
    for (name, x) in raw {
        let p = format!("{owner}.extract.{name}");
        if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            e.push(
                &p,
                format!("{name:?} is not a variable name (letters, digits and _)"),
            );
        }
        let given = [
            x.json.is_some(),
            x.header.is_some(),
            x.regex.is_some(),
            x.status,
        ];
        if given.iter().filter(|g| **g).count() != 1 {
            let named: Vec<&str> = ["json", "header", "regex", "status"]
                .into_iter()
                .zip(given)
                .filter_map(|(n, g)| g.then_some(n))
                .collect();
            let has = if named.is_empty() {
                "has none".to_string()
            } else {
                format!("has {}", named.join(" and "))
            };
            e.push(
                &p,
                format!("{has}; an extract takes exactly one of json, header, regex, status"),
            );
            continue;
        }
        let ex = if let Some(path) = &x.json {
            match JsonPath::parse(path) {
                Ok(jp) => Extract::Json(jp),
                Err(err) => {
                    e.push(
                        format!("{p}.json"),
                        format!("{path:?} is not a JSON path: {err}{}", json_path_hint(path)),
                    );
                    continue;
                }
            }
        } else if let Some(h) = &x.header {
            match HeaderName::from_bytes(h.to_ascii_lowercase().as_bytes()) {
                Ok(hn) => Extract::Header(hn),
                Err(_) => {
                    e.push(format!("{p}.header"), format!("{h:?} is not a header name"));
                    continue;
                }
            }
        } else if let Some(r) = &x.regex {
            match Regex::new(r) {
                Ok(re) => Extract::Regex(re),
                Err(err) => {
                    let reason = err
                        .to_string()
                        .lines()
                        .last()
                        .unwrap_or_default()
                        .trim()
                        .to_string();
                    e.push(
                        format!("{p}.regex"),
                        format!("{r:?} is not a regular expression: {reason}"),
                    );
                    continue;
                }
            }
        } else {
            Extract::Status
        };
        out.push((name.clone(), ex));
    }
    out
}

/// A hint for the most common mistake: a JSON path written without its leading `$`.
pub(crate) fn json_path_hint(path: &str) -> &'static str {
    if path.trim_start().starts_with('$') {
        ""
    } else {
        " (a JSON path starts with $, e.g. $.next_cursor)"
    }
}

pub fn compile_paginate(raw: &RawPaginate, path: &str, e: &mut Errors) -> Option<Paginate> {
    let next = match JsonPath::parse(&raw.next) {
        Ok(jp) => jp,
        Err(err) => {
            e.push(
                format!("{path}.next"),
                format!(
                    "{:?} is not a JSON path: {err}{}",
                    raw.next,
                    json_path_hint(&raw.next)
                ),
            );
            return None;
        }
    };
    if raw.max_pages < 1 || raw.max_pages > 10_000 {
        e.push(
            format!("{path}.max_pages"),
            format!("{} must be between 1 and 10000", raw.max_pages),
        );
        return None;
    }
    Some(Paginate {
        next,
        param: raw.param.clone().unwrap_or_else(|| "cursor".into()),
        max_pages: raw.max_pages as u32,
    })
}
