//! Checks on input shared by the store's writers: text limits, positions, dates.

use super::{Result, StoreError};
use fieldcheck_domain::limits::{TextFault, TextKind, check_text};
use fieldcheck_protocol::Position;

/// Refuses text that breaks the shared limits ([`fieldcheck_domain::limits`]): too long for its kind, blank
/// when `required`, or holding control or bidirectional-control characters. The server refuses
/// the same, so nothing the tablet queues sticks in its outbox.
pub fn text(field: &'static str, value: &str, kind: TextKind, required: bool) -> Result<()> {
    check_text(value, kind, required).map_err(|fault| match fault {
        TextFault::TooLong { max } => StoreError::TooLong {
            field,
            limit: max,
            len: value.chars().count(),
        },
        fault => StoreError::invalid(field, fault.en(), fault.zh()),
    })
}

/// Refuses a position outside the globe or with a negative or non-finite accuracy.
pub fn position(p: &Option<Position>) -> Result<()> {
    let Some(p) = p else { return Ok(()) };
    if !(p.lat.is_finite() && (-90.0..=90.0).contains(&p.lat)) {
        return Err(StoreError::invalid(
            "position.lat",
            format!("{} is outside -90..=90", p.lat),
            format!("{} 超出 -90..=90", p.lat),
        ));
    }
    if !(p.lon.is_finite() && (-180.0..=180.0).contains(&p.lon)) {
        return Err(StoreError::invalid(
            "position.lon",
            format!("{} is outside -180..=180", p.lon),
            format!("{} 超出 -180..=180", p.lon),
        ));
    }
    if !(p.accuracy_m.is_finite() && p.accuracy_m >= 0.0) {
        return Err(StoreError::invalid(
            "position.accuracy_m",
            "must be a number of metres ≥ 0",
            "必须是不小于 0 的米数",
        ));
    }
    Ok(())
}

/// Refuses a deadline that is not a real `YYYY-MM-DD` date.
pub fn date(field: &'static str, d: &Option<String>) -> Result<()> {
    let Some(d) = d else { return Ok(()) };
    if !fieldcheck_domain::china_time::is_date(d) {
        return Err(StoreError::invalid(
            field,
            format!("{d:?} is not a date of the form YYYY-MM-DD"),
            format!("{d:?} 不是 YYYY-MM-DD 格式的日期"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert!(date("d", &Some("2024-02-29".into())).is_ok());
        assert!(date("d", &Some("2023-02-29".into())).is_err());
        assert!(date("d", &Some("2023-13-01".into())).is_err());
        assert!(date("d", &Some("2023-1-01".into())).is_err());
        assert!(date("d", &None).is_ok());
    }

    #[test]
    fn text_errors_name_the_field_and_the_limit() {
        use fieldcheck_domain::limits::MAX_TEXT;
        assert!(text("note", &"井".repeat(MAX_TEXT), TextKind::Free, false).is_ok());
        let err = text("note", &"井".repeat(MAX_TEXT + 1), TextKind::Free, false).unwrap_err();
        assert!(err.to_string().contains("note") && err.to_string().contains("2000"));
        assert!(text("inspector", "  ", TextKind::Line, true).is_err());
        let err = text("inspector", "a\u{202E}b", TextKind::Line, true).unwrap_err();
        assert!(err.to_string().contains("inspector"), "{err}");
    }
}
