//! One conformance suite for the `Store` trait, run against SQLite and PostgreSQL.
//!
//! The PostgreSQL half needs FIELDCHECK_TEST_PG_URL (see scripts/start-postgres.sh); without it
//! those tests fail, unless FIELDCHECK_SKIP_PG=1 is set on purpose.

use crate::common;

use common::*;
use fieldcheck_protocol::*;
use fieldcheck_server::store::{
    AuditEntry, DynStore, FindingFilter, NewTaskDivision, PullScope, StoreError,
};
use rand::seq::SliceRandom;
use std::collections::HashSet;
use std::time::Duration;
use uuid::Uuid;

mod suite {
    use super::*;

    pub async fn accounts_and_devices(s: &DynStore) {
        add_user(s, "alice", Role::Inspector, None, "pw-alice").await;
        let dup = s
            .create_user(&s.user("alice").await.unwrap().unwrap())
            .await;
        assert!(matches!(dup, Err(StoreError::Conflict(_))));
        add_user(s, "unit1", Role::UnitMember, Some("urban_mgmt"), "pw").await;
        let users = s.list_users().await.unwrap();
        assert_eq!(
            users.iter().map(|u| u.name.as_str()).collect::<Vec<_>>(),
            ["alice", "unit1"]
        );
        assert_eq!(users[1].unit.as_deref(), Some("urban_mgmt"));
        assert!(s.set_user_disabled("alice", true).await.unwrap());
        assert!(s.user("alice").await.unwrap().unwrap().disabled);
        assert!(!s.set_user_disabled("nobody", true).await.unwrap());
        assert_eq!(
            s.user("alice").await.unwrap().unwrap().shown_name(),
            "alice"
        );
        assert!(s.set_display_name("alice", "李爱丽").await.unwrap());
        assert!(
            s.set_display_name("alice", "王爱丽").await.unwrap(),
            "renamed"
        );
        assert!(!s.set_display_name("nobody", "某人").await.unwrap());
        assert!(
            s.set_display_name("alice", "王爱丽").await.unwrap(),
            "the same name"
        );
        let people: Vec<Person> = s
            .pull(0, 100, &PullScope::Everything, None)
            .await
            .unwrap()
            .changes
            .into_iter()
            .filter_map(|c| match c.item {
                ChangeItem::Person(p) => Some(p),
                _ => None,
            })
            .collect();
        assert_eq!(
            people.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
            ["李爱丽", "王爱丽"],
            "each change reaches the tablets once; the same name again is no change"
        );
        assert_eq!(
            s.user("alice").await.unwrap().unwrap().shown_name(),
            "王爱丽"
        );
        assert!(s.set_password_hash("alice", "h2").await.unwrap());
        assert_eq!(s.user("alice").await.unwrap().unwrap().password_hash, "h2");

        let dev = Device::new(1);
        let token = dev.register(s, "alice").await;
        let session = s
            .session(&fieldcheck_server::auth::token_hash(&token))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(session.device.id, dev.id);
        assert_eq!(session.user.name, "alice");
        assert_eq!(
            session.user.display_name, "王爱丽",
            "the session knows the person"
        );
        assert_eq!(session.device.public_key, dev.public_hex());
        // A new login replaces the token and keeps the device's prefix.
        let token2 = dev.register(s, "alice").await;
        assert!(
            s.session(&fieldcheck_server::auth::token_hash(&token))
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            s.session(&fieldcheck_server::auth::token_hash(&token2))
                .await
                .unwrap()
                .is_some()
        );
        assert_eq!(s.list_devices().await.unwrap().len(), 1);
        // The id is bound to alice and this key: another account, or another key, is refused
        // until an administrator's reset, which voids the token; the next sign-in binds anew.
        let other_account = dev.register_result(s, "unit1").await;
        assert!(matches!(other_account, Err(StoreError::DeviceBound(id)) if id == dev.id));
        let new_key = Device {
            id: dev.id,
            key: Device::new(9).key,
        };
        let other_key = new_key.register_result(s, "alice").await;
        assert!(matches!(other_key, Err(StoreError::DeviceBound(_))));
        assert!(s.reset_device(dev.id).await.unwrap());
        assert!(!s.reset_device(Uuid::now_v7()).await.unwrap());
        assert!(
            s.session(&fieldcheck_server::auth::token_hash(&token2))
                .await
                .unwrap()
                .is_none(),
            "a reset voids the token"
        );
        let token2 = new_key.register(s, "alice").await;
        assert_eq!(
            s.list_devices().await.unwrap()[0].public_key,
            new_key.public_hex()
        );
        assert!(s.revoke_device(dev.id, 5).await.unwrap());
        assert!(
            !s.reset_device(dev.id).await.unwrap(),
            "a revoked device stays revoked"
        );
        assert!(!s.revoke_device(Uuid::now_v7(), 5).await.unwrap());
        let session = s
            .session(&fieldcheck_server::auth::token_hash(&token2))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(session.device.revoked_at, Some(5));
        let again = dev.register_result(s, "alice").await;
        assert!(matches!(again, Err(StoreError::DeviceRevoked(id)) if id == dev.id));

        for at in [10, 20, 30] {
            s.record_login_failure("user:alice", at).await.unwrap();
        }
        assert_eq!(s.login_failures_since("user:alice", 15).await.unwrap(), 2);
        s.clear_login_failures("user:alice").await.unwrap();
        assert_eq!(s.login_failures_since("user:alice", 0).await.unwrap(), 0);
    }

    pub async fn audit_is_append_only_and_newest_first(s: &DynStore) {
        for i in 0..3 {
            s.append_audit(&AuditEntry {
                at: i,
                actor: "admin".into(),
                device_id: Some(Uuid::from_u128(9)),
                action: format!("a{i}"),
                target: "t".into(),
                detail: String::new(),
            })
            .await
            .unwrap();
        }
        let got = s.recent_audit(2).await.unwrap();
        assert_eq!(
            got.iter().map(|a| a.action.as_str()).collect::<Vec<_>>(),
            ["a2", "a1"]
        );
        assert_eq!(got[0].device_id, Some(Uuid::from_u128(9)));
    }

    pub async fn import_logs_changes_once_and_refuses_a_changed_version(s: &DynStore) {
        let c = content();
        let first = s.import_content(&c).await.unwrap();
        assert_eq!(first.changed, 5);
        let again = s.import_content(&c).await.unwrap();
        assert_eq!((again.changed, again.unchanged), (0, 5));
        let logged = s
            .pull(0, 100, &PullScope::Everything, None)
            .await
            .unwrap()
            .changes
            .len();
        let mut changed = c.clone();
        changed.templates[0].items.pop();
        changed.units.push(unit("traffic"));
        assert!(matches!(
            s.import_content(&changed).await,
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(
            s.pull(0, 100, &PullScope::Everything, None)
                .await
                .unwrap()
                .changes
                .len(),
            logged,
            "nothing written"
        );
        changed.templates[0].version = 2;
        assert_eq!(s.import_content(&changed).await.unwrap().changed, 2);
    }

    pub async fn push_replayed_three_times_shuffled_is_one_delivery(s: &DynStore) {
        seed(s).await;
        add_user(s, "inspector1", Role::Inspector, None, "pw").await;
        let dev = Device::new(3);
        dev.register(s, "inspector1").await;
        let outbox = outbox(&dev, site(1).id, 6);
        let batches: Vec<Vec<OutboxEntry>> = outbox.chunks(7).map(<[_]>::to_vec).collect();
        let mut deliveries: Vec<&Vec<OutboxEntry>> =
            batches.iter().flat_map(|b| [b, b, b]).collect();
        deliveries.shuffle(&mut rand::rng());
        let mut acked = 0;
        for b in deliveries {
            match s.apply_push(dev.id, &dev.public_hex(), b).await {
                Ok(o) => acked = o.high_seq,
                Err(StoreError::Gap { expected }) => assert_eq!(expected, acked + 1),
                Err(e) => panic!("{e}"),
            }
        }
        // Like a tablet: resend from the acknowledged prefix until everything is acked.
        while acked < outbox.len() as u64 {
            let rest: Vec<_> = outbox
                .iter()
                .filter(|e| e.seq > acked)
                .take(7)
                .cloned()
                .collect();
            acked = s
                .apply_push(dev.id, &dev.public_hex(), &rest)
                .await
                .unwrap()
                .high_seq;
        }
        assert_eq!(s.export().await.unwrap(), expected_export(&outbox));
        // And once more, everything: a no-op.
        let o = s
            .apply_push(dev.id, &dev.public_hex(), &outbox)
            .await
            .unwrap();
        assert_eq!((o.high_seq, o.applied), (outbox.len() as u64, 0));
        assert_eq!(s.export().await.unwrap(), expected_export(&outbox));
    }

    pub async fn a_gap_is_refused_and_nothing_written(s: &DynStore) {
        seed(s).await;
        add_user(s, "inspector1", Role::Inspector, None, "pw").await;
        let dev = Device::new(4);
        dev.register(s, "inspector1").await;
        let outbox = outbox(&dev, site(1).id, 1);
        let key = dev.public_hex();
        assert_eq!(
            s.apply_push(dev.id, &key, &outbox[..3])
                .await
                .unwrap()
                .high_seq,
            3
        );
        // Audited in the push's own transaction, by the device's account.
        let audit = s.recent_audit(10).await.unwrap();
        let pushes: Vec<&AuditEntry> = audit.iter().filter(|a| a.action == "push").collect();
        assert_eq!(pushes.len(), 1, "{audit:?}");
        assert_eq!(
            (
                pushes[0].actor.as_str(),
                pushes[0].device_id,
                pushes[0].detail.as_str()
            ),
            ("inspector1", Some(dev.id), "applied 3 through seq 3")
        );
        assert_eq!(pushes[0].target, dev.id.to_string());
        let before = s.export().await.unwrap();
        let gap = s.apply_push(dev.id, &key, &outbox[4..6]).await;
        assert!(matches!(gap, Err(StoreError::Gap { expected: 4 })));
        assert_eq!(s.export().await.unwrap(), before);
        assert_eq!(
            s.recent_audit(10).await.unwrap(),
            audit,
            "a refused push is not audited"
        );
        // An overlapping batch applies only what is new.
        let o = s.apply_push(dev.id, &key, &outbox[1..6]).await.unwrap();
        assert_eq!((o.high_seq, o.applied), (6, 3));
        let unknown = s.apply_push(Uuid::now_v7(), &key, &outbox[..1]).await;
        assert!(matches!(unknown, Err(StoreError::UnknownDevice(_))));
    }

    /// A push announced as coming ([`fieldcheck_server::store::SyncStore::push_coming`]) that
    /// never arrives (its request was refused or given up on the way) holds nobody up for
    /// long, and a push announced and handed over is applied as any other.
    pub async fn a_push_announced_and_never_handed_over_holds_nobody_up(s: &DynStore) {
        seed(s).await;
        add_user(s, "inspector1", Role::Inspector, None, "pw").await;
        let dev = Device::new(7);
        dev.register(s, "inspector1").await;
        let outbox = outbox(&dev, site(1).id, 1);
        let key = dev.public_hex();
        let _never = s.push_coming();
        let coming = s.push_coming();
        coming.arrived();
        let o = tokio::time::timeout(Duration::from_secs(30), s.apply_push(dev.id, &key, &outbox))
            .await
            .expect("applied while another push is announced and never comes")
            .unwrap();
        assert_eq!(o.high_seq, outbox.len() as u64);
        assert_eq!(s.export().await.unwrap(), expected_export(&outbox));
    }

    /// Pushes refused (a sequence gap, an unknown device) at the same moment as good ones are
    /// refused alone: written together or not (SQLite commits the pushes that wait together in
    /// one transaction), the good ones are all applied and acknowledged.
    pub async fn refused_pushes_among_concurrent_ones_spoil_none(s: &DynStore) {
        seed(s).await;
        add_user(s, "inspector1", Role::Inspector, None, "pw").await;
        let mut pushes = Vec::new();
        let mut all = Vec::new();
        for n in 0..20u8 {
            let dev = Device::new(n + 100);
            dev.register(s, "inspector1").await;
            let outbox = outbox(&dev, site(1).id, 1);
            all.extend(outbox.clone());
            let (s, key) = (s.clone(), dev.public_hex());
            let (whole, cut) = (outbox.clone(), outbox[3..].to_vec());
            pushes.push(tokio::spawn(async move {
                let (a, b, c) = tokio::join!(
                    s.apply_push(dev.id, &key, &whole),
                    s.apply_push(dev.id, &key, &cut),
                    s.apply_push(Uuid::now_v7(), &key, &whole),
                );
                assert_eq!(a.unwrap().high_seq, whole.len() as u64);
                // Before the whole push: a gap; after it: a replay, nothing applied.
                match b {
                    Err(StoreError::Gap { expected: 1 }) => {}
                    Ok(o) => assert_eq!(o.applied, 0),
                    other => panic!("{other:?}"),
                }
                assert!(matches!(c, Err(StoreError::UnknownDevice(_))), "{c:?}");
            }));
        }
        for p in pushes {
            p.await.unwrap();
        }
        let got = s.export().await.unwrap();
        assert_eq!(got.findings.len(), 20);
        assert_eq!(got.photos.len(), 20);
        assert_eq!(
            got.inspections.len(),
            expected_export(&all).inspections.len()
        );
    }

    pub async fn fifty_devices_pushing_at_once_lose_nothing(s: &DynStore) {
        seed(s).await;
        add_user(s, "inspector1", Role::Inspector, None, "pw").await;
        let mut tasks = Vec::new();
        let mut all = Vec::new();
        for n in 0..50u8 {
            let dev = Device::new(n + 10);
            dev.register(s, "inspector1").await;
            let outbox = outbox(&dev, site(1).id, 2);
            all.extend(outbox.clone());
            let s = s.clone();
            tasks.push(tokio::spawn(async move {
                for batch in outbox.chunks(5) {
                    loop {
                        match s.apply_push(dev.id, &dev.public_hex(), batch).await {
                            Ok(_) => break,
                            Err(StoreError::Backend(e))
                                if e.contains("deadlock") || e.contains("busy") =>
                            {
                                continue;
                            }
                            Err(e) => panic!("{e}"),
                        }
                    }
                }
                dev.id
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let got = s.export().await.unwrap();
        let want = expected_export(&all);
        assert_eq!(got.inspections.len(), want.inspections.len());
        assert_eq!(got.item_results.len(), 50 * 2 * 3);
        assert_eq!(got, {
            let mut w = want;
            w.inspections.sort_by_key(|r| r.id.to_string());
            w.findings.sort_by_key(|r| r.id.to_string());
            w.events.sort_by_key(|r| r.id.to_string());
            w.item_results
                .sort_by_key(|r| (r.inspection_id.to_string(), r.item_code.clone()));
            w
        });
        for d in s.list_devices().await.unwrap() {
            assert_eq!(d.high_seq, 2 * 9, "device {} acked everything", d.id);
        }
        // Each finding got one number, today's, and the day's numbers run 1..=100 with no gap
        // and no repeat, though fifty pushes drew them at once.
        let numbers = finding_numbers(s).await;
        assert_eq!(numbers.len(), 100, "one number per finding");
        let findings: HashSet<Uuid> = got.findings.iter().map(|f| f.id).collect();
        assert!(numbers.iter().all(|n| findings.contains(&n.finding_id)));
        let now = fieldcheck_domain::clock::wall_clock_ms();
        let day = fieldcheck_domain::finding_number::numbering_day(now, now);
        let mut seqs: Vec<i64> = numbers
            .iter()
            .map(|n| {
                let (d, seq) = n.number.split_once('-').unwrap();
                assert_eq!(d, day.to_string(), "{}", n.number);
                assert_eq!(seq.len(), 3, "{}", n.number);
                seq.parse().unwrap()
            })
            .collect();
        seqs.sort_unstable();
        assert_eq!(seqs, (1..=100).collect::<Vec<_>>());
        // A replay gives no second number.
        let first = Device::new(10);
        let dev = s
            .list_devices()
            .await
            .unwrap()
            .into_iter()
            .find(|d| d.public_key == first.public_hex())
            .unwrap();
        s.apply_push(dev.id, &first.public_hex(), &all[..18])
            .await
            .unwrap();
        assert_eq!(
            finding_numbers(s).await.len(),
            100,
            "a replay numbers nothing"
        );
    }

    /// Every finding number in the change log, in log order.
    async fn finding_numbers(s: &DynStore) -> Vec<FindingNumber> {
        let mut out = Vec::new();
        let mut cursor = 0;
        loop {
            let page = s
                .pull(cursor, 500, &PullScope::Everything, None)
                .await
                .unwrap();
            let Some(last) = page.changes.last() else {
                return out;
            };
            cursor = last.seq;
            out.extend(page.changes.into_iter().filter_map(|c| match c.item {
                ChangeItem::FindingNumber(n) => Some(n),
                _ => None,
            }));
        }
    }

    pub async fn pull_pages_in_order_and_scopes_units(s: &DynStore) {
        seed(s).await;
        // Sites 2-6 in one batch: still one change each.
        s.put_sites(&(2..=6).map(site).collect::<Vec<_>>())
            .await
            .unwrap();
        add_user(s, "inspector1", Role::Inspector, None, "pw").await;
        let dev = Device::new(5);
        dev.register(s, "inspector1").await;
        let f1 = Uuid::now_v7();
        let f2 = Uuid::now_v7();
        let recs = vec![
            finding(&dev, f1, site(1).id, None, Some("urban_mgmt")),
            finding(&dev, f2, site(1).id, None, Some("urban_mgmt")),
        ];
        s.apply_push(dev.id, &dev.public_hex(), &entries(1, recs))
            .await
            .unwrap();
        assert!(
            s.append_office_event(&event(
                f1,
                RectificationAction::Dispatched,
                Some("housing"),
                "admin"
            ))
            .await
            .unwrap()
        );
        assert!(
            s.append_office_event(&event(f2, RectificationAction::Closed, None, "admin"))
                .await
                .unwrap()
        );
        assert!(
            !s.append_office_event(&event(
                Uuid::now_v7(),
                RectificationAction::Closed,
                None,
                "admin"
            ))
            .await
            .unwrap()
        );
        // A step pushed from the tablet after the dispatch goes to the finding's current unit.
        let verified = event(f1, RectificationAction::Rectified, None, "inspector1");
        s.apply_push(
            dev.id,
            &dev.public_hex(),
            &entries(3, vec![Record::Rectification(verified)]),
        )
        .await
        .unwrap();

        let mut cursor = 0;
        let mut seen = Vec::new();
        loop {
            let page = s
                .pull(cursor, 3, &PullScope::Everything, None)
                .await
                .unwrap()
                .changes;
            if page.is_empty() {
                break;
            }
            assert!(page.len() <= 3);
            cursor = page.last().unwrap().seq;
            seen.extend(page);
        }
        assert!(seen.windows(2).all(|w| w[0].seq < w[1].seq));
        assert_eq!(
            seen.len(),
            5 + 6 + 2 + 2 + 2 + 1,
            "content, sites, tablet findings and their numbers, office steps, tablet step"
        );
        let housing = s
            .pull(0, 100, &PullScope::Unit("housing".into()), None)
            .await
            .unwrap()
            .changes;
        let events: Vec<_> = housing
            .iter()
            .filter(|c| matches!(c.item, ChangeItem::Rectification(_)))
            .collect();
        assert_eq!(
            events.len(),
            2,
            "only the steps of the finding dispatched to housing"
        );
        assert!(
            !housing
                .iter()
                .any(|c| matches!(c.item, ChangeItem::Finding(_))),
            "both findings were recorded for urban_mgmt"
        );
        let urban = s
            .pull(0, 100, &PullScope::Unit("urban_mgmt".into()), None)
            .await
            .unwrap()
            .changes;
        assert_eq!(
            urban
                .iter()
                .filter(|c| matches!(c.item, ChangeItem::Rectification(_)))
                .count(),
            1
        );
        assert_eq!(
            urban
                .iter()
                .filter(|c| matches!(c.item, ChangeItem::Finding(_)))
                .count(),
            2
        );

        // Inspectors see every unit's steps.
        let mine = s
            .pull(0, 100, &PullScope::Inspector("inspector1".into()), None)
            .await
            .unwrap()
            .changes;
        assert_eq!(mine.len(), seen.len());

        let f = s.finding(f1).await.unwrap().unwrap();
        assert_eq!(f.current_unit.as_deref(), Some("housing"));
        assert_eq!(f.events.len(), 2);
        let mine = s
            .list_findings(&FindingFilter::Unit("housing".into()), 10)
            .await
            .unwrap();
        assert_eq!(mine.iter().map(|r| r.record.id).collect::<Vec<_>>(), [f1]);
        assert_eq!(
            s.list_findings(&FindingFilter::All, 10)
                .await
                .unwrap()
                .len(),
            2
        );
        // f2 was closed without a dispatch: never dispatched, whatever its status.
        let never = |since| FindingFilter::Undispatched { since };
        let listed = s.list_findings(&never(0), 10).await.unwrap();
        let ids: Vec<Uuid> = listed.iter().map(|r| r.record.id).collect();
        assert_eq!(ids, [f2]);
        assert!(
            s.list_findings(&never(i64::MAX), 10)
                .await
                .unwrap()
                .is_empty()
        );
    }

    /// Each task division imported is a new version; the highest is in force, rules and order
    /// kept.
    pub async fn task_divisions_are_versions_kept_whole(s: &DynStore) {
        use fieldcheck_domain::task_division::{DEFAULT_DAYS, Rule};
        assert!(s.task_division().await.unwrap().is_none());
        let rule = |unit: &str, street: &str| Rule {
            district: None,
            street: Some(street.into()),
            site_type: None,
            site_id: Some(Uuid::now_v7()),
            item_code: Some("BA-01".into()),
            unit: unit.into(),
            person: "张三".into(),
            phone: "13800000000".into(),
            partner_unit: Some("housing".into()),
            days: DEFAULT_DAYS,
        };
        let first = NewTaskDivision {
            imported_at: 1,
            imported_by: "admin".into(),
            source: "任务分工.xlsx".into(),
            rules: vec![rule("urban_mgmt", "东街"), rule("housing", "西街")],
        };
        assert_eq!(s.put_task_division(&first).await.unwrap(), 1);
        let second = NewTaskDivision {
            imported_at: 2,
            rules: vec![rule("housing", "南街")],
            ..first.clone()
        };
        assert_eq!(s.put_task_division(&second).await.unwrap(), 2);
        let now = s.task_division().await.unwrap().unwrap();
        assert_eq!((now.version, now.division), (2, second));
    }

    pub async fn pull_never_skips_a_write_that_commits_late(s: &DynStore) {
        seed(s).await;
        let (start, _) = (
            s.pull(0, 1000, &PullScope::Everything, None)
                .await
                .unwrap()
                .changes,
            (),
        );
        let mut cursor = start.last().unwrap().seq;
        let slow = {
            let s = s.clone();
            tokio::spawn(async move {
                s.put_site_slowly(&site(100), Duration::from_millis(1500))
                    .await
                    .unwrap()
            })
        };
        tokio::time::sleep(Duration::from_millis(300)).await;
        let fast = {
            let s = s.clone();
            tokio::spawn(async move { s.put_site(&site(200)).await.unwrap() })
        };
        let mut seen = Vec::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while seen.len() < 2 && tokio::time::Instant::now() < deadline {
            for c in s
                .pull(cursor, 10, &PullScope::Everything, None)
                .await
                .unwrap()
                .changes
            {
                cursor = c.seq;
                seen.push(c);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        slow.await.unwrap();
        fast.await.unwrap();
        for c in s
            .pull(cursor, 10, &PullScope::Everything, None)
            .await
            .unwrap()
            .changes
        {
            seen.push(c);
        }
        let ids: Vec<Uuid> = seen
            .iter()
            .filter_map(|c| match &c.item {
                ChangeItem::Site(site) => Some(site.id),
                _ => None,
            })
            .collect();
        assert_eq!(
            ids,
            [site(100).id, site(200).id],
            "both writes seen, in commit order"
        );
    }

    pub async fn assignments_reach_their_inspector_only(s: &DynStore) {
        seed(s).await;
        s.put_site(&site(2)).await.unwrap();
        let start = s
            .pull(0, 1000, &PullScope::Everything, None)
            .await
            .unwrap()
            .changes;
        let cursor = start.last().unwrap().seq;
        let assignments = |rows: Vec<fieldcheck_server::store::ChangeRow>| -> Vec<Assignment> {
            rows.into_iter()
                .filter_map(|c| match c.item {
                    ChangeItem::Assignment(a) => Some(a),
                    _ => None,
                })
                .collect()
        };
        let pull_as = |scope: PullScope| {
            let s = s.clone();
            async move { assignments(s.pull(cursor, 1000, &scope, None).await.unwrap().changes) }
        };
        let first = Assignment {
            id: Uuid::now_v7(),
            inspector: "inspector1".into(),
            site_id: site(1).id,
            date: "2026-11-28".into(),
            note: "复查井盖".into(),
            cancelled: false,
        };
        let other = Assignment {
            id: Uuid::now_v7(),
            inspector: "inspector2".into(),
            site_id: site(2).id,
            ..first.clone()
        };
        s.put_assignment(&first).await.unwrap();
        s.put_assignment(&other).await.unwrap();
        assert_eq!(
            pull_as(PullScope::Inspector("inspector1".into())).await,
            std::slice::from_ref(&first)
        );
        assert_eq!(
            pull_as(PullScope::Inspector("inspector2".into())).await,
            std::slice::from_ref(&other)
        );
        assert!(
            pull_as(PullScope::Unit("urban_mgmt".into()))
                .await
                .is_empty(),
            "unit members see no assignments"
        );
        assert_eq!(
            pull_as(PullScope::Everything).await,
            [first.clone(), other.clone()]
        );
        let inspector1_sees = s
            .pull(0, 1000, &PullScope::Inspector("inspector1".into()), None)
            .await
            .unwrap()
            .changes;
        assert_eq!(
            inspector1_sees.len(),
            start.len() + 1,
            "still all reference data"
        );

        // Storing it unchanged logs nothing; an update is a later copy with the same id.
        s.put_assignment(&first).await.unwrap();
        assert_eq!(pull_as(PullScope::Everything).await.len(), 2);
        let moved = Assignment {
            date: "2026-11-29".into(),
            note: "改到周六".into(),
            ..first.clone()
        };
        s.put_assignment(&moved).await.unwrap();
        assert_eq!(
            pull_as(PullScope::Inspector("inspector1".into())).await,
            [first.clone(), moved.clone()]
        );

        // Moved to another inspector: the first one is told it is off, the second gets it.
        let handed_over = Assignment {
            inspector: "inspector2".into(),
            ..moved.clone()
        };
        s.put_assignment(&handed_over).await.unwrap();
        let withdrawn = Assignment {
            cancelled: true,
            ..moved.clone()
        };
        assert_eq!(
            pull_as(PullScope::Inspector("inspector1".into())).await,
            [first, moved, withdrawn]
        );

        // Cancelling is a later copy with `cancelled` set.
        let cancelled = Assignment {
            cancelled: true,
            ..handed_over.clone()
        };
        s.put_assignment(&cancelled).await.unwrap();
        assert_eq!(
            pull_as(PullScope::Inspector("inspector2".into())).await,
            [other, handed_over, cancelled]
        );
    }

    pub async fn photos_are_expected_until_stored(s: &DynStore) {
        seed(s).await;
        add_user(s, "inspector1", Role::Inspector, None, "pw").await;
        let dev = Device::new(6);
        dev.register(s, "inspector1").await;
        let bytes = jpeg(32, 24);
        let rec = photo_record(&dev, &bytes, None, 32, 24);
        s.apply_push(
            dev.id,
            "signer",
            &entries(1, vec![Record::Photo(rec.clone())]),
        )
        .await
        .unwrap();
        let other = sha_hex(b"other");
        let missing: HashSet<String> = s
            .missing_photos(&[rec.sha256.clone(), other.clone()])
            .await
            .unwrap()
            .into_iter()
            .collect();
        assert_eq!(missing, HashSet::from([rec.sha256.clone(), other.clone()]));
        let row = s.photo(&rec.sha256).await.unwrap().unwrap();
        assert_eq!(
            (row.record, row.signer_key.as_str(), row.stored),
            (rec.clone(), "signer", false)
        );
        s.mark_photo_stored(&rec.sha256, 99).await.unwrap();
        assert_eq!(
            s.missing_photos(&[rec.sha256.clone(), other.clone()])
                .await
                .unwrap(),
            [other]
        );
        assert!(s.photo(&rec.sha256).await.unwrap().unwrap().stored);
        assert!(s.photo(&sha_hex(b"none")).await.unwrap().is_none());
        // A push's lookup names the device that recorded each hash (so no other claims it).
        let refs = s
            .lookup(&fieldcheck_server::store::RefQuery {
                photos: HashSet::from([rec.sha256.clone(), sha_hex(b"none")]),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(
            refs.photos,
            std::collections::HashMap::from([(rec.sha256.clone(), dev.id)])
        );
    }

    /// An inspector confined to a district pulls the findings' news (findings, steps, photo
    /// records) of that district, of its assigned sites and its own, and may fetch only those
    /// photos; changing its districts or assigning it a site outside them moves its scope
    /// version on, and a tablet pulling under the old version starts again from 0.
    pub async fn scoped_pulls_follow_districts_assignments_and_ownership(s: &DynStore) {
        seed(s).await;
        let east = Site {
            district: "东城区".into(),
            ..site(2)
        };
        s.put_site(&east).await.unwrap();
        add_user(s, "inspector1", Role::Inspector, None, "pw-1-long-enough").await;
        add_user(s, "inspector2", Role::Inspector, None, "pw-2-long-enough").await;
        let a = Device::new(1);
        a.register(s, "inspector1").await;
        let b = Device::new(2);
        b.register(s, "inspector2").await;
        // Inspector 1 reports a finding at each site, each with a before-photo.
        let (west_finding, east_finding) = (Uuid::now_v7(), Uuid::now_v7());
        let west_photo = photo_record(&a, b"west", Some(west_finding), 4, 3);
        let east_photo = photo_record(&a, b"east", Some(east_finding), 4, 3);
        let records = vec![
            finding(&a, west_finding, site(1).id, None, None),
            Record::Photo(west_photo.clone()),
            finding(&a, east_finding, east.id, None, None),
            Record::Photo(east_photo.clone()),
        ];
        s.apply_push(a.id, &a.public_hex(), &entries(1, records))
            .await
            .unwrap();
        // Inspector 2's own finding at site 1 (the west district).
        let own = Uuid::now_v7();
        let mut mine = finding(&b, own, site(1).id, None, None);
        if let Record::Finding(f) = &mut mine {
            f.reporter = "inspector2".into();
        }
        s.apply_push(b.id, &b.public_hex(), &entries(1, vec![mine]))
            .await
            .unwrap();

        let scope = PullScope::Inspector("inspector2".into());
        let seen = |page: &fieldcheck_server::store::PullPage| -> HashSet<String> {
            page.changes
                .iter()
                .filter_map(|c| match &c.item {
                    ChangeItem::Finding(f) => Some(f.id.to_string()),
                    ChangeItem::Photo(p) => Some(p.sha256.clone()),
                    _ => None,
                })
                .collect()
        };
        // No districts: the whole county, photo records included.
        let whole = s.pull(0, 1000, &scope, None).await.unwrap();
        assert_eq!(whole.scope_version, 0);
        assert!(!whole.reset);
        let expected: HashSet<String> = [
            west_finding.to_string(),
            east_finding.to_string(),
            own.to_string(),
            west_photo.sha256.clone(),
            east_photo.sha256.clone(),
        ]
        .into();
        assert_eq!(seen(&whole), expected);
        let cursor = whole.changes.last().unwrap().seq;

        // Confined to the east district: the west finding and its photo leave the scope.
        let set = s
            .set_account_districts("inspector2", &["东城区".into(), "东城区".into()])
            .await
            .unwrap();
        assert_eq!(set.districts, ["东城区"], "deduplicated");
        assert_eq!(set.version, 1);
        let again = s
            .set_account_districts("inspector2", &["东城区".into()])
            .await
            .unwrap();
        assert_eq!(again.version, 1, "an unchanged setting keeps its version");
        let page = s.pull(cursor, 1000, &scope, Some(0)).await.unwrap();
        assert!(page.reset, "the tablet's copy was pulled under version 0");
        assert_eq!(page.scope_version, 1);
        let expected: HashSet<String> = [
            east_finding.to_string(),
            own.to_string(),
            east_photo.sha256.clone(),
        ]
        .into();
        assert_eq!(seen(&page), expected, "its district and its own finding");
        let up_to_date = s.pull(cursor, 1000, &scope, Some(1)).await.unwrap();
        assert!(!up_to_date.reset);
        let visible = |sha: String| {
            let s = s.clone();
            let scope = scope.clone();
            async move { s.photo_visible(&sha, &scope, Some(b.id)).await.unwrap() }
        };
        assert_eq!(visible(east_photo.sha256.clone()).await, Some(true));
        assert_eq!(visible(west_photo.sha256.clone()).await, Some(false));
        assert_eq!(visible("0".repeat(64)).await, None);
        assert_eq!(
            s.photo_visible(&west_photo.sha256, &scope, Some(a.id))
                .await
                .unwrap(),
            Some(true),
            "the device that took it"
        );

        // Assigned to site 1 (outside its district): the version moves, site 1 comes back.
        let assignment = Assignment {
            id: Uuid::now_v7(),
            inspector: "inspector2".into(),
            site_id: site(1).id,
            date: "2026-12-01".into(),
            note: String::new(),
            cancelled: false,
        };
        s.put_assignment(&assignment).await.unwrap();
        let renoted = Assignment {
            note: "看井盖".into(),
            ..assignment.clone()
        };
        s.put_assignment(&renoted).await.unwrap();
        assert_eq!(
            s.account_scope("inspector2").await.unwrap().version,
            2,
            "a new site moves the version once; a changed note does not"
        );
        let page = s.pull(cursor, 1000, &scope, Some(1)).await.unwrap();
        assert!(page.reset);
        assert!(seen(&page).contains(&west_photo.sha256));
        assert_eq!(visible(west_photo.sha256.clone()).await, Some(true));

        // A unit sees only its unit's findings' photos; admins every photo.
        let unit = PullScope::Unit("housing".into());
        assert_eq!(
            s.photo_visible(&east_photo.sha256, &unit, None)
                .await
                .unwrap(),
            Some(false)
        );
        let dispatch = event(
            east_finding,
            RectificationAction::Dispatched,
            Some("housing"),
            "admin",
        );
        assert!(s.append_office_event(&dispatch).await.unwrap());
        assert_eq!(
            s.photo_visible(&east_photo.sha256, &unit, None)
                .await
                .unwrap(),
            Some(true)
        );
        assert_eq!(
            s.photo_visible(&west_photo.sha256, &PullScope::Everything, None)
                .await
                .unwrap(),
            Some(true)
        );
    }

    /// A check-in is stored once, whatever the replays, and exported.
    /// A push that carries records twice (a finding edited before the sync; a photo record, a
    /// step and a check-in sent twice) leaves what writing them one by one leaves: the newest
    /// finding, the first of the others. The finding's news ends with its newest version, it
    /// is numbered once, and the same push again changes nothing.
    pub async fn a_push_with_records_twice_keeps_the_newest_and_numbers_once(s: &DynStore) {
        seed(s).await;
        add_user(s, "inspector1", Role::Inspector, None, "pw-1-long-enough").await;
        let dev = Device::new(9);
        dev.register(s, "inspector1").await;
        let f = Uuid::now_v7();
        let first = finding(&dev, f, site(1).id, None, Some("urban_mgmt"));
        let mut edited = first.clone();
        if let Record::Finding(r) = &mut edited {
            r.description = "井盖缺失，已设围挡".into();
        }
        let photo = Record::Photo(photo_record(&dev, b"sent twice", Some(f), 640, 480));
        let step =
            Record::Rectification(event(f, RectificationAction::Rectified, None, "inspector1"));
        let visit = Record::CheckIn(check_in(&dev, site(1).id, Uuid::nil()));
        let all = entries(
            1,
            vec![
                first,
                photo.clone(),
                step.clone(),
                visit.clone(),
                edited,
                photo,
                step,
                visit,
            ],
        );
        let pushed = s.apply_push(dev.id, &dev.public_hex(), &all).await.unwrap();
        assert_eq!((pushed.high_seq, pushed.applied), (8, 8));
        assert_eq!(s.export().await.unwrap(), expected_export(&all));
        let page = s.pull(0, 500, &PullScope::Everything, None).await.unwrap();
        let last = page.changes.iter().rev().find_map(|c| match &c.item {
            ChangeItem::Finding(r) if r.id == f => Some(r.description.clone()),
            _ => None,
        });
        assert_eq!(last.as_deref(), Some("井盖缺失，已设围挡"));
        for kind in ["photo", "rectification"] {
            let n = page
                .changes
                .iter()
                .filter(|c| serde_json::to_value(&c.item).unwrap()["type"] == kind)
                .count();
            assert_eq!(n, 1, "the {kind} is passed on once");
        }
        assert_eq!(finding_numbers(s).await.len(), 1, "numbered once");
        let again = s.apply_push(dev.id, &dev.public_hex(), &all).await.unwrap();
        assert_eq!((again.high_seq, again.applied), (8, 0));
        assert_eq!(s.export().await.unwrap(), expected_export(&all));
    }

    /// A push that carries a 派遣 between a finding and its next step scopes each entry by the
    /// finding's unit right after that entry: the finding goes to the unit it named, the 派遣
    /// and the step after it to the unit it was dispatched to.
    pub async fn a_dispatch_inside_a_push_scopes_the_entries_after_it(s: &DynStore) {
        seed(s).await;
        add_user(s, "inspector1", Role::Inspector, None, "pw-1-long-enough").await;
        let dev = Device::new(11);
        dev.register(s, "inspector1").await;
        let f = Uuid::now_v7();
        let records = vec![
            finding(&dev, f, site(1).id, None, Some("urban_mgmt")),
            Record::Rectification(event(
                f,
                RectificationAction::Dispatched,
                Some("housing"),
                "inspector1",
            )),
            Record::Rectification(event(f, RectificationAction::Rectified, None, "inspector1")),
        ];
        s.apply_push(dev.id, &dev.public_hex(), &entries(1, records))
            .await
            .unwrap();
        let kinds = |unit: &str| {
            let unit = unit.to_string();
            async move {
                let page = s.pull(0, 100, &PullScope::Unit(unit), None).await.unwrap();
                page.changes
                    .iter()
                    .filter_map(|c| match &c.item {
                        ChangeItem::Finding(_) => Some("finding".to_string()),
                        ChangeItem::Rectification(e) => Some(format!("{:?}", e.action)),
                        _ => None,
                    })
                    .collect::<Vec<String>>()
            }
        };
        assert_eq!(kinds("urban_mgmt").await, ["finding"]);
        assert_eq!(kinds("housing").await, ["Dispatched", "Rectified"]);
        assert_eq!(finding_numbers(s).await.len(), 1, "numbered once");
    }

    pub async fn check_ins_are_stored_once(s: &DynStore) {
        seed(s).await;
        add_user(s, "inspector1", Role::Inspector, None, "pw-1-long-enough").await;
        let a = Device::new(1);
        a.register(s, "inspector1").await;
        let record = Record::CheckIn(check_in(&a, site(1).id, Uuid::nil()));
        let batch = entries(1, vec![record]);
        for _ in 0..3 {
            s.apply_push(a.id, &a.public_hex(), &batch).await.unwrap();
        }
        let rows = s
            .dash_query("SELECT site_id, inspector FROM check_ins", vec![])
            .await
            .unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0][0].text(), site(1).id.to_string());
        assert_eq!(
            s.export().await.unwrap().check_ins,
            expected_export(&batch).check_ins,
            "the export carries it"
        );
    }

    /// The county id is made once and kept, even when several callers ask at once.
    pub async fn the_county_id_is_made_once(s: &DynStore) {
        let ids = futures_util::future::join_all((0..8).map(|_| s.county_id())).await;
        let first = *ids[0].as_ref().unwrap();
        assert!(
            ids.iter().all(|id| *id.as_ref().unwrap() == first),
            "{ids:?}"
        );
        assert_eq!(s.county_id().await.unwrap(), first);
    }
}

macro_rules! conformance {
    ($backend:ident, $make:path) => {
        mod $backend {
            use super::*;

            macro_rules! case {
                ($name:ident) => {
                    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                    async fn $name() {
                        let Some(t) = $make().await else { return };
                        suite::$name(&t.store).await;
                    }
                };
            }

            case!(accounts_and_devices);
            case!(audit_is_append_only_and_newest_first);
            case!(import_logs_changes_once_and_refuses_a_changed_version);
            case!(push_replayed_three_times_shuffled_is_one_delivery);
            case!(a_gap_is_refused_and_nothing_written);
            case!(fifty_devices_pushing_at_once_lose_nothing);
            case!(refused_pushes_among_concurrent_ones_spoil_none);
            case!(a_push_announced_and_never_handed_over_holds_nobody_up);
            case!(pull_pages_in_order_and_scopes_units);
            case!(pull_never_skips_a_write_that_commits_late);
            case!(assignments_reach_their_inspector_only);
            case!(photos_are_expected_until_stored);
            case!(the_county_id_is_made_once);
            case!(scoped_pulls_follow_districts_assignments_and_ownership);
            case!(check_ins_are_stored_once);
            case!(a_dispatch_inside_a_push_scopes_the_entries_after_it);
            case!(a_push_with_records_twice_keeps_the_newest_and_numbers_once);
            case!(task_divisions_are_versions_kept_whole);
        }
    };
}

conformance!(sqlite, common::sqlite_store);
conformance!(postgres, common::pg_store);
