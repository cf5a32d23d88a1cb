//! Request templates (MiniJinja), compiled once at plan time.
//!
//! A string without `{{`/`{%` stays a static string and is never rendered on the hot path.
//! The context offers `env.X` (read at render time, never logged), `vu`, `iteration`, `var.X`
//! (values extracted earlier in a journey) and the functions `uuid()`, `random_int(a, b)`,
//! `pick(list)`, `now_unix()`, `hmac_sha256_hex(key, msg)`.

use hmac::{Hmac, Mac};
use minijinja::value::{Enumerator, Object, Value};
use minijinja::{Environment, Error, ErrorKind};
use rand::Rng;
use sha2::Sha256;
use std::collections::BTreeMap;
use std::sync::Arc;

/// A compiled template: static text, or the name of a template in `Templates`.
#[derive(Debug, Clone, PartialEq)]
pub enum Tmpl {
    Static(String),
    Dynamic(String),
}

impl Tmpl {
    pub fn is_static(&self) -> bool {
        matches!(self, Tmpl::Static(_))
    }
}

/// All templates of one scenario with the functions they may call.
pub struct Templates {
    env: Environment<'static>,
    env_vars: Value,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Templates")
    }
}

impl Default for Templates {
    fn default() -> Self {
        Self::new()
    }
}

/// `env.X`: looked up when rendered, so secrets are never copied into the plan.
#[derive(Debug)]
struct EnvVars;

impl Object for EnvVars {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        key.as_str()
            .and_then(|k| std::env::var(k).ok())
            .map(Value::from)
    }
    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::NonEnumerable
    }
}

impl Templates {
    pub fn new() -> Self {
        let mut env = Environment::new();
        env.add_function("uuid", || uuid::Uuid::new_v4().to_string());
        env.add_function("now_unix", || {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0)
        });
        env.add_function("random_int", |a: i64, b: i64| -> Result<i64, Error> {
            if a > b {
                return Err(Error::new(
                    ErrorKind::InvalidOperation,
                    "random_int(a, b) needs a <= b",
                ));
            }
            Ok(rand::rng().random_range(a..=b))
        });
        env.add_function("pick", |list: Value| -> Result<Value, Error> {
            let n = list.len().unwrap_or(0);
            if n == 0 {
                return Err(Error::new(
                    ErrorKind::InvalidOperation,
                    "pick(list) needs a non-empty list",
                ));
            }
            list.get_item_by_index(rand::rng().random_range(0..n))
        });
        env.add_function("hmac_sha256_hex", |key: String, msg: String| {
            hmac_sha256_hex(key.as_bytes(), msg.as_bytes())
        });
        Templates {
            env,
            env_vars: Value::from_object(EnvVars),
        }
    }

    /// Compiles `source` under the name `path` (the config path, shown in errors).
    pub fn add(&mut self, path: &str, source: &str) -> Result<Tmpl, String> {
        if !source.contains("{{") && !source.contains("{%") {
            return Ok(Tmpl::Static(source.to_string()));
        }
        self.env
            .add_template_owned(path.to_string(), source.to_string())
            .map_err(|e| format!("template {source:?} does not compile: {}", short(&e)))?;
        Ok(Tmpl::Dynamic(path.to_string()))
    }

    /// The per-iteration context.
    pub fn context(&self, vu: u32, iteration: u64, vars: &BTreeMap<String, String>) -> Value {
        minijinja::context! {
            env => self.env_vars.clone(),
            vu => vu,
            iteration => iteration,
            var => Value::from_serialize(vars),
        }
    }

    pub fn render(&self, t: &Tmpl, ctx: &Value) -> Result<String, String> {
        match t {
            Tmpl::Static(s) => Ok(s.clone()),
            Tmpl::Dynamic(name) => self
                .env
                .get_template(name)
                .and_then(|tpl| tpl.render(ctx))
                .map_err(|e| short(&e)),
        }
    }
}

fn short(e: &Error) -> String {
    match e.detail() {
        Some(d) => format!("{} ({d})", e.kind()),
        None => e.kind().to_string(),
    }
}

pub fn hmac_sha256_hex(key: &[u8], msg: &[u8]) -> String {
    // HMAC accepts keys of any length; new_from_slice cannot fail for Sha256.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("hmac accepts any key");
    mac.update(msg);
    hex::encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_stays_static() {
        let mut t = Templates::new();
        assert_eq!(
            t.add("u", "/api/feed").unwrap(),
            Tmpl::Static("/api/feed".into())
        );
    }

    #[test]
    fn context_values_and_functions_render() {
        let mut t = Templates::new();
        let tpl = t
            .add(
                "u",
                "/u/{{ vu }}/{{ iteration }}/{{ var.cursor }}/{{ random_int(3, 3) }}",
            )
            .unwrap();
        let vars = BTreeMap::from([("cursor".to_string(), "abc".to_string())]);
        let out = t.render(&tpl, &t.context(7, 42, &vars)).unwrap();
        assert_eq!(out, "/u/7/42/abc/3");
    }

    #[test]
    fn env_is_read_at_render_time() {
        let mut t = Templates::new();
        let tpl = t.add("h", "Bearer {{ env.PATH }}").unwrap();
        let out = t.render(&tpl, &t.context(1, 0, &BTreeMap::new())).unwrap();
        assert_eq!(out, format!("Bearer {}", std::env::var("PATH").unwrap()));
    }

    #[test]
    fn hmac_matches_a_known_vector() {
        // RFC 4231 test case 2.
        assert_eq!(
            hmac_sha256_hex(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn a_broken_template_is_reported_with_its_source() {
        let mut t = Templates::new();
        let err = t.add("u", "/x/{{ vu ").unwrap_err();
        assert!(
            err.starts_with("template \"/x/{{ vu \" does not compile"),
            "{err}"
        );
    }
}
