//! JSON API handlers.

use super::Handle;
use crate::schedule::Skip;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

pub fn error(status: StatusCode, msg: impl Into<String>) -> Response {
    (status, Json(json!({ "error": msg.into() }))).into_response()
}

/// Constant-time comparison of the bearer token.
fn authorize(app: &Handle, headers: &HeaderMap) -> Result<(), Box<Response>> {
    let Some(expected) = app.admin_token() else {
        return Err(Box::new(error(
            StatusCode::FORBIDDEN,
            "write API disabled: no server.admin_token_file configured",
        )));
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let (a, b) = (given.as_bytes(), expected.as_bytes());
    let mut diff = (a.len() ^ b.len()) as u8 | u8::from(a.len() != b.len());
    for (i, x) in b.iter().enumerate() {
        diff |= a.get(i).copied().unwrap_or(0) ^ x;
    }
    if diff == 0 {
        Ok(())
    } else {
        Err(Box::new(error(
            StatusCode::UNAUTHORIZED,
            "missing or wrong bearer token",
        )))
    }
}

pub async fn ready(State(app): State<Handle>) -> Response {
    if app.shutdown().is_cancelled() {
        error(StatusCode::SERVICE_UNAVAILABLE, "shutting down")
    } else {
        (StatusCode::OK, "ready\n").into_response()
    }
}

pub async fn scenarios(State(app): State<Handle>) -> Response {
    let plan = app.plan();
    let now = crate::schedule::whole_second(chrono::Utc::now());
    let list: Vec<_> = plan
        .scenarios
        .values()
        .map(|s| {
            let last = app.last_run(&s.name);
            json!({
                "name": s.name,
                "schedule": s.schedule.describe(),
                "next_run": s.schedule.next_after(now).map(|t| t.to_rfc3339()),
                "executor": s.load.executor.name(),
                "active_run": app.active_run(&s.name).map(|r| json!({ "run_id": r.id, "started_at": r.started_at.to_rfc3339() })),
                "last_run": last,
                "open_incidents": app.incidents(&s.name).into_iter()
                    .map(|(t, n)| json!({ "threshold": t, "consecutive_breaches": n })).collect::<Vec<_>>(),
                "thresholds": s.thresholds.iter().map(|t| t.label.clone()).collect::<Vec<_>>(),
                "hold": app.hold_view(&s.name),
            })
        })
        .collect();
    Json(json!({ "scenarios": list })).into_response()
}

#[derive(Deserialize)]
pub struct RunsQuery {
    scenario: Option<String>,
    limit: Option<usize>,
}

pub async fn runs(
    State(app): State<Handle>,
    q: Result<Query<RunsQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(Query(q)) = q else {
        return error(
            StatusCode::BAD_REQUEST,
            "query: expected ?scenario=NAME&limit=N",
        );
    };
    let limit = q.limit.unwrap_or(50).min(1000);
    let results = app.results();
    let scenario = q.scenario.clone();
    let list = tokio::task::spawn_blocking(move || results.list(scenario.as_deref(), limit))
        .await
        .unwrap_or_default();
    let active: Vec<_> = app
        .active_runs()
        .into_iter()
        .filter(|r| q.scenario.as_ref().is_none_or(|s| *s == r.scenario.name))
        .map(|r| json!({ "run_id": r.id, "scenario": r.scenario.name, "started_at": r.started_at.to_rfc3339(), "result": "running" }))
        .collect();
    Json(json!({ "active": active, "runs": list })).into_response()
}

pub async fn run(State(app): State<Handle>, Path(id): Path<String>) -> Response {
    if !crate::state::valid_id(&id) {
        return error(
            StatusCode::BAD_REQUEST,
            "run id: letters, digits, _ and - only",
        );
    }
    // A run leaves the active set just after its summary is written: from then on (the flag)
    // the summary answers, never a stale "running".
    let active = app.active_runs().into_iter().find(|r| r.id == id);
    if let Some(r) = active.filter(|r| !r.summarized.load(std::sync::atomic::Ordering::Acquire)) {
        return Json(json!({ "run_id": r.id, "scenario": r.scenario.name, "started_at": r.started_at.to_rfc3339(), "result": "running" })).into_response();
    }
    let results = app.results();
    match tokio::task::spawn_blocking(move || results.get(&id))
        .await
        .ok()
        .flatten()
    {
        Some(v) => Json(v).into_response(),
        None => error(StatusCode::NOT_FOUND, "no such run"),
    }
}

pub async fn start_run(
    State(app): State<Handle>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = authorize(&app, &headers) {
        return *r;
    }
    if !app.plan().scenarios.contains_key(&name) {
        return error(StatusCode::NOT_FOUND, format!("no scenario {name:?}"));
    }
    match app.start_run(&name) {
        Ok(id) => (
            StatusCode::ACCEPTED,
            Json(json!({ "run_id": id, "scenario": name })),
        )
            .into_response(),
        Err(Skip::Overlap) => error(
            StatusCode::CONFLICT,
            format!("scenario {name:?} is already running"),
        ),
        Err(Skip::MaxConcurrent) => error(StatusCode::CONFLICT, "max_concurrent_runs reached"),
        Err(Skip::Gone) => error(StatusCode::SERVICE_UNAVAILABLE, "shutting down"),
        Err(held) => error(
            StatusCode::CONFLICT,
            format!("scenario {name:?} is held: {}", held.as_str()),
        ),
    }
}

/// `POST /api/v1/scenarios/{name}/pause` and `/resume`.
pub async fn pause(
    State(app): State<Handle>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    set_paused(app, Some(name), true, &headers).await
}

pub async fn resume(
    State(app): State<Handle>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    set_paused(app, Some(name), false, &headers).await
}

/// `POST /api/v1/pause_all` and `/resume_all`.
pub async fn pause_all(State(app): State<Handle>, headers: HeaderMap) -> Response {
    set_paused(app, None, true, &headers).await
}

pub async fn resume_all(State(app): State<Handle>, headers: HeaderMap) -> Response {
    set_paused(app, None, false, &headers).await
}

async fn set_paused(
    app: Handle,
    name: Option<String>,
    pause: bool,
    headers: &HeaderMap,
) -> Response {
    if let Err(r) = authorize(&app, headers) {
        return *r;
    }
    if let Some(n) = &name
        && !app.plan().scenarios.contains_key(n)
    {
        return error(StatusCode::NOT_FOUND, format!("no scenario {n:?}"));
    }
    // The pause is persisted (fsync) before it is answered: blocking I/O off the runtime.
    let (a, n) = (app.clone(), name.clone());
    let done = tokio::task::spawn_blocking(move || a.set_paused(n.as_deref(), pause)).await;
    match done {
        Ok(Ok(())) => Json(json!({ "scenario": name, "paused": pause })).into_response(),
        Ok(Err(e)) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot persist the pause: {e}"),
        ),
        Err(_) => error(StatusCode::INTERNAL_SERVER_ERROR, "pause task failed"),
    }
}

pub async fn abort_run(
    State(app): State<Handle>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = authorize(&app, &headers) {
        return *r;
    }
    if app.abort_run(&id) {
        (
            StatusCode::ACCEPTED,
            Json(json!({ "run_id": id, "aborting": true })),
        )
            .into_response()
    } else {
        error(StatusCode::NOT_FOUND, "no active run with that id")
    }
}

pub async fn reload(State(app): State<Handle>, headers: HeaderMap) -> Response {
    if let Err(r) = authorize(&app, &headers) {
        return *r;
    }
    // Reading the files and compiling take a while: off the async workers.
    let reloaded = tokio::task::spawn_blocking(move || app.reload()).await;
    if reloaded.unwrap_or(false) {
        Json(json!({ "reloaded": true })).into_response()
    } else {
        error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "config invalid or not reloadable; the old plan keeps running (see logs)",
        )
    }
}
