//! The wall clock. The server's hybrid logical clock is core's [`fieldcheck_domain::clock::Clock`]
//! (the same drift bound as the tablets): every response carries its stamp, merged with the
//! stamp the device sent, and a stamp more than the bound ahead is refused rather than merged.
//! China-time days are `fieldcheck_domain::china_time`'s.

/// The wall clock in Unix milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
