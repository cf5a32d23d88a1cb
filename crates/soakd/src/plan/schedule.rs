//! When a scenario runs: manual, cron (5 or 6 fields, IANA timezone), or continuous.
//!
//! Fire times are computed in the scenario's own timezone with chrono-tz, so 05:00
//! Europe/Berlin stays 05:00 local on both sides of a DST change (tokio-cron-scheduler keeps a
//! fixed UTC offset, which drifts by an hour twice a year).

use super::errors::Errors;
use crate::config::RawSchedule;
use chrono::{DateTime, Timelike, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds};

#[derive(Debug, Clone)]
pub enum Schedule {
    Manual,
    Continuous,
    Cron {
        /// As written, for display.
        expr: String,
        cron: Box<Cron>,
        tz: Tz,
    },
}

impl Schedule {
    /// The next fire strictly after `after`, in UTC; None for manual and continuous.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            // Cron has whole-second resolution; drop the fraction so fires land on the second.
            Schedule::Cron { cron, tz, .. } => cron
                .find_next_occurrence(
                    &after.with_nanosecond(0).unwrap_or(after).with_timezone(tz),
                    false,
                )
                .ok()
                .map(|t| t.with_timezone(&Utc)),
            _ => None,
        }
    }

    /// The next `n` fires after `after`.
    pub fn next_fires(&self, after: DateTime<Utc>, n: usize) -> Vec<DateTime<Utc>> {
        let mut out = Vec::with_capacity(n);
        let mut t = after;
        while out.len() < n {
            match self.next_after(t) {
                Some(next) => {
                    out.push(next);
                    t = next;
                }
                None => break,
            }
        }
        out
    }

    pub fn describe(&self) -> String {
        match self {
            Schedule::Manual => "manual".into(),
            Schedule::Continuous => "continuous".into(),
            Schedule::Cron { expr, tz, .. } => format!("cron {expr:?} ({tz})"),
        }
    }

    /// Same schedule (cron expression and zone) — used to decide whether a reload changed it.
    pub fn same_as(&self, other: &Schedule) -> bool {
        self.describe() == other.describe()
    }
}

/// Parses a cron expression with 5 fields (minute precision) or 6 (seconds first).
pub fn parse_cron(expr: &str) -> Result<Cron, CronError> {
    let fields = expr.split_whitespace().count();
    if fields != 5 && fields != 6 && !expr.trim_start().starts_with('@') {
        return Err(CronError::FieldCount {
            expr: expr.to_string(),
            fields,
        });
    }
    CronParser::builder()
        .seconds(Seconds::Optional)
        .build()
        .parse(expr)
        .map_err(|err| {
            let reason = out_of_range(expr).unwrap_or_else(|| {
                let text = err.to_string();
                text.strip_prefix("Component error: ")
                    .unwrap_or(&text)
                    .to_string()
            });
            CronError::Invalid {
                expr: expr.to_string(),
                reason,
            }
        })
}

/// Why `schedule.cron` is not a cron expression.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CronError {
    #[error(
        "{expr:?} is not a cron expression: expected 5 fields (min hour day month weekday) or 6 (with seconds first), found {fields}"
    )]
    FieldCount { expr: String, fields: usize },
    /// croner refused it; `reason` names the field of a number out of range where it can.
    #[error("{expr:?} is not a cron expression: {reason}")]
    Invalid { expr: String, reason: String },
}

/// Names the field of a number out of range (`hour 25 is out of range (0-23)`), which croner
/// only reports as "Number out of bounds".
fn out_of_range(expr: &str) -> Option<String> {
    const FIELDS: [(&str, u32, u32); 6] = [
        ("second", 0, 59),
        ("minute", 0, 59),
        ("hour", 0, 23),
        ("day of month", 1, 31),
        ("month", 1, 12),
        ("day of week", 0, 7),
    ];
    let parts: Vec<&str> = expr.split_whitespace().collect();
    let fields = &FIELDS[FIELDS.len() - parts.len().min(FIELDS.len())..];
    parts.iter().zip(fields).find_map(|(part, (name, lo, hi))| {
        part.split([',', '-', '/'])
            .filter_map(|n| n.parse::<u32>().ok())
            .find(|n| n < lo || n > hi)
            .map(|n| format!("{name} {n} is out of range ({lo}-{hi})"))
    })
}

pub fn compile_schedule(raw: &Option<RawSchedule>, path: &str, e: &mut Errors) -> Schedule {
    match raw {
        None => Schedule::Manual,
        Some(RawSchedule::Word(w)) if w == "manual" => Schedule::Manual,
        Some(RawSchedule::Word(w)) => {
            e.push(
                path,
                format!("{w:?} is not a schedule (use manual, {{ cron: ... }} or {{ continuous: true }})"),
            );
            Schedule::Manual
        }
        Some(RawSchedule::Continuous(c)) => {
            if c.continuous {
                Schedule::Continuous
            } else {
                Schedule::Manual
            }
        }
        Some(RawSchedule::Cron(c)) => {
            let tz_name = c.timezone.as_deref().unwrap_or("UTC");
            let tz = match tz_name.parse::<Tz>() {
                Ok(tz) => tz,
                Err(_) => {
                    e.push(
                        format!("{path}.timezone"),
                        format!("{tz_name:?} is not an IANA timezone (e.g. UTC, Europe/Berlin)"),
                    );
                    Tz::UTC
                }
            };
            match parse_cron(&c.cron) {
                Ok(cron) => Schedule::Cron {
                    expr: c.cron.clone(),
                    cron: Box::new(cron),
                    tz,
                },
                Err(msg) => {
                    e.push(format!("{path}.cron"), msg);
                    Schedule::Manual
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn berlin_5am() -> Schedule {
        Schedule::Cron {
            expr: "0 5 * * *".into(),
            cron: Box::new(parse_cron("0 5 * * *").unwrap()),
            tz: chrono_tz::Europe::Berlin,
        }
    }

    #[test]
    fn five_am_berlin_stays_five_am_local_across_the_march_dst_change() {
        // 2026-03-29 is the spring-forward day in Europe: CET (+1) → CEST (+2).
        let after = Utc.with_ymd_and_hms(2026, 3, 27, 12, 0, 0).unwrap();
        let fires = berlin_5am().next_fires(after, 3);
        let hours: Vec<u32> = fires.iter().map(chrono::Timelike::hour).collect();
        assert_eq!(hours, vec![4, 3, 3], "UTC hours of 05:00 local: {fires:?}");
    }

    #[test]
    fn five_am_berlin_stays_five_am_local_across_the_october_dst_change() {
        // 2026-10-25: CEST (+2) → CET (+1).
        let after = Utc.with_ymd_and_hms(2026, 10, 23, 12, 0, 0).unwrap();
        let fires = berlin_5am().next_fires(after, 3);
        let hours: Vec<u32> = fires.iter().map(chrono::Timelike::hour).collect();
        assert_eq!(hours, vec![3, 4, 4], "UTC hours of 05:00 local: {fires:?}");
    }

    #[test]
    fn six_field_cron_has_seconds() {
        let s = Schedule::Cron {
            expr: "*/2 * * * * *".into(),
            cron: Box::new(parse_cron("*/2 * * * * *").unwrap()),
            tz: Tz::UTC,
        };
        let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 1).unwrap();
        let fires = s.next_fires(t0, 2);
        assert_eq!(fires[0], Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 2).unwrap());
        assert_eq!(fires[1], Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 4).unwrap());
    }

    #[test]
    fn bad_cron_is_quoted() {
        let err = parse_cron("0 25 * * *").unwrap_err();
        assert!(matches!(err, CronError::Invalid { .. }), "{err:?}");
        assert!(
            err.to_string()
                .starts_with("\"0 25 * * *\" is not a cron expression"),
            "{err}"
        );
        assert!(matches!(
            parse_cron("every day"),
            Err(CronError::FieldCount { fields: 2, .. })
        ));
    }
}
