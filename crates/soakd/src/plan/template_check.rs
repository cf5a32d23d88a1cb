//! Check-time rendering: every template of a scenario is rendered once with sample values.
//!
//! Compiling a template only checks its syntax; a call to a function that does not exist, a
//! pool that is not defined or a loop that never ends shows only when it renders. A render at
//! check time with sample values (VU 1, iteration 0, the first row of every pool, every
//! extracted variable set to `sample`, `env` as it is) turns those into config errors naming
//! the field, instead of a run of failures. A rendered URL whose host does not depend on
//! run-time values is checked against `safety.allowed_hosts` here too. Values that only exist at run time (a later row, a real
//! extracted value) are bounded at run time by the fuel limit of `Templates`.

use super::errors::Errors;
use super::template::Templates;
use super::{Scenario, Step};
use minijinja::Value;
use std::collections::BTreeMap;

/// Renders every template of `s` with sample values; each failure is an error at its field.
pub fn check_renders(s: &Scenario, e: &mut Errors) {
    let t = &s.templates;
    let mut vars = BTreeMap::new();
    for entry in &s.mix {
        for step in &entry.steps {
            if let Step::Request(r) = step {
                for (name, _) in &r.extract {
                    vars.insert(name.clone(), "sample".to_string());
                }
            }
        }
    }
    let data: BTreeMap<String, Value> = s
        .pools
        .iter()
        .filter_map(|p| p.rows.first().map(|row| (p.name.clone(), row.clone())))
        .collect();
    let ctx = t.context_with(1, 0, &vars, Value::from(data), 1_700_000_000);
    let ctx = Templates::with_body(&ctx, "{}");
    for (name, source, result) in t.render_all(&ctx) {
        // A host built from run-time values (a data row, an extracted or env value) is only
        // known then: the run-time check covers it; the sample would be a false alarm.
        let runtime_host = ["var.", "data.", "env."].iter().any(|v| source.contains(v));
        match result {
            Err(msg) => e.push(
                &name,
                format!("template does not render with sample values: {msg}"),
            ),
            Ok(out) if name.ends_with(".url") && !runtime_host => {
                if let Ok(u) = url::Url::parse(&out)
                    && u.host_str().is_some_and(|h| !h.is_empty())
                    && !super::allow::url_allowed(&u, &s.allowed_hosts)
                {
                    e.push(
                        &name,
                        format!(
                            "renders to host {:?} (with sample values), which is not in safety.allowed_hosts {:?}",
                            u.host_str().unwrap_or_default(),
                            s.allowed_hosts
                        ),
                    );
                }
            }
            Ok(_) => {}
        }
    }
}
