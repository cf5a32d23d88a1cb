//! Request templates (MiniJinja), compiled once at plan time.
//!
//! A string without `{{`/`{%` stays a static string and is never rendered on the hot path.
//! The context offers `env.X` (read at render time, never logged), `vu`, `iteration`, `var.X`
//! (values extracted earlier in a journey) and the functions `uuid()`, `random_int(a, b)`,
//! `pick(list)`, `now_unix()`, `now_unix_ms()`, `now_rfc3339()`, `hmac_sha256_hex(key, msg)`,
//! `hmac_sha256_base64(key, msg)`, `sha256_hex(s)`, `base64(s)`, `url_encode(s)`,
//! `json_encode(v)`; `data.POOL.FIELD` (this iteration's row) and `ts` (the iteration's Unix
//! time, so a signature and its timestamp agree). Header templates also see `body`: the exact
//! request body, rendered once, so `hmac_sha256_hex(secret, ts ~ "." ~ body)` signs the bytes
//! that are sent (Stripe-style webhooks).

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

/// Instructions one render may execute (the limit of a render's time; a request template
/// typically uses fewer than 100).
pub const MAX_FUEL: u64 = 100_000;
/// Most output one render may produce (a URL, a header value or a request body).
pub const MAX_RENDER_BYTES: usize = 1 << 20;
/// Longest one render may take; a slower one is an error (failure reason `template`).
pub const RENDER_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(100);

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
        // Every render may run at most this many instructions: a loop of `range(100000)` inside
        // another ends in an error (failure reason `template`) instead of freezing a worker.
        env.set_fuel(Some(MAX_FUEL));
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
        env.add_function("hmac_sha256_base64", |key: String, msg: String| {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD
                .encode(hmac_sha256(key.as_bytes(), msg.as_bytes()))
        });
        env.add_function("sha256_hex", |s: String| {
            use sha2::Digest;
            hex::encode(Sha256::digest(s.as_bytes()))
        });
        env.add_function("base64", |s: String| {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.encode(s.as_bytes())
        });
        env.add_function("url_encode", |s: String| {
            url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>()
        });
        env.add_function("json_encode", |v: Value| -> Result<String, Error> {
            serde_json::to_string(&v)
                .map_err(|e| Error::new(ErrorKind::InvalidOperation, e.to_string()))
        });
        env.add_function("now_unix_ms", || {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as i64)
                .unwrap_or(0)
        });
        env.add_function("now_rfc3339", || chrono::Utc::now().to_rfc3339());
        Templates {
            env,
            env_vars: Value::from_object(EnvVars),
        }
    }

    /// Compiles `source` under the name `path` (the config path, shown in errors).
    pub fn add(&mut self, path: &str, source: &str) -> Result<Tmpl, TemplateError> {
        if !source.contains("{{") && !source.contains("{%") {
            return Ok(Tmpl::Static(source.to_string()));
        }
        self.env
            .add_template_owned(path.to_string(), source.to_string())
            .map_err(|e| TemplateError::Compile {
                text: source.to_string(),
                reason: short(&e),
            })?;
        Ok(Tmpl::Dynamic(path.to_string()))
    }

    /// Names of the data pools these templates read (`data.POOL…`), or None when some template
    /// reads `data` in a way that cannot be told before rendering (`data[name]`, `data` whole).
    /// An iteration takes rows only from pools read, so a `unique` pool bounds only its readers.
    pub fn data_pools_read(&self) -> Option<std::collections::BTreeSet<String>> {
        let mut pools = std::collections::BTreeSet::new();
        for (_, tpl) in self.env.templates() {
            for v in tpl.undeclared_variables(true) {
                if v == "data" {
                    return None;
                }
                if let Some(path) = v.strip_prefix("data.") {
                    let pool = path.split('.').next().unwrap_or(path);
                    pools.insert(pool.to_string());
                }
            }
        }
        Some(pools)
    }

    /// The per-iteration context.
    pub fn context(&self, vu: u32, iteration: u64, vars: &BTreeMap<String, String>) -> Value {
        self.context_with(vu, iteration, vars, Value::from(()), 0)
    }

    /// The per-iteration context with this iteration's data rows and Unix time.
    pub fn context_with(
        &self,
        vu: u32,
        iteration: u64,
        vars: &BTreeMap<String, String>,
        data: Value,
        ts: i64,
    ) -> Value {
        minijinja::context! {
            env => self.env_vars.clone(),
            vu => vu,
            iteration => iteration,
            var => Value::from_serialize(vars),
            data => data,
            ts => ts,
        }
    }

    /// `ctx` plus `body` (the rendered request body), for header templates.
    pub fn with_body(ctx: &Value, body: &str) -> Value {
        minijinja::context! { body => body, ..ctx.clone() }
    }

    /// Names of the environment variables the templates read (`env.X`): their values are
    /// secrets for the log redactor.
    pub fn env_names(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (_, tpl) in self.env.templates() {
            let src = tpl.source();
            for (i, _) in src.match_indices("env.") {
                let name: String = src[i + 4..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() && !out.contains(&name) {
                    out.push(name);
                }
            }
        }
        out
    }

    /// Renders every template with `ctx`: (name, source, result), for the check-time render.
    pub fn render_all(&self, ctx: &Value) -> Vec<(String, String, Result<String, TemplateError>)> {
        self.env
            .templates()
            .map(|(name, tpl)| {
                let out = bounded_render(&tpl, ctx);
                (name.to_string(), tpl.source().to_string(), out)
            })
            .collect()
    }

    /// Renders one template; an error names the template (its config path).
    pub fn render(&self, t: &Tmpl, ctx: &Value) -> Result<String, TemplateError> {
        let named = |name: &str, error| TemplateError::Named {
            name: name.to_string(),
            error: Box::new(error),
        };
        match t {
            Tmpl::Static(s) => Ok(s.clone()),
            Tmpl::Dynamic(name) => match self.env.get_template(name) {
                Ok(tpl) => bounded_render(&tpl, ctx).map_err(|e| named(name, e)),
                Err(e) => Err(named(name, TemplateError::Render(short(&e)))),
            },
        }
    }
}

/// One render within the limits: [`MAX_FUEL`] instructions, at most [`MAX_RENDER_BYTES`] of
/// output (written through a writer that refuses more, so a huge output is never held whole),
/// and [`RENDER_TIMEOUT`] of wall-clock time. minijinja cannot be interrupted mid-render: fuel
/// bounds how long it runs; a render that still took longer than the timeout (a few very
/// expensive instructions) is an error, so its output is never sent.
fn bounded_render(tpl: &minijinja::Template<'_, '_>, ctx: &Value) -> Result<String, TemplateError> {
    let started = std::time::Instant::now();
    let mut out = Bounded(Vec::new());
    let rendered = tpl.render_captured_to(ctx, &mut out).map(|_| ());
    if out.0.len() > MAX_RENDER_BYTES {
        return Err(TemplateError::TooLong);
    }
    rendered.map_err(|e| TemplateError::Render(short(&e)))?;
    let took = started.elapsed();
    if took > RENDER_TIMEOUT {
        return Err(TemplateError::TooSlow {
            took_ms: took.as_millis(),
        });
    }
    String::from_utf8(out.0).map_err(|_| TemplateError::NotUtf8)
}

/// Why a template was refused at compile time or did not render. The texts are the ones
/// `soakd check` and the run logs print; none quotes a rendered value (it may hold a secret).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("template {text:?} does not compile: {reason}")]
    Compile { text: String, reason: String },
    /// minijinja's own error: an undefined value, a failing function, fuel ran out.
    #[error("{0}")]
    Render(String),
    #[error("renders more than {} KiB, the limit of one render", MAX_RENDER_BYTES >> 10)]
    TooLong,
    #[error("render took {took_ms} ms, above the limit of {} ms", RENDER_TIMEOUT.as_millis())]
    TooSlow { took_ms: u128 },
    #[error("renders invalid UTF-8")]
    NotUtf8,
    /// One of the above, of the template at config path `name`.
    #[error("{name}: {error}")]
    Named {
        name: String,
        error: Box<TemplateError>,
    },
}

/// A `Vec` that refuses writes past [`MAX_RENDER_BYTES`] (keeping one byte more as the sign).
struct Bounded(Vec<u8>);

impl std::io::Write for Bounded {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.0.len() + buf.len() > MAX_RENDER_BYTES {
            self.0.resize(MAX_RENDER_BYTES + 1, 0);
            return Err(std::io::Error::other("template output too large"));
        }
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn short(e: &Error) -> String {
    match e.detail() {
        Some(d) => format!("{} ({d})", e.kind()),
        None => e.kind().to_string(),
    }
}

pub fn hmac_sha256(key: &[u8], msg: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length; new_from_slice cannot fail for Sha256.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("hmac accepts any key");
    mac.update(msg);
    mac.finalize().into_bytes().to_vec()
}

pub fn hmac_sha256_hex(key: &[u8], msg: &[u8]) -> String {
    hex::encode(hmac_sha256(key, msg))
}

/// A secret value. It renders into templates (that is its purpose); soakd never logs rendered
/// text, contexts or data rows, and labels and summaries only carry config names, so the
/// wrapper mainly keeps `Debug` of the plan (which holds the pools) free of the value.
struct Secret(String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<secret>")
    }
}

impl Object for Secret {
    fn repr(self: &Arc<Self>) -> minijinja::value::ObjectRepr {
        minijinja::value::ObjectRepr::Plain
    }
    fn render(self: &Arc<Self>, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The text of a value made by [`secret`], if it is one.
pub fn secret_text(v: &Value) -> Option<String> {
    v.downcast_object_ref::<Secret>().map(|s| s.0.clone())
}

/// Wraps a data value as a secret (strings as they are, other JSON as its text).
pub fn secret(v: serde_json::Value) -> Value {
    let text = match v {
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    };
    Value::from_object(Secret(text))
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
    fn a_render_may_write_one_mebibyte_and_not_a_byte_more() {
        let mut t = Templates::new();
        let at_limit = t.add("b", "{{ 'x' * 1048576 }}").unwrap();
        let past = t.add("c", "{{ 'x' * 1048576 }}y").unwrap();
        let ctx = t.context(1, 0, &BTreeMap::new());
        assert_eq!(t.render(&at_limit, &ctx).unwrap().len(), MAX_RENDER_BYTES);
        let err = t.render(&past, &ctx).unwrap_err();
        assert!(
            matches!(&err, TemplateError::Named { name, error } if name == "c" && **error == TemplateError::TooLong),
            "{err:?}"
        );
        assert!(
            err.to_string().contains("renders more than 1024 KiB"),
            "{err}"
        );
    }

    #[test]
    fn env_is_read_at_render_time() {
        let mut t = Templates::new();
        let tpl = t.add("h", "Bearer {{ env.PATH }}").unwrap();
        let out = t.render(&tpl, &t.context(1, 0, &BTreeMap::new())).unwrap();
        assert_eq!(out, format!("Bearer {}", std::env::var("PATH").unwrap()));
    }

    #[test]
    fn header_templates_see_the_rendered_body_and_ts() {
        let mut t = Templates::new();
        let h = t
            .add(
                "h",
                "t={{ ts }},v1={{ hmac_sha256_hex('k', ts ~ '.' ~ body) }}",
            )
            .unwrap();
        let ctx = t.context_with(1, 0, &BTreeMap::new(), Value::from(()), 1700000000);
        let out = t.render(&h, &Templates::with_body(&ctx, "{}")).unwrap();
        assert_eq!(
            out,
            format!(
                "t=1700000000,v1={}",
                hmac_sha256_hex(b"k", b"1700000000.{}")
            )
        );
    }

    #[test]
    fn secret_values_render_into_requests() {
        let mut t = Templates::new();
        let tpl = t.add("h", "Bearer {{ data.creds.token }}").unwrap();
        let row = Value::from(BTreeMap::from([(
            "token".to_string(),
            secret(serde_json::json!("s3cr3t")),
        )]));
        let data = Value::from(BTreeMap::from([("creds".to_string(), row)]));
        let ctx = t.context_with(1, 0, &BTreeMap::new(), data, 0);
        assert_eq!(t.render(&tpl, &ctx).unwrap(), "Bearer s3cr3t");
    }

    #[test]
    fn encoding_functions() {
        let mut t = Templates::new();
        let tpl = t
            .add("x", "{{ base64('ab') }} {{ url_encode('a b&c') }} {{ sha256_hex('') [:8] }} {{ json_encode({'a': 1}) }}")
            .unwrap();
        let out = t.render(&tpl, &t.context(1, 0, &BTreeMap::new())).unwrap();
        assert_eq!(out, "YWI= a+b%26c e3b0c442 {\"a\":1}");
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
        assert!(matches!(err, TemplateError::Compile { .. }), "{err:?}");
        assert!(
            err.to_string()
                .starts_with("template \"/x/{{ vu \" does not compile"),
            "{err}"
        );
    }
}
