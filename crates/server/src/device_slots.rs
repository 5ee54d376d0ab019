//! How many sync requests each device has in flight. A device holds at most a few at once
//! (`max_syncs_per_device`), so one tablet, or one stolen token, cannot take every sync slot.
//!
//! When a device that already holds all its slots sends another request, its *oldest* request
//! is given up rather than the new one refused: a tablet never runs more requests than the cap,
//! so one beyond it means an earlier one is dead on its side (a connection cut half-open on a
//! bad network, which the server cannot see). Refusing the new one would lock the tablet out
//! until the dead ones time out; giving up the oldest keeps its sync moving, and the cap holds.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use tokio::sync::oneshot;
use uuid::Uuid;

/// The slots every device holds right now.
#[derive(Default)]
pub struct DeviceSlots {
    inner: Mutex<Held>,
}

#[derive(Default)]
struct Held {
    next_id: u64,
    /// Per device, its requests in the order they came: (slot id, dropped to give it up).
    by_device: HashMap<Uuid, VecDeque<(u64, oneshot::Sender<()>)>>,
}

/// One request's slot, given back when dropped.
pub struct DeviceSlot<'a> {
    slots: &'a DeviceSlots,
    device: Uuid,
    id: u64,
}

/// Resolves when the request must be given up (a newer request of its device needed the slot).
pub type GiveUp = oneshot::Receiver<()>;

impl DeviceSlots {
    /// Takes a slot for `device`, giving up its oldest request when it already holds `max`.
    pub fn take(&self, device: Uuid, max: usize) -> (DeviceSlot<'_>, GiveUp) {
        let mut held = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        held.next_id += 1;
        let id = held.next_id;
        let (tx, rx) = oneshot::channel();
        let queue = held.by_device.entry(device).or_default();
        while queue.len() >= max.max(1) {
            // Dropping the sender wakes the oldest request's `GiveUp`.
            queue.pop_front();
        }
        queue.push_back((id, tx));
        let slot = DeviceSlot {
            slots: self,
            device,
            id,
        };
        (slot, rx)
    }

    /// Requests `device` has in flight.
    pub fn in_flight(&self, device: Uuid) -> usize {
        let held = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        held.by_device.get(&device).map_or(0, VecDeque::len)
    }
}

impl Drop for DeviceSlot<'_> {
    fn drop(&mut self) {
        let mut held = self.slots.inner.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(queue) = held.by_device.get_mut(&self.device) {
            queue.retain(|(id, _)| *id != self.id);
            if queue.is_empty() {
                held.by_device.remove(&self.device);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_gives_way_and_the_cap_holds() {
        let slots = DeviceSlots::default();
        let (tablet, other) = (Uuid::now_v7(), Uuid::now_v7());
        let (first, mut first_gone) = slots.take(tablet, 2);
        let (_second, mut second_gone) = slots.take(tablet, 2);
        let (_elsewhere, mut other_gone) = slots.take(other, 2);
        assert_eq!(
            first_gone.try_recv(),
            Err(oneshot::error::TryRecvError::Empty)
        );
        let (_third, _) = slots.take(tablet, 2);
        assert_eq!(
            first_gone.try_recv(),
            Err(oneshot::error::TryRecvError::Closed),
            "the oldest is given up"
        );
        assert_eq!(
            second_gone.try_recv(),
            Err(oneshot::error::TryRecvError::Empty)
        );
        assert_eq!(
            other_gone.try_recv(),
            Err(oneshot::error::TryRecvError::Empty)
        );
        assert_eq!(slots.in_flight(tablet), 2);
        drop(first);
        assert_eq!(
            slots.in_flight(tablet),
            2,
            "a given-up slot was already freed"
        );
    }
}
