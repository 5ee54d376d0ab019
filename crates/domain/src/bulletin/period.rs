//! A bulletin's period: whole China days, at most [`MAX_DAYS`], and the weeks the office
//! issues its weekly bulletin for (Monday to Sunday, numbered by ISO week).

use crate::china_time::{china_date, china_day_number, china_midnight, is_date};
use chrono::{Datelike, Days, NaiveDate};
use serde::{Deserialize, Serialize};

/// The longest period a bulletin covers, in days (a leap year).
pub const MAX_DAYS: i64 = 366;
const DAY_MS: i64 = 86_400_000;

/// A checked period of China days: both real dates, `first <= last`, at most [`MAX_DAYS`] days.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    /// First day `YYYY-MM-DD`, inclusive.
    pub first: String,
    /// Last day `YYYY-MM-DD`, inclusive.
    pub last: String,
}

/// Why a period was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeriodFault {
    /// The named field (`from` or `to`) is not a real `YYYY-MM-DD` day.
    NotADate(&'static str),
    /// The last day is before the first.
    Reversed,
    /// The period has more than [`MAX_DAYS`] days (it has this many).
    TooLong(i64),
}

impl PeriodFault {
    /// The field at fault: `from`, or `to` for a reversed or too long period.
    pub fn field(self) -> &'static str {
        match self {
            PeriodFault::NotADate(field) => field,
            PeriodFault::Reversed | PeriodFault::TooLong(_) => "to",
        }
    }

    /// The reason in plain Chinese.
    pub fn zh(self) -> String {
        match self {
            PeriodFault::NotADate(_) => "日期格式应为 年-月-日，如 2026-11-01".into(),
            PeriodFault::Reversed => "截止日期不能早于起始日期".into(),
            PeriodFault::TooLong(days) => {
                format!("统计期间最长 {MAX_DAYS} 天，所选期间为 {days} 天，请缩短")
            }
        }
    }

    /// The reason in English.
    pub fn en(self) -> String {
        match self {
            PeriodFault::NotADate(_) => "a date must look like 2026-11-01".into(),
            PeriodFault::Reversed => "the last day cannot be before the first".into(),
            PeriodFault::TooLong(days) => {
                format!("a period has at most {MAX_DAYS} days; this one has {days}")
            }
        }
    }
}

fn date(d: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()
}

impl Period {
    /// The period from `first` to `last` (both `YYYY-MM-DD`, inclusive), checked: real days,
    /// in order, at most [`MAX_DAYS`] of them.
    pub fn new(first: &str, last: &str) -> Result<Period, PeriodFault> {
        let (first, last) = (first.trim(), last.trim());
        if !is_date(first) {
            return Err(PeriodFault::NotADate("from"));
        }
        if !is_date(last) {
            return Err(PeriodFault::NotADate("to"));
        }
        if last < first {
            return Err(PeriodFault::Reversed);
        }
        let p = Period {
            first: first.into(),
            last: last.into(),
        };
        match p.days() {
            days if days > MAX_DAYS => Err(PeriodFault::TooLong(days)),
            _ => Ok(p),
        }
    }

    /// The Monday-to-Sunday week (China time) holding the instant `ms`.
    pub fn week_of(ms: i64) -> Period {
        let today = date(&china_date(ms)).unwrap_or_default();
        let monday = today - Days::new(u64::from(today.weekday().num_days_from_monday()));
        let sunday = monday + Days::new(6);
        Period {
            first: monday.format("%Y-%m-%d").to_string(),
            last: sunday.format("%Y-%m-%d").to_string(),
        }
    }

    /// The last full week before the one holding `now_ms`: the weekly bulletin's default.
    pub fn last_full_week(now_ms: i64) -> Period {
        Period::week_of(Period::week_of(now_ms).start_ms() - 1)
    }

    /// Days in the period, both ends counted.
    pub fn days(&self) -> i64 {
        china_day_number(self.end_ms() - 1) - china_day_number(self.start_ms()) + 1
    }

    /// Unix ms of the first day's China midnight.
    pub fn start_ms(&self) -> i64 {
        china_midnight(&self.first).unwrap_or(0)
    }

    /// Unix ms of the China midnight after the last day (exclusive end).
    pub fn end_ms(&self) -> i64 {
        china_midnight(&self.last).unwrap_or(0) + DAY_MS
    }

    /// Whether the instant `ms` falls within the period.
    pub fn contains(&self, ms: i64) -> bool {
        (self.start_ms()..self.end_ms()).contains(&ms)
    }

    /// The instant the period is judged at, seen at `now_ms`: its last moment once it is over,
    /// `now_ms` while it runs.
    pub fn as_of(&self, now_ms: i64) -> i64 {
        now_ms.min(self.end_ms() - 1)
    }

    /// The ISO week-numbering year and week (1–53) when the period is exactly one Monday-to-
    /// Sunday week: the weekly bulletin's issue number (第 N 期).
    pub fn week_number(&self) -> Option<(i32, u32)> {
        let first = date(&self.first)?;
        (self.days() == 7 && first.weekday() == chrono::Weekday::Mon).then(|| {
            let w = first.iso_week();
            (w.year(), w.week())
        })
    }
}
