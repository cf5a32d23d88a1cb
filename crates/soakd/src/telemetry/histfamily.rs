//! A family of [`Hist`] series keyed by a label set, with the small part of
//! prometheus-client's `Family` API the telemetry code uses (`get_or_create_owned`, `remove`),
//! plus what soakd's own encoders need: every series with its label pairs.

use super::hist::{Hist, Snapshot};
use super::labels::escape_label_value;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, RwLock};

/// A label set of a histogram family.
pub trait SeriesLabels: Clone + Eq + Hash + Send + Sync + 'static {
    /// (name, value) pairs in exposition order, values unescaped.
    fn pairs(&self) -> Vec<(&'static str, &str)>;

    /// `k="v",...` (no braces), values escaped for the text formats.
    fn write_text(&self, out: &mut String) {
        for (i, (k, v)) in self.pairs().into_iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(k);
            out.push_str("=\"");
            out.push_str(&escape_label_value(v));
            out.push('"');
        }
    }
}

/// One series as the encoders see it.
pub struct Series {
    /// Label pairs, values unescaped (protobuf).
    pub pairs: Vec<(&'static str, String)>,
    /// `k="v",...`, values escaped (text formats).
    pub text: String,
    pub snapshot: Snapshot,
}

/// Histogram series by label set; every series shares the family's classic bounds.
#[derive(Clone, Debug)]
pub struct HistFamily<L> {
    bounds: Arc<[f64]>,
    series: Arc<RwLock<HashMap<L, Hist>>>,
}

impl<L: SeriesLabels> HistFamily<L> {
    pub fn new(bounds: impl Into<Arc<[f64]>>) -> Self {
        HistFamily {
            bounds: bounds.into(),
            series: Default::default(),
        }
    }

    /// The series of `labels`, created empty on first use.
    pub fn get_or_create_owned(&self, labels: &L) -> Hist {
        if let Some(h) = self
            .series
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(labels)
        {
            return h.clone();
        }
        let mut w = self.series.write().unwrap_or_else(|p| p.into_inner());
        w.entry(labels.clone())
            .or_insert_with(|| Hist::new(self.bounds.clone()))
            .clone()
    }

    /// Drops the series of `labels`; true if it existed. Handles still held keep counting into
    /// a series that is no longer exposed.
    pub fn remove(&self, labels: &L) -> bool {
        self.series
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(labels)
            .is_some()
    }

    /// Every series with its labels and a snapshot, sorted by label text (stable scrapes).
    pub fn collect(&self) -> Vec<Series> {
        let handles: Vec<(L, Hist)> = self
            .series
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(l, h)| (l.clone(), h.clone()))
            .collect();
        let mut out: Vec<Series> = handles
            .into_iter()
            .map(|(l, h)| {
                let mut text = String::new();
                l.write_text(&mut text);
                Series {
                    pairs: l
                        .pairs()
                        .into_iter()
                        .map(|(k, v)| (k, v.to_owned()))
                        .collect(),
                    text,
                    snapshot: h.snapshot(),
                }
            })
            .collect();
        out.sort_by(|a, b| a.text.cmp(&b.text));
        out
    }
}
