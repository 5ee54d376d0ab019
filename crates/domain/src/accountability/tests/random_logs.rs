//! Trails of generated logs agree with the status machine and the ledger.

use super::*;

/// A random log: 0 to 11 steps of any kind (most not applying), random units, deadlines,
/// actors and ids, some at the same instant; given in random order.
fn random_case(seed: u64) -> (FindingRecord, Vec<RectificationEventRecord>, i64) {
    let mut s = Stream::new(seed, 7);
    let pick = |s: &mut Stream, from: &[&str]| from[s.below(from.len() as u64) as usize].to_owned();
    let deadline = (s.below(2) == 0).then(|| date(s.below(6) as i64));
    let f = finding(
        at(0, 8) + s.below(10) as i64 * HOUR,
        s.below(4) == 0,
        deadline,
    );
    let actions = [
        A::Opened,
        A::Dispatched,
        A::Rectified,
        A::Verified,
        A::Closed,
        A::SentBack,
    ];
    let mut time = f.created_at;
    let mut log = Vec::new();
    for _ in 0..s.below(12) {
        time += s.below(3) as i64 * DAY + s.below(24) as i64 * HOUR;
        let action = actions[s.below(6) as usize];
        let mut e = ev(u128::from(s.below(u64::MAX)), action, time, "");
        e.actor = pick(
            &mut s,
            &["office_li", "inspector_zhao", "housing_wang", "roads_chen"],
        );
        if action == A::Dispatched && s.below(8) != 0 {
            e.unit = Some(pick(&mut s, &["housing", "roads", "water"]));
            e.deadline = Some(china_date(time + s.below(6) as i64 * DAY));
        }
        log.push(e);
    }
    shuffle(&mut log, &mut s);
    let now = time + s.below(5 * 24) as i64 * HOUR;
    (f, log, now)
}

#[test]
fn trails_agree_with_the_status_machine_and_the_ledger_on_random_logs() {
    for seed in 0..400 {
        let (f, log, now) = random_case(seed);
        let t = trail(&f, &log, now);
        let status = derive_status(&log);
        assert_eq!(t.status, status, "seed {seed}");
        let last = t.stages.last().unwrap();
        assert_eq!(
            last.to_ms.is_none(),
            status != Status::Closed,
            "seed {seed}"
        );
        let mut gaps = 0;
        for pair in t.stages.windows(2) {
            let step = pair[0].moved_on_with.unwrap();
            if step == A::Closed {
                gaps += 1;
                assert_eq!(
                    pair[1].status,
                    Status::Open,
                    "seed {seed}: only 立案 re-opens"
                );
                assert!(pair[1].from_ms >= pair[0].to_ms.unwrap());
            } else {
                assert_eq!(
                    pair[0].status.after(step),
                    Some(pair[1].status),
                    "seed {seed}"
                );
                assert_eq!(pair[0].to_ms, Some(pair[1].from_ms), "seed {seed}");
            }
        }
        for stage in &t.stages {
            let until = china_date(stage.to_ms.unwrap_or(now));
            let late = stage.deadline.as_ref().is_some_and(|d| *d < until);
            assert_eq!(stage.missed, late, "seed {seed}: {stage:?}");
            assert_eq!(stage.missed, stage.days_overdue > 0);
        }
        if gaps == 0 {
            let days: i64 = t.stages.iter().map(|s| s.days_held).sum();
            let end = last.to_ms.unwrap_or(now);
            assert_eq!(days, (end - at(0, 0)).div_euclid(DAY), "seed {seed}");
        }
        if status != Status::Closed {
            let d = duty(&f, &log);
            assert_eq!(last.deadline, d.deadline.clone().filter(|_| d.due_open));
            assert_eq!(last.missed, d.overdue(&china_date(now)), "seed {seed}");
            if let Holder::Unit(u) = &last.holder {
                assert_eq!(Some(u), d.unit.as_ref(), "seed {seed}");
            }
        }
    }
}
