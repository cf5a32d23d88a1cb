//! The hot path: one [`ScenarioSink`] per run, called by the recorder for every sample.
//!
//! A family lookup hashes the whole label set under a lock; doing that per request would cost
//! more than the request's bookkeeping in the recorder. So the sink resolves series handles once
//! per request name (failures by reason, checks by result, iterations, lag) and caches the
//! status-dependent ones on first use: the duration histogram per status class in a `OnceLock`
//! slot (only classes actually seen get a series) and the request counter per status code in a
//! short list behind a read-mostly lock. Handles are Arc-backed, so updates land in the family.

use super::Tracker;
use super::families::Families;
use super::hist::{Batch, Hist as Histogram, TraceId, unix_now};
use super::labels::*;
use crate::client::FailureReason;
use crate::plan::RequestMeta;
use crate::record::{Iteration, Sample, Sink, WsEvent, counted_reasons};
use prometheus_client::metrics::counter::Counter;
use std::sync::{OnceLock, RwLock};
use std::time::Duration;

/// Handles of one named request.
struct RequestSeries {
    meta: RequestMeta,
    /// Indexed by `StatusClass as usize`.
    by_class: [OnceLock<Histogram>; 6],
    /// (status code, 0 = no response) → `soakd_http_requests_total` series.
    by_status: RwLock<Vec<(u16, Counter)>>,
    /// Indexed by `FailureReason as usize` (the order of `FailureReason::ALL`).
    failures: [Counter; FailureReason::ALL.len()],
    /// [pass, fail] per check, in `RequestMeta::checks` order.
    checks: Box<[[Counter; 2]]>,
    /// `soakd_http_request_retries_total` by reason: [reset, closed].
    retries: [Counter; 2],
}

/// The `reason` values of `soakd_http_request_retries_total`.
const RETRY_REASONS: [&str; 2] = ["reset", "closed"];

/// Handles of one WebSocket session (by request index).
struct WsSeries {
    connecting: Histogram,
    message: Histogram,
    reconnects: Counter,
    /// [ok, dropped].
    sessions: [Counter; 2],
    /// [sent, received, lost].
    messages: [Counter; 3],
}

/// Feeds the `soakd_http_*`, `soakd_checks_total`, `soakd_*iterations_total`,
/// `soakd_journeys_total`, `soakd_ws_*` and `soakd_generator_lag_seconds` families of one
/// scenario.
pub struct ScenarioSink {
    scenario: String,
    requests: Box<[RequestSeries]>,
    /// Indexed like `requests`; set for WebSocket sessions only.
    ws: Box<[OnceLock<WsSeries>]>,
    /// (journey name, [ok, failed]); journeys come from config, so the list stays short.
    journeys: RwLock<Vec<(String, [Counter; 2])>>,
    iterations: Counter,
    dropped: Counter,
    lag: Histogram,
    f: Families,
    known: Tracker,
}

impl ScenarioSink {
    pub(super) fn new(f: Families, known: Tracker, scenario: &str, metas: &[RequestMeta]) -> Self {
        let s = ScenarioLabels {
            scenario: scenario.to_owned(),
        };
        let mut requests = Vec::with_capacity(metas.len());
        known.with(scenario, |k| {
            for m in metas {
                // Failure reasons and check results are small fixed sets: their series exist
                // from the start at zero, so rate() and alerts see the first failure.
                let failures = FailureReason::ALL.map(|r| {
                    let l = FailureLabels {
                        scenario: scenario.to_owned(),
                        request: m.name.clone(),
                        reason: r.as_str(),
                    };
                    let c = f.failures.get_or_create_owned(&l);
                    k.failures.insert(l);
                    c
                });
                let checks = m
                    .checks
                    .iter()
                    .map(|check| {
                        ["pass", "fail"].map(|result| {
                            let l = CheckLabels {
                                scenario: scenario.to_owned(),
                                request: m.name.clone(),
                                check: check.clone(),
                                result,
                            };
                            let c = f.checks.get_or_create_owned(&l);
                            k.checks.insert(l);
                            c
                        })
                    })
                    .collect();
                let retries = RETRY_REASONS.map(|reason| {
                    let l = FailureLabels {
                        scenario: scenario.to_owned(),
                        request: m.name.clone(),
                        reason,
                    };
                    let c = f.retries.get_or_create_owned(&l);
                    k.retries.insert(l);
                    c
                });
                requests.push(RequestSeries {
                    retries,
                    meta: m.clone(),
                    by_class: Default::default(),
                    by_status: RwLock::new(Vec::new()),
                    failures,
                    checks,
                });
            }
        });
        let sink = ScenarioSink {
            scenario: scenario.to_owned(),
            requests: requests.into(),
            ws: metas.iter().map(|_| OnceLock::new()).collect(),
            journeys: RwLock::new(Vec::new()),
            iterations: f.iterations.get_or_create_owned(&s),
            dropped: f.dropped.get_or_create_owned(&s),
            lag: f.lag.get_or_create_owned(&s),
            f,
            known,
        };
        // Journeys and sessions start at zero, so rate() and alerts see the first failure.
        for m in metas {
            sink.journey(&m.journey, |_| {});
        }
        for (i, m) in metas.iter().enumerate() {
            if m.method == "WS" {
                sink.ws_series(i);
            }
        }
        sink
    }

    /// Runs `f` on the [ok, failed] counters of `journey`, creating them on first use.
    fn journey(&self, journey: &str, f: impl FnOnce(&[Counter; 2])) {
        {
            let seen = self.journeys.read().unwrap_or_else(|p| p.into_inner());
            if let Some((_, c)) = seen.iter().find(|(j, _)| j == journey) {
                return f(c);
            }
        }
        let mut seen = self.journeys.write().unwrap_or_else(|p| p.into_inner());
        if let Some((_, c)) = seen.iter().find(|(j, _)| j == journey) {
            return f(c);
        }
        let labels = ["ok", "failed"].map(|result| JourneyLabels {
            scenario: self.scenario.clone(),
            journey: journey.to_owned(),
            result,
        });
        let counters = [
            self.f.journeys.get_or_create_owned(&labels[0]),
            self.f.journeys.get_or_create_owned(&labels[1]),
        ];
        f(&counters);
        seen.push((journey.to_owned(), counters));
        drop(seen);
        self.known
            .with(&self.scenario, |k| k.journeys.extend(labels));
    }

    fn ws_series(&self, request: usize) -> Option<&WsSeries> {
        let meta = &self.requests.get(request)?.meta;
        Some(self.ws[request].get_or_init(|| {
            let l = WsLabels {
                scenario: self.scenario.clone(),
                session: meta.name.clone(),
            };
            let sessions = ["ok", "dropped"].map(|result| WsSessionLabels {
                scenario: self.scenario.clone(),
                session: meta.name.clone(),
                result,
            });
            let messages = ["sent", "received", "lost"].map(|direction| WsMessageLabels {
                scenario: self.scenario.clone(),
                session: meta.name.clone(),
                direction,
            });
            let series = WsSeries {
                connecting: self.f.ws_connecting.get_or_create_owned(&l),
                message: self.f.ws_message.get_or_create_owned(&l),
                reconnects: self.f.ws_reconnects.get_or_create_owned(&l),
                sessions: [
                    self.f.ws_sessions.get_or_create_owned(&sessions[0]),
                    self.f.ws_sessions.get_or_create_owned(&sessions[1]),
                ],
                messages: [
                    self.f.ws_messages.get_or_create_owned(&messages[0]),
                    self.f.ws_messages.get_or_create_owned(&messages[1]),
                    self.f.ws_messages.get_or_create_owned(&messages[2]),
                ],
            };
            self.known.with(&self.scenario, |k| {
                k.ws.insert(l);
                k.ws_sessions.extend(sessions);
                k.ws_messages.extend(messages);
            });
            series
        }))
    }

    fn duration<'a>(&self, r: &'a RequestSeries, class: StatusClass) -> &'a Histogram {
        r.by_class[class as usize].get_or_init(|| {
            let l = DurationLabels::new(
                &self.scenario,
                &r.meta.name,
                &r.meta.group,
                &r.meta.method,
                class,
            );
            let h = self.f.duration.get_or_create_owned(&l);
            self.known.with(&self.scenario, |k| {
                k.duration.insert(l);
            });
            h
        })
    }

    /// Adds `n` to the request counter of status `code` (0 = no response).
    fn count_status(&self, r: &RequestSeries, code: u16, n: u64) {
        {
            let seen = r.by_status.read().unwrap_or_else(|p| p.into_inner());
            if let Some((_, c)) = seen.iter().find(|(s, _)| *s == code) {
                c.inc_by(n);
                return;
            }
        }
        let mut seen = r.by_status.write().unwrap_or_else(|p| p.into_inner());
        if let Some((_, c)) = seen.iter().find(|(s, _)| *s == code) {
            c.inc_by(n);
            return;
        }
        let l = RequestLabels {
            scenario: self.scenario.clone(),
            request: r.meta.name.clone(),
            method: r.meta.method.clone(),
            status: code.to_string(),
        };
        let c = self.f.requests.get_or_create_owned(&l);
        c.inc_by(n);
        seen.push((code, c));
        drop(seen);
        self.known.with(&self.scenario, |k| {
            k.requests.insert(l);
        });
    }
}

impl ScenarioSink {
    /// A run of consecutive samples of request `r` (one batch's): each duration series is
    /// locked once and each counter is added to once, with the same counting as
    /// [`Sink::request_traced`] ([`counted_reasons`]).
    fn request_run(&self, r: &RequestSeries, run: &[Sample], at: f64) {
        let mut hists: [Option<Batch<'_>>; 6] = [const { None }; 6];
        let mut statuses: Vec<(u16, u64)> = Vec::new();
        let mut failures = [0u64; FailureReason::ALL.len()];
        let mut checks = vec![[0u64; 2]; r.checks.len()];
        for s in run {
            let class = StatusClass::of(s.status());
            hists[class as usize]
                .get_or_insert_with(|| self.duration(r, class).batch(at))
                .observe(s.latency.as_secs_f64(), s.trace);
            match statuses.iter_mut().find(|(code, _)| *code == s.status) {
                Some((_, n)) => *n += 1,
                None => statuses.push((s.status, 1)),
            }
            for reason in counted_reasons(s.failure, s.checks_passed()) {
                failures[reason as usize] += 1;
            }
            for (i, pair) in checks.iter_mut().enumerate().take(usize::from(s.checks)) {
                pair[usize::from(!s.check_passed(i))] += 1;
            }
        }
        drop(hists);
        for (code, n) in statuses {
            self.count_status(r, code, n);
        }
        for (c, n) in r.failures.iter().zip(failures) {
            if n > 0 {
                c.inc_by(n);
            }
        }
        for (pair, n) in r.checks.iter().zip(checks) {
            for (c, n) in pair.iter().zip(n) {
                if n > 0 {
                    c.inc_by(n);
                }
            }
        }
    }
}

impl Sink for ScenarioSink {
    fn request(
        &self,
        request: usize,
        status: Option<u16>,
        latency: Duration,
        failure: Option<FailureReason>,
        checks: &[bool],
    ) {
        self.request_traced(request, status, latency, failure, checks, None);
    }

    fn request_traced(
        &self,
        request: usize,
        status: Option<u16>,
        latency: Duration,
        failure: Option<FailureReason>,
        checks: &[bool],
        trace: Option<TraceId>,
    ) {
        let Some(r) = self.requests.get(request) else {
            return;
        };
        self.duration(r, StatusClass::of(status))
            .observe_traced(latency.as_secs_f64(), trace);
        self.count_status(r, status.unwrap_or(0), 1);
        // Same counting as the recorder.
        for reason in counted_reasons(failure, checks.iter().all(|ok| *ok)) {
            if let Some(c) = r.failures.get(reason as usize) {
                c.inc();
            }
        }
        for (pair, ok) in r.checks.iter().zip(checks) {
            pair[usize::from(!*ok)].inc();
        }
    }

    fn requests(&self, batch: &[Sample]) {
        if batch.is_empty() {
            return;
        }
        // One time for the batch's exemplars: at most one flush interval after the sample.
        let at = unix_now();
        for run in batch.chunk_by(|a, b| a.request == b.request) {
            if let Some(r) = self.requests.get(run[0].request as usize) {
                self.request_run(r, run, at);
            }
        }
    }

    fn iterations(&self, journeys: &[String], batch: &[Iteration]) {
        if batch.is_empty() {
            return;
        }
        self.iterations.inc_by(batch.len() as u64);
        let mut lag = self.lag.batch(0.0);
        for it in batch {
            lag.observe(it.lag.as_secs_f64(), None);
        }
        drop(lag);
        for run in batch.chunk_by(|a, b| a.journey == b.journey) {
            let failed = run.iter().filter(|it| !it.ok).count() as u64;
            let name = journeys.get(run[0].journey as usize);
            self.journey(name.map_or("", String::as_str), |c| {
                c[0].inc_by(run.len() as u64 - failed);
                c[1].inc_by(failed);
            });
        }
    }

    fn iteration(&self, journey: &str, lag: Duration, ok: bool) {
        self.iterations.inc();
        self.lag.observe(lag.as_secs_f64());
        self.journey(journey, |c| {
            c[usize::from(!ok)].inc();
        });
    }

    fn window_judged(&self, threshold: &str, value: Option<f64>, breached: bool) {
        let l = ThresholdLabels {
            scenario: self.scenario.clone(),
            threshold: threshold.to_owned(),
        };
        self.f
            .window_observed
            .get_or_create(&l)
            .set(value.unwrap_or(f64::NAN));
        self.f
            .window_breached
            .get_or_create(&l)
            .set(i64::from(breached));
        self.known.with(&self.scenario, |k| {
            k.thresholds.insert(l);
        });
    }

    fn ws(&self, request: usize, event: WsEvent) {
        let Some(s) = self.ws_series(request) else {
            return;
        };
        match event {
            WsEvent::Connect(d, true) => s.connecting.observe(d.as_secs_f64()),
            WsEvent::Connect(_, false) => {}
            WsEvent::Sent => _ = s.messages[0].inc(),
            WsEvent::Received(rtt) => {
                s.messages[1].inc();
                if let Some(d) = rtt {
                    s.message.observe(d.as_secs_f64());
                }
            }
            WsEvent::Lost => _ = s.messages[2].inc(),
            WsEvent::Reconnect => _ = s.reconnects.inc(),
            WsEvent::SessionEnd { dropped } => _ = s.sessions[usize::from(dropped)].inc(),
        }
    }

    fn dropped_iteration(&self) {
        self.dropped.inc();
    }

    fn retry(&self, request: usize, reason: &'static str) {
        let Some(r) = self.requests.get(request) else {
            return;
        };
        if let Some(i) = RETRY_REASONS.iter().position(|x| *x == reason) {
            r.retries[i].inc();
        }
    }
}
