//! The line of pushes, kept as numbered tickets (取号排队) so that a push the server takes is
//! answered within a small multiple of `push_wait_target_ms` (the work ahead of it, then its
//! own group's commit), however many tablets arrive at once.
//!
//! At 17:00 hundreds of tablets push at the same instant. Holding each request until its turn
//! keeps the writer busy but makes the last request wait for all the others (a 38 s request
//! at 500 tablets); refusing with a fixed Retry-After leaves the writer idle. A ticket does
//! both: the server takes pushes while the work ahead of them fits in the target, and gives
//! each other device a number, in arrival order, with the time its turn should come (`queued`,
//! 503 with Retry-After and `retry_after_ms`). A device that comes back with a number is taken
//! once the work ahead of it fits, and told again otherwise: it never loses its place to a
//! device that came later. The time to come back is reckoned from the writer's measured pace,
//! well early ([`EARLY`], and at most [`MAX_WAIT`]): a device back before its turn waits for
//! it on the server (below), one back after it leaves the writer idle, and the estimate is
//! corrected at every return.
//!
//! The line is per process, like the other slots: replicas each keep their own, so a tablet
//! behind a balancer may hold a number at each. A number not shown again by [`LATE`] after its
//! time no longer holds up the ones behind it (its tablet gave up, was taken at another
//! replica, or is slow to come back; shown again, it still comes before later numbers), and
//! one not shown within [`GRACE`] lapses. A device whose push has just been answered continues
//! without a number (the rest of its outbox, or of its week offline), so a tablet, once taken,
//! finishes.
//!
//! A device that holds a number need not send its batch to show it: it asks for its turn with
//! an empty request (`POST /api/v1/sync/turn`, [`PushLine::wait_turn`]), and when its turn has come
//! its place is held until its push arrives, for at most [`HOLD`]: a tablet far back in the
//! line sends its batch once, not at every return. The question waits on the server for the
//! turn (at most [`TURN_WAIT`]) and is answered as soon as a place
//! frees for it: the writer does not sit idle while the tablets whose turn it is are still
//! sleeping out an estimate.
//!
//! Replicas hold nothing ([`Turns::Pushed`]): the balancer may send the push to another
//! process than the question, and a tablet's numbers at the other replicas are not shown
//! here. So a replica counts only the numbers whose devices are waiting on it for their turn
//! (and the pushes it has taken): a number whose device is elsewhere keeps no place free for
//! it, which would leave the database idle. A turn is given when this replica has room for
//! the device, and its number is kept at the front until its push arrives (here or
//! elsewhere): the replicas share a database, so one with room finds the other with room too.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use uuid::Uuid;

/// The longest a device is told to wait before showing its number again: often enough to
/// correct the estimate, and well within the 15 s after which the server closes an idle
/// connection (`header_read_timeout_secs`), so that a client reusing its connection does not
/// meet it closing.
pub const MAX_WAIT: Duration = Duration::from_secs(10);
/// How long after its time a number still holds up the ones behind it.
pub const LATE: Duration = Duration::from_secs(1);
/// How long after its time a number stays valid.
pub const GRACE: Duration = Duration::from_secs(10);
/// How long after its last push was answered a device continues without a number.
pub const CONTINUE: Duration = Duration::from_secs(2);
/// How long a place stays held for a device told its turn has come, until its push arrives.
pub const HOLD: Duration = Duration::from_secs(5);
/// The longest a request for a turn waits on the server before it is told to ask again:
/// the tablet learns how many are still before it, and a server stopping is held up no longer.
pub const TURN_WAIT: Duration = Duration::from_secs(5);
/// How often a request waiting for its turn looks again when it is not woken: a number
/// ahead of it may have turned late, or a held place lapsed, which wakes nobody.
const RECHECK: Duration = Duration::from_millis(500);
/// The shortest wait a device is told.
const MIN_WAIT: Duration = Duration::from_millis(200);
/// The share of its estimated wait a device is told to wait. A device back early waits on
/// the server for its turn, holding a connection; one back late leaves the writer idle. At
/// 17:00 the first numbers are given before any pace is measured: told 0.8 of the wait
/// reckoned at [`FIRST_PACE`], 500 tablets came back at the pace of that guess and the writer
/// wrote half of each second for the first 10 s (all acknowledged in 16.2-18.5 s); told 0.4,
/// 12.1-16.7 s (median 13.4 s), p99 push 1.2-1.6 s (BENCHMARKS.md, "Told to come back early").
const EARLY: f64 = 0.4;
/// The writer's pace assumed before any is measured.
const FIRST_PACE: Duration = Duration::from_millis(50);
/// The busy time the pace is measured over: the SQLite writer answers a group of pushes at
/// once, so the time between two answers alone says little.
const PACE_SPAN: Duration = Duration::from_secs(1);

/// What a turn given to a device ([`PushLine::wait_turn`]) keeps for its push.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Turns {
    /// Its place, for [`HOLD`]: the one server of its database, where its push will come.
    Held,
    /// Nothing: one of several replicas behind a balancer, which may send the push to
    /// another process than the question. Only the numbers of the devices waiting here for
    /// their turn come before a device (measured: counting every number given here, whose
    /// devices were mostly at the other replica, left most tablets unserved for minutes).
    Pushed,
}

/// The line of one server process.
pub struct PushLine {
    target: Duration,
    turns: Turns,
    state: Mutex<State>,
}

struct State {
    next_ticket: u64,
    /// Numbers given and not yet taken, in order, with when their device is due.
    waiting: BTreeMap<u64, Instant>,
    /// Each waiting device's number.
    tickets: HashMap<Uuid, u64>,
    /// Pushes taken and not yet answered.
    taken: usize,
    /// Places held for devices told their turn has come, until their push arrives.
    held: HashMap<Uuid, Instant>,
    /// Time per push answered while pushes were taken: the writer's pace.
    pace: Duration,
    /// Since when pushes have been taken without a break.
    busy_from: Option<Instant>,
    /// Busy time before `busy_from` not yet measured, and the answers in it and since.
    busy: (Duration, u32),
    /// Devices whose push was answered lately, and when.
    answered: HashMap<Uuid, Instant>,
    /// Numbers whose device is waiting on the server for its turn ([`PushLine::wait_turn`]),
    /// with what wakes it and how many of its requests wait.
    parked: HashMap<u64, (Arc<Notify>, usize)>,
}

/// What a push is told when it arrives.
#[derive(Debug)]
pub enum Turn {
    /// Taken: go on; the place is given back when dropped.
    Go(Place),
    /// Not yet: come back after `retry_after`, with `ahead` devices still before this one.
    Wait {
        /// When to show the number again.
        retry_after: Duration,
        /// Devices still before this one (taken or waiting).
        ahead: usize,
    },
}

/// A push's place among those taken; dropping it records the answer.
#[derive(Debug)]
pub struct Place {
    line: Arc<PushLine>,
    device: Uuid,
}

impl std::fmt::Debug for PushLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushLine")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

impl PushLine {
    /// A line that takes pushes while the work ahead of them fits in `target` (a zero target
    /// takes every push: no numbers), and keeps `turns` for the devices it tells their turn.
    pub fn new(target: Duration, turns: Turns) -> Arc<PushLine> {
        Arc::new(PushLine {
            target,
            turns,
            state: Mutex::new(State {
                next_ticket: 0,
                waiting: BTreeMap::new(),
                tickets: HashMap::new(),
                taken: 0,
                held: HashMap::new(),
                pace: FIRST_PACE,
                busy_from: None,
                busy: (Duration::ZERO, 0),
                answered: HashMap::new(),
                parked: HashMap::new(),
            }),
        })
    }

    /// A push of `device` arriving at `now`: taken, or given (or reminded of) its number. A
    /// push for which a place is held is taken.
    pub fn arrive(self: &Arc<Self>, device: Uuid, now: Instant) -> Turn {
        let mut guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let s = &mut *guard;
        s.lapse(now);
        if s.held.remove(&device).is_some() {
            return self.take(s, device, now);
        }
        match self.decide(s, device, now) {
            None => {
                s.forget_number(device);
                self.take(s, device, now)
            }
            Some((retry_after, ahead)) => Turn::Wait { retry_after, ahead },
        }
    }

    /// `device`, holding a number, asks whether its turn has come, without its push, and waits
    /// on the server for it for at most [`TURN_WAIT`]: `None` when it has (its place is then
    /// held for its push; with [`Turns::Pushed`] its number is kept at the front instead),
    /// else when to ask again and how many are still before it. The wait is woken as soon as
    /// a place frees for this device; dropped (the tablet went away), it leaves the number as
    /// it was.
    pub async fn wait_turn(self: &Arc<Self>, device: Uuid) -> Option<(Duration, usize)> {
        let until = Instant::now() + TURN_WAIT;
        loop {
            let now = Instant::now();
            let parked = {
                let mut guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
                let s = &mut *guard;
                let Some((_, ahead)) = self.ask_in(s, device, now) else {
                    return None; // its turn
                };
                match s.tickets.get(&device).copied() {
                    Some(ticket) if now < until => Parked::new(self.clone(), s, ticket),
                    _ => return Some((MIN_WAIT, ahead)),
                }
            };
            let _ = tokio::time::timeout(
                RECHECK.min(until.saturating_duration_since(now)),
                parked.notify.notified(),
            )
            .await;
        }
    }

    /// What [`PushLine::wait_turn`] decides at `now`, without waiting.
    #[cfg(test)]
    fn ask(&self, device: Uuid, now: Instant) -> Option<(Duration, usize)> {
        let mut guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
        self.ask_in(&mut guard, device, now)
    }

    /// Whether `device`'s turn has come at `now` (`None`: its place is then held, or with
    /// [`Turns::Pushed`] its number kept), or when to ask again and how many are before it,
    /// as [`PushLine::arrive`] would say.
    fn ask_in(&self, s: &mut State, device: Uuid, now: Instant) -> Option<(Duration, usize)> {
        s.lapse(now);
        // Asked again while its place is held: still its turn, and the hold still ends at
        // HOLD from when it was given (asking cannot keep a place without pushing).
        if s.held.contains_key(&device) {
            return None;
        }
        let wait = self.decide(s, device, now);
        if wait.is_none() {
            match self.turns {
                Turns::Held => {
                    s.forget_number(device);
                    s.held.insert(device, now);
                }
                // Its push may land at another replica. Landing here, it is judged by its
                // number, which stays (due now, so it lapses in GRACE): only the devices
                // waiting here from before it come first.
                Turns::Pushed => {
                    if let Some(ticket) = s.tickets.get(&device) {
                        s.waiting.insert(*ticket, now);
                    }
                }
            }
        }
        wait
    }

    /// Whether, at `now`, pushes are being written or numbers wait for their turn: the server
    /// is taking tablets' work, which comes before its own upkeep.
    pub fn busy(&self, now: Instant) -> bool {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.lapse(now);
        s.taken > 0 || !s.held.is_empty() || !s.waiting.is_empty()
    }

    /// Whether a push of `device` arriving at `now` would be taken (`None`), or when it is to
    /// come back and how many are before it, its number given or kept.
    fn decide(&self, s: &mut State, device: Uuid, now: Instant) -> Option<(Duration, usize)> {
        let window = self.window(s.pace);
        let continues = s
            .answered
            .get(&device)
            .is_some_and(|at| now.saturating_duration_since(*at) < CONTINUE);
        let ticket = s.tickets.get(&device).copied();
        let ahead = s
            .waiting
            .range(..ticket.unwrap_or(u64::MAX))
            .filter(|(number, due)| self.holds_place(s, **number, **due, now))
            .count();
        let busy = s.taken + s.held.len();
        let fits = self.target.is_zero() || busy + ahead < window;
        if fits || (continues && busy < 2 * window) {
            return None;
        }
        let before = busy + ahead;
        // Come back when about half the window is left before this device, well early.
        let due = s
            .pace
            .mul_f64(EARLY)
            .saturating_mul(u32::try_from(before.saturating_sub(window / 2)).unwrap_or(u32::MAX))
            .clamp(MIN_WAIT, MAX_WAIT);
        let ticket = ticket.unwrap_or_else(|| {
            s.next_ticket += 1;
            s.tickets.insert(device, s.next_ticket);
            s.next_ticket
        });
        s.waiting.insert(ticket, now + due);
        Some((due, before))
    }

    /// Takes a push of `device` at `now`.
    fn take(self: &Arc<Self>, s: &mut State, device: Uuid, now: Instant) -> Turn {
        if s.taken == 0 {
            s.busy_from = Some(now);
        }
        s.taken += 1;
        tracing::debug!(%device, taken = s.taken, "push taken into the line");
        Turn::Go(Place {
            line: self.clone(),
            device,
        })
    }

    /// Whether the waiting `number`, due at `due`, keeps a place from the devices behind it at
    /// `now`: its device is waiting here for its turn, or (one server) is not late yet.
    fn holds_place(&self, s: &State, number: u64, due: Instant, now: Instant) -> bool {
        s.parked.contains_key(&number) || (self.turns == Turns::Held && now < due + LATE)
    }

    /// How many pushes may be taken at once: the target over the writer's pace.
    fn window(&self, pace: Duration) -> usize {
        let per = pace.as_secs_f64().max(1e-4);
        ((self.target.as_secs_f64() / per) as usize).max(1)
    }

    /// Records that a push of `device` was answered at `now`.
    fn answered(&self, device: Uuid, now: Instant) {
        let mut guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let s = &mut *guard;
        s.taken = s.taken.saturating_sub(1);
        s.busy.1 += 1;
        let open = s
            .busy_from
            .map_or(Duration::ZERO, |from| now.saturating_duration_since(from));
        if s.taken == 0 {
            s.busy.0 += open;
            s.busy_from = None;
        }
        // Measured over at least PACE_SPAN of busy time, half old and half new.
        let span = if s.taken == 0 {
            s.busy.0
        } else {
            s.busy.0 + open
        };
        if span >= PACE_SPAN {
            let measured = span / s.busy.1;
            s.pace = ((s.pace + measured) / 2).clamp(Duration::from_millis(1), MAX_WAIT);
            s.busy = (Duration::ZERO, 0);
            if s.taken > 0 {
                s.busy_from = Some(now);
            }
        }
        s.answered.insert(device, now);
        self.wake_front(s, now);
    }

    /// Wakes the devices waiting on the server ([`PushLine::wait_turn`]) that the places now
    /// free could take, in the line's order; on one server, numbers not waiting here and not
    /// late count as taking a place too (their devices are on their way back).
    fn wake_front(&self, s: &State, now: Instant) {
        let free = self.window(s.pace).saturating_sub(s.taken + s.held.len());
        let mut placed = 0;
        for (number, due) in &s.waiting {
            if placed >= free {
                break;
            }
            if let Some((notify, _)) = s.parked.get(number) {
                notify.notify_one();
            }
            if self.holds_place(s, *number, *due, now) {
                placed += 1;
            }
        }
    }
}

/// A request waiting on the server for its number's turn; dropping it (woken, timed out, or
/// the tablet gone) takes it off the numbers waiting here.
struct Parked {
    line: Arc<PushLine>,
    ticket: u64,
    notify: Arc<Notify>,
}

impl Parked {
    /// Registers a request waiting for `ticket`'s turn in `s` (the state of `line`, locked).
    fn new(line: Arc<PushLine>, s: &mut State, ticket: u64) -> Parked {
        let (notify, waiting) = s
            .parked
            .entry(ticket)
            .or_insert_with(|| (Arc::new(Notify::new()), 0));
        *waiting += 1;
        let notify = notify.clone();
        Parked {
            line,
            ticket,
            notify,
        }
    }
}

impl Drop for Parked {
    fn drop(&mut self) {
        let mut s = self.line.state.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, waiting)) = s.parked.get_mut(&self.ticket) {
            *waiting -= 1;
            if *waiting == 0 {
                s.parked.remove(&self.ticket);
            }
        }
    }
}

impl State {
    /// Forgets the number of `device`, taken or given its turn.
    fn forget_number(&mut self, device: Uuid) {
        if let Some(ticket) = self.tickets.remove(&device) {
            self.waiting.remove(&ticket);
        }
    }

    /// Forgets numbers past their grace and continuations past [`CONTINUE`].
    fn lapse(&mut self, now: Instant) {
        let parked = &self.parked;
        self.waiting
            .retain(|number, due| now < *due + GRACE || parked.contains_key(number));
        let waiting = &self.waiting;
        self.tickets
            .retain(|_, ticket| waiting.contains_key(ticket));
        self.answered
            .retain(|_, at| now.saturating_duration_since(*at) < CONTINUE);
        self.held
            .retain(|_, at| now.saturating_duration_since(*at) < HOLD);
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        self.line.answered(self.device, Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn go(turn: Turn) -> Place {
        match turn {
            Turn::Go(place) => place,
            Turn::Wait { .. } => panic!("expected to be taken"),
        }
    }

    fn wait(turn: Turn) -> (Duration, usize) {
        match turn {
            Turn::Go(_) => panic!("expected a number"),
            Turn::Wait { retry_after, ahead } => (retry_after, ahead),
        }
    }

    #[test]
    fn takes_what_fits_and_numbers_the_rest_in_arrival_order() {
        // 50 ms per push, a 200 ms target: four pushes at once.
        let line = PushLine::new(Duration::from_millis(200), Turns::Held);
        let t0 = Instant::now();
        let mut taken: Vec<Place> = (0..4).map(|n| go(line.arrive(device(n), t0))).collect();
        let (first_wait, first_ahead) = wait(line.arrive(device(10), t0));
        let (second_wait, second_ahead) = wait(line.arrive(device(11), t0));
        assert_eq!((first_ahead, second_ahead), (4, 5));
        assert!(first_wait >= MIN_WAIT && second_wait >= first_wait);
        // Shown again too early: the same place, not a new number at the back.
        let (_, again) = wait(line.arrive(device(11), t0 + Duration::from_millis(10)));
        assert_eq!(again, 5);
        // One push answered: number 10 fits now, and 11 is still behind it.
        drop(taken.remove(0));
        assert!(matches!(
            line.arrive(device(11), t0 + Duration::from_millis(60)),
            Turn::Wait { .. }
        ));
        let _ten = go(line.arrive(device(10), t0 + Duration::from_millis(60)));
    }

    #[test]
    fn a_number_is_told_to_come_back_well_before_its_turn() {
        // 50 ms per push (nothing measured yet), a 200 ms target: four pushes at once.
        let line = PushLine::new(Duration::from_millis(200), Turns::Held);
        let t0 = Instant::now();
        let _taken: Vec<Place> = (0..4).map(|n| go(line.arrive(device(n), t0))).collect();
        let _numbers: Vec<Turn> = (10..30).map(|n| line.arrive(device(n), t0)).collect();
        // 24 before it, of which the last half-window's (2) are to be ahead when it is back:
        // its turn is reckoned 22 pushes away, 1.1 s at the assumed pace.
        let (told, ahead) = wait(line.arrive(device(99), t0));
        assert_eq!(ahead, 24);
        let reckoned = FIRST_PACE * 22;
        assert!(
            told <= reckoned / 2,
            "told {told:?} of a wait reckoned at {reckoned:?}: a tablet late leaves the writer idle"
        );
        assert!(told >= MIN_WAIT);
    }

    #[test]
    fn a_newcomer_does_not_pass_a_waiting_number() {
        let line = PushLine::new(Duration::from_millis(100), Turns::Held);
        let t0 = Instant::now();
        let a = go(line.arrive(device(1), t0));
        let _b = go(line.arrive(device(2), t0));
        wait(line.arrive(device(3), t0));
        drop(a);
        // One place is free, but number 3 came first.
        let (_, ahead) = wait(line.arrive(device(4), t0 + Duration::from_millis(1)));
        assert_eq!(ahead, 2, "one taken and number 3 before it");
        let _three = go(line.arrive(device(3), t0 + Duration::from_millis(2)));
    }

    #[test]
    fn a_late_number_holds_up_no_one_but_keeps_its_place() {
        let line = PushLine::new(Duration::from_millis(50), Turns::Held);
        let t0 = Instant::now();
        let taken = go(line.arrive(device(1), t0));
        let (due, _) = wait(line.arrive(device(2), t0));
        wait(line.arrive(device(3), t0));
        drop(taken);
        // Device 2 is not due yet: device 3 waits behind it.
        let (_, ahead) = wait(line.arrive(device(3), t0 + Duration::from_millis(100)));
        assert_eq!(ahead, 1);
        // Device 2 is late: device 3 goes first…
        let late = t0 + due + LATE + Duration::from_millis(1);
        let _three = go(line.arrive(device(3), late));
        // …and device 2, back, still comes before a newcomer.
        wait(line.arrive(device(2), late));
        let (_, ahead) = wait(line.arrive(device(4), late));
        assert_eq!(ahead, 2, "device 3 taken and device 2 waiting");
    }

    #[test]
    fn a_number_not_shown_within_its_grace_lapses() {
        let line = PushLine::new(Duration::from_millis(50), Turns::Held);
        let t0 = Instant::now();
        let _taken = go(line.arrive(device(1), t0));
        let (due, _) = wait(line.arrive(device(2), t0));
        wait(line.arrive(device(5), t0 + due + GRACE + Duration::from_millis(1)));
        let s = line.state.lock().unwrap();
        assert_eq!(s.tickets.keys().collect::<Vec<_>>(), [&device(5)]);
        assert_eq!(s.waiting.len(), 1);
    }

    #[test]
    fn a_device_just_answered_continues_without_a_number() {
        let line = PushLine::new(Duration::from_millis(100), Turns::Held);
        let t0 = Instant::now();
        drop(go(line.arrive(device(1), t0)));
        let _a = go(line.arrive(device(2), t0));
        let _b = go(line.arrive(device(3), t0));
        wait(line.arrive(device(4), t0));
        // Device 1's next batch goes on; a stranger would wait.
        let _next = go(line.arrive(device(1), Instant::now()));
        wait(line.arrive(device(5), Instant::now()));
    }

    #[test]
    fn the_pace_follows_the_answers_and_sets_the_wait() {
        let line = PushLine::new(Duration::from_secs(10), Turns::Held);
        let t0 = Instant::now();
        let places: Vec<Place> = (0..50).map(|n| go(line.arrive(device(n), t0))).collect();
        // Answers in bunches of ten, 250 ms apart, as group commit gives them, while work is
        // left: the fourth bunch's first answer ends a second of busy time with 31 answers,
        // and the pace moves halfway from the assumed 50 ms to that; the rest measure nothing.
        for (n, place) in places.into_iter().enumerate() {
            let at = t0 + Duration::from_millis(250 * (n as u64 / 10 + 1));
            std::mem::forget(place);
            line.answered(device(n as u128), at);
        }
        let pace = line.state.lock().unwrap().pace;
        assert_eq!(pace, (FIRST_PACE + Duration::from_secs(1) / 31) / 2);
        // Far back in a long line: told to come back after at most MAX_WAIT.
        let _turns: Vec<Turn> = (100..(100 + 2_000))
            .map(|n| line.arrive(device(n), t0))
            .collect();
        let (due, ahead) = wait(line.arrive(device(5_000), t0));
        assert_eq!(due, MAX_WAIT);
        assert!(ahead >= 2_000);
    }

    #[test]
    fn a_turn_given_holds_its_place_for_the_push_until_it_lapses() {
        // A 50 ms target at the assumed 50 ms pace: one push at a time.
        let line = PushLine::new(Duration::from_millis(50), Turns::Held);
        let t0 = Instant::now();
        let first = go(line.arrive(device(1), t0));
        wait(line.arrive(device(2), t0));
        // Device 2 asks for its turn without its batch: not yet…
        assert!(line.ask(device(2), t0 + Duration::from_millis(5)).is_some());
        drop(first);
        // …then it is given it, and its place is held…
        let asked = t0 + Duration::from_millis(10);
        assert_eq!(line.ask(device(2), asked), None);
        assert_eq!(line.state.lock().unwrap().taken, 0, "holding is not work");
        // …so a newcomer is not taken in its stead…
        let (_, ahead) = wait(line.arrive(device(3), asked));
        assert_eq!(ahead, 1, "the held place is ahead of it");
        // …and device 2's push is taken when it comes, though the line is full.
        let _two = go(line.arrive(device(2), asked + Duration::from_millis(5)));
        wait(line.arrive(device(4), asked + Duration::from_millis(6)));
        // A place held for a push that never comes lapses after HOLD.
        let line = PushLine::new(Duration::from_millis(50), Turns::Held);
        assert_eq!(line.ask(device(1), t0), None);
        wait(line.arrive(device(5), t0 + HOLD - Duration::from_millis(1)));
        let _five = go(line.arrive(device(5), t0 + HOLD + Duration::from_millis(1)));
    }

    #[test]
    fn asking_again_does_not_keep_a_place_past_its_hold() {
        // A device that asks and asks but never pushes holds its place for HOLD, no longer.
        let line = PushLine::new(Duration::from_millis(50), Turns::Held);
        let t0 = Instant::now();
        assert_eq!(line.ask(device(1), t0), None);
        assert_eq!(line.ask(device(1), t0 + HOLD / 2), None);
        assert_eq!(
            line.ask(device(1), t0 + HOLD - Duration::from_millis(1)),
            None
        );
        let _two = go(line.arrive(device(2), t0 + HOLD + Duration::from_millis(1)));
    }

    #[tokio::test]
    async fn among_replicas_only_the_devices_waiting_here_come_first() {
        // A 50 ms target at the assumed 50 ms pace: one push at a time.
        let line = PushLine::new(Duration::from_millis(50), Turns::Pushed);
        let t0 = Instant::now();
        let first = go(line.arrive(device(1), t0));
        // Device 2 is numbered here, and its tablet is not waiting here: it keeps no place.
        wait(line.arrive(device(2), t0));
        drop(first);
        let _three = go(line.arrive(device(3), t0 + Duration::from_millis(10)));
        // Device 2 asks for its turn: no room while device 3 is taken, so it waits here, and
        // now it keeps a place from a newcomer.
        let now = Instant::now();
        let mut waiting = std::pin::pin!(line.wait_turn(device(2)));
        assert!(
            futures_util::FutureExt::now_or_never(&mut waiting).is_none(),
            "no room while device 3 is taken"
        );
        assert!(line.state.lock().unwrap().held.is_empty());
        let (_, ahead) = wait(line.arrive(device(4), now));
        assert_eq!(ahead, 2, "device 3 taken, device 2 waiting here");
    }

    /// Device 2, numbered behind device 1's push in a one-place line of `turns`, asks for its
    /// turn: not answered while the place is taken, it is answered (its turn) as soon as the
    /// answer to device 1 frees the place, well before it would look again by itself.
    async fn turn_comes_when_the_place_frees(turns: Turns) -> Arc<PushLine> {
        // 50 ms per push, a 50 ms target: one push at a time.
        let line = PushLine::new(Duration::from_millis(50), turns);
        let first = go(line.arrive(device(1), Instant::now()));
        wait(line.arrive(device(2), Instant::now()));
        let waiting = tokio::spawn({
            let line = line.clone();
            async move { line.wait_turn(device(2)).await }
        });
        tokio::time::sleep(RECHECK + Duration::from_millis(100)).await;
        assert!(!waiting.is_finished(), "answered while the place was taken");
        let freed = Instant::now();
        drop(first);
        assert_eq!(waiting.await.unwrap(), None, "its turn");
        assert!(freed.elapsed() < RECHECK / 2, "{:?}", freed.elapsed());
        line
    }

    #[tokio::test]
    async fn a_turn_waited_for_comes_when_the_place_frees() {
        let line = turn_comes_when_the_place_frees(Turns::Held).await;
        let s = line.state.lock().unwrap();
        assert!(s.held.contains_key(&device(2)) && s.parked.is_empty());
    }

    #[tokio::test]
    async fn a_device_waiting_here_is_never_late_and_leaves_no_trace_when_gone() {
        let line = PushLine::new(Duration::from_millis(50), Turns::Held);
        let t0 = Instant::now();
        let _taken = go(line.arrive(device(1), t0));
        let (due, _) = wait(line.arrive(device(2), t0));
        let waiting = tokio::spawn({
            let line = line.clone();
            async move { line.wait_turn(device(2)).await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        // Past its time and past LATE, device 2 is still waiting here: a newcomer is behind it,
        // and its number is kept past its grace.
        let later = Instant::now() + due + GRACE;
        let (_, ahead) = wait(line.arrive(device(3), later));
        assert_eq!(ahead, 2, "the taken push and device 2");
        // The tablet goes away: its request is dropped, its number no longer waits here.
        waiting.abort();
        let _ = waiting.await;
        assert!(line.state.lock().unwrap().parked.is_empty());
    }

    #[tokio::test]
    async fn among_replicas_a_turn_is_given_when_there_is_room_and_holds_nothing() {
        let line = turn_comes_when_the_place_frees(Turns::Pushed).await;
        // Nothing held: its push lands here or at another replica, and here it comes first.
        let s = line.state.lock().unwrap();
        assert!(s.held.is_empty() && s.tickets.contains_key(&device(2)));
        drop(s);
        let _two = go(line.arrive(device(2), Instant::now()));
        let (_, ahead) = wait(line.arrive(device(3), Instant::now()));
        assert_eq!(ahead, 1, "device 2's push, taken");
    }

    #[test]
    fn a_zero_target_takes_every_push() {
        let line = PushLine::new(Duration::ZERO, Turns::Held);
        let t0 = Instant::now();
        let _all: Vec<Place> = (0..100).map(|n| go(line.arrive(device(n), t0))).collect();
    }

    #[test]
    fn busy_while_a_push_is_taken_or_a_number_waits_and_not_after() {
        // 50 ms per push, a 50 ms target: one push at a time.
        let line = PushLine::new(Duration::from_millis(50), Turns::Held);
        let t0 = Instant::now();
        assert!(!line.busy(t0));
        let taken = go(line.arrive(device(1), t0));
        assert!(line.busy(t0));
        let (due, _) = wait(line.arrive(device(2), t0));
        drop(taken);
        // The number still waits for its turn...
        assert!(line.busy(t0 + due));
        // ...and lapses, unshown, after its grace: nothing holds the server then.
        assert!(!line.busy(t0 + due + GRACE));
    }
}
