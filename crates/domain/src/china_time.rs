//! China time (UTC+8, no daylight saving): the calendar day an assignment, a deadline or a
//! report names, and the stamp printed on a photo.

use chrono::{DateTime, FixedOffset, NaiveDate};

/// China's offset from UTC, in seconds.
pub const CHINA_OFFSET_S: i32 = 8 * 3600;

fn china() -> FixedOffset {
    FixedOffset::east_opt(CHINA_OFFSET_S).expect("UTC+8 is a valid offset")
}

/// The calendar day in China at Unix milliseconds `ms`, as `YYYY-MM-DD`.
pub fn china_date(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .with_timezone(&china())
        .format("%Y-%m-%d")
        .to_string()
}

/// The China calendar day at Unix milliseconds `ms` as a day number (days since 1970-01-01 in
/// China time), for comparing days in a database without its date functions.
pub fn china_day_number(ms: i64) -> i64 {
    (ms + i64::from(CHINA_OFFSET_S) * 1000).div_euclid(86_400_000)
}

/// Whether a check-in at `check_in_ms` vouches for work recorded at `work_ms` (到场核验): the
/// same China day. The site and the inspector must match too; callers compare those.
pub fn same_china_day(check_in_ms: i64, work_ms: i64) -> bool {
    china_day_number(check_in_ms) == china_day_number(work_ms)
}

/// `YYYY-MM-DD HH:MM:SS` in China at Unix milliseconds `ms`.
pub fn china_datetime(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .with_timezone(&china())
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// Unix milliseconds of China-time midnight starting the day `YYYY-MM-DD`; `None` if it is not
/// a real date.
pub fn china_midnight(day: &str) -> Option<i64> {
    if !is_date(day) {
        return None;
    }
    let d = NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()?;
    Some(d.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis() - i64::from(CHINA_OFFSET_S) * 1000)
}

/// Whether a string is a real calendar date written `YYYY-MM-DD` (so 2026-02-30 is not).
pub fn is_date(d: &str) -> bool {
    d.len() == 10 && NaiveDate::parse_from_str(d, "%Y-%m-%d").is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_numbers_turn_at_china_midnight_and_agree_with_dates() {
        let midnight = china_midnight("2026-12-01").unwrap();
        assert_eq!(
            china_day_number(midnight),
            china_day_number(midnight + 86_399_999)
        );
        assert_eq!(
            china_day_number(midnight - 1) + 1,
            china_day_number(midnight)
        );
        assert!(same_china_day(midnight + 1_000, midnight + 80_000_000));
        assert!(!same_china_day(midnight - 1, midnight));
        assert_eq!(china_day_number(china_midnight("1970-01-02").unwrap()), 1);
        assert_eq!(
            china_day_number(-8 * 3_600_000 - 1),
            -1,
            "before 1970 floors"
        );
    }

    #[test]
    fn the_day_turns_at_midnight_utc_plus_8() {
        assert_eq!(china_date(0), "1970-01-01");
        // 2024-02-28 16:00 UTC is 2024-02-29 00:00 in China.
        assert_eq!(china_date(1_709_136_000_000 - 1), "2024-02-28");
        assert_eq!(china_date(1_709_136_000_000), "2024-02-29");
        assert_eq!(china_date(1_709_136_000_000 + 86_400_000), "2024-03-01");
        assert_eq!(china_midnight("2024-02-29"), Some(1_709_136_000_000));
        assert_eq!(china_midnight("2024-02-30"), None);
        assert_eq!(
            china_datetime(1_709_136_000_000 + 3_723_000),
            "2024-02-29 01:02:03"
        );
        assert_eq!(china_datetime(-1), "1970-01-01 07:59:59");
    }

    #[test]
    fn dates_are_real_calendar_days() {
        for ok in ["2026-11-27", "2024-02-29", "2000-02-29", "2026-12-31"] {
            assert!(is_date(ok), "{ok}");
        }
        for bad in [
            "2026-02-29",
            "1900-02-29",
            "2026-04-31",
            "2026-13-01",
            "2026-00-10",
            "2026-1-01",
            "2026/01/01",
            "",
            "tomorrow",
        ] {
            assert!(!is_date(bad), "{bad}");
        }
    }
}
