//! Decisions and their JSON Lines form (SPEC sections 7 and 12).

use crate::deployment::VersionId;
use kensa_compiler::value::Value;
use serde_json::{Map, Value as Json};
use std::sync::Arc;

/// The score band of a decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScoreLevel {
    /// score >= 86
    High,
    /// 60 <= score < 86
    Medium,
    /// score < 60
    Low,
    /// no score (missing or skipped)
    None,
}

impl ScoreLevel {
    /// The band of a score.
    pub fn of(score: Option<f64>) -> ScoreLevel {
        match score {
            Some(s) if s >= 86.0 => ScoreLevel::High,
            Some(s) if s >= 60.0 => ScoreLevel::Medium,
            Some(_) => ScoreLevel::Low,
            None => ScoreLevel::None,
        }
    }

    /// The name as written in decisions.
    pub fn as_str(self) -> &'static str {
        match self {
            ScoreLevel::High => "high",
            ScoreLevel::Medium => "medium",
            ScoreLevel::Low => "low",
            ScoreLevel::None => "none",
        }
    }
}

/// What one matched rule read.
#[derive(Clone, Debug, PartialEq)]
pub struct Explained {
    /// The rule id.
    pub rule: String,
    /// Each field path or velocity name its condition reads, with its value.
    pub reads: Vec<(String, Value)>,
}

/// The decision on one event.
#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    /// `event.id` when it is a string.
    pub event_id: Option<Arc<str>>,
    /// The highest-precedence matched outcome, or `none`.
    pub outcome: Arc<str>,
    /// Its code.
    pub code: u32,
    /// Matched rule ids: by outcome precedence, then priority, then source order.
    pub matched: Vec<Arc<str>>,
    /// True when a matched phase-1 rule skipped scoring.
    pub skip_scoring: bool,
    /// The score used (missing or skipped: `None`).
    pub score: Option<f64>,
    /// The score's band.
    pub score_level: ScoreLevel,
    /// With `explain`: what each matched rule read.
    pub explain: Option<Vec<Explained>>,
    /// The deployed version that decided (for a host's audit log; not part
    /// of the JSON form, which the SPEC fixes).
    pub version: VersionId,
}

impl Decision {
    /// The decision as one JSON object, keys in the SPEC's order.
    pub fn to_json(&self) -> Json {
        let mut m = Map::new();
        m.insert("event_id".into(), self.event_id.as_deref().map_or(Json::Null, |id| Json::String(id.to_string())));
        m.insert("decision".into(), Json::String(self.outcome.to_string()));
        m.insert("code".into(), Json::from(self.code));
        m.insert("matched".into(), Json::Array(self.matched.iter().map(|id| Json::String(id.to_string())).collect()));
        m.insert("skip_scoring".into(), Json::Bool(self.skip_scoring));
        m.insert("score".into(), self.score.map_or(Json::Null, kensa_dsl::literal::json_number));
        m.insert("score_level".into(), Json::String(self.score_level.as_str().to_string()));
        if let Some(explain) = &self.explain {
            let mut e = Map::new();
            for x in explain {
                let reads: Map<String, Json> = x.reads.iter().map(|(k, v)| (k.clone(), value_json(v))).collect();
                e.insert(x.rule.clone(), Json::Object(reads));
            }
            m.insert("explain".into(), Json::Object(e));
        }
        Json::Object(m)
    }
}

/// The error record of an invalid event.
pub fn error_json(event_id: Option<&str>, message: &str) -> Json {
    let mut m = Map::new();
    m.insert("event_id".into(), event_id.map_or(Json::Null, |s| Json::String(s.to_string())));
    m.insert("error".into(), Json::String(message.to_string()));
    Json::Object(m)
}

/// A value as JSON: missing is null, timestamps RFC 3339 with milliseconds
/// in UTC, durations whole milliseconds, IP addresses as text.
pub fn value_json(v: &Value) -> Json {
    match v {
        Value::Missing => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Number(n) => kensa_dsl::literal::json_number(*n),
        Value::Str(s) => Json::String(s.to_string()),
        Value::Ip(a) => Json::String(a.to_string()),
        Value::Timestamp(t) => Json::String(format_time(*t)),
        Value::Duration(d) => Json::from(*d),
        Value::StrList(xs) => Json::Array(xs.iter().map(|x| Json::String(x.to_string())).collect()),
    }
}

/// `2026-01-01T00:00:00.000Z`.
pub fn format_time(ms: i64) -> String {
    let mut s = String::with_capacity(24);
    write_time(&mut s, ms);
    s
}

/// Appends [`format_time`]'s text to `out`.
pub fn write_time(out: &mut String, ms: i64) {
    /// 0000-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z: the times
    /// written with four-digit years, which is every time a history holds.
    const FOUR_DIGIT_YEARS: std::ops::RangeInclusive<i64> = -62_167_219_200_000..=253_402_300_799_999;
    if FOUR_DIGIT_YEARS.contains(&ms) {
        // Composed from integer arithmetic in one buffer and appended in
        // one copy: a replay writes one time a row, and the formatting
        // machinery (and the calendar types around it) took most of a
        // row's cost.
        let (year, month, day) = civil_date(ms.div_euclid(DAY_MS));
        let in_day = ms.rem_euclid(DAY_MS).unsigned_abs();
        let [y0, y1, y2, y3] = digits(year);
        let [mo0, mo1] = digits(month);
        let [d0, d1] = digits(day);
        let [h0, h1] = digits(in_day / 3_600_000);
        let [mi0, mi1] = digits(in_day / 60_000 % 60);
        let [s0, s1] = digits(in_day / 1_000 % 60);
        let [ms0, ms1, ms2] = digits(in_day % 1_000);
        let text = [
            y0, y1, y2, y3, b'-', mo0, mo1, b'-', d0, d1, b'T', h0, h1, b':', mi0, mi1, b':', s0, s1, b'.', ms0, ms1, ms2, b'Z',
        ];
        // ASCII digits and separators: always valid UTF-8.
        out.push_str(std::str::from_utf8(&text).unwrap_or_default());
        return;
    }
    use chrono::{Datelike, Timelike};
    use std::fmt::Write;
    let Some(t) = chrono::DateTime::from_timestamp_millis(ms) else {
        // Writing to a String cannot fail.
        let _ = write!(out, "{ms}");
        return;
    };
    // Years outside four digits (a sign, or a fifth digit) as `{:04}`
    // writes them.
    let _ = write!(
        out,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.timestamp_subsec_millis()
    );
}

/// The last `N` decimal digits of `n`, zero-padded, as ASCII.
fn digits<const N: usize>(mut n: u64) -> [u8; N] {
    let mut text = [b'0'; N];
    for d in text.iter_mut().rev() {
        // Below 10: the cast is exact.
        #[allow(clippy::cast_possible_truncation)]
        let digit = (n % 10) as u8;
        *d = b'0' + digit;
        n /= 10;
    }
    text
}

/// Milliseconds in a day.
const DAY_MS: i64 = 86_400_000;

/// The proleptic Gregorian (year, month, day) of a day count since
/// 1970-01-01, for days in years 0 to 9999 (the caller's range; the year
/// is then never negative). The days are counted in 400-year eras from
/// 0000-03-01, so that the leap day ends a year.
fn civil_date(days: i64) -> (u64, u64, u64) {
    let shifted = days + 719_468; // days since 0000-03-01
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097); // 0..=146_096
    let year_of_era = (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365; // 0..=399
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100); // 0..=365
    let month_from_march = (5 * day_of_year + 2) / 153; // 0..=11
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 { month_from_march + 3 } else { month_from_march - 9 };
    let year = era * 400 + year_of_era + i64::from(month <= 2);
    (year.unsigned_abs(), month.unsigned_abs(), day.unsigned_abs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_written_as_rfc_3339_with_milliseconds() {
        // Every day boundary region from year 0 to 9999 in uneven steps, and
        // the edges of the four-digit years.
        let mut samples: Vec<i64> = (0..20_000i64).map(|i| -62_167_219_200_000 + i * 15_778_463_017).collect();
        samples.extend([0, 1, 999, 1_767_225_601_418, -1, -62_167_219_200_000, 253_402_300_799_999]);
        for ms in samples {
            let t = chrono::DateTime::from_timestamp_millis(ms).unwrap();
            let mut written = String::new();
            write_time(&mut written, ms);
            assert_eq!(written, t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true), "{ms}");
        }
        // Outside four-digit years, and outside what a time can be.
        for (ms, text) in [(253_402_300_800_000, "10000-01-01T00:00:00.000Z"), (-62_167_219_200_001, "-001-12-31T23:59:59.999Z"), (i64::MAX, "9223372036854775807")] {
            let mut written = String::new();
            write_time(&mut written, ms);
            assert_eq!(written, text);
        }
    }

    #[test]
    fn every_day_of_a_400_year_cycle_is_the_calendar_date() {
        // One full cycle of the Gregorian calendar around the epoch, a
        // different time of day each day, plus the first and last days of
        // the four-digit years.
        let days = (-73_048..=73_048i64).chain([-719_528, -719_527, 2_932_895]);
        for (i, day) in days.enumerate() {
            let ms = day * 86_400_000 + (i as i64 * 7_919_711) % 86_400_000;
            let mut written = String::new();
            write_time(&mut written, ms);
            let t = chrono::DateTime::from_timestamp_millis(ms).unwrap();
            assert_eq!(written, t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true), "{ms}");
        }
    }

    #[test]
    fn score_levels_at_their_boundaries() {
        assert_eq!(ScoreLevel::of(Some(86.0)), ScoreLevel::High);
        assert_eq!(ScoreLevel::of(Some(85.999)), ScoreLevel::Medium);
        assert_eq!(ScoreLevel::of(Some(60.0)), ScoreLevel::Medium);
        assert_eq!(ScoreLevel::of(Some(59.99)), ScoreLevel::Low);
        assert_eq!(ScoreLevel::of(None), ScoreLevel::None);
    }

    #[test]
    fn decision_json_has_the_spec_shape() {
        let d = Decision {
            event_id: Some("e1".into()),
            outcome: Arc::from("block"),
            code: 30,
            matched: vec![Arc::from("ipaddress_BlockList")],
            skip_scoring: false,
            score: Some(40.0),
            score_level: ScoreLevel::Low,
            explain: None,
            version: VersionId(1),
        };
        assert_eq!(
            serde_json::to_string(&d.to_json()).unwrap(),
            r#"{"event_id":"e1","decision":"block","code":30,"matched":["ipaddress_BlockList"],"skip_scoring":false,"score":40,"score_level":"low"}"#
        );
        assert_eq!(format_time(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_time(1_767_225_600_123), "2026-01-01T00:00:00.123Z");
        assert_eq!(format_time(-1), "1969-12-31T23:59:59.999Z");
    }
}
