//! `/metrics` as Prometheus negotiates it: OpenMetrics 1.0 text, the classic text format 0.0.4,
//! or the delimited protobuf format (the only one that carries native histograms).
//!
//! prometheus-client writes OpenMetrics text only (its protobuf encoders need a protoc build
//! and skip exemplars, see `hist.rs`). So the counters and gauges are encoded by the crate as
//! OpenMetrics text and, for the two other formats, rewritten line by line (0.0.4) or parsed back
//! into families (protobuf, `proto.rs`); the histogram families ([`super::hist::Hist`]) are
//! written by this module directly in each format.

use super::Metrics;
use super::histfamily::Series;

/// An exposition format of `/metrics`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    OpenMetrics,
    Text,
    Protobuf,
}

pub const OPENMETRICS_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
pub const TEXT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
pub const PROTOBUF_TYPE: &str =
    "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Format::OpenMetrics => OPENMETRICS_TYPE,
            Format::Text => TEXT_TYPE,
            Format::Protobuf => PROTOBUF_TYPE,
        }
    }

    /// The format for an `Accept` header, as client_golang's `expfmt.Negotiate` picks it: the
    /// acceptable media range with the highest `q` (first wins ties) among delimited
    /// `io.prometheus.client.MetricFamily` protobuf, `application/openmetrics-text` and
    /// `text/plain`; text 0.0.4 when none matches or no header came.
    pub fn negotiate(accept: Option<&str>) -> Format {
        let mut best: Option<(f64, Format)> = None;
        for item in accept.unwrap_or("").split(',') {
            let mut parts = item.split(';').map(str::trim);
            let media = parts.next().unwrap_or("").to_ascii_lowercase();
            let (mut q, mut proto, mut encoding) = (1.0, String::new(), String::new());
            for p in parts {
                let Some((k, v)) = p.split_once('=') else {
                    continue;
                };
                let v = v.trim().trim_matches('"');
                match k.trim().to_ascii_lowercase().as_str() {
                    "q" => q = v.parse().unwrap_or(0.0),
                    "proto" => proto = v.to_owned(),
                    "encoding" => encoding = v.to_owned(),
                    _ => {}
                }
            }
            let format = match media.as_str() {
                "application/vnd.google.protobuf"
                    if proto == "io.prometheus.client.MetricFamily" && encoding == "delimited" =>
                {
                    Format::Protobuf
                }
                "application/openmetrics-text" => Format::OpenMetrics,
                "text/plain" | "text/*" | "*/*" => Format::Text,
                _ => continue,
            };
            if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, format));
            }
        }
        best.map_or(Format::Text, |(_, f)| f)
    }

    /// `?format=openmetrics|text|protobuf`: overrides `Accept`, for scrapers that cannot set
    /// it (Prometheus 2.42 asks every job for protobuf once native histograms are enabled, and
    /// then ingests no classic buckets: a second job with this parameter gets them).
    pub fn from_query(query: Option<&str>) -> Option<Format> {
        query?.split('&').find_map(|kv| match kv.split_once('=')? {
            ("format", "openmetrics") => Some(Format::OpenMetrics),
            ("format", "text") => Some(Format::Text),
            ("format", "protobuf") => Some(Format::Protobuf),
            _ => None,
        })
    }
}

impl Metrics {
    /// The whole registry in `format`.
    pub fn expose(&self, format: Format) -> Vec<u8> {
        self.refresh_process();
        let om = self.encode_registry();
        match format {
            Format::OpenMetrics => {
                let mut out = om;
                self.write_histograms(&mut out, true);
                out.push_str("# EOF\n");
                out.into_bytes()
            }
            Format::Text => {
                let mut out = String::with_capacity(om.len() + om.len() / 4);
                openmetrics_to_text(&om, &mut out);
                self.write_histograms(&mut out, false);
                out.into_bytes()
            }
            Format::Protobuf => {
                let mut out = Vec::with_capacity(om.len());
                super::proto::families_from_openmetrics(&om, &mut out);
                for (name, help, series) in self.f.histograms() {
                    super::proto::histogram_family(name, help, &series, &mut out);
                }
                out
            }
        }
    }

    fn write_histograms(&self, out: &mut String, openmetrics: bool) {
        for (name, help, series) in self.f.histograms() {
            histogram_text(name, help, &series, openmetrics, out);
        }
    }
}

fn float(v: f64) -> String {
    if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else if v.is_nan() {
        "NaN".into()
    } else {
        format!("{v:?}")
    }
}

/// One histogram family as text; OpenMetrics adds an exemplar to each bucket that has one.
pub fn histogram_text(
    name: &str,
    help: &str,
    series: &[Series],
    openmetrics: bool,
    out: &mut String,
) {
    use std::fmt::Write;
    let _ = writeln!(out, "# HELP {name} {help}.");
    let _ = writeln!(out, "# TYPE {name} histogram");
    for s in series {
        let sep = if s.text.is_empty() { "" } else { "," };
        for (le, n, ex) in &s.snapshot.buckets {
            let _ = write!(
                out,
                "{name}_bucket{{le=\"{}\"{sep}{}}} {n}",
                float(*le),
                s.text
            );
            if let (true, Some(ex)) = (openmetrics, ex) {
                let _ = write!(
                    out,
                    " # {{trace_id=\"{}\"}} {} {:.3}",
                    ex.trace.hex(),
                    float(ex.value),
                    ex.at
                );
            }
            out.push('\n');
        }
        let braces = |t: &str| {
            if t.is_empty() {
                String::new()
            } else {
                format!("{{{t}}}")
            }
        };
        let _ = writeln!(
            out,
            "{name}_sum{} {}",
            braces(&s.text),
            float(s.snapshot.sum)
        );
        let _ = writeln!(out, "{name}_count{} {}", braces(&s.text), s.snapshot.count);
    }
}

/// Rewrites prometheus-client's OpenMetrics text (counters, gauges, info) as text 0.0.4:
/// a counter's HELP and TYPE name its `_total` sample, `info` becomes `gauge`, `unknown`
/// becomes `untyped`; UNIT lines, exemplars, `_created` samples and `# EOF` are dropped.
pub fn openmetrics_to_text(om: &str, out: &mut String) {
    let lines: Vec<&str> = om.lines().collect();
    let mut counters: Vec<&str> = Vec::new();
    for l in &lines {
        if let Some(rest) = l.strip_prefix("# TYPE ")
            && let Some(name) = rest.strip_suffix(" counter")
        {
            counters.push(name);
        }
    }
    let is_counter = |name: &str| counters.contains(&name);
    for l in lines {
        if let Some(rest) = l.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').unwrap_or((rest, ""));
            let suffix = if is_counter(name) { "_total" } else { "" };
            // 0.0.4 escapes only backslash and newline in HELP.
            let help = help.replace("\\\"", "\"");
            out.push_str(&format!("# HELP {name}{suffix} {help}\n"));
        } else if let Some(rest) = l.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap_or((rest, "untyped"));
            let (name, kind) = match kind {
                "counter" => (format!("{name}_total"), "counter"),
                "info" => (format!("{name}_info"), "gauge"),
                "unknown" => (name.to_owned(), "untyped"),
                other => (name.to_owned(), other),
            };
            out.push_str(&format!("# TYPE {name} {kind}\n"));
        } else if l.starts_with('#') {
            // UNIT and EOF have no 0.0.4 form.
        } else if !l.is_empty() {
            let sample = strip_exemplar(l);
            let name_end = sample.find(['{', ' ']).unwrap_or(sample.len());
            if sample[..name_end].ends_with("_created") {
                continue;
            }
            out.push_str(sample);
            out.push('\n');
        }
    }
}

/// A sample line without its ` # {...} value [ts]` exemplar (a `#` inside a quoted label
/// value is not one).
fn strip_exemplar(line: &str) -> &str {
    let mut in_quotes = false;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_quotes => escaped = true,
            '"' => in_quotes = !in_quotes,
            '#' if !in_quotes => return line[..i].trim_end(),
            _ => {}
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_follows_prometheus_accept_headers() {
        // Prometheus 2.42 with --enable-feature=native-histograms.
        let native = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.6,application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.4,*/*;q=0.1";
        assert_eq!(Format::negotiate(Some(native)), Format::Protobuf);
        // Prometheus 2.42 default.
        let default = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert_eq!(Format::negotiate(Some(default)), Format::OpenMetrics);
        assert_eq!(Format::negotiate(None), Format::Text);
        assert_eq!(Format::negotiate(Some("*/*")), Format::Text);
        assert_eq!(Format::negotiate(Some("application/json")), Format::Text);
        assert_eq!(
            Format::negotiate(Some("application/vnd.google.protobuf;encoding=text")),
            Format::Text
        );
        assert_eq!(
            Format::from_query(Some("x=1&format=openmetrics")),
            Some(Format::OpenMetrics)
        );
    }

    #[test]
    fn text_names_a_counter_family_after_its_total_sample() {
        let om = "# HELP reqs Requests.\n# TYPE reqs counter\nreqs_total{a=\"x # y\"} 3 # {trace_id=\"ab\"} 1.0\nreqs_created 1.0\n# HELP up Up.\n# TYPE up gauge\n# UNIT up seconds\nup 1\n# EOF\n";
        let mut out = String::new();
        openmetrics_to_text(om, &mut out);
        assert_eq!(
            out,
            "# HELP reqs_total Requests.\n# TYPE reqs_total counter\nreqs_total{a=\"x # y\"} 3\n# HELP up Up.\n# TYPE up gauge\nup 1\n"
        );
    }
}
