//! Checks: assertions on a response, each a pass or a fail (they never stop an iteration).

use crate::client::Response;
use crate::plan::{Check, CheckKind};
use std::time::Duration;

/// Results in the order of `checks`.
pub fn run(checks: &[Check], resp: &Response, latency: Duration) -> Vec<bool> {
    if checks.is_empty() {
        return Vec::new();
    }
    let mut json: Option<Option<serde_json::Value>> = None;
    let mut parsed = || -> Option<serde_json::Value> {
        json.get_or_insert_with(|| serde_json::from_slice(&resp.body).ok())
            .clone()
    };
    checks
        .iter()
        .map(|c| match &c.kind {
            CheckKind::Status(codes) => codes.contains(&resp.status),
            CheckKind::BodyContains(s) => memfind(&resp.body, s.as_bytes()),
            CheckKind::JsonExists { path, exists } => {
                let found = parsed().is_some_and(|v| !path.query(&v).is_empty());
                found == *exists
            }
            CheckKind::JsonEquals { path, value } => {
                parsed().is_some_and(|v| path.query(&v).all().first().is_some_and(|x| *x == value))
            }
            CheckKind::Header { name, matches } => {
                resp.headers.get(name).is_some_and(|v| matches.is_match(v))
            }
            CheckKind::MaxDuration(max) => latency <= *max,
        })
        .collect()
}

fn memfind(hay: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::http::{HeaderMap, HeaderName, HeaderValue};
    use serde_json_path::JsonPath;

    fn resp(status: u16, body: &str) -> Response {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        Response {
            status,
            headers: headers.into(),
            body: bytes::Bytes::from(body.to_string()),
        }
    }

    fn check(kind: CheckKind) -> Check {
        Check {
            name: "c".into(),
            kind,
        }
    }

    #[test]
    fn each_check_kind_passes_and_fails() {
        let r = resp(200, r#"{"items":[1,2],"next_cursor":"abc"}"#);
        let p = |s: &str| JsonPath::parse(s).unwrap();
        let checks = vec![
            check(CheckKind::Status(vec![200, 201])),
            check(CheckKind::Status(vec![201])),
            check(CheckKind::BodyContains("next_cursor".into())),
            check(CheckKind::JsonExists {
                path: p("$.items"),
                exists: true,
            }),
            check(CheckKind::JsonExists {
                path: p("$.missing"),
                exists: true,
            }),
            check(CheckKind::JsonEquals {
                path: p("$.next_cursor"),
                value: serde_json::json!("abc"),
            }),
            check(CheckKind::Header {
                name: HeaderName::from_static("content-type"),
                matches: regex::Regex::new("json").unwrap(),
            }),
            check(CheckKind::MaxDuration(Duration::from_millis(5))),
        ];
        let got = run(&checks, &r, Duration::from_millis(10));
        assert_eq!(got, vec![true, false, true, true, false, true, true, false]);
    }
}
