//! The samples between two snapshots of one run: what a windowed threshold (`window: 1m`) is
//! judged on. Every number a snapshot holds is cumulative (counts only grow; HdrHistograms only
//! gain samples), so the window `(t0, t1]` is exactly `snapshot(t1) − snapshot(t0)`: counters
//! subtract, histograms subtract bucket by bucket. Nothing is sampled or approximated.

use super::hist::Hist;
use super::snapshot::RunSnapshot;
use super::ws::WsCell;
use super::{RequestCell, Shard};
use hdrhistogram::Histogram;

fn minus(h: &mut Hist, earlier: &Hist) {
    // `earlier` is a prefix of `h`'s samples; a failure would mean a reset, which never happens
    // within a run: keep the later histogram whole rather than invent counts.
    let _ = h.subtract(earlier);
}

fn minus_dense(h: &mut Histogram<u64>, earlier: &Histogram<u64>) {
    // As `minus`, for the WebSocket histograms.
    let _ = h.subtract(earlier);
}

impl RequestCell {
    fn subtract(&mut self, earlier: &RequestCell) {
        for sc in &mut self.by_status {
            if let Some(e) = earlier.by_status.iter().find(|e| e.status == sc.status) {
                sc.count = sc.count.saturating_sub(e.count);
                sc.failed = sc.failed.saturating_sub(e.failed);
                minus(&mut sc.latency, &e.latency);
            }
        }
        self.by_status.retain(|sc| sc.count > 0);
        for (x, y) in self.checks.iter_mut().zip(&earlier.checks) {
            x[0] = x[0].saturating_sub(y[0]);
            x[1] = x[1].saturating_sub(y[1]);
        }
        for (x, y) in self.reasons.iter_mut().zip(&earlier.reasons) {
            *x = x.saturating_sub(*y);
        }
    }
}

impl WsCell {
    fn subtract(&mut self, e: &WsCell) {
        minus_dense(&mut self.connecting, &e.connecting);
        minus_dense(&mut self.msg_latency, &e.msg_latency);
        self.sessions = self.sessions.saturating_sub(e.sessions);
        self.dropped = self.dropped.saturating_sub(e.dropped);
        self.sent = self.sent.saturating_sub(e.sent);
        self.received = self.received.saturating_sub(e.received);
        self.lost = self.lost.saturating_sub(e.lost);
        self.reconnects = self.reconnects.saturating_sub(e.reconnects);
        self.connect_failures = self.connect_failures.saturating_sub(e.connect_failures);
    }
}

impl Shard {
    fn subtract(&mut self, earlier: &Shard) {
        for (a, b) in self.requests.iter_mut().zip(&earlier.requests) {
            a.subtract(b);
        }
        for (a, b) in self.journeys.iter_mut().zip(&earlier.journeys) {
            a[0] = a[0].saturating_sub(b[0]);
            a[1] = a[1].saturating_sub(b[1]);
        }
        if let (Some(ws), Some(e)) = (self.ws.as_mut(), earlier.ws.as_ref()) {
            ws.subtract(e);
        }
        minus(&mut self.iteration, &earlier.iteration);
        minus(&mut self.lag, &earlier.lag);
    }
}

impl RunSnapshot {
    /// The samples after `earlier` (a snapshot of the same run taken before this one), with
    /// the elapsed time of that window; no timeline, notable requests or VU samples.
    pub fn since(&self, earlier: &RunSnapshot) -> RunSnapshot {
        let mut shard = self.shard_clone();
        shard.subtract(earlier.shard_ref());
        let mut d = RunSnapshot::from_parts(
            self,
            shard,
            self.iterations.saturating_sub(earlier.iterations),
            self.dropped.saturating_sub(earlier.dropped),
            self.elapsed.saturating_sub(earlier.elapsed),
        );
        d.interrupted = self.interrupted.saturating_sub(earlier.interrupted);
        d.retries = self.retries.saturating_sub(earlier.retries);
        d
    }
}
