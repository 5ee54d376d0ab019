use super::*;
use fieldcheck_protocol::{Category, Hlc, Severity};

const DAY: i64 = 86_400_000;
const HOUR: i64 = 3_600_000;

/// 10:00 China time on `day`, plus `days`.
fn at(day: &str, days: i64) -> i64 {
    china_midnight(day).unwrap() + 10 * HOUR + days * DAY
}

fn finding(n: u128, item: Option<&str>, created_at: i64, deadline: Option<&str>) -> FindingRecord {
    FindingRecord {
        id: Uuid::from_u128(n),
        site_id: Uuid::from_u128(0x51),
        inspection_id: None,
        item_code: item.map(Into::into),
        category: Category::Component,
        subcategory: "manhole_cover".into(),
        description: "井盖破损".into(),
        severity: Severity::Major,
        position: None,
        unit: None,
        deadline: deadline.map(Into::into),
        same_day: false,
        reporter: "inspector1".into(),
        device_id: Uuid::nil(),
        created_at,
        hlc: Hlc { time: 0, node: 1 },
    }
}

fn step(
    f: &FindingRecord,
    action: RectificationAction,
    ms: i64,
    unit: Option<&str>,
    deadline: Option<&str>,
) -> RectificationEventRecord {
    RectificationEventRecord {
        id: Uuid::now_v7(),
        finding_id: f.id,
        action,
        actor: "t".into(),
        note: String::new(),
        unit: unit.map(Into::into),
        deadline: deadline.map(Into::into),
        photo_sha256: matches!(
            action,
            RectificationAction::Rectified | RectificationAction::Verified
        )
        .then(|| format!("{:064x}", ms)),
        hlc: Hlc {
            time: ((ms / 1000) as u64) << 32,
            node: 2,
        },
    }
}

fn case<'a>(
    f: &'a FindingRecord,
    log: &'a [RectificationEventRecord],
    street: &'a str,
) -> Case<'a> {
    Case {
        finding: f,
        log,
        district: "示范县",
        street,
    }
}

/// The week of Monday 2026-11-30 to Sunday 2026-12-06.
fn week() -> Period {
    Period::new("2026-11-30", "2026-12-06").unwrap()
}

#[test]
fn a_period_is_real_days_in_order_and_at_most_a_year() {
    assert_eq!(week().days(), 7);
    assert_eq!(week().week_number(), Some((2026, 49)));
    assert_eq!(
        Period::new("2026-12-01", "2026-12-07")
            .unwrap()
            .week_number(),
        None,
        "not Monday to Sunday: no issue number"
    );
    assert_eq!(
        Period::new("2026-02-30", "2026-03-01"),
        Err(PeriodFault::NotADate("from"))
    );
    assert_eq!(
        Period::new("2026-03-01", "soon"),
        Err(PeriodFault::NotADate("to"))
    );
    assert_eq!(
        Period::new("2026-03-02", "2026-03-01"),
        Err(PeriodFault::Reversed)
    );
    assert_eq!(
        Period::new("2025-01-01", "2026-02-04"),
        Err(PeriodFault::TooLong(400))
    );
    assert!(PeriodFault::TooLong(400).zh().contains("366"));
    assert_eq!(PeriodFault::TooLong(400).field(), "to");
    assert_eq!(
        Period::new("2024-01-01", "2024-12-31").unwrap().days(),
        366,
        "a leap year fits"
    );
}

#[test]
fn the_weekly_bulletin_covers_the_last_full_china_week() {
    // Sunday 2026-12-06 23:30 China time is still that week; the last full one is the one before.
    let sunday_night = china_midnight("2026-12-06").unwrap() + 23 * HOUR + 30 * 60_000;
    assert_eq!(Period::week_of(sunday_night), week());
    assert_eq!(
        Period::last_full_week(sunday_night),
        Period::new("2026-11-23", "2026-11-29").unwrap()
    );
    // Monday 00:10 China time (still Sunday in UTC): the week just ended.
    let monday = china_midnight("2026-12-07").unwrap() + 10 * 60_000;
    assert_eq!(Period::last_full_week(monday), week());
    assert_eq!(
        week().as_of(monday),
        week().end_ms() - 1,
        "judged at its end"
    );
    assert_eq!(week().as_of(at("2026-12-01", 0)), at("2026-12-01", 0));
    assert!(week().contains(week().start_ms()) && !week().contains(week().end_ms()));
}

#[test]
fn each_finding_has_one_outcome_judged_at_the_periods_end() {
    use RectificationAction as A;
    let p = week();
    let end = p.end_ms() - 1;
    let mon = "2026-11-30";
    // On time: dispatched due Wednesday, fixed Tuesday.
    let a = finding(1, None, at(mon, 0), None);
    let a_log = [
        step(
            &a,
            A::Dispatched,
            at(mon, 0) + HOUR,
            Some("housing"),
            Some("2026-12-02"),
        ),
        step(&a, A::Rectified, at(mon, 1), None, None),
    ];
    // Late: due Tuesday, fixed Friday (3 days late).
    let b = finding(2, None, at(mon, 0), None);
    let b_log = [
        step(
            &b,
            A::Dispatched,
            at(mon, 0) + HOUR,
            Some("housing"),
            Some("2026-12-01"),
        ),
        step(&b, A::Rectified, at(mon, 4), None, None),
    ];
    // Overdue: its own deadline Wednesday, never dispatched; 4 days late on Sunday. A fix
    // stamped after the week does not count.
    let c = finding(3, None, at(mon, 1), Some("2026-12-02"));
    let c_log = [step(&c, A::Rectified, at(mon, 9), None, None)];
    // Pending: due next week.
    let d = finding(4, None, at(mon, 2), Some("2026-12-10"));
    // Done, then sent back: owed again, and past its deadline.
    let e = finding(5, None, at(mon, 0), Some("2026-12-03"));
    let e_log = [
        step(&e, A::Rectified, at(mon, 1), None, None),
        step(&e, A::SentBack, at(mon, 2), None, None),
    ];
    // Fixed with no deadline: on time.
    let g = finding(6, None, at(mon, 3), None);
    let g_log = [step(&g, A::Rectified, at(mon, 5), None, None)];

    let judged = |f, log: &[RectificationEventRecord]| judge(&case(f, log, "城关街道"), end);
    let ja = judged(&a, &a_log);
    assert_eq!((ja.outcome, ja.days_late), (Outcome::OnTime, 0));
    assert_eq!(ja.unit.as_deref(), Some("housing"));
    assert_eq!(ja.after_photo, a_log[1].photo_sha256);
    assert_eq!(judged(&b, &b_log).outcome, Outcome::Late);
    assert_eq!(judged(&b, &b_log).days_late, 3);
    let jc = judged(&c, &c_log);
    assert_eq!((jc.outcome, jc.days_late), (Outcome::Overdue, 4));
    assert_eq!(jc.after_photo, None, "the later fix is not read");
    assert_eq!(
        judge(&case(&c, &c_log, "城关街道"), at(mon, 10)).outcome,
        Outcome::Late,
        "judged later, the fix counts, 7 days late"
    );
    assert_eq!(judged(&d, &[]).outcome, Outcome::Pending);
    assert_eq!(judged(&e, &e_log).outcome, Outcome::Overdue);
    assert_eq!(judged(&g, &g_log).outcome, Outcome::OnTime);

    // A finding found the day after the week is not in it.
    let next = finding(7, None, at(mon, 7), Some("2026-12-01"));
    let cases = [
        case(&a, &a_log, "城关街道"),
        case(&b, &b_log, "东湖街道"),
        case(&c, &c_log, "城关街道"),
        case(&d, &[], "城关街道"),
        case(&e, &e_log, "东湖街道"),
        case(&g, &g_log, "东湖街道"),
        case(&next, &[], "东湖街道"),
    ];
    let bulletin = compile(&cases, &p, at(mon, 30));
    let t = bulletin.total;
    assert_eq!(
        (t.found, t.on_time, t.late, t.overdue, t.pending),
        (6, 2, 1, 2, 1)
    );
    assert_eq!(t.found, t.decided() + t.pending);
    assert_eq!(t.on_time_rate(), Some(0.4));
    assert_eq!(
        bulletin
            .by_street
            .iter()
            .map(|r| (r.key.1.as_str(), r.figures.found, r.figures.overdue))
            .collect::<Vec<_>>(),
        [("东湖街道", 3, 1), ("城关街道", 3, 1)]
    );
    assert_eq!(bulletin.by_district.len(), 1);
    assert_eq!(bulletin.by_district[0].figures, t);
    // The worst: C 4 days overdue, then B and E (3 and 3: the earliest found first).
    let worst: Vec<Uuid> = bulletin.worst(10).iter().map(|j| j.finding_id).collect();
    assert_eq!(worst, [c.id, b.id, e.id]);
    assert_eq!(bulletin.worst(1).len(), 1);
}

#[test]
fn a_problem_fixed_and_found_again_within_30_days_is_reopened() {
    use RectificationAction as A;
    let p = week();
    let mon = "2026-11-30";
    // G: BA-01 at the site, fixed 20 days before the week and closed.
    let g = finding(1, Some("BA-01"), at(mon, -40), None);
    let g_log = [
        step(&g, A::Rectified, at(mon, -20), None, None),
        step(&g, A::Closed, at(mon, -19), None, None),
    ];
    // H: BA-02, fixed 40 days before: too long ago.
    let h = finding(2, Some("BA-02"), at(mon, -60), None);
    let h_log = [step(&h, A::Rectified, at(mon, -40), None, None)];
    // K: BA-03, never fixed.
    let k = finding(3, Some("BA-03"), at(mon, -10), None);
    // F1: BA-01 again on Tuesday, 21 days after G's fix: reopened.
    let f1 = finding(10, Some("BA-01"), at(mon, 1), None);
    // F2: BA-02 again: H's fix is 41 days before.
    let f2 = finding(11, Some("BA-02"), at(mon, 1), None);
    // F3: BA-03 again: K was never fixed, so not reopened.
    let f3 = finding(12, Some("BA-03"), at(mon, 1), None);
    // F4: BA-01 on Friday: F1 was not fixed, G's fix is 24 days before: reopened from G.
    let f4 = finding(13, Some("BA-01"), at(mon, 4), None);
    // F5: no item: never reopened.
    let f5 = finding(14, None, at(mon, 4), None);
    // J: BA-04 fixed the day after F6 was found (at a later time): not known when F6 was found.
    let f6 = finding(15, Some("BA-04"), at(mon, 2), None);
    let j = finding(4, Some("BA-04"), at(mon, -3), None);
    let j_log = [step(&j, A::Rectified, at(mon, 3), None, None)];
    let cases = [
        case(&g, &g_log, "城关街道"),
        case(&h, &h_log, "城关街道"),
        case(&k, &[], "城关街道"),
        case(&j, &j_log, "城关街道"),
        case(&f1, &[], "城关街道"),
        case(&f2, &[], "城关街道"),
        case(&f3, &[], "城关街道"),
        case(&f4, &[], "城关街道"),
        case(&f5, &[], "城关街道"),
        case(&f6, &[], "城关街道"),
    ];
    let b = compile(&cases, &p, p.end_ms() + DAY);
    let reopens = |id: Uuid| {
        b.judged
            .iter()
            .find(|x| x.finding_id == id)
            .unwrap()
            .reopens
    };
    assert_eq!(reopens(f1.id), Some(g.id));
    assert_eq!(reopens(f2.id), None, "41 days is more than 30");
    assert_eq!(reopens(f3.id), None, "never fixed");
    assert_eq!(reopens(f4.id), Some(g.id));
    assert_eq!(reopens(f5.id), None);
    assert_eq!(reopens(f6.id), None, "fixed only after it was found again");
    assert_eq!(
        b.total.found, 6,
        "the earlier findings only serve as history"
    );
    assert_eq!(b.total.reopened, 2);

    // A fix sent back before the new finding no longer stands; one sent back later still did.
    let back = finding(30, Some("BA-07"), at(mon, -25), None);
    let back_log = [
        step(&back, A::Rectified, at(mon, -20), None, None),
        step(&back, A::SentBack, at(mon, -5), None, None),
    ];
    let after_back = finding(31, Some("BA-07"), at(mon, 1), None);
    let later = finding(32, Some("BA-08"), at(mon, -25), None);
    let later_log = [
        step(&later, A::Rectified, at(mon, -20), None, None),
        step(&later, A::SentBack, at(mon, 3), None, None),
    ];
    let before_back = finding(33, Some("BA-08"), at(mon, 1), None);
    let cases = [
        case(&back, &back_log, "城关街道"),
        case(&after_back, &[], "城关街道"),
        case(&later, &later_log, "城关街道"),
        case(&before_back, &[], "城关街道"),
    ];
    let b = compile(&cases, &p, p.end_ms());
    let reopens = |id: Uuid| {
        b.judged
            .iter()
            .find(|x| x.finding_id == id)
            .unwrap()
            .reopens
    };
    assert_eq!(
        reopens(after_back.id),
        None,
        "sent back: not fixed any more"
    );
    assert_eq!(reopens(before_back.id), Some(later.id));

    // Exactly 30 China days counts; 31 does not.
    let g30 = finding(20, Some("BA-05"), at(mon, -50), None);
    let g30_log = [step(
        &g30,
        A::Rectified,
        at(mon, -29) + 12 * HOUR,
        None,
        None,
    )];
    let f30 = finding(21, Some("BA-05"), at(mon, 1) - 9 * HOUR, None);
    let g31 = finding(22, Some("BA-06"), at(mon, -50), None);
    let g31_log = [step(&g31, A::Rectified, at(mon, -30), None, None)];
    let f31 = finding(23, Some("BA-06"), at(mon, 1), None);
    let cases = [
        case(&g30, &g30_log, "城关街道"),
        case(&f30, &[], "城关街道"),
        case(&g31, &g31_log, "城关街道"),
        case(&f31, &[], "城关街道"),
    ];
    let b = compile(&cases, &p, p.end_ms());
    assert_eq!(b.judged[0].reopens, Some(g30.id));
    assert_eq!(b.judged[1].reopens, None);
}

/// A unit's findings in the week: `on_time` fixed on time, `late` fixed late, `overdue` still
/// owed past their deadline, `pending` not yet due.
fn unit_cases(
    unit: &str,
    first: u128,
    [on_time, late, overdue, pending]: [usize; 4],
) -> Vec<(FindingRecord, Vec<RectificationEventRecord>)> {
    use RectificationAction as A;
    let mon = "2026-11-30";
    let mut out = Vec::new();
    let mut n = first;
    for (count, deadline, fixed) in [
        (on_time, "2026-12-03", Some(2)),
        (late, "2026-12-01", Some(4)),
        (overdue, "2026-12-01", None),
        (pending, "2026-12-20", None),
    ] {
        for _ in 0..count {
            let f = finding(n, None, at(mon, 0), None);
            n += 1;
            let mut log = vec![step(
                &f,
                A::Dispatched,
                at(mon, 0) + HOUR,
                Some(unit),
                Some(deadline),
            )];
            if let Some(d) = fixed {
                log.push(step(&f, A::Rectified, at(mon, d), None, None));
            }
            out.push((f, log));
        }
    }
    out
}

#[test]
fn units_are_ranked_by_on_time_rate_and_the_lists_name_the_best_and_the_worst() {
    let p = week();
    let mut all = Vec::new();
    all.extend(unit_cases("water", 100, [4, 0, 0, 1])); // 100 %, 4 on time
    all.extend(unit_cases("parks", 200, [2, 0, 0, 0])); // 100 %, 2 on time
    all.extend(unit_cases("roads", 300, [2, 0, 0, 0])); // the same as parks: by code
    all.extend(unit_cases("police", 400, [1, 0, 0, 0])); // 100 %, 1: fourth, off the red list
    all.extend(unit_cases("housing", 500, [1, 1, 2, 0])); // 25 %, 2 overdue
    all.extend(unit_cases("urban", 600, [1, 2, 1, 0])); // 25 %, 1 overdue
    all.extend(unit_cases("traffic", 700, [3, 1, 0, 0])); // 75 %
    all.extend(unit_cases("schools", 800, [0, 0, 0, 2])); // nothing decided: not ranked
    let none = finding(900, None, at("2026-11-30", 0), Some("2026-12-01"));
    let cases: Vec<Case> = all
        .iter()
        .map(|(f, log)| case(f, log, "城关街道"))
        .chain([case(&none, &[], "城关街道")])
        .collect();
    let b = compile(&cases, &p, p.end_ms() + DAY);
    let keys = |rows: &[Row<String>]| rows.iter().map(|r| r.key.clone()).collect::<Vec<_>>();
    assert_eq!(
        keys(&b.ranking),
        [
            "water", "parks", "roads", "police", "traffic", "urban", "housing"
        ],
        "the same rate: fewer overdue is better"
    );
    assert_eq!(keys(&b.red), ["water", "parks", "roads"]);
    assert_eq!(
        keys(&b.black),
        ["housing", "urban", "traffic"],
        "the same rate: more overdue is worse"
    );
    let units: Vec<Option<&str>> = b.by_unit.iter().map(|r| r.key.as_deref()).collect();
    assert_eq!(
        units,
        [
            Some("water"),
            Some("parks"),
            Some("roads"),
            Some("police"),
            Some("traffic"),
            Some("urban"),
            Some("housing"),
            Some("schools"),
            None
        ]
    );
    assert_eq!(b.by_unit[8].figures.overdue, 1, "its own deadline, no unit");
    assert_eq!(b.total.found, 25);
    let sum: usize = b.by_unit.iter().map(|r| r.figures.found).sum();
    assert_eq!(sum, b.total.found);
}

#[test]
fn an_empty_period_has_zeros_and_empty_lists() {
    let b = compile(&[], &week(), week().end_ms());
    assert_eq!(b.total, Figures::default());
    assert_eq!(b.total.on_time_rate(), None);
    assert!(b.ranking.is_empty() && b.red.is_empty() && b.black.is_empty());
    assert!(b.by_district.is_empty() && b.worst(5).is_empty());
}

#[test]
fn points_lost_by_index_follow_the_scoring_definition() {
    let w = |district, street, index_code, weight, lost_weight| IndexWeights {
        district,
        street,
        index_code,
        weight,
        lost_weight,
    };
    let losses = index_losses([
        w("示范县", "城关街道", "II-20", 6.0, 2.0),
        w("示范县", "城关街道", "II-24", 4.0, 0.0),
        w("示范县", "东湖街道", "II-20", 5.0, 1.0),
        w("示范县", "东湖街道", "II-24", 5.0, 3.0),
    ]);
    let pts = |l: &[IndexLoss]| {
        l.iter()
            .map(|x| {
                (
                    x.index_code.clone(),
                    (x.points_lost * 100.0).round() / 100.0,
                )
            })
            .collect::<Vec<_>>()
    };
    // County: 20 weight; II-20 lost 3 → 15 points, II-24 lost 3 → 15 points (by code).
    assert_eq!(
        pts(&losses.county),
        [("II-20".to_string(), 15.0), ("II-24".to_string(), 15.0)]
    );
    assert_eq!(
        pts(&losses.by_street[&("示范县".to_string(), "城关街道".to_string())]),
        [("II-20".to_string(), 20.0), ("II-24".to_string(), 0.0)]
    );
    assert_eq!(
        pts(&losses.by_street[&("示范县".to_string(), "东湖街道".to_string())]),
        [("II-24".to_string(), 30.0), ("II-20".to_string(), 10.0)]
    );
    assert_eq!(losses.by_district["示范县"], losses.county);
    assert_eq!(index_losses([]), IndexLosses::default());
}
