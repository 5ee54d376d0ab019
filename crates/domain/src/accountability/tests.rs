//! Trails stage by stage; [`random_logs`] checks them against the status machine and the
//! ledger on generated logs, [`tallies`] the totals.

use super::*;
use crate::china_time::{china_date, china_midnight};
use crate::mock_evaluation::sample::Stream;
use crate::rectification::derive_status;
use RectificationAction as A;
use fieldcheck_protocol::{Category, Hlc, Severity};

mod random_logs;
mod tallies;

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

/// China time `hour`:00 on the `day`-th day after 2026-12-01, in Unix milliseconds.
fn at(day: i64, hour: i64) -> i64 {
    china_midnight("2026-12-01").unwrap() + day * DAY + hour * HOUR
}

/// The China date `day` days after 2026-12-01.
fn date(day: i64) -> String {
    china_date(at(day, 12))
}

/// A stamp whose physical time is exactly `ms`.
fn hlc(ms: i64) -> Hlc {
    let (secs, rem) = (ms.div_euclid(1000) as u64, ms.rem_euclid(1000) as u64);
    let h = Hlc {
        time: (secs << 32) | (rem << 32).div_ceil(1000),
        node: 1,
    };
    assert_eq!(h.unix_millis(), ms);
    h
}

fn finding(created_at: i64, same_day: bool, deadline: Option<String>) -> FindingRecord {
    FindingRecord {
        id: Uuid::from_u128(0xF1),
        site_id: Uuid::nil(),
        inspection_id: None,
        item_code: None,
        category: Category::Component,
        subcategory: "manhole_cover".into(),
        description: "井盖破损".into(),
        severity: Severity::Major,
        position: None,
        unit: Some("traffic_police".into()),
        deadline,
        same_day,
        reporter: "inspector_zhao".into(),
        device_id: Uuid::nil(),
        created_at,
        hlc: hlc(created_at),
    }
}

fn ev(id: u128, action: RectificationAction, ms: i64, actor: &str) -> RectificationEventRecord {
    RectificationEventRecord {
        id: Uuid::from_u128(id),
        finding_id: Uuid::from_u128(0xF1),
        action,
        actor: actor.into(),
        note: String::new(),
        unit: None,
        deadline: None,
        photo_sha256: None,
        hlc: hlc(ms),
    }
}

fn dispatch(id: u128, ms: i64, unit: &str, deadline_day: i64) -> RectificationEventRecord {
    RectificationEventRecord {
        unit: Some(unit.into()),
        deadline: Some(date(deadline_day)),
        ..ev(id, A::Dispatched, ms, "office_li")
    }
}

fn unit(code: &str) -> Holder {
    Holder::Unit(code.into())
}

/// (status, holder, days held, deadline, days overdue, moved on by) of each stage.
type View = (Status, Holder, i64, Option<String>, i64, Option<String>);

fn view(t: &Trail) -> Vec<View> {
    t.stages
        .iter()
        .map(|s| {
            let v = (s.status, s.holder.clone(), s.days_held, s.deadline.clone());
            (v.0, v.1, v.2, v.3, s.days_overdue, s.moved_on_by.clone())
        })
        .collect()
}

fn shuffle<T>(items: &mut [T], s: &mut Stream) {
    for i in (1..items.len()).rev() {
        items.swap(i, s.below(i as u64 + 1) as usize);
    }
}

#[test]
fn the_whole_loop_stage_by_stage() {
    // Found on day 0 (due day 3 on site), dispatched on day 1 to housing, due day 5; housing
    // reports it fixed on day 7 (2 days late), the inspector sends it back on day 8, housing
    // reports again on day 9 (now 4 days past day 5), the inspector verifies on day 10, the
    // office closes on day 12.
    let f = finding(at(0, 10), false, Some(date(3)));
    let log = vec![
        dispatch(1, at(1, 9), "housing", 5),
        ev(2, A::Rectified, at(7, 16), "housing_wang"),
        ev(3, A::SentBack, at(8, 10), "inspector_zhao"),
        ev(4, A::Rectified, at(9, 11), "housing_wang"),
        ev(5, A::Verified, at(10, 15), "inspector_zhao"),
        ev(6, A::Closed, at(12, 9), "office_li"),
    ];
    let t = trail(&f, &log, at(20, 0));
    let by = |p: &str| Some(p.to_owned());
    assert_eq!(
        view(&t),
        [
            (
                Status::Open,
                Holder::Office,
                1,
                Some(date(3)),
                0,
                by("office_li")
            ),
            (
                Status::Dispatched,
                unit("housing"),
                6,
                Some(date(5)),
                2,
                by("housing_wang")
            ),
            (
                Status::Rectified,
                Holder::Recheck,
                1,
                None,
                0,
                by("inspector_zhao")
            ),
            (
                Status::SentBack,
                unit("housing"),
                1,
                Some(date(5)),
                4,
                by("housing_wang")
            ),
            (
                Status::Rectified,
                Holder::Recheck,
                1,
                None,
                0,
                by("inspector_zhao")
            ),
            (
                Status::Verified,
                Holder::Office,
                2,
                None,
                0,
                by("office_li")
            ),
        ]
    );
    assert_eq!(t.status, Status::Closed);
    let missed: Vec<bool> = t.stages.iter().map(|s| s.missed).collect();
    assert_eq!(missed, [false, true, false, true, false, false]);
    let froms: Vec<i64> = t.stages.iter().map(|s| s.from_ms).collect();
    let mut times = vec![f.created_at];
    times.extend(log[..5].iter().map(|e| e.hlc.unix_millis()));
    assert_eq!(froms, times);
    assert_eq!(t.stages[1].started_by, "office_li");
    assert_eq!(t.stages[0].started_by, "inspector_zhao", "the reporter");

    let mut s = Stream::new(1, 0);
    for _ in 0..20 {
        let mut shuffled = log.clone();
        shuffle(&mut shuffled, &mut s);
        assert_eq!(
            trail(&f, &shuffled, at(20, 0)),
            t,
            "arrival order does not matter"
        );
    }
}

#[test]
fn a_deadline_day_ends_at_midnight_china_time() {
    let f = finding(at(0, 8), false, None);
    let fixed_at = |ms: i64| {
        let log = [
            dispatch(1, at(0, 9), "roads", 2),
            ev(2, A::Rectified, ms, "roads_chen"),
        ];
        let s = &trail(&f, &log, at(30, 0)).stages[1];
        (s.missed, s.days_overdue)
    };
    assert_eq!(
        fixed_at(at(3, 0) - 1),
        (false, 0),
        "23:59:59.999 on the day"
    );
    assert_eq!(fixed_at(at(3, 0)), (true, 1), "00:00 the day after");
    // 20:00 UTC on the deadline's date is already 04:00 the next day in China.
    let utc_evening = at(2, 0) + 8 * HOUR + 20 * HOUR;
    assert_eq!(china_date(utc_evening), date(3));
    assert_eq!(fixed_at(utc_evening), (true, 1));
    assert_eq!(fixed_at(at(6, 12)), (true, 4));

    // Held from 23:30 to 00:30 China time (one UTC day, 15:30 to 16:30): one China day.
    let log = [
        dispatch(1, at(1, 23) + HOUR / 2, "roads", 9),
        ev(2, A::Rectified, at(2, 0) + HOUR / 2, "roads_chen"),
    ];
    assert_eq!(trail(&f, &log, at(9, 0)).stages[1].days_held, 1);
}

#[test]
fn a_stage_still_held_counts_to_now_as_the_ledger_does() {
    let f = finding(at(0, 8), false, None);
    let log = [dispatch(1, at(0, 9), "roads", 2)];
    for (now, missed, overdue) in [
        (at(2, 23), false, 0),
        (at(3, 1), true, 1),
        (at(5, 12), true, 3),
    ] {
        let t = trail(&f, &log, now);
        let last = t.stages.last().unwrap();
        assert_eq!((last.to_ms, last.moved_on_by.as_deref()), (None, None));
        assert_eq!((last.missed, last.days_overdue), (missed, overdue));
        assert_eq!(last.days_held, (now - at(0, 0)) / DAY);
        let today = china_date(now);
        assert_eq!(duty(&f, &log).overdue(&today), missed, "the ledger agrees");
    }
}

#[test]
fn a_re_dispatch_hands_the_finding_to_the_next_unit() {
    let f = finding(at(0, 8), false, None);
    let log = [
        dispatch(1, at(1, 9), "housing", 4),
        dispatch(2, at(6, 10), "urban_mgmt", 9),
    ];
    let t = trail(&f, &log, at(7, 0));
    let by = |p: &str| Some(p.to_owned());
    assert_eq!(
        view(&t),
        [
            (Status::Open, Holder::Office, 1, None, 0, by("office_li")),
            (
                Status::Dispatched,
                unit("housing"),
                5,
                Some(date(4)),
                2,
                by("office_li")
            ),
            (
                Status::Dispatched,
                unit("urban_mgmt"),
                1,
                Some(date(9)),
                0,
                None
            ),
        ]
    );
    assert_eq!(t.stages[1].moved_on_with, Some(A::Dispatched));
}

#[test]
fn steps_that_do_not_apply_leave_no_stage() {
    let f = finding(at(0, 8), false, None);
    let log = [
        ev(1, A::Verified, at(0, 12), "inspector_zhao"), // nothing reported fixed
        ev(2, A::Closed, at(1, 0), "office_li"),         // nothing fixed
        dispatch(3, at(1, 9), "roads", 4),
        ev(4, A::Closed, at(2, 0), "office_li"), // nothing fixed
        ev(5, A::Rectified, at(3, 0), "roads_chen"),
        ev(6, A::Opened, at(3, 5), "office_li"), // not closed
        ev(7, A::Verified, at(4, 0), "inspector_zhao"),
        ev(8, A::Closed, at(5, 0), "office_li"),
        ev(9, A::Rectified, at(6, 0), "inspector_zhao"), // after 结案
        ev(10, A::SentBack, at(7, 0), "inspector_zhao"), // after 结案
    ];
    let t = trail(&f, &log, at(9, 0));
    let steps: Vec<(Status, Option<RectificationAction>)> = t
        .stages
        .iter()
        .map(|s| (s.status, s.moved_on_with))
        .collect();
    assert_eq!(
        steps,
        [
            (Status::Open, Some(A::Dispatched)),
            (Status::Dispatched, Some(A::Rectified)),
            (Status::Rectified, Some(A::Verified)),
            (Status::Verified, Some(A::Closed)),
        ]
    );
    assert_eq!(t.stages[0].to_ms, Some(at(1, 9)));
    assert_eq!(t.status, derive_status(&log));
}

#[test]
fn a_re_opened_finding_returns_to_the_office_and_the_closed_time_is_no_ones() {
    let f = finding(at(0, 8), false, None);
    let log = [
        dispatch(1, at(0, 9), "roads", 2),
        ev(2, A::Rectified, at(1, 9), "roads_chen"),
        ev(3, A::Closed, at(3, 0), "office_li"),
        ev(4, A::Opened, at(6, 0), "office_li"),
    ];
    let t = trail(&f, &log, at(8, 0));
    let closed = &t.stages[2];
    assert_eq!(
        (closed.to_ms, closed.moved_on_with),
        (Some(at(3, 0)), Some(A::Closed))
    );
    let reopened = &t.stages[3];
    assert_eq!(
        (reopened.status, &reopened.holder),
        (Status::Open, &Holder::Office)
    );
    assert_eq!(
        (reopened.from_ms, reopened.to_ms, reopened.days_held),
        (at(6, 0), None, 2)
    );
    assert_eq!(t.stages.len(), 4);
}

#[test]
fn a_same_day_finding_owes_its_day_until_closed() {
    // 当场整改: due the day found; the ledger counts it owed until 结案.
    let f = finding(at(0, 9), true, None);
    let log = [
        ev(1, A::Rectified, at(0, 11), "inspector_zhao"),
        ev(2, A::Verified, at(1, 10), "office_li"),
        ev(3, A::Closed, at(1, 15), "office_li"),
    ];
    let t = trail(&f, &log, at(5, 0));
    let judged: Vec<(Option<String>, bool)> = t
        .stages
        .iter()
        .map(|s| (s.deadline.clone(), s.missed))
        .collect();
    assert_eq!(
        judged,
        [
            (Some(date(0)), false),
            (Some(date(0)), true),
            (Some(date(0)), true)
        ]
    );
    assert!(
        duty(&f, &log[..2]).overdue(&date(1)),
        "the ledger: overdue on day 1"
    );
}

#[test]
fn with_no_steps_the_office_holds_it_from_creation() {
    let f = finding(at(0, 9), false, Some(date(2)));
    let t = trail(&f, &[], at(4, 9));
    let by: Option<String> = None;
    assert_eq!(
        view(&t),
        [(Status::Open, Holder::Office, 4, Some(date(2)), 2, by)],
        "the unit named on site does not hold it before dispatch"
    );
}
