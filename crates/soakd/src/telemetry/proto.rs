//! The delimited protobuf exposition (`io.prometheus.client.MetricFamily`, each message
//! prefixed by its varint length), written by hand: the handful of messages and wire types of
//! `metrics.proto` that soakd needs are ~150 lines, where prometheus-client's encoder would add
//! prost plus a protoc (or protox) build and still omit exemplars of native histograms.
//!
//! Counters and gauges come from prometheus-client's OpenMetrics text (parsed back here: the
//! grammar is the crate's own output); histograms come from [`Series`] with classic buckets,
//! their exemplars and the native schema, zero bucket, spans and deltas.

use super::hist::{Exemplar, ZERO_THRESHOLD};
use super::histfamily::Series;

const COUNTER: u64 = 0;
const GAUGE: u64 = 1;
const UNTYPED: u64 = 3;
const HISTOGRAM: u64 = 4;

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn key(out: &mut Vec<u8>, field: u32, wire: u8) {
    varint(out, (u64::from(field) << 3) | u64::from(wire));
}

fn uint(out: &mut Vec<u8>, field: u32, v: u64) {
    key(out, field, 0);
    varint(out, v);
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn double(out: &mut Vec<u8>, field: u32, v: f64) {
    key(out, field, 1);
    out.extend_from_slice(&v.to_le_bytes());
}

fn bytes(out: &mut Vec<u8>, field: u32, b: &[u8]) {
    key(out, field, 2);
    varint(out, b.len() as u64);
    out.extend_from_slice(b);
}

/// A nested message: written into a scratch buffer, then length-prefixed.
fn message(out: &mut Vec<u8>, field: u32, body: impl FnOnce(&mut Vec<u8>)) {
    let mut m = Vec::new();
    body(&mut m);
    bytes(out, field, &m);
}

fn label(out: &mut Vec<u8>, field: u32, name: &str, value: &str) {
    message(out, field, |m| {
        bytes(m, 1, name.as_bytes());
        bytes(m, 2, value.as_bytes());
    });
}

/// One `MetricFamily`, length-delimited.
fn family(out: &mut Vec<u8>, name: &str, help: &str, kind: u64, metrics: &[Vec<u8>]) {
    let mut f = Vec::new();
    bytes(&mut f, 1, name.as_bytes());
    bytes(&mut f, 2, help.as_bytes());
    uint(&mut f, 3, kind);
    for m in metrics {
        bytes(&mut f, 4, m);
    }
    varint(out, f.len() as u64);
    out.extend_from_slice(&f);
}

fn exemplar(out: &mut Vec<u8>, field: u32, ex: &Exemplar) {
    message(out, field, |m| {
        label(m, 1, "trace_id", &ex.trace.hex());
        double(m, 2, ex.value);
        message(m, 3, |t| {
            uint(t, 1, ex.at.trunc() as u64);
            uint(t, 2, (ex.at.fract() * 1e9) as u64);
        });
    });
}

/// One histogram family: classic buckets (without +Inf, implied by the count) with their
/// exemplars, and the native histogram of every series.
pub fn histogram_family(name: &str, help: &str, series: &[Series], out: &mut Vec<u8>) {
    let metrics: Vec<Vec<u8>> = series
        .iter()
        .map(|s| {
            let mut m = Vec::new();
            for (k, v) in &s.pairs {
                label(&mut m, 1, k, v);
            }
            let h = &s.snapshot;
            message(&mut m, 7, |hm| {
                uint(hm, 1, h.count);
                double(hm, 2, h.sum);
                for (le, n, ex) in h.buckets.iter().filter(|b| b.0.is_finite()) {
                    message(hm, 3, |b| {
                        uint(b, 1, *n);
                        double(b, 2, *le);
                        if let Some(ex) = ex {
                            exemplar(b, 3, ex);
                        }
                    });
                }
                uint(hm, 5, zigzag(i64::from(h.schema)));
                double(hm, 6, ZERO_THRESHOLD);
                uint(hm, 7, h.zero_count);
                for (offset, length) in &h.spans {
                    message(hm, 12, |sp| {
                        uint(sp, 1, zigzag(i64::from(*offset)));
                        uint(sp, 2, u64::from(*length));
                    });
                }
                if !h.deltas.is_empty() {
                    let mut packed = Vec::new();
                    for d in &h.deltas {
                        varint(&mut packed, zigzag(*d));
                    }
                    bytes(hm, 13, &packed);
                }
            });
            m
        })
        .collect();
    family(out, name, &format!("{help}."), HISTOGRAM, &metrics);
}

/// OpenMetrics unescaping of a HELP text or label value.
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match (c, c == '\\') {
            (_, true) => match chars.next() {
                Some('n') => out.push('\n'),
                Some(c) => out.push(c),
                None => out.push('\\'),
            },
            (c, false) => out.push(c),
        }
    }
    out
}

/// Label pairs of a parsed sample, values unescaped.
type Labels = Vec<(String, String)>;

/// `name{k="v",...} value [exemplar]` → (name, labels, value).
fn sample(line: &str) -> Option<(&str, Labels, f64)> {
    let name_end = line.find(['{', ' '])?;
    let name = &line[..name_end];
    let mut rest = &line[name_end..];
    let mut labels = Vec::new();
    if let Some(mut l) = rest.strip_prefix('{') {
        loop {
            l = l.trim_start_matches(',');
            if let Some(after) = l.strip_prefix('}') {
                rest = after;
                break;
            }
            let eq = l.find("=\"")?;
            let k = l[..eq].to_owned();
            let body = &l[eq + 2..];
            let mut escaped = false;
            let end = body.char_indices().find_map(|(i, c)| {
                let end = c == '"' && !escaped;
                escaped = c == '\\' && !escaped;
                end.then_some(i)
            })?;
            labels.push((k, unescape(&body[..end])));
            l = &body[end + 1..];
        }
    }
    let value = rest.split_whitespace().next()?;
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v.parse().ok()?,
    };
    Some((name, labels, value))
}

/// prometheus-client's OpenMetrics text (HELP, TYPE, samples per family) as delimited
/// `MetricFamily` messages. Histograms are not expected here (they are [`Series`]).
pub fn families_from_openmetrics(om: &str, out: &mut Vec<u8>) {
    struct Fam {
        name: String,
        help: String,
        kind: u64,
        metrics: Vec<Vec<u8>>,
    }
    let flush = |f: Option<Fam>, out: &mut Vec<u8>| {
        if let Some(f) = f {
            family(out, &f.name, &f.help, f.kind, &f.metrics);
        }
    };
    let mut cur: Option<Fam> = None;
    for line in om.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            flush(cur.take(), out);
            let (name, help) = rest.split_once(' ').unwrap_or((rest, ""));
            cur = Some(Fam {
                name: name.to_owned(),
                help: unescape(help),
                kind: UNTYPED,
                metrics: Vec::new(),
            });
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let Some(f) = cur.as_mut() else { continue };
            f.kind = match rest.rsplit(' ').next() {
                Some("counter") => {
                    f.name.push_str("_total");
                    COUNTER
                }
                Some("gauge") => GAUGE,
                Some("info") => {
                    f.name.push_str("_info");
                    GAUGE
                }
                _ => UNTYPED,
            };
        } else if line.starts_with('#') || line.is_empty() {
            continue;
        } else if let (Some(f), Some((name, labels, value))) = (cur.as_mut(), sample(line)) {
            if name != f.name {
                continue; // `_created` and the like.
            }
            let mut m = Vec::new();
            for (k, v) in &labels {
                label(&mut m, 1, k, v);
            }
            let field = match f.kind {
                COUNTER => 3,
                GAUGE => 2,
                _ => 5,
            };
            message(&mut m, field, |v| double(v, 1, value));
            f.metrics.push(m);
        }
    }
    flush(cur, out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_counter_family_is_one_delimited_message_named_with_total() {
        let mut out = Vec::new();
        families_from_openmetrics(
            "# HELP reqs Requests.\n# TYPE reqs counter\nreqs_total{a=\"q\\\"}\"} 3\n# EOF\n",
            &mut out,
        );
        // Length prefix, then name "reqs_total" (field 1) and help (field 2).
        assert_eq!(out[0] as usize, out.len() - 1);
        assert_eq!(&out[1..3], &[0x0a, 10]);
        assert_eq!(&out[3..13], b"reqs_total");
        let (_, labels, v) = sample("reqs_total{a=\"q\\\"}\"} 3").expect("sample");
        assert_eq!((labels[0].1.as_str(), v), ("q\"}", 3.0));
    }

    #[test]
    fn zigzag_matches_protobuf_sint() {
        assert_eq!([0, -1, 1, -2].map(zigzag), [0, 1, 2, 3]);
    }
}
