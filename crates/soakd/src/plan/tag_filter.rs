//! Tag filters of threshold keys (`http_req_duration{group:api_read}`), parsed by k6's rules.
//!
//! A k6 user's keys must mean the same here: k6's `ParseMetricName` and `AddSubmetric` decide
//! where the tags start and end and how values are trimmed and unquoted (pinned by
//! tests/k6_parity.rs). soakd only knows its own request tags, so an unknown tag is an error.

use super::threshold::{Metric, ThresholdError, ThresholdError as E};
use std::fmt;

/// The request tags a threshold can filter on; `request` is the mix entry's name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TagKey {
    Request,
    Group,
    Method,
    Status,
    /// The mix entry (journey) a request belongs to.
    Journey,
    /// A named stage of the load (`stages[].name`): the samples that ended while it ran. Not a
    /// per-sample tag: the run slices its snapshots at the stage's bounds (`run::stages`).
    Stage,
}

/// `{group:api_read,method:GET}` — all must match. Empty = no filter.
///
/// Sorted by key (request, group, method, status) so that two spellings of the same filter are
/// equal, hash alike and produce the same label.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct TagFilter(pub Vec<(TagKey, String)>);

impl TagKey {
    pub fn as_str(self) -> &'static str {
        match self {
            TagKey::Request => "request",
            TagKey::Group => "group",
            TagKey::Method => "method",
            TagKey::Status => "status",
            TagKey::Journey => "journey",
            TagKey::Stage => "stage",
        }
    }

    pub fn from_name(name: &str) -> Option<TagKey> {
        [
            TagKey::Request,
            TagKey::Group,
            TagKey::Method,
            TagKey::Status,
            TagKey::Journey,
            TagKey::Stage,
        ]
        .into_iter()
        .find(|k| k.as_str() == name)
    }
}

impl TagFilter {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The value this filter requires for `key`, if any.
    pub fn get(&self, key: TagKey) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// `{group:api_read,method:GET}`, or nothing for an empty filter.
impl fmt::Display for TagFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return Ok(());
        }
        f.write_str("{")?;
        for (i, (k, v)) in self.0.iter().enumerate() {
            let sep = if i == 0 { "" } else { "," };
            write!(f, "{sep}{}:{v}", k.as_str())?;
        }
        f.write_str("}")
    }
}

/// Parse a thresholds map key such as `http_req_duration{group:api_read}`.
///
/// As in k6 (`metrics.ParseMetricName`, `Metric.AddSubmetric`): the tags run from the first `{`
/// to the last `}`, which must end the key, so a value may hold `{`, `}` and `:` (k6 issue
/// 2512); tags are split at `,` and each at its first `:`; keys and values are trimmed and lose
/// surrounding quotes (`{status:"200"}` is `{status:200}`); k6's group path prefix `::` is
/// dropped (`{group:::api_read}` is `{group:api_read}`). `metric{}` is an error, as in k6.
pub fn parse_metric_key(key: &str) -> Result<(Metric, TagFilter), ThresholdError> {
    let key = key.trim();
    let (name, tags) = match key.split_once('{') {
        Some((name, tags)) => (name.trim(), Some(tags)),
        None => (key, None),
    };
    let metric = Metric::from_name(name).ok_or_else(|| E::UnknownMetric { name: name.into() })?;
    let Some(tags) = tags else {
        return Ok((metric, TagFilter::default()));
    };
    let (body, rest) = tags
        .rsplit_once('}')
        .ok_or_else(|| E::UnclosedTags { key: key.into() })?;
    if !rest.trim().is_empty() {
        let rest = rest.trim().into();
        return Err(E::TrailingAfterTags {
            key: key.into(),
            rest,
        });
    }
    if body.trim().is_empty() {
        return Err(E::EmptyFilter { key: key.into() });
    }
    let unquote = |t: &str| t.trim().trim_matches(['"', '\'']).to_string();
    let mut filter = Vec::new();
    for part in body.split(',') {
        let (k, v) = part.split_once(':').ok_or_else(|| E::BadTag {
            part: part.trim().into(),
        })?;
        let k = unquote(k);
        let tag = TagKey::from_name(&k).ok_or_else(|| E::UnknownTag { key: k.clone() })?;
        let mut v = unquote(v);
        if tag == TagKey::Group
            && let Some(plain) = v.strip_prefix("::")
        {
            v = plain.to_string();
        }
        if v.is_empty() {
            return Err(E::EmptyTagValue { key: k });
        }
        if filter.iter().any(|(seen, _)| *seen == tag) {
            return Err(E::DuplicateTag { key: k });
        }
        filter.push((tag, v));
    }
    if !metric.takes_tags() {
        return Err(E::TagsNotSupported {
            metric: metric.as_str(),
        });
    }
    filter.sort_by_key(|(k, _)| *k);
    Ok((metric, TagFilter(filter)))
}
