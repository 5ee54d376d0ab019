//! Wall-clock helpers. The server's hybrid logical clock is core's [`fieldcheck_core::clock::Clock`]
//! (the same drift bound as the tablets): every response carries its stamp, merged with the
//! stamp the device sent, and a stamp more than the bound ahead is refused rather than merged.

use chrono::{DateTime, FixedOffset};

/// The wall clock in Unix milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// China's offset from UTC (UTC+8, no daylight saving), in seconds.
const CHINA_OFFSET_S: i32 = 8 * 3600;

/// The calendar day in China time (UTC+8) at Unix milliseconds `ms`, as `YYYY-MM-DD`.
pub fn china_date(ms: i64) -> String {
    let china = FixedOffset::east_opt(CHINA_OFFSET_S).expect("UTC+8 is a valid offset");
    DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .with_timezone(&china)
        .format("%Y-%m-%d")
        .to_string()
}

/// Unix milliseconds of China-time midnight starting the day `YYYY-MM-DD`; `None` if it is not
/// a date.
pub fn china_midnight(day: &str) -> Option<i64> {
    let d = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()?;
    Some(d.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis() - i64::from(CHINA_OFFSET_S) * 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn china_date_turns_at_midnight_utc_plus_8() {
        assert_eq!(china_date(0), "1970-01-01");
        // 2024-02-28 16:00 UTC is 2024-02-29 00:00 in China.
        assert_eq!(china_date(1_709_136_000_000 - 1), "2024-02-28");
        assert_eq!(china_date(1_709_136_000_000), "2024-02-29");
        assert_eq!(china_date(1_709_136_000_000 + 86_400_000), "2024-03-01");
        assert_eq!(china_midnight("2024-02-29"), Some(1_709_136_000_000));
        assert_eq!(china_midnight("2024-02-30"), None);
    }
}
