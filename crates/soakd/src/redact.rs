//! Log redaction: no secret reaches a log line, whoever writes it.
//!
//! soakd's own log lines never carry rendered text, but dependencies do: at `trace` the
//! WebSocket client logs its handshake request with every header, `Authorization` included.
//! Filtering targets would lose useful lines, so the log writer itself redacts: each line is
//! scanned for the values of known secrets (env variables that templates read, secret data
//! pool values, the admin token; see [`register`]) and for credential shapes (`Bearer …`,
//! `Basic …`, `authorization: …`, `cookie: …`, `x-api-key: …`), which become `[redacted]`.
//!
//! Installed by the logging setup: `fmt().with_writer(Redacting::new(std::io::stderr))`.

use regex::Regex;
use std::io::{self, Write};
use std::sync::{LazyLock, RwLock};
use tracing_subscriber::fmt::MakeWriter;

const MASK: &str = "[redacted]";
/// Shorter values are not registered: masking `1` or `ab` would shred every log line.
const MIN_SECRET_LEN: usize = 6;

static SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());

static SHAPES: LazyLock<[(Regex, &'static str); 2]> = LazyLock::new(|| {
    [
        (
            Regex::new(r"(?i)\b(bearer|basic|token)(\s+)[A-Za-z0-9._~+/=:-]+").expect("valid"),
            "$1$2[redacted]",
        ),
        (
            Regex::new(
                r#"(?i)("?(?:proxy-)?(?:authorization|cookie|set-cookie|x-api-key|x-auth-token)"?\s*[:=]\s*"?)[^"\r\n,}]+"#,
            )
            .expect("valid"),
            "$1[redacted]",
        ),
    ]
});

/// Adds secret values to mask from now on (duplicates and short values are ignored).
pub fn register<I: IntoIterator<Item = String>>(values: I) {
    let mut s = SECRETS.write().unwrap_or_else(|p| p.into_inner());
    for v in values {
        if v.len() >= MIN_SECRET_LEN && !s.contains(&v) {
            s.push(v);
        }
    }
    // Longest first, so a secret containing another is masked whole.
    s.sort_by_key(|v| std::cmp::Reverse(v.len()));
}

/// `text` with every registered secret and credential shape masked.
pub fn redact(text: &str) -> String {
    let mut out = text.to_string();
    for s in SECRETS.read().unwrap_or_else(|p| p.into_inner()).iter() {
        if out.contains(s.as_str()) {
            out = out.replace(s.as_str(), MASK);
        }
    }
    for (re, with) in SHAPES.iter() {
        if re.is_match(&out) {
            out = re.replace_all(&out, *with).into_owned();
        }
    }
    out
}

/// A `MakeWriter` whose writers redact what they write (tracing writes one event per call).
#[derive(Clone, Copy)]
pub struct Redacting<M>(M);

impl<M> Redacting<M> {
    pub fn new(inner: M) -> Self {
        Redacting(inner)
    }
}

pub struct RedactingWriter<W: Write> {
    inner: W,
    buf: Vec<u8>,
}

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for Redacting<M> {
    type Writer = RedactingWriter<M::Writer>;
    fn make_writer(&'a self) -> Self::Writer {
        RedactingWriter {
            inner: self.0.make_writer(),
            buf: Vec::new(),
        }
    }
}

impl<W: Write> Write for RedactingWriter<W> {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        if !self.buf.is_empty() {
            let text = redact(&String::from_utf8_lossy(&self.buf));
            self.buf.clear();
            self.inner.write_all(text.as_bytes())?;
        }
        self.inner.flush()
    }
}

impl<W: Write> Drop for RedactingWriter<W> {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_shapes_and_registered_values_are_masked() {
        register(["pool-secret-42".to_string(), "ab".to_string()]);
        let line = r#"Request { headers: {"authorization": "Bearer abc.def", "x-user": "pool-secret-42"} } ab"#;
        let out = redact(line);
        assert!(!out.contains("abc.def"), "{out}");
        assert!(!out.contains("pool-secret-42"), "{out}");
        assert!(
            out.ends_with(" ab"),
            "short values are not registered: {out}"
        );
        assert_eq!(
            redact("cookie: session=xyz; other"),
            "cookie: [redacted]",
            "the header's value goes"
        );
    }
}
