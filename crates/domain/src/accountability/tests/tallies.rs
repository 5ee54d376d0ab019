//! Totals per holder and per person.

use super::*;

#[test]
fn totals_per_unit_and_person_add_up_what_each_held() {
    // Units with a random number of findings, each fixed a random number of days late.
    let mut s = Stream::new(9, 0);
    let units: Vec<(String, i64, i64)> = ["housing", "parks", "roads", "water"]
        .iter()
        .map(|u| (u.to_string(), 1 + s.below(5) as i64, s.below(5) as i64))
        .collect();
    let mut trails = Vec::new();
    let mut next = 0u128;
    for (u, count, late) in &units {
        for _ in 0..*count {
            next += 10;
            let mut f = finding(at(0, 9), false, None);
            f.id = Uuid::from_u128(next);
            let member = format!("{u}_member");
            let log = [
                dispatch(next + 1, at(0, 10), u, 2),
                ev(next + 2, A::Rectified, at(2 + late, 15), &member),
                ev(next + 3, A::Verified, at(3 + late, 9), "inspector_zhao"),
                ev(next + 4, A::Closed, at(4 + late, 9), "office_li"),
            ];
            trails.push(trail(&f, &log, at(30, 0)));
        }
    }
    let totals = totals(&trails);
    let all: usize = units.iter().map(|u| u.1 as usize).sum();
    let row = |findings: usize, stages: usize, held: i64, missed: usize, overdue: i64| {
        (findings, stages, held, missed, overdue)
    };
    let of = |t: &Total<Holder>| row(t.findings, t.stages, t.days_held, t.missed, t.days_overdue);
    for (u, count, late) in &units {
        let n = *count as usize;
        let got = totals.by_holder.iter().find(|t| t.key == unit(u)).unwrap();
        let missed = if *late > 0 { n } else { 0 };
        assert_eq!(
            of(got),
            row(n, n, count * (2 + late), missed, count * late),
            "{u}"
        );
        let person = totals
            .by_person
            .iter()
            .find(|t| t.key == format!("{u}_member"));
        let p = person.unwrap();
        assert_eq!((p.stages, p.days_overdue), (n, count * late), "{u}");
    }
    // The office dispatches the same hour (0 days) and closes a day after the check (1 day).
    let office = totals
        .by_holder
        .iter()
        .find(|t| t.key == Holder::Office)
        .unwrap();
    assert_eq!(of(office), row(all, 2 * all, all as i64, 0, 0));
    let recheck = totals
        .by_holder
        .iter()
        .find(|t| t.key == Holder::Recheck)
        .unwrap();
    assert_eq!(of(recheck), row(all, all, all as i64, 0, 0));
    let li = totals
        .by_person
        .iter()
        .find(|t| t.key == "office_li")
        .unwrap();
    assert_eq!((li.findings, li.stages), (all, 2 * all));
    // Worst first, the same order every time.
    let key = |t: &Total<Holder>| (-t.days_overdue, -(t.missed as i64), -t.days_held);
    assert!(
        totals
            .by_holder
            .windows(2)
            .all(|p| key(&p[0]) <= key(&p[1]))
    );
    trails.reverse();
    assert_eq!(crate::accountability::totals(&trails), totals);
}

#[test]
fn a_finding_held_twice_counts_once_and_a_held_stage_has_no_person_yet() {
    let f = finding(at(0, 9), false, None);
    let log = [
        dispatch(1, at(0, 10), "housing", 1),
        ev(2, A::Rectified, at(1, 9), "housing_wang"),
        ev(3, A::SentBack, at(2, 9), "inspector_zhao"),
    ];
    let t = trail(&f, &log, at(5, 9));
    let totals = totals([&t]);
    let housing = totals
        .by_holder
        .iter()
        .find(|x| x.key == unit("housing"))
        .unwrap();
    // Day 0 → 1 (met), then day 2 → now day 5, 4 days past day 1.
    assert_eq!(
        (housing.findings, housing.stages, housing.days_held),
        (1, 2, 4)
    );
    assert_eq!((housing.missed, housing.days_overdue), (1, 4));
    let wang = totals
        .by_person
        .iter()
        .find(|x| x.key == "housing_wang")
        .unwrap();
    assert_eq!(
        (wang.stages, wang.missed),
        (1, 0),
        "the held stage is not his yet"
    );
    assert_eq!(
        totals.by_holder[0].key,
        unit("housing"),
        "most overdue first"
    );
}

#[test]
fn equal_totals_are_ordered_by_key() {
    let mut trails = Vec::new();
    for (i, u) in ["water", "housing", "roads"].into_iter().enumerate() {
        let mut f = finding(at(0, 9), false, None);
        f.id = Uuid::from_u128(i as u128);
        trails.push(trail(&f, &[dispatch(1, at(0, 9), u, 5)], at(1, 0)));
    }
    let keys: Vec<Holder> = totals(&trails)
        .by_holder
        .into_iter()
        .map(|t| t.key)
        .collect();
    // Each unit held its finding a day; the office dispatched within the hour.
    assert_eq!(
        keys,
        [
            unit("housing"),
            unit("roads"),
            unit("water"),
            Holder::Office
        ]
    );
}
