//! Store tests on real SQLite files.

use super::catalog::SiteQuery;
use super::findings::{NewFinding, NewRectification};
use super::inspections::NewInspection;
use super::*;
use fieldcheck_domain::pack::Pack;
use fieldcheck_domain::rectification::Status;
use fieldcheck_protocol::{
    Category, ItemKind, ItemValue, PhotoKind, PhotoRecord, Position, PositionSource,
    RectificationAction, Severity, Site, SiteType, Subcategory, TemplateItem, TimeSource, Unit,
};

/// A small pack: one site type with a verdict, a count and a percent item; a second site type.
pub(crate) fn tiny_pack() -> Pack {
    let item = |code: &str, kind| TemplateItem {
        code: code.into(),
        index_code: "II-1".into(),
        index_name_zh: "市容市貌".into(),
        index_name_en: "City appearance".into(),
        text_zh: format!("条目 {code}"),
        title_en: format!("Item {code}"),
        standard_zh: "标准".into(),
        standard_en: None,
        subcategory: None,
        unit: None,
        kind,
        weight: 1.0,
        photo_required: false,
    };
    let alley = Template {
        id: "back_alley".into(),
        version: 1,
        site_type: "back_alley".into(),
        name_zh: "背街小巷".into(),
        name_en: "Back alley".into(),
        items: vec![
            item("BA-01", ItemKind::Verdict),
            item("BA-02", ItemKind::Count { min: 5 }),
            item("BA-03", ItemKind::Percent { min: 95.0 }),
        ],
    };
    let market = Template {
        id: "market".into(),
        site_type: "market".into(),
        items: vec![item("MK-01", ItemKind::Verdict)],
        ..alley.clone()
    };
    Pack {
        name: "test".into(),
        site_types: vec![
            SiteType {
                code: "back_alley".into(),
                name_zh: "背街小巷".into(),
                name_en: "Back alley".into(),
            },
            SiteType {
                code: "market".into(),
                name_zh: "集贸市场".into(),
                name_en: "Market".into(),
            },
        ],
        templates: vec![alley, market],
        taxonomy: vec![Subcategory {
            code: "manhole_cover".into(),
            category: Category::Component,
            name_zh: "井盖".into(),
            name_en: "Manhole cover".into(),
        }],
        units: vec![Unit {
            code: "urban_mgmt".into(),
            name_zh: "城管局".into(),
            name_en: "Urban management".into(),
        }],
    }
}

pub(crate) fn site(site_type: &str, name: &str) -> Site {
    Site {
        id: Uuid::now_v7(),
        name: name.into(),
        site_type: site_type.into(),
        district: "城关区".into(),
        street: "东街街道".into(),
        address: "建设路 12 号".into(),
        position: Some(Position {
            lat: 36.06,
            lon: 103.83,
            accuracy_m: 10.0,
            source: PositionSource::Gps,
        }),
        unit: Some("urban_mgmt".into()),
        qr_code: None,
    }
}

fn fixture() -> (tempfile::TempDir, Store, Site) {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path().join("t.db")).unwrap();
    store.import_pack(&tiny_pack()).unwrap();
    let s = site("back_alley", "幸福巷");
    store.upsert_site(&s).unwrap();
    (dir, store, s)
}

fn start(store: &mut Store, site: &Site) -> InspectionRecord {
    store
        .start_inspection(NewInspection {
            site_id: site.id,
            template_id: "back_alley".into(),
            template_version: 1,
            inspector: "张三".into(),
            position: None,
        })
        .unwrap()
}

fn finding(site: &Site, inspection: Option<Uuid>) -> NewFinding {
    NewFinding {
        site_id: site.id,
        inspection_id: inspection,
        item_code: inspection.map(|_| "BA-01".into()),
        category: Category::Component,
        subcategory: "manhole_cover".into(),
        description: "井盖破损".into(),
        severity: Severity::Critical,
        position: None,
        unit: Some("urban_mgmt".into()),
        deadline: Some("2026-12-01".into()),
        same_day: false,
        reporter: "张三".into(),
    }
}

use fieldcheck_protocol::{FindingRecord, InspectionRecord, RectificationEventRecord};

/// A snapshot of everything a failed write must leave untouched.
fn counts(store: &Store) -> (u64, usize, usize) {
    let stats = store.outbox_stats().unwrap();
    let results: i64 = store
        .conn
        .query_row("SELECT COUNT(*) FROM item_results", [], |r| r.get(0))
        .unwrap();
    let findings: i64 = store
        .conn
        .query_row("SELECT COUNT(*) FROM findings", [], |r| r.get(0))
        .unwrap();
    (stats.last_seq, results as usize, findings as usize)
}

#[test]
fn opens_with_wal_foreign_keys_and_full_sync() {
    let (_d, store, _) = fixture();
    let mode: String = store
        .conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    let fk: i64 = store
        .conn
        .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
        .unwrap();
    let sync: i64 = store
        .conn
        .query_row("PRAGMA synchronous", [], |r| r.get(0))
        .unwrap();
    assert_eq!((mode.as_str(), fk, sync), ("wal", 1, 2));
}

#[test]
fn device_id_survives_reopen_and_clock_moves_on() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let (id, last) = {
        let mut s = Store::open(&path).unwrap();
        s.import_pack(&tiny_pack()).unwrap();
        let site = site("back_alley", "a");
        s.upsert_site(&site).unwrap();
        let i = start(&mut s, &site);
        let r = s
            .record_result(i.id, "BA-01", ItemValue::Compliant, "")
            .unwrap();
        (s.device_id(), r.hlc)
    };
    let s = Store::open(&path).unwrap();
    assert_eq!(s.device_id(), id);
    assert!(s.clock().now() > last);
}

#[test]
fn upgrades_a_database_made_by_the_first_schema() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    {
        let mut conn = rusqlite::Connection::open(&path).unwrap();
        schema::first_schema_only().to_latest(&mut conn).unwrap();
        conn.execute("INSERT INTO site_types (code, name_zh, name_en) VALUES ('market', '集贸市场', 'Market')", []).unwrap();
        let v: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, 1);
    }
    let store = Store::open(&path).unwrap();
    let v: i64 = store
        .conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, 10);
    assert!(
        store.keeps_photo_file(&"0".repeat(64)).is_ok(),
        "the draft photos' table is there"
    );
    assert_eq!(store.site_types().unwrap()[0].name_zh, "集贸市场");
    let idx: i64 = store
        .conn
        .query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE name = 'findings_open_by_site'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(idx, 1);
}

#[test]
fn an_inspection_day_is_written_with_its_outbox() {
    let (_d, mut store, site) = fixture();
    let i = start(&mut store, &site);
    store
        .record_result(i.id, "BA-01", ItemValue::NonCompliant, "井盖缺失")
        .unwrap();
    store
        .record_result(i.id, "BA-02", ItemValue::Count(3), "")
        .unwrap();
    store
        .record_result(i.id, "BA-03", ItemValue::Percent(97.5), "")
        .unwrap();
    // A changed answer replaces the earlier one.
    store
        .record_result(i.id, "BA-01", ItemValue::Compliant, "已修复")
        .unwrap();
    let f = store.add_finding(finding(&site, Some(i.id))).unwrap();
    let view = store.load_inspection(i.id).unwrap();
    assert_eq!(view.results.len(), 3);
    assert_eq!(view.results[0].item_code, "BA-01");
    assert_eq!(view.results[0].value, ItemValue::Compliant);
    assert_eq!(view.results[0].note, "已修复");
    assert_eq!(view.open_findings.len(), 1);
    assert_eq!(view.open_findings[0].id, f.id);
    assert_eq!(store.unfinished_inspections().unwrap().len(), 1);
    store.finish_inspection(i.id).unwrap();
    assert!(store.unfinished_inspections().unwrap().is_empty());

    let pending = store.outbox_pending(100).unwrap();
    let seqs: Vec<u64> = pending.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=7).collect::<Vec<_>>());
    assert!(pending.windows(2).all(|w| w[0].hlc < w[1].hlc));
    assert!(matches!(pending[0].record, Record::Inspection(_)));
    assert!(matches!(pending[5].record, Record::Finding(_)));
    assert_eq!(store.ack_outbox(4).unwrap(), 4);
    let stats = store.outbox_stats().unwrap();
    assert_eq!(
        (stats.pending, stats.first_seq, stats.last_seq),
        (3, Some(5), 7)
    );
    // Sequence numbers keep growing after an ack emptied part of the outbox.
    store.ack_outbox(7).unwrap();
    let s2 = start(&mut store, &site);
    assert_eq!(store.outbox_pending(10).unwrap()[0].seq, 8);
    assert_eq!(store.recent_inspections(site.id, 10).unwrap()[0].id, s2.id);
}

#[test]
fn bad_input_is_refused_by_name_and_writes_nothing() {
    let (_d, mut store, site) = fixture();
    let i = start(&mut store, &site);
    let market_site = site_of(&mut store, "market");
    let before = counts(&store);

    let unknown_site = store.start_inspection(NewInspection {
        site_id: Uuid::now_v7(),
        template_id: "back_alley".into(),
        template_version: 1,
        inspector: "张三".into(),
        position: None,
    });
    assert!(
        matches!(unknown_site, Err(StoreError::UnknownSite(_))),
        "{unknown_site:?}"
    );

    let wrong_version = store.start_inspection(NewInspection {
        site_id: site.id,
        template_id: "back_alley".into(),
        template_version: 9,
        inspector: "张三".into(),
        position: None,
    });
    assert!(matches!(
        wrong_version,
        Err(StoreError::UnknownTemplate { version: 9, .. })
    ));

    let other_type = store.start_inspection(NewInspection {
        site_id: market_site.id,
        template_id: "back_alley".into(),
        template_version: 1,
        inspector: "张三".into(),
        position: None,
    });
    assert!(matches!(
        other_type,
        Err(StoreError::TemplateNotForSite { .. })
    ));

    let other_template_item = store.record_result(i.id, "MK-01", ItemValue::Compliant, "");
    let msg = other_template_item.unwrap_err().to_string();
    assert!(msg.contains("MK-01") && msg.contains("back_alley"), "{msg}");

    let count_for_verdict = store.record_result(i.id, "BA-01", ItemValue::Count(3), "");
    let msg = count_for_verdict.unwrap_err().to_string();
    assert!(msg.contains("BA-01") && msg.contains("a verdict"), "{msg}");

    let verdict_for_count = store.record_result(i.id, "BA-02", ItemValue::Compliant, "");
    assert!(matches!(
        verdict_for_count,
        Err(StoreError::WrongValueKind { .. })
    ));

    let over_100 = store.record_result(i.id, "BA-03", ItemValue::Percent(100.5), "");
    let msg = over_100.unwrap_err().to_string();
    assert!(msg.contains("value") && msg.contains("0..=100"), "{msg}");
    assert!(
        store
            .record_result(i.id, "BA-03", ItemValue::Percent(f64::NAN), "")
            .is_err()
    );

    let long_note = store.record_result(i.id, "BA-01", ItemValue::Compliant, &"长".repeat(2001));
    assert!(matches!(
        long_note,
        Err(StoreError::TooLong {
            field: "note",
            limit: 2000,
            len: 2001
        })
    ));
    // What the server would refuse, the tablet refuses before it is queued.
    let hidden = store.record_result(i.id, "BA-01", ItemValue::Compliant, "好\u{202E}坏");
    assert!(matches!(
        hidden,
        Err(StoreError::Invalid { field: "note", .. })
    ));

    let mut bad = finding(&site, Some(i.id));
    bad.description = "x".repeat(2001);
    assert!(matches!(
        store.add_finding(bad),
        Err(StoreError::TooLong {
            field: "description",
            ..
        })
    ));
    let mut bad = finding(&site, Some(i.id));
    bad.subcategory = "unicorn".into();
    assert!(matches!(
        store.add_finding(bad),
        Err(StoreError::UnknownSubcategory { .. })
    ));
    let mut bad = finding(&site, Some(i.id));
    bad.category = Category::Event;
    assert!(matches!(
        store.add_finding(bad),
        Err(StoreError::UnknownSubcategory { .. })
    ));
    let mut bad = finding(&site, Some(i.id));
    bad.deadline = Some("2026-02-30".into());
    assert!(matches!(
        store.add_finding(bad),
        Err(StoreError::Invalid {
            field: "deadline",
            ..
        })
    ));
    let mut bad = finding(&site, Some(i.id));
    bad.position = Some(Position {
        lat: 91.0,
        lon: 0.0,
        accuracy_m: 5.0,
        source: PositionSource::Manual,
    });
    assert!(matches!(
        store.add_finding(bad),
        Err(StoreError::Invalid {
            field: "position.lat",
            ..
        })
    ));
    let mut bad = finding(&site, Some(i.id));
    bad.unit = Some("nobody".into());
    assert!(matches!(
        store.add_finding(bad),
        Err(StoreError::UnknownUnit(_))
    ));

    assert_eq!(
        counts(&store),
        before,
        "a refused write changed the database"
    );

    store.finish_inspection(i.id).unwrap();
    let after_finish = counts(&store);
    assert!(matches!(
        store.finish_inspection(i.id),
        Err(StoreError::InspectionFinished(_))
    ));
    assert!(matches!(
        store.record_result(i.id, "BA-01", ItemValue::Compliant, ""),
        Err(StoreError::InspectionFinished(_))
    ));
    assert_eq!(counts(&store), after_finish);
}

fn site_of(store: &mut Store, site_type: &str) -> Site {
    let s = site(site_type, "建设路菜市场");
    store.upsert_site(&s).unwrap();
    s
}

#[test]
fn rectification_loop_derives_status_and_refuses_steps_out_of_order() {
    let (_d, mut store, site) = fixture();
    let f = store.add_finding(finding(&site, None)).unwrap();
    assert_eq!(store.finding_status(f.id).unwrap(), Status::Open);
    // The after-photo a 处置 or an on-site 核查 names.
    let after = photo_record(&store, "af", f.id, PhotoKind::After);
    store.add_photo(&after).unwrap();
    let step = |action, note: &str, unit: Option<&str>| NewRectification {
        finding_id: f.id,
        action,
        actor: "李四".into(),
        note: note.into(),
        unit: unit.map(Into::into),
        deadline: None,
        photo_sha256: matches!(
            action,
            RectificationAction::Rectified | RectificationAction::Verified
        )
        .then(|| after.sha256.clone()),
    };
    let refused = store.append_rectification(step(RectificationAction::Verified, "", None));
    assert!(
        matches!(
            refused,
            Err(StoreError::StepNotAllowed { status: "open", .. })
        ),
        "{refused:?}"
    );
    assert!(matches!(
        store.append_rectification(step(RectificationAction::Dispatched, "", None)),
        Err(StoreError::Invalid { field: "unit", .. })
    ));
    let s = store
        .append_rectification(step(
            RectificationAction::Dispatched,
            "",
            Some("urban_mgmt"),
        ))
        .unwrap();
    assert_eq!(s, Status::Dispatched);
    let without_photo = NewRectification {
        photo_sha256: None,
        ..step(RectificationAction::Rectified, "已更换井盖", None)
    };
    assert!(
        matches!(
            store.append_rectification(without_photo),
            Err(StoreError::Invalid {
                field: "photo_sha256",
                ..
            })
        ),
        "a fix without its after-photo is refused"
    );
    store
        .append_rectification(step(RectificationAction::Rectified, "已更换井盖", None))
        .unwrap();
    assert!(matches!(
        store.append_rectification(step(RectificationAction::SentBack, "", None)),
        Err(StoreError::Invalid { field: "note", .. })
    ));
    store
        .append_rectification(step(RectificationAction::SentBack, "照片看不清", None))
        .unwrap();
    store
        .append_rectification(step(RectificationAction::Rectified, "", None))
        .unwrap();
    store
        .append_rectification(step(RectificationAction::Verified, "", None))
        .unwrap();
    assert_eq!(
        store
            .append_rectification(step(RectificationAction::Closed, "", None))
            .unwrap(),
        Status::Closed
    );
    assert_eq!(store.rectification_log(f.id).unwrap().len(), 6);
    assert!(store.open_findings(site.id).unwrap().is_empty());
    // The log is append-only, even to SQL.
    let err = store
        .conn
        .execute("DELETE FROM rectification_events", [])
        .unwrap_err();
    assert!(err.to_string().contains("append-only"));
}

#[test]
fn photo_records_are_unique_and_belong_to_something_real() {
    let (_d, mut store, site) = fixture();
    let f = store.add_finding(finding(&site, None)).unwrap();
    let photo = photo_record(&store, "ab", f.id, PhotoKind::Before);
    store.add_photo(&photo).unwrap();
    assert!(store.has_photo(&photo.sha256).unwrap());
    assert!(matches!(
        store.add_photo(&photo),
        Err(StoreError::DuplicatePhoto(_))
    ));
    let stray = PhotoRecord {
        sha256: "cd".repeat(32),
        finding_id: Some(Uuid::now_v7()),
        ..photo.clone()
    };
    assert!(matches!(
        store.add_photo(&stray),
        Err(StoreError::UnknownFinding(_))
    ));
    let bad_hash = PhotoRecord {
        sha256: "XYZ".into(),
        ..photo.clone()
    };
    assert!(matches!(
        store.add_photo(&bad_hash),
        Err(StoreError::Invalid {
            field: "sha256",
            ..
        })
    ));
    let photos = store.finding_photos(f.id).unwrap();
    assert_eq!(photos.len(), 1);
    assert!(photos[0].hlc > Hlc::ZERO, "the store stamps the record");
}

#[test]
fn sites_are_searched_and_filtered() {
    let (_d, mut store, _) = fixture();
    site_of(&mut store, "market");
    let all = store.list_sites(&SiteQuery::default()).unwrap();
    assert_eq!(all.len(), 2);
    let markets = store
        .list_sites(&SiteQuery {
            site_type: Some("market".into()),
            text: None,
        })
        .unwrap();
    assert_eq!(markets.len(), 1);
    let by_text = store
        .list_sites(&SiteQuery {
            site_type: None,
            text: Some("幸福".into()),
        })
        .unwrap();
    assert_eq!(by_text[0].name, "幸福巷");
    assert_eq!(
        store.latest_template_for("market").unwrap().unwrap().id,
        "market"
    );
    let mut odd = site("nowhere", "x");
    odd.site_type = "nowhere".into();
    assert!(matches!(
        store.upsert_site(&odd),
        Err(StoreError::Invalid {
            field: "site_type",
            ..
        })
    ));
}

#[test]
fn remote_findings_and_events_apply_once_and_are_not_queued() {
    let (_d, mut store, site) = fixture();
    let other_device = Uuid::now_v7();
    let remote = FindingRecord {
        id: Uuid::now_v7(),
        site_id: site.id,
        inspection_id: Some(Uuid::now_v7()),
        item_code: Some("BA-01".into()),
        category: Category::Event,
        subcategory: "litter".into(),
        description: "垃圾堆放".into(),
        severity: Severity::Minor,
        position: None,
        unit: None,
        deadline: None,
        same_day: true,
        reporter: "王五".into(),
        device_id: other_device,
        created_at: 1,
        hlc: Hlc { time: 10, node: 3 },
    };
    let event = |t, action| RectificationEventRecord {
        id: Uuid::now_v7(),
        finding_id: remote.id,
        action,
        actor: "admin".into(),
        note: String::new(),
        unit: Some("urban_mgmt".into()),
        deadline: None,
        photo_sha256: None,
        hlc: Hlc { time: t, node: 9 },
    };
    let events = vec![
        event(30, RectificationAction::Closed),
        event(20, RectificationAction::Dispatched),
        event(25, RectificationAction::Rectified),
    ];
    store
        .apply_remote(std::slice::from_ref(&remote), &events)
        .unwrap();
    store
        .apply_remote(std::slice::from_ref(&remote), &events)
        .unwrap();
    assert_eq!(store.finding_status(remote.id).unwrap(), Status::Closed);
    assert_eq!(store.rectification_log(remote.id).unwrap().len(), 3);
    assert_eq!(store.outbox_stats().unwrap().last_seq, 0);
}

#[test]
fn scores_follow_the_stored_answers() {
    let (_d, mut store, site) = fixture();
    let i = start(&mut store, &site);
    // BA-01 verdict, BA-02 count ≥ 5, BA-03 percent ≥ 95; all weight 1.
    store
        .record_result(i.id, "BA-01", ItemValue::NonCompliant, "")
        .unwrap();
    store
        .record_result(i.id, "BA-02", ItemValue::Count(5), "")
        .unwrap();
    let live = store.load_inspection(i.id).unwrap().score;
    assert_eq!((live.applicable, live.compliant, live.pending), (2, 1, 1));
    assert_eq!(live.pass_rate, Some(0.5));
    // Unfinished inspections do not count for the site yet.
    assert_eq!(store.site_score(site.id).unwrap().applicable, 0);
    store
        .record_result(i.id, "BA-03", ItemValue::Percent(94.0), "")
        .unwrap();
    store.finish_inspection(i.id).unwrap();
    let pooled = store.site_score(site.id).unwrap();
    assert_eq!((pooled.applicable, pooled.compliant), (3, 1));
    let by_type = store.scores_by_site_type().unwrap();
    assert_eq!(by_type["back_alley"].compliant, 1);
    assert_eq!(store.inspection_score(i.id).unwrap(), pooled);
}

#[test]
fn pulled_assignments_list_the_days_sites_and_follow_updates() {
    use fieldcheck_protocol::{Assignment, Change, ChangeItem};
    let (_d, mut store, alley) = fixture();
    let market = site("market", "建设路菜市场");
    let assignment = |site: &Site, inspector: &str, date: &str| Assignment {
        id: Uuid::now_v7(),
        inspector: inspector.into(),
        site_id: site.id,
        date: date.into(),
        note: "重点看井盖".into(),
        cancelled: false,
    };
    let mine = assignment(&alley, "张三", "2026-11-28");
    let market_visit = assignment(&market, "张三", "2026-11-28");
    let items = vec![
        ChangeItem::Site(market.clone()),
        ChangeItem::Assignment(mine.clone()),
        ChangeItem::Assignment(market_visit.clone()),
        ChangeItem::Assignment(assignment(&alley, "张三", "2026-11-29")),
        ChangeItem::Assignment(assignment(&alley, "李四", "2026-11-28")),
        // An assignment whose site has not arrived is not listed (and does not stop the pull).
        ChangeItem::Assignment(assignment(&site("market", "x"), "张三", "2026-11-28")),
    ];
    let changes: Vec<Change> = items
        .into_iter()
        .enumerate()
        .map(|(i, item)| Change {
            seq: i as u64 + 1,
            item,
        })
        .collect();
    store.apply_pull(&page(&changes, 6)).unwrap();
    let today = store.assignments_for("张三", "2026-11-28").unwrap();
    assert_eq!(
        today,
        [
            (mine.clone(), alley.clone()),
            (market_visit.clone(), market.clone())
        ],
        "in site-name order"
    );

    // A later copy replaces the earlier one: moved to another day, then the other cancelled.
    let moved = Assignment {
        date: "2026-11-29".into(),
        ..mine.clone()
    };
    let called_off = Assignment {
        cancelled: true,
        ..market_visit
    };
    let changes = [
        Change {
            seq: 7,
            item: ChangeItem::Assignment(moved.clone()),
        },
        Change {
            seq: 8,
            item: ChangeItem::Assignment(called_off),
        },
    ];
    store.apply_pull(&page(&changes, 8)).unwrap();
    assert!(
        store
            .assignments_for("张三", "2026-11-28")
            .unwrap()
            .is_empty()
    );
    let next_day = store.assignments_for("张三", "2026-11-29").unwrap();
    assert_eq!(next_day.len(), 2);
    assert!(next_day.contains(&(moved, alley)));
    assert_eq!(
        store.assignments_for("李四", "2026-11-28").unwrap().len(),
        1
    );
    assert_eq!(store.sync_state().unwrap().pull_cursor, 8);
    assert_eq!(store.outbox_stats().unwrap().last_seq, 0, "never queued");
}

/// An unscoped page of `changes` ending at `cursor`.
fn page(changes: &[fieldcheck_protocol::Change], cursor: u64) -> super::sync_state::PulledPage<'_> {
    super::sync_state::PulledPage {
        changes,
        cursor,
        scope_version: 0,
        reset: false,
    }
}

/// An unsigned photo record of this tablet for finding `finding`, named by `pair` repeated.
fn photo_record(store: &Store, pair: &str, finding: Uuid, kind: PhotoKind) -> PhotoRecord {
    PhotoRecord {
        sha256: pair.repeat(32),
        finding_id: Some(finding),
        inspection_id: None,
        kind,
        width: 2048,
        height: 1536,
        size_bytes: 350_000,
        captured_at: 1_700_000_000_000,
        time_source: TimeSource::Device,
        device_clock_offset_ms: 0,
        position: None,
        device_id: store.device_id(),
        signature: String::new(),
        hlc: Hlc::ZERO,
        marked_from: None,
    }
}

/// Issue #17 item 9: an accidental 开始检查 is discarded after part of it was synced; the
/// discard is queued as the inspection's next state (so the server sees it), the answers stay,
/// and nothing more can be written to it.
#[test]
fn discarding_an_accidental_start_is_queued_and_closes_the_inspection() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let (i, s) = {
        let mut store = Store::open(&path).unwrap();
        store.import_pack(&tiny_pack()).unwrap();
        let s = site("back_alley", "实验小学片区");
        store.upsert_site(&s).unwrap();
        let i = start(&mut store, &s);
        store
            .record_result(i.id, "BA-01", ItemValue::NonCompliant, "")
            .unwrap();
        // The start and the answer reached the server before the inspector noticed.
        assert_eq!(store.ack_outbox(2).unwrap(), 2);
        let discarded = store.discard_inspection(i.id).unwrap();
        assert!(discarded.discarded_at.unwrap() >= i.started_at);
        assert_eq!(discarded.finished_at, None);
        (i, s)
    };
    // Reopened: the discard is on disk and queued exactly once, after the acknowledged part.
    let mut store = Store::open(&path).unwrap();
    let pending = store.outbox_pending(10).unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].seq, 3);
    match &pending[0].record {
        Record::Inspection(r) => assert!(r.id == i.id && r.discarded_at.is_some(), "{r:?}"),
        other => panic!("queued {other:?}"),
    }
    assert!(store.unfinished_inspections().unwrap().is_empty());
    assert!(store.recent_inspections(s.id, 10).unwrap().is_empty());
    assert_eq!(store.results(i.id).unwrap().len(), 1);
    let today = fieldcheck_domain::china_time::china_date(i.started_at);
    assert!(store.progress_on(&today).unwrap().is_empty());
    for refused in [
        store
            .record_result(i.id, "BA-01", ItemValue::Compliant, "")
            .map(|_| ()),
        store.finish_inspection(i.id).map(|_| ()),
        store.discard_inspection(i.id).map(|_| ()),
        store.add_finding(finding(&s, Some(i.id))).map(|_| ()),
    ] {
        assert!(
            matches!(refused, Err(StoreError::InspectionDiscarded(id)) if id == i.id),
            "{refused:?}"
        );
    }
    assert_eq!(store.outbox_pending(10).unwrap().len(), 1);
}

/// A finished inspection, and one that recorded a finding, cannot be discarded: the finding
/// is a real problem for the office. Nothing is queued by the refusal.
#[test]
fn an_inspection_that_recorded_a_finding_or_finished_is_not_discarded() {
    let (_dir, mut store, s) = fixture();
    let i = start(&mut store, &s);
    store
        .record_result(i.id, "BA-01", ItemValue::NonCompliant, "")
        .unwrap();
    store.add_finding(finding(&s, Some(i.id))).unwrap();
    let queued = store.outbox_pending(100).unwrap().len();
    let refused = store.discard_inspection(i.id);
    assert!(
        matches!(
            refused,
            Err(StoreError::DiscardWithFindings {
                findings: 1,
                photos: 0
            })
        ),
        "{refused:?}"
    );
    assert!(
        refused
            .unwrap_err()
            .to_string()
            .starts_with("本次检查已记录 1 个问题")
    );
    assert_eq!(store.outbox_pending(100).unwrap().len(), queued);
    assert_eq!(store.unfinished_inspections().unwrap().len(), 1);
    let done = start(&mut store, &s);
    store.finish_inspection(done.id).unwrap();
    assert!(matches!(
        store.discard_inspection(done.id),
        Err(StoreError::InspectionFinished(_))
    ));
}

/// Today's list: a site with a finished inspection today is done, one with an open one in
/// progress; a discarded one leaves its site not started, and other days do not count.
#[test]
fn progress_on_a_day_marks_sites_done_and_in_progress() {
    let (_dir, mut store, done_site) = fixture();
    let open_site = site("back_alley", "和平巷");
    let dropped_site = site("back_alley", "光明巷");
    for s in [&open_site, &dropped_site] {
        store.upsert_site(s).unwrap();
    }
    let first = start(&mut store, &done_site);
    store.finish_inspection(first.id).unwrap();
    start(&mut store, &done_site); // a second look, still open: the site stays done
    start(&mut store, &open_site);
    let dropped = start(&mut store, &dropped_site);
    store.discard_inspection(dropped.id).unwrap();
    let today = fieldcheck_domain::china_time::china_date(first.started_at);
    let progress = store.progress_on(&today).unwrap();
    assert_eq!(progress.len(), 2, "{progress:?}");
    assert_eq!(progress[&done_site.id], inspections::SiteProgress::Done);
    assert_eq!(
        progress[&open_site.id],
        inspections::SiteProgress::InProgress
    );
    let tomorrow = fieldcheck_domain::china_time::china_date(first.started_at + 86_400_000);
    assert!(store.progress_on(&tomorrow).unwrap().is_empty());
    assert!(store.progress_on("2026-13-01").is_err());
}

#[test]
fn the_servers_short_number_reaches_the_finding_it_names_and_nothing_else() {
    use fieldcheck_protocol::{Change, ChangeItem, FindingNumber};
    let (_d, mut store, site) = fixture();
    let i = start(&mut store, &site);
    let mine = store.add_finding(finding(&site, Some(i.id))).unwrap();
    assert_eq!(store.finding_number(mine.id).unwrap(), None, "before sync");
    let number = |seq, finding_id, number: &str| Change {
        seq,
        item: ChangeItem::FindingNumber(FindingNumber {
            finding_id,
            number: number.into(),
        }),
    };
    let unknown = Uuid::now_v7();
    let queued = store.outbox_stats().unwrap().last_seq;
    let changes = [
        number(1, mine.id, "20261201-003"),
        number(2, unknown, "20261201-004"),
    ];
    store.apply_pull(&page(&changes, 2)).unwrap();
    assert_eq!(
        store.finding_number(mine.id).unwrap().as_deref(),
        Some("20261201-003")
    );
    assert_eq!(
        store.finding_number(unknown).unwrap(),
        None,
        "not held here"
    );
    // Something that is not a number never replaces one.
    let bad = [number(3, mine.id, "<script>alert(1)</script>")];
    store.apply_pull(&page(&bad, 3)).unwrap();
    assert_eq!(
        store.finding_number(mine.id).unwrap().as_deref(),
        Some("20261201-003")
    );
    assert_eq!(
        store.outbox_stats().unwrap().last_seq,
        queued,
        "nothing queued"
    );
}

#[test]
fn people_names_follow_the_server_and_a_bad_one_is_ignored() {
    use fieldcheck_protocol::{Change, ChangeItem, Person};
    let (_d, mut store, _site) = fixture();
    let person = |seq, name: &str| Change {
        seq,
        item: ChangeItem::Person(Person {
            account: "inspector1".into(),
            name: name.into(),
        }),
    };
    assert_eq!(store.person_name("inspector1").unwrap(), "inspector1");
    store.apply_pull(&page(&[person(1, "张伟")], 1)).unwrap();
    assert_eq!(store.person_name("inspector1").unwrap(), "张伟");
    let too_long = "张".repeat(33);
    store
        .apply_pull(&page(&[person(2, &too_long), person(3, "张\u{202E}伟")], 3))
        .unwrap();
    assert_eq!(store.person_name("inspector1").unwrap(), "张伟", "kept");
    store.apply_pull(&page(&[person(4, "")], 4)).unwrap();
    assert_eq!(
        store.person_name("inspector1").unwrap(),
        "inspector1",
        "an empty name forgets it"
    );
    store.apply_pull(&page(&[person(5, "李娜")], 5)).unwrap();
    store.wipe().unwrap();
    assert_eq!(
        store.person_name("inspector1").unwrap(),
        "inspector1",
        "wiped"
    );
}
