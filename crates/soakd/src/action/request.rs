//! One request step of an iteration: build (or take the request encoded once), send on the
//! VU's own connection, record the outcome, follow pagination cursors.

use super::guards::InFlight;
use super::{Actor, Ctx, Vu, extract, prepare};
use crate::client::{FailureReason, TraceParent};
use crate::plan::RequestStep;
use std::time::Instant;

impl Actor {
    /// One request step (all its pages), its latency counted from `at.0` and its timeout from
    /// `at.1`: whether every page succeeded and passed its checks, and when the last one ended.
    pub(super) async fn request(
        &self,
        vu: &mut Vu,
        r: &RequestStep,
        ctx: &mut Ctx,
        at: (Instant, Instant),
        open: bool,
    ) -> (bool, Instant) {
        let (mut from, mut sent) = at;
        let mut end = sent;
        let p = &self.prepared[r.index];
        let pages = r.paginate.as_ref().map_or(1, |pg| pg.max_pages);
        let mut cursor: Option<String> = None;
        let mut all_ok = true;
        for _ in 0..pages {
            if let Some(l) = &self.limiter {
                l.acquire().await;
                // A closed model's request starts when its slot comes; an open model's latency
                // keeps counting from the intended start (generator-side delay is measured).
                sent = Instant::now();
                if !open {
                    from = sent;
                }
            }
            let value = p.needs_context().then(|| self.context(vu, ctx).clone());
            let page = cursor
                .as_deref()
                .zip(r.paginate.as_ref())
                .map(|(c, pg)| (pg.param.as_str(), c));
            let trace = self.trace(vu);
            let build = || {
                p.build(
                    r,
                    &self.scenario.templates,
                    value.as_ref(),
                    page,
                    &self.scenario.allowed_hosts,
                )
            };
            let outcome = match p.fixed().filter(|_| page.is_none()) {
                // Static: encoded once per run, copied into the connection's buffer.
                Some(fixed) => {
                    let mut flight = self.in_flight(vu.id, r, from);
                    let (outcome, retried) = self
                        .client
                        .send_sticky_fixed(
                            &mut vu.conn,
                            fixed,
                            sent + r.timeout,
                            self.scenario.retry_on_reused_connection,
                            trace.map(|(id, span)| TraceParent::new(id, span)),
                        )
                        .await;
                    flight.landed(retried);
                    outcome
                }
                None => match build() {
                    Ok(req) => {
                        let again = || build().ok();
                        let mut flight = self.in_flight(vu.id, r, from);
                        let (outcome, retried) = self
                            .client
                            .send_sticky_counted(
                                &mut vu.conn,
                                req,
                                sent + r.timeout,
                                self.scenario.retry_on_reused_connection,
                                trace.map(|(id, span)| TraceParent::new(id, span)),
                                again,
                            )
                            .await;
                        flight.landed(retried);
                        outcome
                    }
                    Err(e @ prepare::BuildError::HostNotAllowed) => {
                        // Never sent; reported once per run, naming the request, not the URL (its
                        // host may be built from a secret).
                        if !self
                            .host_warned
                            .swap(true, std::sync::atomic::Ordering::Relaxed)
                        {
                            let request = &self.scenario.requests[r.index].name;
                            tracing::warn!(scenario = %self.scenario.name, request, "{e}; request not sent");
                        }
                        Err(FailureReason::NotAllowed)
                    }
                    Err(e) => {
                        // A render error (undefined value, a failing function, a rendered URL or
                        // header that is not valid): nothing was sent. Logged once per template.
                        let first = self
                            .template_warned
                            .lock()
                            .map(|mut seen| seen.insert(r.index))
                            .unwrap_or(false);
                        if first {
                            let request = &self.scenario.requests[r.index].name;
                            tracing::warn!(scenario = %self.scenario.name, request, error = %e, "template did not render; request not sent");
                        }
                        Err(FailureReason::Template)
                    }
                },
            };
            end = Instant::now();
            let latency = end.saturating_duration_since(from);
            self.record(
                vu.id,
                r,
                &outcome,
                (latency, trace.map(|t| t.0)),
                &mut all_ok,
            );
            let Ok(resp) = outcome else { break };
            if !r.extract.is_empty() {
                extract::apply(&r.extract, &resp, &mut vu.vars);
                ctx.value = None;
            }
            cursor = r
                .paginate
                .as_ref()
                .and_then(|pg| extract::cursor(&pg.next, &resp));
            if cursor.is_none() {
                break;
            }
            from = Instant::now();
            sent = from;
        }
        (all_ok, end)
    }

    /// The guard of a request about to go on the wire (see [`InFlight`]).
    fn in_flight(&self, vu: u32, r: &RequestStep, from: Instant) -> InFlight<'_> {
        InFlight {
            recorder: &self.recorder,
            vu,
            request: r.index,
            checks: r.checks.len(),
            from,
            armed: true,
        }
    }
}
