//! `soakd_results_*`: the results uploader's counters (`results.object_store`), and the
//! [`UploadObserver`] through which the uploader (in `state`, left of telemetry) moves them.
//! Every failure reason is exported at 0 from the start, so `increase()` sees the first one.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::state::upload::{FAILURE_REASONS, UploadObserver};

#[derive(Clone, Debug, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct ReasonLabels {
    pub reason: String,
}

#[derive(Clone, Debug, Default)]
pub struct UploadFamilies {
    uploads: Counter,
    failures: Family<ReasonLabels, Counter>,
    pending: Gauge,
    pruned: Counter,
}

impl UploadFamilies {
    pub fn register(&self, r: &mut Registry) {
        r.register(
            "soakd_results_uploads",
            "Result files (summaries, reports, exports) written to results.object_store",
            self.uploads.clone(),
        );
        r.register(
            "soakd_results_upload_failures",
            "Failed steps of the results uploader by reason (put, read, queue_full, list, delete); every retry of a put counts",
            self.failures.clone(),
        );
        r.register(
            "soakd_results_upload_pending",
            "Result files waiting for upload, including one being retried",
            self.pending.clone(),
        );
        r.register(
            "soakd_results_pruned_objects",
            "Objects deleted from results.object_store by retention",
            self.pruned.clone(),
        );
        for reason in FAILURE_REASONS {
            self.failure(reason);
        }
    }

    fn failure(&self, reason: &str) -> Counter {
        self.failures
            .get_or_create(&ReasonLabels {
                reason: reason.to_owned(),
            })
            .clone()
    }
}

impl UploadObserver for UploadFamilies {
    fn uploaded(&self) {
        self.uploads.inc();
    }

    fn failed(&self, reason: &'static str) {
        self.failure(reason).inc();
    }

    fn pending(&self, n: usize) {
        self.pending.set(n as i64);
    }

    fn pruned(&self, n: usize) {
        self.pruned.inc_by(n as u64);
    }
}
