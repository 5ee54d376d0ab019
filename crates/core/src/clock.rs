//! The device's hybrid logical clock.
//!
//! Every change the tablet makes is stamped by this clock. It is a [`uhlc::HLC`] whose id is the
//! device id, with a maximum drift of [`MAX_DRIFT`] instead of uhlc's 500 ms default, because a
//! tablet that has been offline all day may meet a server whose clock differs by hours.

use fieldcheck_protocol::Hlc;
use std::time::Duration;
use uhlc::{HLC, HLCBuilder, ID, NTP64, Timestamp};
use uuid::Uuid;

/// Largest amount by which a stamp from another clock may run ahead of this one and still be
/// merged. Beyond it the stamp is refused, so that one wild clock cannot drag everyone's ahead.
pub const MAX_DRIFT: Duration = Duration::from_secs(36 * 3600);

/// A stamp from another clock ran further ahead of ours than [`MAX_DRIFT`].
#[derive(Debug, thiserror::Error)]
#[error("时钟偏差过大：对方时间戳 {stamp} 超前本机超过 {hours} 小时 / clock drift too large: stamp {stamp} is more than {hours} h ahead", hours = MAX_DRIFT.as_secs() / 3600)]
pub struct DriftError {
    /// The refused stamp.
    pub stamp: Hlc,
}

/// A hybrid logical clock identified by a device (or server) id.
pub struct Clock {
    hlc: HLC,
}

impl Clock {
    /// A clock with the given id, reading the system wall clock.
    pub fn new(id: Uuid) -> Clock {
        Clock {
            hlc: HLCBuilder::new()
                .with_id(to_uhlc_id(id))
                .with_max_delta(MAX_DRIFT)
                .build(),
        }
    }

    /// A fresh stamp, greater than every stamp this clock issued or merged before.
    pub fn now(&self) -> Hlc {
        from_timestamp(&self.hlc.new_timestamp())
    }

    /// Merges a stamp seen elsewhere (the server's, a device's, or one read back from the
    /// database), so that later stamps order after it. [`Hlc::ZERO`] changes nothing.
    pub fn merge(&self, stamp: Hlc) -> Result<(), DriftError> {
        if stamp == Hlc::ZERO {
            return Ok(());
        }
        self.hlc
            .update_with_timestamp(&to_timestamp(stamp))
            .map_err(|_| DriftError { stamp })
    }

    /// Whether `stamp` is no more than [`MAX_DRIFT`] ahead of this clock now, i.e. whether
    /// [`Clock::merge`] would take it.
    pub fn within_drift(&self, stamp: Hlc) -> bool {
        stamp.time
            <= self
                .now()
                .time
                .saturating_add(NTP64::from(MAX_DRIFT).as_u64())
    }
}

fn to_uhlc_id(id: Uuid) -> ID {
    // A v7 UUID is never all zeroes; fall back to 1 for the nil id used in tests.
    ID::try_from(id.as_u128().to_le_bytes())
        .unwrap_or_else(|_| ID::try_from(1u8).expect("1 is a valid id"))
}

fn from_timestamp(ts: &Timestamp) -> Hlc {
    Hlc {
        time: ts.get_time().as_u64(),
        node: u128::from_le_bytes(ts.get_id().to_le_bytes()),
    }
}

fn to_timestamp(h: Hlc) -> Timestamp {
    let id = ID::try_from(h.node.to_le_bytes())
        .unwrap_or_else(|_| ID::try_from(1u8).expect("1 is a valid id"));
    Timestamp::new(NTP64(h.time), id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_grow_and_carry_the_id() {
        let id = Uuid::now_v7();
        let c = Clock::new(id);
        let a = c.now();
        let b = c.now();
        assert!(b > a);
        assert_eq!(a.node, id.as_u128());
    }

    #[test]
    fn merge_moves_past_a_later_stamp_and_refuses_a_wild_one() {
        let c = Clock::new(Uuid::now_v7());
        let now = c.now();
        let ahead = Hlc {
            time: now.time + (3600u64 << 32),
            node: 7,
        };
        c.merge(ahead).unwrap();
        assert!(c.now() > ahead);
        let wild = Hlc {
            time: now.time + ((MAX_DRIFT.as_secs() + 3 * 3600) << 32),
            node: 7,
        };
        let err = c.merge(wild).unwrap_err();
        assert!(err.to_string().contains("clock drift"));
        assert!(c.now() < wild);
        assert!(c.within_drift(ahead) && !c.within_drift(wild));
        c.merge(Hlc::ZERO).unwrap();
    }
}
