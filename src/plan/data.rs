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

fn load_rows(file: &Path) -> Result<Vec<Row>, String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("cannot read: {e}"))?;
    let is_json =
        file.extension().is_some_and(|x| x == "json") || text.trim_start().starts_with('[');
    if is_json {
        let v: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| format!("not valid JSON: {e}"))?;
        let serde_json::Value::Array(items) = v else {
            return Err("expected a JSON array of objects".into());
        };
        items
            .into_iter()
            .enumerate()
            .map(|(i, item)| match item {
                serde_json::Value::Object(m) => Ok(m.into_iter().collect()),
                _ => Err(format!("row {i} is not an object")),
            })
            .collect()
    } else {
        parse_csv(&text)
    }
}

/// CSV with a header line; fields may be double-quoted (with `""` for a quote).
fn parse_csv(text: &str) -> Result<Vec<Row>, String> {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header = split_csv(lines.next().ok_or("empty CSV file")?);
    lines
        .enumerate()
        .map(|(i, line)| {
            let cells = split_csv(line);
            if cells.len() != header.len() {
                return Err(format!(
                    "line {} has {} fields, the header has {}",
                    i + 2,
                    cells.len(),
                    header.len()
                ));
            }
            Ok(header
                .iter()
                .cloned()
                .zip(cells.into_iter().map(serde_json::Value::String))
                .collect())
        })
        .collect()
}

fn split_csv(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out.into_iter().map(|s| s.trim().to_string()).collect()
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
    fn ragged_csv_is_an_error_with_its_line() {
        assert_eq!(
            parse_csv("a,b\n1\n").unwrap_err(),
            "line 2 has 1 fields, the header has 2"
        );
    }
}
