//! HTML pages from embedded minijinja templates, escaped by the engine rather than by hand.
//!
//! Why it exists: a page assembled with `format!` escapes only where its author remembered to;
//! a template with auto-escaping on escapes every `{{ value }}`, so a scenario, request or
//! threshold name holding `<script>` or a quote is shown, never run. The templates are compiled
//! once per process (the first render), held in a [`Pages`] static, and a failure to compile or
//! render is a [`RenderError`], never a panic. The HTML report (`report/templates/`) and the
//! daemon's status page (`server/templates/`) both render through it.

use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde::Serialize;
use std::sync::OnceLock;

/// A template could not be compiled or rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// Kept as text: the compile error is cached for every later render.
    #[error("HTML template {name} does not compile: {detail}")]
    Compile { name: &'static str, detail: String },
    #[error("cannot render the HTML template {name}: {source:#}")]
    Render {
        name: &'static str,
        source: minijinja::Error,
    },
}

/// A set of templates (name, source), compiled into one environment on first use.
pub struct Pages {
    sources: &'static [(&'static str, &'static str)],
    env: OnceLock<Result<Environment<'static>, (&'static str, String)>>,
}

impl Pages {
    /// Templates named like files (`report.html`); they may `{% include %}` and `{% import %}`
    /// each other.
    pub const fn new(sources: &'static [(&'static str, &'static str)]) -> Pages {
        Pages {
            sources,
            env: OnceLock::new(),
        }
    }

    fn env(&self) -> Result<&Environment<'static>, RenderError> {
        self.env
            .get_or_init(|| {
                let mut env = Environment::new();
                // Every value is HTML-escaped, whatever the template's name.
                env.set_auto_escape_callback(|_| AutoEscape::Html);
                // A misspelt field is an error, not an empty cell.
                env.set_undefined_behavior(UndefinedBehavior::Strict);
                // `{% … %}` lines leave no blank lines or indentation behind.
                env.set_trim_blocks(true);
                env.set_lstrip_blocks(true);
                env.set_keep_trailing_newline(true);
                for (name, source) in self.sources {
                    env.add_template(name, source)
                        .map_err(|e| (*name, format!("{e:#}")))?;
                }
                Ok(env)
            })
            .as_ref()
            .map_err(|(name, detail)| RenderError::Compile {
                name,
                detail: detail.clone(),
            })
    }

    /// Renders the template `name` with `ctx`.
    pub fn render(&self, name: &'static str, ctx: impl Serialize) -> Result<String, RenderError> {
        let render = |env: &Environment<'static>| env.get_template(name)?.render(ctx);
        render(self.env()?).map_err(|source| RenderError::Render { name, source })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static PAGES: Pages = Pages::new(&[
        ("ok.html", "<p title=\"{{ v }}\">{{ v }}</p>\n"),
        ("typo.html", "{{ missing }}"),
    ]);
    static BROKEN: Pages = Pages::new(&[("broken.html", "{% if %}")]);

    #[test]
    fn every_value_is_escaped() {
        let out = PAGES
            .render("ok.html", minijinja::context! { v => "<script>\"x\"&'y'" })
            .expect("renders");
        assert_eq!(
            out,
            "<p title=\"&lt;script&gt;&quot;x&quot;&amp;&#x27;y&#x27;\">&lt;script&gt;&quot;x&quot;&amp;&#x27;y&#x27;</p>\n"
        );
    }

    #[test]
    fn a_broken_or_misspelt_template_is_an_error_not_a_panic() {
        let e = PAGES
            .render("typo.html", minijinja::context! {})
            .unwrap_err();
        assert!(
            matches!(
                e,
                RenderError::Render {
                    name: "typo.html",
                    ..
                }
            ),
            "{e}"
        );
        let e = PAGES
            .render("nope.html", minijinja::context! {})
            .unwrap_err();
        assert!(matches!(e, RenderError::Render { .. }), "{e}");
        let e = BROKEN
            .render("broken.html", minijinja::context! {})
            .unwrap_err();
        assert!(
            matches!(
                e,
                RenderError::Compile {
                    name: "broken.html",
                    ..
                }
            ),
            "{e}"
        );
    }
}
