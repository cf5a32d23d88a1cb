//! Log output — why this exists: pod logs are read by people (`kubectl logs`) and by machines
//! (Loki, Elasticsearch), never by a terminal, so the defaults are for them: no ANSI colour
//! unless stderr is a terminal, `--log-format json` for one JSON object per line, and
//! dependency chatter (hyper, h2, rustls, tungstenite) held at `warn` unless asked for.
//!
//! The level filter is `SOAKD_LOG` if set, else `RUST_LOG`, else [`DEFAULT_FILTER`]; both take
//! `tracing_subscriber::EnvFilter` directives, e.g. `SOAKD_LOG=debug,hyper=info`. The
//! dependency defaults are added to any filter that does not name those crates itself.
//!
//! [`init`] is the single place the global subscriber is built: a layer or writer every log
//! line must pass (e.g. secret redaction) goes in here, in [`writer`].

use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// Level of soakd itself when neither `SOAKD_LOG` nor `RUST_LOG` is set.
pub const DEFAULT_FILTER: &str = "info";
/// Crates whose INFO/DEBUG lines are noise for an operator; each held at `warn` by default.
pub const QUIET_CRATES: &[&str] = &[
    "hyper",
    "hyper_util",
    "h2",
    "rustls",
    "tungstenite",
    "tokio_tungstenite",
];

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

/// The filter directives: `SOAKD_LOG` wins over `RUST_LOG`; quiet crates not named are `warn`.
pub fn directives(soakd_log: Option<&str>, rust_log: Option<&str>) -> String {
    let base = [soakd_log, rust_log]
        .into_iter()
        .flatten()
        .map(str::trim)
        .find(|s| !s.is_empty())
        .unwrap_or(DEFAULT_FILTER);
    let mut out = base.to_string();
    for krate in QUIET_CRATES {
        let named = base.split(',').any(|d| {
            let target = d.split('=').next().unwrap_or("").trim();
            target == *krate || target.starts_with(&format!("{krate}::"))
        });
        if !named {
            out.push_str(&format!(",{krate}=warn"));
        }
    }
    out
}

/// Where log lines go: stderr, through the redaction of every registered secret and credential
/// shape (`soakd::redact`).
fn writer() -> impl for<'w> MakeWriter<'w> + Send + Sync + 'static {
    soakd::redact::Redacting::new(std::io::stderr)
}

/// Installs the global subscriber. A bad filter is reported once and the default used.
pub fn init(format: Format) {
    let soakd_log = std::env::var("SOAKD_LOG").ok();
    let rust_log = std::env::var("RUST_LOG").ok();
    let wanted = directives(soakd_log.as_deref(), rust_log.as_deref());
    let (filter, bad) = match EnvFilter::try_new(&wanted) {
        Ok(f) => (f, None),
        Err(e) => (
            EnvFilter::new(directives(None, None)),
            Some(format!("{wanted:?}: {e}")),
        ),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer())
        .with_ansi(std::io::stderr().is_terminal());
    let installed = match format {
        Format::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init(),
        Format::Text => builder.try_init(),
    };
    if installed.is_ok()
        && let Some(bad) = bad
    {
        tracing::warn!(filter = %bad, "invalid log filter (SOAKD_LOG / RUST_LOG), using the default");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soakd_log_wins_over_rust_log_and_the_default_applies_last() {
        assert!(directives(Some("debug"), Some("trace")).starts_with("debug,"));
        assert!(directives(None, Some("trace")).starts_with("trace,"));
        assert!(directives(Some(" "), Some("warn")).starts_with("warn,"));
        assert!(directives(None, None).starts_with("info,"));
    }

    #[test]
    fn dependency_noise_is_held_at_warn_unless_the_filter_names_the_crate() {
        let d = directives(Some("debug"), None);
        for k in QUIET_CRATES {
            assert!(d.contains(&format!(",{k}=warn")), "{d}");
        }
        let d = directives(Some("info,hyper=debug,rustls::client=trace"), None);
        assert!(
            !d.contains("hyper=warn") && !d.contains("rustls=warn"),
            "{d}"
        );
        assert!(d.contains("h2=warn"), "{d}");
        EnvFilter::try_new(&d).expect("the directives parse");
    }
}
