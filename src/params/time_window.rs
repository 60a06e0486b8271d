//! Time windows for the actions that query intervals: their shared parameters ([`TimeWindow`]),
//! parsing the ISO-8601 times people type, the named time frames, and the clock (which tests and
//! replays may pin).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Duration, OffsetDateTime, PrimitiveDateTime, UtcOffset};

use super::{parameters, Choice};
use crate::error::{Error, Result};

/// Environment variable that pins "now" (RFC 3339), for tests and for replaying a past run.
pub(crate) const ENV_NOW: &str = "PROOFPOINT_TAP_NOW";

/// The time the run treats as now: [`ENV_NOW`] when set, else the system clock.
pub(crate) fn now(env: &dyn Fn(&str) -> Option<String>) -> Result<OffsetDateTime> {
    match env(ENV_NOW).filter(|v| !v.trim().is_empty()) {
        None => Ok(OffsetDateTime::now_utc()),
        Some(v) => parse(&v).ok_or_else(|| {
            Error::invalid_parameter(format!(
                "{ENV_NOW} must be a time such as 2021-03-25T12:00:00Z, not \"{v}\"."
            ))
        }),
    }
}

/// Parses `2021-03-25T12:00:00Z`, `2021-03-25T12:00:00.123+02:00`, `2021-03-25T12:00:00`
/// (read as UTC), `2021-03-25 12:00:00` or `2021-03-25` (midnight UTC).
pub(crate) fn parse(text: &str) -> Option<OffsetDateTime> {
    let text = text.trim();
    if let Ok(t) = OffsetDateTime::parse(text, &Rfc3339) {
        return Some(t.to_offset(UtcOffset::UTC));
    }
    let naive = [
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]"),
        format_description!("[year]-[month]-[day] [hour]:[minute]:[second]"),
        format_description!("[year]-[month]-[day]T[hour]:[minute]"),
    ];
    for format in naive {
        if let Ok(t) = PrimitiveDateTime::parse(text, &format) {
            return Some(t.assume_utc());
        }
    }
    time::Date::parse(text, &format_description!("[year]-[month]-[day]"))
        .map(|d| d.midnight().assume_utc())
        .ok()
}

/// `2021-03-25T12:00:00Z`: whole seconds, UTC, as TAP takes it.
pub(crate) fn format(t: OffsetDateTime) -> String {
    let t = t
        .to_offset(UtcOffset::UTC)
        .replace_nanosecond(0)
        .unwrap_or(t);
    t.format(&Rfc3339).unwrap_or_else(|_| t.to_string())
}

/// A named time frame.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum TimeFrame {
    /// The last 60 minutes.
    LastHour,
    /// The last 6 hours.
    #[serde(rename = "last_6_hours")]
    Last6Hours,
    /// The last 24 hours.
    #[default]
    #[serde(rename = "last_24_hours")]
    Last24Hours,
    /// The last week.
    LastWeek,
    /// Start Time (and End Time) as given.
    Custom,
}

impl TimeFrame {
    /// How far back the frame reaches; `week` is what "Last Week" means for the endpoint (the API
    /// refuses a start more than 7 days back, and clocks differ).
    pub(crate) fn span(self, week: Duration) -> Option<Duration> {
        match self {
            TimeFrame::LastHour => Some(Duration::hours(1)),
            TimeFrame::Last6Hours => Some(Duration::hours(6)),
            TimeFrame::Last24Hours => Some(Duration::hours(24)),
            TimeFrame::LastWeek => Some(week),
            TimeFrame::Custom => None,
        }
    }
}

impl TimeFrame {
    /// The frame a [`TimeWindow`]'s const parameter stands for (see [`TimeFrame::code`]).
    const fn from_code(code: u8) -> TimeFrame {
        match code {
            0 => TimeFrame::LastHour,
            1 => TimeFrame::Last6Hours,
            2 => TimeFrame::Last24Hours,
            3 => TimeFrame::LastWeek,
            _ => TimeFrame::Custom,
        }
    }

    /// The frame as a const parameter of [`TimeWindow`].
    pub(crate) const fn code(self) -> u8 {
        match self {
            TimeFrame::LastHour => 0,
            TimeFrame::Last6Hours => 1,
            TimeFrame::Last24Hours => 2,
            TimeFrame::LastWeek => 3,
            TimeFrame::Custom => 4,
        }
    }
}

parameters! {
    // The time parameters of every action that queries a window in the last 7 days, flattened into
    // its own; `DEFAULT_FRAME` is the [`TimeFrame::code`] of the frame taken when none is given. (No
    // doc comment: a flattened schema would carry its description into the action's.)
    #[derive(Debug, Deserialize, JsonSchema)]
    pub(crate) struct TimeWindow<const DEFAULT_FRAME: u8> {
        /// The window: Last Hour, Last 6 Hours, Last 24 Hours, Last Week (167 hours), or Custom (Start
        /// Time to End Time). A Start Time means Custom.
        #[param("Time Frame")]
        #[serde(default = "default_frame::<DEFAULT_FRAME>")]
        pub(crate) time_frame: Choice<TimeFrame>,
        /// Start of a custom window, ISO-8601 (e.g. 2021-03-24T00:00:00Z); at most 7 days back.
        #[param("Start Time")]
        #[serde(default)]
        pub(crate) start_time: Option<String>,
        /// End of the window, ISO-8601; default now.
        #[param("End Time")]
        #[serde(default)]
        pub(crate) end_time: Option<String>,
    }
}

fn default_frame<const CODE: u8>() -> Choice<TimeFrame> {
    Choice(TimeFrame::from_code(CODE))
}

impl<const DEFAULT_FRAME: u8> TimeWindow<DEFAULT_FRAME> {
    /// The window's start and end (see [`window`]); `since_minutes` stands in for the frame where
    /// the action takes it.
    pub(crate) fn resolve(
        &self,
        since_minutes: Option<i64>,
        now: OffsetDateTime,
    ) -> Result<(OffsetDateTime, OffsetDateTime)> {
        window(
            self.time_frame.0,
            self.start_time.as_deref(),
            self.end_time.as_deref(),
            since_minutes,
            now,
        )
    }
}

/// "Last Week" for the endpoints that look back 7 days: 167 hours, since the API refuses a start
/// more than 7 days back and clocks differ.
pub(crate) const LAST_WEEK: Duration = Duration::hours(167);

/// A window's start and end from the time parameters: `start_time` (which means Custom) or
/// `since_minutes` or the time frame, and `end_time` (default now). It must lie within the last 7
/// days, start before it ends and last at least a minute.
pub(crate) fn window(
    frame: TimeFrame,
    start_time: Option<&str>,
    end_time: Option<&str>,
    since_minutes: Option<i64>,
    now: OffsetDateTime,
) -> Result<(OffsetDateTime, OffsetDateTime)> {
    let end = match end_time {
        Some(t) => parse_param(t, "\"End Time\" (end_time)")?,
        None => now,
    };
    let start = match (start_time, since_minutes, frame.span(LAST_WEEK)) {
        (Some(t), _, _) => parse_param(t, "\"Start Time\" (start_time)")?,
        // Its range (a week) is declared with the parameter and checked when it is read.
        (None, Some(minutes), _) => end - Duration::minutes(minutes),
        (None, None, Some(span)) => end - span,
        (None, None, None) => {
            return Err(Error::invalid_parameter(
                "The time frame Custom needs \"Start Time\" (start_time).",
            ))
        }
    };
    if start >= end {
        return Err(Error::invalid_parameter(format!(
            "\"Start Time\" ({}) must be before \"End Time\" ({}).",
            format(start),
            format(end)
        )));
    }
    if end - start < Duration::MINUTE {
        return Err(Error::invalid_parameter(format!(
            "The window from {} to {} is shorter than a minute; TAP takes windows of at least 1 minute here.",
            format(start),
            format(end)
        )));
    }
    if start < now - Duration::days(7) {
        return Err(Error::invalid_parameter(format!(
            "The window starts at {}, more than 7 days back; TAP answers for the last 7 days only.",
            format(start)
        )));
    }
    Ok((start, end))
}

/// `start..end` in equal slices of at most an hour (so none is shorter than the SIEM API's 30 s
/// minimum), newest first, as the `interval` values the SIEM API takes.
pub(crate) fn hour_slices(start: OffsetDateTime, end: OffsetDateTime) -> Vec<String> {
    let length = end - start;
    let count = (length.whole_seconds() as f64 / 3600.0).ceil().max(1.0) as i64;
    let step = length / count as f64;
    (0..count)
        .map(|i| {
            let slice_end = if i == 0 { end } else { end - step * i as f64 };
            let slice_start = if i == count - 1 {
                start
            } else {
                end - step * (i + 1) as f64
            };
            format!("{}/{}", format(slice_start), format(slice_end))
        })
        .collect()
}

/// Parses a time parameter, naming it in the error.
pub(crate) fn parse_param(text: &str, label: &str) -> Result<OffsetDateTime> {
    parse(text).ok_or_else(|| {
        Error::invalid_parameter(format!(
            "The parameter {label} must be an ISO-8601 time such as 2021-03-25T12:00:00Z, not \"{text}\"."
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_spellings() {
        let expect = "2021-03-25T12:00:00Z";
        for text in [
            "2021-03-25T12:00:00Z",
            "2021-03-25T14:00:00+02:00",
            "2021-03-25T12:00:00.999Z",
            "2021-03-25T12:00:00",
            "2021-03-25 12:00:00",
            " 2021-03-25T12:00 ",
        ] {
            assert_eq!(format(parse(text).unwrap()), expect, "{text}");
        }
        assert_eq!(format(parse("2021-03-25").unwrap()), "2021-03-25T00:00:00Z");
        assert!(parse("yesterday").is_none());
        assert!(parse("2021-13-01").is_none());
    }

    #[test]
    fn the_clock_can_be_pinned() {
        let pinned = now(&|k| (k == ENV_NOW).then(|| "2021-03-25T12:00:00Z".to_owned())).unwrap();
        assert_eq!(format(pinned), "2021-03-25T12:00:00Z");
        assert!(now(&|_| Some("soon".into())).is_err());
    }
}
