//! Loading: YAML file + `SOAKD__A__B` environment overrides → raw types.
//!
//! The `config` crate merges the layers; we then deserialize each section and each scenario on
//! its own so that one broken scenario does not hide the mistakes of the others.

use super::{RawConfig, yaml};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

/// One mistake in a config file, pointing at the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: String,
    /// Dotted path, e.g. `scenarios.feed.load.stages[1].duration`; empty for the whole file.
    pub path: String,
    pub message: String,
}

/// Longest message printed whole; past it (a 50 MB value pasted into an env variable) the
/// message is cut and says how long it was.
pub const MAX_MESSAGE_CHARS: usize = 300;

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let message = one_line(&self.message);
        if self.path.is_empty() {
            write!(f, "{}: {message}", self.file)
        } else {
            write!(f, "{}: {}: {message}", self.file, one_line(&self.path))
        }
    }
}

/// One line of at most [`MAX_MESSAGE_CHARS`]: newlines escaped, the rest cut.
fn one_line(s: &str) -> std::borrow::Cow<'_, str> {
    if s.len() <= MAX_MESSAGE_CHARS && !s.contains(['\n', '\r']) {
        return s.into();
    }
    let flat: String = s
        .chars()
        .take(MAX_MESSAGE_CHARS)
        .collect::<String>()
        .replace('\n', "\\n")
        .replace('\r', "\\r");
    if s.chars().nth(MAX_MESSAGE_CHARS).is_some() {
        format!("{flat}… ({} bytes in all)", s.len()).into()
    } else {
        flat.into()
    }
}

/// A list of config errors, all of them, as one error value.
#[derive(Debug, Clone, thiserror::Error)]
pub struct LoadError(pub Vec<ConfigError>);

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

/// A parsed file: the raw config, its name for messages, and the errors of its sections.
#[derive(Debug)]
pub struct Loaded {
    pub file: String,
    pub raw: RawConfig,
    /// Structural errors (unknown keys, wrong types) found while deserializing.
    pub errors: Vec<ConfigError>,
    /// Field paths set by `SOAKD__…` variables, with the variable: their errors blame it.
    pub from_env: Vec<(String, String)>,
}

impl Loaded {
    /// Errors about a field an env variable set name that variable instead of the file.
    pub fn blame_env(&self, mut errors: Vec<ConfigError>) -> Vec<ConfigError> {
        for e in &mut errors {
            let var = self.from_env.iter().find(|(path, _)| {
                e.path == *path
                    || e.path.starts_with(&format!("{path}."))
                    || e.path.starts_with(&format!("{path}["))
            });
            if let Some((_, var)) = var {
                e.file = format!("env {var}");
            }
        }
        errors
    }
}

/// Reads `path` and applies the process environment's `SOAKD__…` overrides.
///
/// Only a regular file is read (a FIFO or device would block or never end), and at most
/// [`yaml::MAX_FILE_BYTES`] of it.
pub fn load_file(path: &Path) -> Result<Loaded, LoadError> {
    let file = path.display().to_string();
    let whole = |message: String| {
        LoadError(vec![ConfigError {
            file: file.clone(),
            path: String::new(),
            message,
        }])
    };
    let text = read_bounded(path, yaml::MAX_FILE_BYTES as u64).map_err(|e| match e {
        Bounded::Io(e) => whole(format!("cannot read: {e}")),
        Bounded::NotRegular(kind) => whole(format!("is {kind}, not a regular file")),
        Bounded::TooBig(len) => whole(yaml::too_big(len as usize)),
        Bounded::NotUtf8 => whole("is not UTF-8 text".into()),
    })?;
    load_str(&file, &text, None)
}

/// Why a bounded read failed.
#[derive(Debug)]
pub enum Bounded {
    Io(std::io::Error),
    /// What the path is instead: "a FIFO", "a device", "a directory", …
    NotRegular(&'static str),
    TooBig(u64),
    NotUtf8,
}

/// Reads a regular file of at most `limit` bytes as UTF-8, without ever blocking on a FIFO or
/// reading an endless device: the type is checked on the opened handle (`O_NONBLOCK` so that
/// opening a FIFO does not wait for a writer), and the read stops one byte past the limit.
pub fn read_bounded(path: &Path, limit: u64) -> Result<String, Bounded> {
    use std::io::Read;
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(Bounded::Io)?;
    let meta = f.metadata().map_err(Bounded::Io)?;
    let ft = meta.file_type();
    if !ft.is_file() {
        return Err(Bounded::NotRegular(if ft.is_fifo() {
            "a FIFO"
        } else if ft.is_char_device() || ft.is_block_device() {
            "a device"
        } else if ft.is_dir() {
            "a directory"
        } else if ft.is_socket() {
            "a socket"
        } else {
            "not a file"
        }));
    }
    if meta.len() > limit {
        return Err(Bounded::TooBig(meta.len()));
    }
    let mut bytes = Vec::new();
    f.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(Bounded::Io)?;
    if bytes.len() as u64 > limit {
        return Err(Bounded::TooBig(bytes.len() as u64));
    }
    String::from_utf8(bytes).map_err(|_| Bounded::NotUtf8)
}

/// Parses `text` (named `file` in messages). `env` replaces the process environment when given.
pub fn load_str(
    file: &str,
    text: &str,
    env: Option<BTreeMap<String, String>>,
) -> Result<Loaded, LoadError> {
    let whole = |path: String, message: String| {
        LoadError(vec![ConfigError {
            file: file.to_string(),
            path,
            message,
        }])
    };
    // A UTF-8 byte order mark (Windows editors write one) is not part of the YAML.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut tree = yaml::parse(text).map_err(|e| whole(e.path, e.message))?;
    let env: Vec<(String, String)> = match env {
        Some(env) => env.into_iter().collect(),
        None => std::env::vars().collect(),
    };
    let from_env = super::env::overlay(&mut tree, env);
    let mut loaded = split(file, tree);
    loaded.from_env = from_env;
    let errors = std::mem::take(&mut loaded.errors);
    loaded.errors = loaded.blame_env(errors);
    Ok(loaded)
}

fn split(file: &str, tree: Value) -> Loaded {
    let mut errors = Vec::new();
    let mut raw = RawConfig::default();
    let map = match tree {
        Value::Object(map) => map,
        Value::Null => Default::default(),
        other => {
            errors.push(ConfigError {
                file: file.into(),
                path: String::new(),
                message: format!(
                    "expected a mapping at the top level, found {}",
                    kind(&other)
                ),
            });
            Default::default()
        }
    };
    macro_rules! part {
        ($path:expr, $v:expr) => {
            section(file, $path, $v, &mut errors)
        };
    }
    for (key, value) in map {
        match key.as_str() {
            "server" => raw.server = part!("server", value).unwrap_or_default(),
            "state_dir" => raw.state_dir = part!("state_dir", value).unwrap_or_default(),
            "results" => raw.results = part!("results", value).unwrap_or_default(),
            "safety" => raw.safety = part!("safety", value).unwrap_or_default(),
            "defaults" => raw.defaults = part!("defaults", value).unwrap_or_default(),
            "prometheus" => raw.prometheus = part!("prometheus", value).unwrap_or_default(),
            "max_concurrent_runs" => {
                raw.max_concurrent_runs = part!("max_concurrent_runs", value).unwrap_or_default()
            }
            "shutdown_timeout" => {
                raw.shutdown_timeout = part!("shutdown_timeout", value).unwrap_or_default()
            }
            "data" => match value {
                Value::Object(pools) => {
                    for (name, v) in pools {
                        let path = format!("data.{name}");
                        if let Some(pool) = part!(&path, v) {
                            raw.data.insert(name, pool);
                        }
                    }
                }
                Value::Null => {}
                other => part_error(
                    file,
                    "data",
                    format!("expected a mapping of pool names, found {}", kind(&other)),
                    &mut errors,
                ),
            },
            "scenarios" => match value {
                Value::Object(scenarios) => {
                    for (name, v) in scenarios {
                        let path = format!("scenarios.{name}");
                        if let Some(s) = part!(&path, v) {
                            raw.scenarios.insert(name, s);
                        }
                    }
                }
                Value::Null => {}
                other => part_error(
                    file,
                    "scenarios",
                    format!(
                        "expected a mapping of scenario names, found {}",
                        kind(&other)
                    ),
                    &mut errors,
                ),
            },
            other => part_error(
                file,
                other,
                "unknown key (expected one of server, state_dir, results, safety, defaults, \
                 max_concurrent_runs, shutdown_timeout, prometheus, data, scenarios)"
                    .into(),
                &mut errors,
            ),
        }
    }
    Loaded {
        file: file.into(),
        raw,
        errors,
        from_env: Vec::new(),
    }
}

fn part_error(file: &str, path: &str, message: String, errors: &mut Vec<ConfigError>) {
    errors.push(ConfigError {
        file: file.into(),
        path: path.into(),
        message,
    });
}

fn section<T: DeserializeOwned>(
    file: &str,
    prefix: &str,
    v: Value,
    errors: &mut Vec<ConfigError>,
) -> Option<T> {
    let scenario = prefix.starts_with("scenarios.");
    let load = v.get("load").filter(|_| scenario).cloned();
    let schedule = v.get("schedule").filter(|_| scenario).cloned();
    let thresholds = v.get("thresholds").filter(|_| scenario).cloned();
    match serde_path_to_error::deserialize::<_, T>(v) {
        Ok(t) => Some(t),
        Err(e) => {
            let inner = e.path().to_string();
            if inner == "load"
                && let Some((field, message)) = load.as_ref().and_then(super::load_shape::diagnose)
            {
                errors.push(ConfigError {
                    file: file.into(),
                    path: format!("{prefix}.load.{field}"),
                    message: explain(&message),
                });
                return None;
            }
            // Untagged enums (schedule, a threshold entry) say only "did not match any variant":
            // read the block again as the variant its keys choose, for the field.
            let again = match inner.as_str() {
                "schedule" => schedule
                    .as_ref()
                    .and_then(super::load_shape::diagnose_schedule)
                    .map(|(p, m)| (format!("schedule.{p}"), m)),
                t if t.starts_with("thresholds.") => {
                    let at = &t["thresholds.".len()..];
                    thresholds
                        .as_ref()
                        .and_then(|th| super::load_shape::diagnose_threshold(th, at))
                        .map(|(p, m)| (format!("thresholds.{at}.{p}"), m))
                }
                _ => None,
            };
            if let Some((field, message)) = again {
                errors.push(ConfigError {
                    file: file.into(),
                    path: format!("{prefix}.{field}"),
                    message: explain(&message),
                });
                return None;
            }
            let path = if inner == "." {
                prefix.to_string()
            } else {
                format!("{prefix}.{inner}")
            };
            errors.push(ConfigError {
                file: file.into(),
                path,
                message: explain(&e.into_inner().to_string()),
            });
            None
        }
    }
}

/// Serde's untagged-enum message names our Rust types; say what the user can write instead.
fn explain(msg: &str) -> String {
    if let Some(rest) = msg.strip_prefix("invalid type: string ")
        && let Some((quoted, expected)) = rest.rsplit_once(", expected ")
        && matches!(expected, "f64" | "i64" | "u64" | "a number")
    {
        let value = quoted.trim_matches('"');
        return if value.trim().parse::<f64>().is_ok() {
            format!("{quoted} is not a finite number")
        } else {
            format!("{quoted} is not a number")
        };
    }
    if msg.contains("RawSchedule") {
        "expected `manual`, `{ cron: \"0 5 * * *\", timezone: UTC }` or `{ continuous: true }`"
            .into()
    } else if msg.contains("RawThresholdExpr") {
        "expected an expression such as \"p(95)<250\" or { threshold, abort_on_fail, delay_abort_eval }"
            .into()
    } else {
        msg.to_string()
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}
