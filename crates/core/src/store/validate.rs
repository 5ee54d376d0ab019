//! Checks on input shared by the store's writers: text limits, positions, dates.

use super::{Result, StoreError};
use fieldcheck_protocol::Position;

/// Longest note on an item result or a rectification step, in characters.
pub const NOTE_MAX: usize = 1000;
/// Longest finding description, in characters.
pub const DESCRIPTION_MAX: usize = 2000;
/// Longest account name, in characters.
pub const NAME_MAX: usize = 64;

/// Refuses text longer than `limit` characters.
pub fn max_len(field: &'static str, text: &str, limit: usize) -> Result<()> {
    let len = text.chars().count();
    if len > limit {
        return Err(StoreError::TooLong { field, limit, len });
    }
    Ok(())
}

/// Refuses empty (or blank) text and text longer than `limit`.
pub fn required(field: &'static str, text: &str, limit: usize) -> Result<()> {
    if text.trim().is_empty() {
        return Err(StoreError::invalid(field, "must not be empty", "不能为空"));
    }
    max_len(field, text, limit)
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
    let well_formed = d.len() == 10 && chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").is_ok();
    if !well_formed {
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
    fn lengths_count_characters_not_bytes() {
        assert!(max_len("note", &"井".repeat(NOTE_MAX), NOTE_MAX).is_ok());
        let err = max_len("note", &"井".repeat(NOTE_MAX + 1), NOTE_MAX).unwrap_err();
        assert!(err.to_string().contains("note") && err.to_string().contains("1000"));
        assert!(required("inspector", "  ", NAME_MAX).is_err());
    }
}
