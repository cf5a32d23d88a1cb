//! The status page at `/`: a plain HTML overview for humans (scenarios, schedules, next runs,
//! last results with links to their reports, open incidents). No script, no external assets.
//!
//! The markup is `templates/status.html`, rendered with auto-escaping (`report::Pages`); this
//! file gathers one row per scenario from the daemon's in-memory view (O(scenarios), no file
//! is read) and serves the run reports.

use super::{DaemonView, Handle, HoldView};
use crate::report::{Pages, RenderError};
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

static PAGES: Pages = Pages::new(&[("status.html", include_str!("templates/status.html"))]);

/// One scenario's row.
#[derive(Debug, Serialize)]
struct Row {
    name: String,
    schedule: String,
    /// RFC 3339, or "—" when the schedule never fires.
    next: String,
    /// The active run's id.
    running: Option<String>,
    last: Option<LastRun>,
    incidents: Vec<Incident>,
    /// Paused, in a blackout, circuit open (each with its end); empty when not held.
    holds: Vec<String>,
}

#[derive(Debug, Serialize)]
struct LastRun {
    result: String,
    run_id: String,
    ended_at: String,
}

#[derive(Debug, Serialize)]
struct Incident {
    threshold: String,
    count: u32,
}

pub async fn page(State(app): State<Handle>) -> Response {
    match render(&rows(app.as_ref(), chrono::Utc::now())) {
        Ok(html) => ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "cannot render the status page");
            super::api::error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
        }
    }
}

fn rows<D: DaemonView + ?Sized>(app: &D, now: chrono::DateTime<chrono::Utc>) -> Vec<Row> {
    let plan = app.plan();
    plan.scenarios
        .values()
        .map(|s| Row {
            name: s.name.clone(),
            schedule: s.schedule.describe(),
            next: s
                .schedule
                .next_after(now)
                .map(|t| t.to_rfc3339())
                .unwrap_or_else(|| "—".into()),
            running: app.active_run(&s.name).map(|r| r.id.clone()),
            last: app.last_run(&s.name).map(|r| LastRun {
                result: r.result,
                run_id: r.run_id,
                ended_at: r.ended_at,
            }),
            incidents: app
                .incidents(&s.name)
                .into_iter()
                .map(|(threshold, count)| Incident { threshold, count })
                .collect(),
            holds: holds(&app.hold_view(&s.name)),
        })
        .collect()
}

fn render(rows: &[Row]) -> Result<String, RenderError> {
    PAGES.render("status.html", minijinja::context! { scenarios => rows })
}

/// The hold column's entries: paused, in a blackout, circuit open (each with its end).
fn holds(v: &HoldView) -> Vec<String> {
    let mut parts = Vec::new();
    if v.paused {
        parts.push("paused".to_string());
    }
    if let Some(t) = &v.blackout_until {
        parts.push(format!("blackout until {t}"));
    }
    if let Some(t) = &v.circuit_open_until {
        parts.push(format!(
            "circuit open until {t} (trip {} in a row)",
            v.circuit_trips
        ));
    }
    parts
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
    let Some(summary) = found.and_then(|v| serde_json::from_value(v).ok()) else {
        return super::api::error(StatusCode::NOT_FOUND, "no such run");
    };
    match crate::report::html(&summary) {
        Ok(html) => ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "cannot render a run report");
            super::api::error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str) -> Row {
        Row {
            name: name.into(),
            schedule: "cron \"*/5 * * * *\" (Europe/Berlin)".into(),
            next: "2026-12-01T05:00:00+00:00".into(),
            running: None,
            last: Some(LastRun {
                result: "fail".into(),
                run_id: "r-1".into(),
                ended_at: "2026-12-01T04:55:00Z".into(),
            }),
            incidents: vec![
                Incident {
                    threshold: "http_req_duration{request:<b>}:p(95)<250".into(),
                    count: 2,
                },
                Incident {
                    threshold: "checks:rate>0.9".into(),
                    count: 3,
                },
            ],
            holds: holds(&HoldView {
                paused: true,
                blackout_until: None,
                circuit_open_until: Some("2026-12-01T06:00:00Z".into()),
                circuit_trips: 1,
            }),
        }
    }

    #[test]
    fn a_row_links_its_last_run_and_lists_incidents_and_holds() {
        let html = render(&[row("feed")]).expect("renders");
        assert!(html.starts_with("<!doctype html>"), "{html}");
        assert!(html.ends_with("</table></body></html>\n"), "{html}");
        assert!(
            html.contains(r#"<a class="fail" href="/api/v1/runs/r-1/report.html">fail</a>"#),
            "{html}"
        );
        assert!(
            html.contains("(2 in a row)</span><br><span class=\"incident\">checks:rate&gt;0.9 (3 in a row)</span>"),
            "{html}"
        );
        assert!(
            html.contains("<span class=\"incident\">paused</span><br><span class=\"incident\">circuit open until 2026-12-01T06:00:00Z (trip 1 in a row)</span>"),
            "{html}"
        );
        assert!(html.contains("<td>—</td>"), "nothing running: {html}");
    }

    #[test]
    fn hostile_text_is_escaped() {
        let mut r = row("<script>alert('x')</script>");
        r.running = Some("\"><img src=x onerror=alert(1)>".into());
        let html = render(&[r]).expect("renders");
        assert!(
            !html.contains("<script>") && !html.contains("<img"),
            "{html}"
        );
        assert!(!html.contains("<b>"), "{html}");
        assert!(
            html.contains("&lt;script&gt;alert(&#x27;x&#x27;)"),
            "{html}"
        );
        assert!(html.contains("&quot;&gt;&lt;img src=x"), "{html}");
        assert!(html.contains("{request:&lt;b&gt;}:p(95)&lt;250"), "{html}");
    }

    #[test]
    fn an_empty_plan_renders_an_empty_table() {
        let html = render(&[]).expect("renders");
        assert!(html.contains("<th>hold</th></tr>\n</table>"), "{html}");
    }
}
