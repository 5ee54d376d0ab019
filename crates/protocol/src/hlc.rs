//! Hybrid-logical-clock stamps as they travel and as they are stored.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A hybrid-logical-clock timestamp: a 64-bit NTP-style time and the 128-bit id of the clock
/// that issued it.
///
/// Its text form is fixed width (`{time:016x}-{node:032x}`), so comparing two stamps as strings,
/// in Rust or in SQL, gives the same order as comparing them as clocks. A device's wall clock
/// never decides an order by itself: stamps come from a clock merged with the server's.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(type = "string"))]
pub struct Hlc {
    /// NTP64 time: seconds since the Unix epoch in the upper 32 bits, fraction in the lower 32.
    pub time: u64,
    /// Id of the clock (device or server) that issued the stamp.
    pub node: u128,
}

impl Hlc {
    /// The stamp that orders before every real one.
    pub const ZERO: Hlc = Hlc { time: 0, node: 0 };

    /// Milliseconds since the Unix epoch that this stamp's physical part stands for.
    pub fn unix_millis(&self) -> i64 {
        let secs = (self.time >> 32) as i64;
        let frac = self.time & 0xFFFF_FFFF;
        secs * 1000 + ((frac * 1000) >> 32) as i64
    }
}

impl fmt::Display for Hlc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}-{:032x}", self.time, self.node)
    }
}

/// The text was not a stamp of the form `{time:016x}-{node:032x}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HlcParseError(pub String);

impl fmt::Display for HlcParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "not an HLC stamp: {:?} (expected 16 hex digits, '-', 32 hex digits)",
            self.0
        )
    }
}

impl std::error::Error for HlcParseError {}

impl std::str::FromStr for Hlc {
    type Err = HlcParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || HlcParseError(s.to_string());
        let (t, n) = s.split_once('-').ok_or_else(err)?;
        if t.len() != 16 || n.len() != 32 {
            return Err(err());
        }
        Ok(Hlc {
            time: u64::from_str_radix(t, 16).map_err(|_| err())?,
            node: u128::from_str_radix(n, 16).map_err(|_| err())?,
        })
    }
}

impl Serialize for Hlc {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Hlc {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_order_is_clock_order() {
        let a = Hlc { time: 5, node: 9 };
        let b = Hlc { time: 6, node: 1 };
        let c = Hlc { time: 6, node: 2 };
        assert!(a < b && b < c);
        assert!(a.to_string() < b.to_string() && b.to_string() < c.to_string());
        assert_eq!(c.to_string().parse::<Hlc>().unwrap(), c);
    }

    #[test]
    fn json_round_trip_and_bad_text() {
        let h = Hlc {
            time: 0x1234,
            node: 0xabc,
        };
        let j = serde_json::to_string(&h).unwrap();
        assert_eq!(serde_json::from_str::<Hlc>(&j).unwrap(), h);
        assert!("12-34".parse::<Hlc>().is_err());
        assert!(serde_json::from_str::<Hlc>("\"zz\"").is_err());
    }

    #[test]
    fn unix_millis_reads_ntp64() {
        let h = Hlc {
            time: (1_700_000_000u64 << 32) | (1u64 << 31),
            node: 0,
        };
        assert_eq!(h.unix_millis(), 1_700_000_000_500);
    }
}
