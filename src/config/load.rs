//! Loading: YAML file + `SOAKD__A__B` environment overrides → raw types.
//!
//! The `config` crate merges the layers; we then deserialize each section and each scenario on
//! its own so that one broken scenario does not hide the mistakes of the others.

use super::RawConfig;
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

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(f, "{}: {}: {}", self.file, self.path, self.message)
        }
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
}

/// Reads `path` and applies the process environment's `SOAKD__…` overrides.
pub fn load_file(path: &Path) -> Result<Loaded, LoadError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        LoadError(vec![ConfigError {
            file: file.clone(),
            path: String::new(),
            message: format!("cannot read: {e}"),
        }])
    })?;
    load_str(&file, &text, None)
}

/// Parses `text` (named `file` in messages). `env` replaces the process environment when given.
pub fn load_str(
    file: &str,
    text: &str,
    env: Option<BTreeMap<String, String>>,
) -> Result<Loaded, LoadError> {
    let whole = |message: String| {
        LoadError(vec![ConfigError {
            file: file.to_string(),
            path: String::new(),
            message,
        }])
    };
    let mut environment = config::Environment::with_prefix("SOAKD")
        .prefix_separator("__")
        .separator("__")
        .try_parsing(true);
    if let Some(env) = env {
        environment = environment.source(Some(env.into_iter().collect()));
    }
    let merged = config::Config::builder()
        .add_source(config::File::from_str(text, config::FileFormat::Yaml))
        .add_source(environment)
        .build()
        .map_err(|e| whole(format!("not valid YAML: {e}")))?;
    let tree: Value = merged
        .try_deserialize()
        .map_err(|e| whole(format!("not valid YAML: {e}")))?;
    Ok(split(file, tree))
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
    match serde_path_to_error::deserialize::<_, T>(v) {
        Ok(t) => Some(t),
        Err(e) => {
            let inner = e.path().to_string();
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
