//! The wall clock. The server's hybrid logical clock is core's [`fieldcheck_domain::clock::Clock`]
//! (the same drift bound as the tablets): every response carries its stamp, merged with the
//! stamp the device sent, and a stamp more than the bound ahead is refused rather than merged.
//! China-time days are `fieldcheck_domain::china_time`'s.

pub use fieldcheck_domain::clock::wall_clock_ms as now_ms;
