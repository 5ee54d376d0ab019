//! A finding's short number (问题编号), e.g. `20261201-003`: the China day the problem was
//! found and its place in that day's arrivals at the server. The server assigns it once, in the
//! transaction that stores the finding; the ledger, the spreadsheet, the report, messages and
//! tablets (after their next sync) show it. A tablet's clock cannot choose a number: only a day
//! within [`MAX_BACKDATED_DAYS`] before the server received the finding, and not after, is
//! taken from it; any other finding is numbered by the day it arrived. Uniqueness comes from
//! the server's count, not from the day.

use chrono::{Datelike, NaiveDate};

/// How many days an offline tablet's finding may be older than its arrival and still be
/// numbered by the day it was found.
pub const MAX_BACKDATED_DAYS: i64 = 60;

/// The day part (`YYYYMMDD`) of the number of a finding created at `created_ms` (the tablet's
/// word) and received at `received_ms` (the server's clock), both Unix milliseconds.
pub fn numbering_day(created_ms: i64, received_ms: i64) -> i64 {
    let earliest = received_ms - MAX_BACKDATED_DAYS * 86_400_000;
    let found = if (earliest..=received_ms).contains(&created_ms) {
        created_ms
    } else {
        received_ms
    };
    yyyymmdd(crate::china_time::china_day_number(found))
}

/// Day number `days` (since 1970-01-01) as the integer `YYYYMMDD`.
fn yyyymmdd(days: i64) -> i64 {
    let date =
        NaiveDate::from_num_days_from_ce_opt(i32::try_from(days + 719_163).unwrap_or(i32::MAX))
            .unwrap_or_default();
    i64::from(date.year()) * 10_000 + i64::from(date.month()) * 100 + i64::from(date.day())
}

/// The number of the `seq`-th finding (from 1) received on `day` (`YYYYMMDD`): the day, a
/// hyphen and at least three digits.
pub fn format(day: i64, seq: i64) -> String {
    format!("{day}-{seq:03}")
}

/// Whether `s` is a number as [`format`] writes them (eight digits, a hyphen, three to six
/// digits): what a tablet accepts from a pull.
pub fn is_valid(s: &str) -> bool {
    let Some((day, seq)) = s.split_once('-') else {
        return false;
    };
    day.len() == 8
        && (3..=6).contains(&seq.len())
        && day.bytes().chain(seq.bytes()).all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_day_is_chinas_calendar_day_the_problem_was_found() {
        // 2026-11-30 16:00 UTC is 2026-12-01 00:00 in China.
        let midnight = crate::china_time::china_midnight("2026-12-01").unwrap();
        let noon = midnight + 12 * 3_600_000;
        assert_eq!(numbering_day(midnight, noon), 20_261_201);
        assert_eq!(numbering_day(midnight - 1, noon), 20_261_130);
        assert_eq!(numbering_day(noon - 59 * 86_400_000, noon), 20_261_003);
    }

    #[test]
    fn a_tablet_clock_in_the_future_or_long_past_names_the_day_of_arrival() {
        let noon = crate::china_time::china_midnight("2026-12-01").unwrap() + 12 * 3_600_000;
        assert_eq!(numbering_day(noon + 86_400_000, noon), 20_261_201);
        assert_eq!(numbering_day(0, noon), 20_261_201);
        assert_eq!(numbering_day(noon - 61 * 86_400_000, noon), 20_261_201);
        assert_eq!(numbering_day(i64::MIN, noon), 20_261_201);
    }

    #[test]
    fn numbers_keep_three_digits_and_grow_past_them() {
        assert_eq!(format(20_261_201, 3), "20261201-003");
        assert_eq!(format(20_261_201, 1234), "20261201-1234");
        assert!(is_valid(&format(20_261_201, 3)) && is_valid("20261201-1234"));
    }

    #[test]
    fn anything_else_is_not_a_number() {
        for bad in [
            "",
            "20261201",
            "2026121-003",
            "20261201-03",
            "20261201-0031234",
            "20261201-00a",
            "２０２６１２０１-003",
            "20261201-003 ",
        ] {
            assert!(!is_valid(bad), "{bad:?}");
        }
    }
}
