//! The one reader of `/metrics` text in the tests (Prometheus 0.0.4 text and OpenMetrics): every
//! comment is HELP/TYPE/UNIT/EOF, every other line is `name{k="v",...} value`, optionally
//! followed by an OpenMetrics exemplar (` # {...} value [ts]`), which is dropped. A malformed
//! line fails the test: the reader doubles as a check of soakd's encoder.
//!
//! Why one module: the telemetry, daemon and end-to-end tests used to carry three parsers that
//! disagreed on labels, escapes and exemplars. It depends on `std` only, so every test binary
//! includes it (`mod common;`, or `#[path = "../common/exposition.rs"]` from tests/daemon).

#![allow(dead_code)]

/// One sample line: `name{k="v",...} value`.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub value: f64,
}

impl Sample {
    /// True when every `want` pair is among the labels.
    pub fn has(&self, want: &[(&str, &str)]) -> bool {
        want.iter()
            .all(|(k, v)| self.labels.iter().any(|(lk, lv)| lk == k && lv == v))
    }

    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Every sample of `text`, in order; panics naming the first malformed line.
pub fn parse(text: &str) -> Vec<Sample> {
    let mut out = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix("# ") {
            let kind = comment.split(' ').next().unwrap_or("");
            assert!(
                ["HELP", "TYPE", "UNIT", "EOF"].contains(&kind),
                "bad comment: {line}"
            );
            continue;
        }
        out.push(sample(line));
    }
    out
}

fn sample(line: &str) -> Sample {
    let name_end = line
        .find(['{', ' '])
        .unwrap_or_else(|| panic!("no value: {line}"));
    let name = &line[..name_end];
    assert!(
        !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
            && !name.starts_with(|c: char| c.is_ascii_digit()),
        "bad name: {line}"
    );
    let mut rest = &line[name_end..];
    let mut labels = Vec::new();
    if let Some(mut l) = rest.strip_prefix('{') {
        loop {
            if let Some(after) = l.strip_prefix('}') {
                rest = after;
                break;
            }
            let eq = l.find("=\"").unwrap_or_else(|| panic!("bad label: {line}"));
            let key = l[..eq].to_string();
            let mut value = String::new();
            let mut chars = l[eq + 2..].char_indices();
            let end = loop {
                match chars.next() {
                    Some((_, '\\')) => match chars.next() {
                        Some((_, 'n')) => value.push('\n'),
                        Some((_, c)) => value.push(c),
                        None => panic!("dangling escape: {line}"),
                    },
                    Some((i, '"')) => break eq + 2 + i + 1,
                    Some((_, c)) => value.push(c),
                    None => panic!("unterminated label value: {line}"),
                }
            };
            labels.push((key, value));
            l = &l[end..];
            l = l.strip_prefix(',').unwrap_or(l);
        }
    }
    let value = rest
        .strip_prefix(' ')
        .unwrap_or_else(|| panic!("no space: {line}"));
    // The labels are behind us, so a `#` here starts the exemplar.
    let value = value.split(" # ").next().unwrap_or(value);
    let value: f64 = value
        .parse()
        .unwrap_or_else(|_| panic!("bad value: {line}"));
    Sample {
        name: name.into(),
        labels,
        value,
    }
}

/// A parsed `/metrics` answer: the text (for messages) and its samples.
pub struct Exposition {
    pub text: String,
    pub samples: Vec<Sample>,
}

impl Exposition {
    pub fn parse(text: String) -> Exposition {
        let samples = parse(&text);
        Exposition { text, samples }
    }

    /// Value of the first sample `name` whose labels include every `want` pair.
    pub fn value(&self, name: &str, want: &[(&str, &str)]) -> Option<f64> {
        self.samples
            .iter()
            .find(|s| s.name == name && s.has(want))
            .map(|s| s.value)
    }

    /// Sum over every sample `name` whose labels include every `want` pair.
    pub fn sum(&self, name: &str, want: &[(&str, &str)]) -> f64 {
        self.samples
            .iter()
            .filter(|s| s.name == name && s.has(want))
            .map(|s| s.value)
            .sum()
    }

    pub fn has_label(&self, key: &str, value: &str) -> bool {
        self.samples.iter().any(|s| s.has(&[(key, value)]))
    }
}

/// The value of the first sample of family `name` in `text` carrying every one of `labels`,
/// each written as in the exposition (`scenario="feed"`).
pub fn sample_value(text: &str, name: &str, labels: &[&str]) -> Option<f64> {
    let want: Vec<(&str, &str)> = labels
        .iter()
        .map(|l| {
            let (k, v) = l
                .split_once("=\"")
                .unwrap_or_else(|| panic!("label {l:?} is not k=\"v\""));
            (k, v.strip_suffix('"').unwrap_or(v))
        })
        .collect();
    Exposition::parse(text.to_string()).value(name, &want)
}
