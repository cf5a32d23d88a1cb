//! Data pools: rows for templates (`data.POOL.FIELD`), loaded once at plan time.
//!
//! Rows are shared immutably by every VU; which row an iteration gets is decided by the pool's
//! `pick`. Per-run counters (round robin, unique) live in the run, not here. Values of a pool or
//! field marked secret are wrapped so that rendering them works but printing them does not.

use super::errors::Errors;
use crate::config::RawPool;
use minijinja::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pick {
    /// VU n always gets row n (mod rows): one credential per virtual user.
    PerVu,
    RoundRobin,
    Random,
    /// Each row once per run; then the run ends (`wrap: false`) or starts over.
    Unique {
        wrap: bool,
    },
}

#[derive(Clone)]
pub struct Pool {
    pub name: String,
    pub pick: Pick,
    pub secret: bool,
    pub rows: Arc<[Value]>,
}

/// Debug shows the shape only: rows may hold secrets.
impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Pool({}, {:?}, {} rows)",
            self.name,
            self.pick,
            self.rows.len()
        )
    }
}

/// Loads every pool; `base` is the directory of the config file.
pub fn compile_pools(raw: &BTreeMap<String, RawPool>, base: &Path, e: &mut Errors) -> Vec<Pool> {
    let mut out = Vec::new();
    for (name, p) in raw {
        let path = format!("data.{name}");
        let pick = match (
            p.pick.as_deref().unwrap_or("per_vu"),
            p.on_exhausted.as_deref(),
        ) {
            ("per_vu", None) => Pick::PerVu,
            ("round_robin", None) => Pick::RoundRobin,
            ("random", None) => Pick::Random,
            ("unique", None | Some("stop")) => Pick::Unique { wrap: false },
            ("unique", Some("wrap")) => Pick::Unique { wrap: true },
            ("unique", Some(other)) => {
                e.push(
                    format!("{path}.on_exhausted"),
                    format!("{other:?} is not stop or wrap"),
                );
                Pick::Unique { wrap: false }
            }
            (_, Some(_))
                if matches!(
                    p.pick.as_deref(),
                    Some("per_vu" | "round_robin" | "random") | None
                ) =>
            {
                e.push(
                    format!("{path}.on_exhausted"),
                    "only applies to pick: unique",
                );
                Pick::PerVu
            }
            (other, _) => {
                e.push(
                    format!("{path}.pick"),
                    format!("{other:?} is not per_vu, round_robin, random or unique"),
                );
                Pick::PerVu
            }
        };
        let file = base.join(&p.file);
        let rows = match load_rows(&file) {
            Ok(rows) if rows.is_empty() => {
                e.push(
                    format!("{path}.file"),
                    format!("{} has no rows", file.display()),
                );
                Vec::new()
            }
            Ok(rows) => rows,
            Err(msg) => {
                e.push(format!("{path}.file"), format!("{}: {msg}", file.display()));
                Vec::new()
            }
        };
        if let Some(first) = rows.first() {
            for (i, f) in p.secret_fields.iter().enumerate() {
                if !rows.iter().any(|r| r.contains_key(f)) {
                    let fields: Vec<&str> = first.keys().map(String::as_str).collect();
                    e.push(
                        format!("{path}.secret_fields[{i}]"),
                        format!(
                            "{f:?} is not a field of the pool (fields: {})",
                            fields.join(", ")
                        ),
                    );
                }
            }
        }
        let rows: Vec<Value> = rows
            .into_iter()
            .map(|row| {
                let fields: BTreeMap<String, Value> = row
                    .into_iter()
                    .map(|(k, v)| {
                        let secret = p.secret || p.secret_fields.contains(&k);
                        let v = if secret {
                            super::template::secret(v)
                        } else {
                            Value::from_serialize(&v)
                        };
                        (k, v)
                    })
                    .collect();
                Value::from(fields)
            })
            .collect();
        out.push(Pool {
            name: name.clone(),
            pick,
            secret: p.secret,
            rows: rows.into(),
        });
    }
    out
}

type Row = BTreeMap<String, serde_json::Value>;

/// Largest data pool file read, in bytes.
pub const MAX_POOL_BYTES: u64 = 16 << 20;
/// Most rows of one pool.
pub const MAX_POOL_ROWS: usize = 100_000;

/// Reads a pool: only a regular file (a FIFO would block, `/dev/zero` never ends) of at most
/// [`MAX_POOL_BYTES`], with at most [`MAX_POOL_ROWS`] rows.
fn load_rows(file: &Path) -> Result<Vec<Row>, String> {
    use crate::config::Bounded;
    let text = crate::config::read_bounded(file, MAX_POOL_BYTES).map_err(|e| match e {
        Bounded::Io(e) => format!("cannot read: {e}"),
        Bounded::NotRegular(kind) => format!("is {kind}, not a regular file"),
        Bounded::TooBig(len) => format!(
            "is {len} bytes, above the limit of {MAX_POOL_BYTES} bytes for a data pool ({} MiB)",
            MAX_POOL_BYTES >> 20
        ),
        Bounded::NotUtf8 => "is not UTF-8 text".into(),
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let is_json =
        file.extension().is_some_and(|x| x == "json") || text.trim_start().starts_with('[');
    let rows = if is_json {
        let v: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
        let serde_json::Value::Array(items) = v else {
            return Err("expected a JSON array of objects".into());
        };
        if items.len() > MAX_POOL_ROWS {
            return Err(too_many_rows());
        }
        items
            .into_iter()
            .enumerate()
            .map(|(i, item)| match item {
                serde_json::Value::Object(m) => Ok(m.into_iter().collect()),
                _ => Err(format!("row {i} is not an object")),
            })
            .collect::<Result<Vec<Row>, String>>()?
    } else {
        parse_csv(text)?
    };
    Ok(rows)
}

fn too_many_rows() -> String {
    format!("has more than {MAX_POOL_ROWS} rows (the limit for a data pool)")
}

/// CSV (RFC 4180: quoted fields, `""` for a quote, newlines inside quotes) with a header line.
fn parse_csv(text: &str) -> Result<Vec<Row>, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if let Some(line) = unclosed_quote(text) {
        return Err(format!("line {line}: a quoted field is never closed"));
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| e.to_string())?
        .iter()
        .map(str::to_string)
        .collect();
    if header.is_empty() || header.iter().all(String::is_empty) {
        return Err("empty CSV file".into());
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| match e.kind() {
            csv::ErrorKind::UnequalLengths { pos, len, .. } => format!(
                "line {} has {len} fields, the header has {}",
                pos.as_ref().map_or(0, |p| p.line()),
                header.len()
            ),
            _ => e.to_string(),
        })?;
        if rows.len() == MAX_POOL_ROWS {
            return Err(too_many_rows());
        }
        rows.push(
            header
                .iter()
                .cloned()
                .zip(record.iter().map(|c| serde_json::Value::String(c.into())))
                .collect(),
        );
    }
    Ok(rows)
}

/// The line where a quoted field opens that never closes (the csv crate reads it to the end
/// of the file as one field instead of saying so).
fn unclosed_quote(text: &str) -> Option<usize> {
    let (mut line, mut opened_at) = (1, None);
    let mut at_field_start = true;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, opened_at) {
            ('"', None) if at_field_start => opened_at = Some(line),
            ('"', Some(_)) if chars.peek() == Some(&'"') => {
                chars.next();
            }
            ('"', Some(_)) => opened_at = None,
            _ => {}
        }
        if c == '\n' {
            line += 1;
        }
        at_field_start = opened_at.is_none() && matches!(c, ',' | '\n' | '\r');
    }
    opened_at
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_with_quotes_and_header() {
        let rows = parse_csv("token,name\nabc,\"Doe, \"\"J\"\"\"\n").unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0]["name"], serde_json::json!("Doe, \"J\""));
    }

    #[test]
    fn csv_quotes_may_hold_commas_and_newlines_and_a_bom_is_skipped() {
        let rows = parse_csv("\u{feff}a,b\n\"x, y\",\"two\nlines\"\n").unwrap();
        assert_eq!(rows[0]["a"], serde_json::json!("x, y"));
        assert_eq!(rows[0]["b"], serde_json::json!("two\nlines"));
    }

    #[test]
    fn an_unclosed_quote_is_an_error_with_its_line() {
        assert_eq!(
            parse_csv("a,b\n1,2\n3,\"open\n4,5\n").unwrap_err(),
            "line 3: a quoted field is never closed"
        );
    }

    #[test]
    fn ragged_csv_is_an_error_with_its_line() {
        assert_eq!(
            parse_csv("a,b\n1\n").unwrap_err(),
            "line 2 has 1 fields, the header has 2"
        );
    }
}
