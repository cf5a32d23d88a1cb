//! Per-run preparation of requests: static parts parsed once, templates rendered per request.

use crate::client::{FixedRequest, HttpClient};
use crate::plan::request::JsonT;
use crate::plan::{Body, RequestStep, Scenario, Step, TemplateError, Templates, Tmpl};
use bytes::Bytes;
use http_body_util::Full;
use hyper::http::{HeaderMap, HeaderValue, Request, Uri, header};
use minijinja::Value;

/// Why a request could not be built: nothing of it was sent.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// A rendered URL whose host is outside `safety.allowed_hosts`. The host is not quoted: it
    /// may be built from a secret.
    #[error("host not in safety.allowed_hosts")]
    HostNotAllowed,
    /// A URL, body or header template that did not render.
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// A rendered URL, JSON body or header value that is not valid as one.
    #[error("{0}")]
    Invalid(String),
}

fn invalid(e: impl std::fmt::Display) -> BuildError {
    BuildError::Invalid(e.to_string())
}

/// The static half of a request, built once per run.
pub struct Prepared {
    uri: Option<Uri>,
    headers: HeaderMap,
    dynamic: bool,
    /// The whole request encoded once, when nothing in it changes per send (`HttpClient::fixed`).
    fixed: Option<FixedRequest>,
}

impl Prepared {
    pub fn needs_context(&self) -> bool {
        self.dynamic
    }

    /// The request encoded once for the VUs' own connections, if it is static.
    pub fn fixed(&self) -> Option<&FixedRequest> {
        self.fixed.as_ref()
    }

    /// Builds the request; `ctx` is given when the request has templates.
    /// `cursor` is a pagination `(param, value)` appended to the query string.
    pub fn build(
        &self,
        r: &RequestStep,
        t: &Templates,
        ctx: Option<&Value>,
        cursor: Option<(&str, &str)>,
        allowed_hosts: &[String],
    ) -> Result<Request<Full<Bytes>>, BuildError> {
        let empty = Value::UNDEFINED;
        let ctx = ctx.unwrap_or(&empty);
        let mut uri = match &self.uri {
            Some(u) => u.clone(),
            None => {
                let rendered = t.render(&r.url, ctx)?;
                // Static URLs were checked at plan time; a rendered one is checked here, by the
                // same rule. The host may come from a secret: the error does not quote it.
                if !crate::plan::allow::rendered_allowed(&rendered, allowed_hosts) {
                    return Err(BuildError::HostNotAllowed);
                }
                rendered.parse::<Uri>().map_err(invalid)?
            }
        };
        if let Some((param, value)) = cursor {
            let s = uri.to_string();
            let sep = if s.contains('?') { '&' } else { '?' };
            let enc: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
            uri = format!("{s}{sep}{param}={enc}")
                .parse::<Uri>()
                .map_err(invalid)?;
        }
        // The body is rendered once, before the headers: a signature header sees these bytes.
        let body = match &r.body {
            Body::None => Bytes::new(),
            Body::Static { bytes, .. } => bytes.clone(),
            Body::Text(tmpl) => Bytes::from(t.render(tmpl, ctx)?),
            Body::Json(j) => {
                Bytes::from(serde_json::to_vec(&render_json(j, t, ctx)?).map_err(invalid)?)
            }
        };
        // Most requests have no static headers: cloning an empty map still costs two calls.
        let mut headers = if self.headers.is_empty() {
            HeaderMap::new()
        } else {
            self.headers.clone()
        };
        let mut with_body = None;
        for (name, tmpl) in &r.headers {
            if let Tmpl::Dynamic(_) = tmpl {
                let hctx = with_body.get_or_insert_with(|| {
                    Templates::with_body(ctx, &String::from_utf8_lossy(&body))
                });
                let v = t.render(tmpl, hctx)?;
                headers.insert(name.clone(), HeaderValue::from_str(&v).map_err(invalid)?);
            }
        }
        let mut req = Request::new(Full::new(body));
        *req.method_mut() = r.method.clone();
        *req.uri_mut() = uri;
        if !headers.is_empty() {
            *req.headers_mut() = headers;
        }
        Ok(req)
    }
}

pub(crate) fn render_json(
    j: &JsonT,
    t: &Templates,
    ctx: &Value,
) -> Result<serde_json::Value, TemplateError> {
    Ok(match j {
        JsonT::Value(v) => v.clone(),
        JsonT::Str(tmpl) => serde_json::Value::String(t.render(tmpl, ctx)?),
        JsonT::Array(items) => serde_json::Value::Array(
            items
                .iter()
                .map(|x| render_json(x, t, ctx))
                .collect::<Result<_, _>>()?,
        ),
        JsonT::Object(fields) => serde_json::Value::Object(
            fields
                .iter()
                .map(|(k, x)| Ok((k.clone(), render_json(x, t, ctx)?)))
                .collect::<Result<_, TemplateError>>()?,
        ),
    })
}

/// One `Prepared` per request of the scenario, indexed like `Scenario::requests`; static
/// requests also encoded once for `client`.
pub fn prepare_all(s: &Scenario, client: &HttpClient) -> Vec<Prepared> {
    let mut out: Vec<Option<Prepared>> = (0..s.requests.len()).map(|_| None).collect();
    for entry in &s.mix {
        for step in &entry.steps {
            if let Step::Request(r) = step {
                let mut p = prepare(r);
                if !p.dynamic {
                    p.fixed = p
                        .build(r, &s.templates, None, None, &s.allowed_hosts)
                        .ok()
                        .and_then(|req| client.fixed(&req));
                }
                out[r.index] = Some(p);
            }
        }
    }
    out.into_iter()
        .map(|p| {
            p.unwrap_or(Prepared {
                uri: None,
                headers: HeaderMap::new(),
                dynamic: true,
                fixed: None,
            })
        })
        .collect()
}

fn prepare(r: &RequestStep) -> Prepared {
    let uri = match &r.url {
        Tmpl::Static(s) => s.parse::<Uri>().ok(),
        Tmpl::Dynamic(_) => None,
    };
    let mut headers = HeaderMap::new();
    let mut dynamic = uri.is_none();
    for (name, tmpl) in &r.headers {
        match tmpl {
            Tmpl::Static(v) => {
                if let Ok(v) = HeaderValue::from_str(v) {
                    headers.insert(name.clone(), v);
                }
            }
            Tmpl::Dynamic(_) => dynamic = true,
        }
    }
    let content_type = match &r.body {
        Body::None => None,
        Body::Static { content_type, .. } => Some(*content_type),
        Body::Text(_) => {
            dynamic = true;
            Some("text/plain; charset=utf-8")
        }
        Body::Json(_) => {
            dynamic = true;
            Some("application/json")
        }
    };
    if let Some(ct) = content_type
        && !headers.contains_key(header::CONTENT_TYPE)
    {
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
    }
    Prepared {
        uri,
        headers,
        dynamic,
        fixed: None,
    }
}
