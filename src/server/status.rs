//! The status page at `/`: a plain HTML overview for humans (scenarios, schedules, next runs,
//! last results with links to their reports, open incidents). No script, no external assets.

use super::Handle;
use crate::report::esc;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::fmt::Write;

pub async fn page(State(app): State<Handle>) -> Response {
    let plan = app.plan();
    let now = chrono::Utc::now();
    let mut o = String::from(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>soakd</title><style>
body{font:14px system-ui,sans-serif;margin:2em} table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:4px 8px;text-align:left} th{background:#f4f4f4}
.pass{color:#080} .fail,.error,.aborted{color:#c00} .incident{color:#c00;font-weight:600}
</style></head><body><h1>soakd</h1><p><a href="/metrics">/metrics</a> · <a href="/api/v1/scenarios">/api/v1/scenarios</a> · <a href="/api/v1/runs">/api/v1/runs</a></p>
<table><tr><th>scenario</th><th>schedule</th><th>next run</th><th>running</th><th>last result</th><th>open incidents</th><th>hold</th></tr>"#,
    );
    for s in plan.scenarios.values() {
        let next = s
            .schedule
            .next_after(now)
            .map(|t| t.to_rfc3339())
            .unwrap_or_else(|| "—".into());
        let running = app
            .active_run(&s.name)
            .map(|r| esc(&r.id))
            .unwrap_or_else(|| "—".into());
        let last = match app.last_run(&s.name) {
            Some(r) => format!(
                r#"<a class="{c}" href="/api/v1/runs/{id}/report.html">{res}</a> <small>{end}</small>"#,
                c = esc(&r.result),
                id = esc(&r.run_id),
                res = esc(&r.result),
                end = esc(&r.ended_at)
            ),
            None => "—".into(),
        };
        let incidents: Vec<String> = app
            .incidents(&s.name)
            .into_iter()
            .map(|(t, n)| {
                format!(
                    r#"<span class="incident">{} ({n} in a row)</span>"#,
                    esc(&t)
                )
            })
            .collect();
        let hold = hold_text(&app.hold_view(&s.name));
        let _ = write!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{running}</td><td>{last}</td><td>{}</td><td>{hold}</td></tr>",
            esc(&s.name),
            esc(&s.schedule.describe()),
            esc(&next),
            if incidents.is_empty() {
                "—".into()
            } else {
                incidents.join("<br>")
            }
        );
    }
    o.push_str("</table></body></html>\n");
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], o).into_response()
}

/// The hold column: paused, in a blackout, circuit open (each with its end), or "—".
fn hold_text(v: &super::HoldView) -> String {
    let mut parts = Vec::new();
    if v.paused {
        parts.push(r#"<span class="incident">paused</span>"#.to_string());
    }
    if let Some(t) = &v.blackout_until {
        parts.push(format!(
            r#"<span class="incident">blackout until {}</span>"#,
            esc(t)
        ));
    }
    if let Some(t) = &v.circuit_open_until {
        parts.push(format!(
            r#"<span class="incident">circuit open until {} (trip {} in a row)</span>"#,
            esc(t),
            v.circuit_trips
        ));
    }
    if parts.is_empty() {
        "—".into()
    } else {
        parts.join("<br>")
    }
}

/// `GET /api/v1/runs/{id}/report.html`: the run's HTML report, rendered from its summary.
pub async fn report(State(app): State<Handle>, Path(id): Path<String>) -> Response {
    if !crate::state::valid_id(&id) {
        return super::api::error(
            StatusCode::BAD_REQUEST,
            "run id: letters, digits, _ and - only",
        );
    }
    let results = app.results();
    let found = tokio::task::spawn_blocking(move || results.get(&id))
        .await
        .ok()
        .flatten();
    match found.and_then(|v| serde_json::from_value::<crate::report::Summary>(v).ok()) {
        Some(s) => (
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            crate::report::html(&s),
        )
            .into_response(),
        None => super::api::error(StatusCode::NOT_FOUND, "no such run"),
    }
}
