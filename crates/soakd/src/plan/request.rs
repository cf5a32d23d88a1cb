//! Validated actions: the weighted mix, journeys of steps, requests and checks.
//!
//! A single-request mix entry is a journey of one step, so the engine has one code path.

use super::body::compile_body;
use super::checks::{Check, compile_checks};
use super::errors::Errors;
use super::template::{Templates, Tmpl};
use crate::config::{RawCheck, RawDefaults, RawMixEntry, RawRequest, RawStep};
use bytes::Bytes;
use hyper::http::{HeaderName, HeaderValue, Method};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// Static facts about one named request, shared by recorder, metrics and summaries.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestMeta {
    pub name: String,
    /// The mix entry (journey) this request belongs to.
    pub journey: String,
    pub group: String,
    pub method: String,
    /// Labels of its checks, in order.
    pub checks: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct MixEntry {
    pub name: String,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone)]
pub enum Step {
    Request(Box<RequestStep>),
    WebSocket(Box<super::ws::WsStep>),
    /// Uniform pause in [min, max].
    Think {
        min: Duration,
        max: Duration,
    },
}

#[derive(Debug, Clone)]
pub struct RequestStep {
    /// Index into `Scenario::requests`.
    pub index: usize,
    pub method: Method,
    /// Absolute URL (base_url already prefixed).
    pub url: Tmpl,
    pub headers: Vec<(HeaderName, Tmpl)>,
    pub body: Body,
    pub timeout: Duration,
    pub checks: Vec<Check>,
    /// Values to take from the response into `var.NAME`.
    pub extract: Vec<(String, super::follow::Extract)>,
    pub paginate: Option<super::follow::Paginate>,
}

#[derive(Debug, Clone)]
pub enum Body {
    None,
    /// Fully known at plan time.
    Static {
        bytes: Bytes,
        content_type: &'static str,
    },
    Text(Tmpl),
    /// JSON whose string leaves may be templates.
    Json(JsonT),
}

/// A JSON value whose strings may be templates.
#[derive(Debug, Clone)]
pub enum JsonT {
    Value(serde_json::Value),
    Str(Tmpl),
    Array(Vec<JsonT>),
    Object(Vec<(String, JsonT)>),
}

/// What a request needs from its scenario to compile.
pub struct RequestCtx<'a> {
    pub base_url: Option<&'a str>,
    /// The scenario's base_url was given but is invalid (already reported): relative URLs are
    /// then not reported again as missing a base_url.
    pub base_url_invalid: bool,
    pub defaults: &'a RawDefaults,
    pub timeout: Duration,
    pub templates: &'a mut Templates,
    pub requests: &'a mut Vec<RequestMeta>,
    /// Hosts seen in static URLs, for the safety check.
    pub hosts: &'a mut BTreeSet<String>,
}

pub fn compile_entry(
    raw: &RawMixEntry,
    path: &str,
    cx: &mut RequestCtx,
    e: &mut Errors,
) -> MixEntry {
    let group = raw.group.clone().unwrap_or_default();
    let mut steps = Vec::new();
    if let Some(ws) = &raw.websocket {
        if raw.request.is_some() || !raw.steps.is_empty() {
            e.push(path, "has a websocket and a request or steps; use one");
        }
        steps.push(compile_ws_step(
            ws,
            &raw.name,
            &raw.name,
            &group,
            &format!("{path}.websocket"),
            path,
            cx,
            e,
        ));
        return MixEntry {
            name: raw.name.clone(),
            steps,
        };
    }
    match (&raw.request, raw.steps.is_empty()) {
        (Some(req), true) => {
            let p = format!("{path}.request");
            let parts = Parts {
                journey: &raw.name,
                name: &raw.name,
                group: &group,
                checks: &raw.checks,
                extract: &raw.extract,
                paginate: &raw.paginate,
            };
            steps.push(compile_request(req, parts, path, &p, cx, e));
        }
        (None, false) => {
            if !raw.extract.is_empty() || raw.paginate.is_some() {
                e.push(
                    path,
                    "extract and paginate of a journey belong to its steps",
                );
            }
            if !raw.checks.is_empty() {
                e.push(
                    format!("{path}.checks"),
                    "checks of a journey belong to its steps",
                );
            }
            for (i, s) in raw.steps.iter().enumerate() {
                let sp = format!("{path}.steps[{i}]");
                steps.push(compile_step(s, raw, i, &group, &sp, cx, e));
            }
        }
        (Some(_), false) => e.push(path, "has both request and steps; use one"),
        (None, true) => e.push(path, "needs a request or steps"),
    }
    MixEntry {
        name: raw.name.clone(),
        steps,
    }
}

/// What a request step carries besides the request itself.
struct Parts<'r> {
    journey: &'r str,
    name: &'r str,
    group: &'r str,
    checks: &'r [RawCheck],
    extract: &'r BTreeMap<String, crate::config::RawExtract>,
    paginate: &'r Option<crate::config::RawPaginate>,
}

fn compile_step(
    s: &RawStep,
    entry: &RawMixEntry,
    i: usize,
    group: &str,
    path: &str,
    cx: &mut RequestCtx,
    e: &mut Errors,
) -> Step {
    if let Some(ws) = &s.websocket {
        let name = s
            .name
            .clone()
            .unwrap_or_else(|| format!("{}_{i}", entry.name));
        let group = s.group.as_deref().unwrap_or(group);
        if s.request.is_some() || s.think.is_some() {
            e.push(path, "a step is either a request, a websocket or a think");
        }
        return compile_ws_step(
            ws,
            &entry.name,
            &name,
            group,
            &format!("{path}.websocket"),
            path,
            cx,
            e,
        );
    }
    match (&s.request, &s.think) {
        (Some(req), None) => {
            let name = s
                .name
                .clone()
                .unwrap_or_else(|| format!("{}_{i}", entry.name));
            let group = s.group.as_deref().unwrap_or(group);
            let rp = format!("{path}.request");
            let parts = Parts {
                journey: &entry.name,
                name: &name,
                group,
                checks: &s.checks,
                extract: &s.extract,
                paginate: &s.paginate,
            };
            compile_request(req, parts, path, &rp, cx, e)
        }
        (None, Some(think)) => parse_think(think, &format!("{path}.think"), e),
        _ => {
            e.push(path, "a step is either a request or a think");
            Step::Think {
                min: Duration::ZERO,
                max: Duration::ZERO,
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn compile_ws_step(
    raw: &crate::config::RawWebSocket,
    journey: &str,
    name: &str,
    group: &str,
    path: &str,
    owner: &str,
    cx: &mut RequestCtx,
    e: &mut Errors,
) -> Step {
    if cx.requests.iter().any(|r| r.name == name) {
        e.push(owner, format!("duplicate request name {name:?}"));
    }
    let index = cx.requests.len();
    let ws = super::ws::compile_ws(raw, index, cx.base_url, path, cx.templates, e);
    if let Tmpl::Static(u) = &ws.url
        && let Ok(u) = url::Url::parse(u)
    {
        cx.hosts
            .insert(u.host_str().unwrap_or_default().to_string());
    }
    cx.requests.push(RequestMeta {
        name: name.to_string(),
        journey: journey.to_string(),
        group: group.to_string(),
        method: "WS".to_string(),
        checks: Vec::new(),
    });
    Step::WebSocket(Box::new(ws))
}

fn parse_think(s: &str, path: &str, e: &mut Errors) -> Step {
    let (a, b) = s.split_once("..").unwrap_or((s, s));
    let min = e.duration(path, a).unwrap_or_default();
    let max = e.duration(path, b).unwrap_or(min);
    if max < min {
        e.push(path, format!("{s:?}: the range ends before it starts"));
    }
    Step::Think {
        min,
        max: max.max(min),
    }
}

fn compile_request(
    raw: &RawRequest,
    parts: Parts,
    owner: &str,
    path: &str,
    cx: &mut RequestCtx,
    e: &mut Errors,
) -> Step {
    let Parts {
        journey,
        name,
        group,
        checks,
        extract,
        paginate,
    } = parts;
    if cx.requests.iter().any(|r| r.name == name) {
        e.push(owner, format!("duplicate request name {name:?}"));
    }
    let method_s = raw.method.as_deref().unwrap_or("GET").to_ascii_uppercase();
    let method = Method::from_bytes(method_s.as_bytes()).unwrap_or_else(|_| {
        e.push(
            format!("{path}.method"),
            format!("{method_s:?} is not an HTTP method"),
        );
        Method::GET
    });
    let url = compile_url(&raw.url, &format!("{path}.url"), cx, e);
    let mut merged: BTreeMap<String, (String, String)> = BTreeMap::new();
    for (k, v) in &cx.defaults.headers {
        merged.insert(
            k.to_ascii_lowercase(),
            (format!("defaults.headers.{k}"), v.clone()),
        );
    }
    for (k, v) in &raw.headers {
        merged.insert(
            k.to_ascii_lowercase(),
            (format!("{path}.headers.{k}"), v.clone()),
        );
    }
    let mut headers = Vec::new();
    for (k, (hp, v)) in merged {
        let Ok(hn) = HeaderName::from_bytes(k.as_bytes()) else {
            e.push(hp, format!("{k:?} is not a header name"));
            continue;
        };
        match cx.templates.add(&hp, &v) {
            Ok(Tmpl::Static(s)) if HeaderValue::from_str(&s).is_err() => {
                e.push(hp, "is not a valid header value")
            }
            Ok(t) => headers.push((hn, t)),
            Err(msg) => e.push(hp, msg),
        }
    }
    let body = match &raw.body {
        None => Body::None,
        Some(b) => compile_body(b, &format!("{path}.body"), cx.templates, e),
    };
    let timeout = match &raw.timeout {
        Some(t) => e
            .duration(&format!("{path}.timeout"), t)
            .unwrap_or(cx.timeout),
        None => cx.timeout,
    };
    let checks = compile_checks(checks, owner, e);
    let extract = super::follow::compile_extract(extract, owner, e);
    let paginate = paginate
        .as_ref()
        .and_then(|p| super::follow::compile_paginate(p, &format!("{owner}.paginate"), e));
    cx.requests.push(RequestMeta {
        name: name.to_string(),
        journey: journey.to_string(),
        group: group.to_string(),
        method: method.as_str().to_string(),
        checks: checks.iter().map(|c| c.name.clone()).collect(),
    });
    Step::Request(Box::new(RequestStep {
        index: cx.requests.len() - 1,
        method,
        url,
        headers,
        body,
        timeout,
        checks,
        extract,
        paginate,
    }))
}

fn compile_url(raw: &str, path: &str, cx: &mut RequestCtx, e: &mut Errors) -> Tmpl {
    let absolute = raw.starts_with("http://") || raw.starts_with("https://");
    if !absolute && mistyped_scheme(raw) {
        e.push(
            path,
            format!("{raw:?} is not a valid http(s) URL (expected http://host/... or a path starting with /)"),
        );
        return Tmpl::Static(raw.to_string());
    }
    let full = match (absolute, cx.base_url) {
        (true, _) => raw.to_string(),
        (false, None) if cx.base_url_invalid => return Tmpl::Static(raw.to_string()),
        (false, Some(base)) => format!(
            "{}/{}",
            base.trim_end_matches('/'),
            raw.trim_start_matches('/')
        ),
        (false, None) => {
            e.push(
                path,
                format!("{raw:?} is relative but the scenario has no target.base_url"),
            );
            return Tmpl::Static(raw.to_string());
        }
    };
    match cx.templates.add(path, &full) {
        Ok(Tmpl::Static(s)) => {
            match url::Url::parse(&s) {
                Ok(u) if u.host_str().is_some() && matches!(u.scheme(), "http" | "https") => {
                    cx.hosts
                        .insert(u.host_str().unwrap_or_default().to_string());
                }
                _ => e.push(path, format!("{s:?} is not a valid http(s) URL")),
            }
            Tmpl::Static(s)
        }
        Ok(t) => t,
        Err(msg) => {
            e.push(path, msg);
            Tmpl::Static(full)
        }
    }
}

/// `http//host`, `https:/host`: an absolute URL with a typo, which would otherwise be joined to
/// base_url as a path and requested without complaint.
fn mistyped_scheme(raw: &str) -> bool {
    let lower = raw.to_ascii_lowercase();
    // Another scheme (`file:`, `ftp://`, `javascript:`) must not be glued onto base_url as a path.
    if let Some((scheme, _)) = lower.split_once(':')
        && !scheme.is_empty()
        && !scheme.contains(['/', '?', '{', '%'])
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    {
        return true;
    }
    ["https", "http"].iter().any(|scheme| {
        lower
            .strip_prefix(scheme)
            .is_some_and(|rest| rest.starts_with('/') || rest.starts_with(':'))
    })
}
