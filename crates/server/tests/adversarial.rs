//! The attacker's tests (issue #14): one test per threat in `docs/SECURITY.md`, each tried the
//! way an ordinary account would try it, and each checking that the refusal changed nothing.

use crate::common::*;
use crate::http_api::{Harness, Reply, harness};
use axum::http::StatusCode;
use fieldcheck_protocol::*;
use uuid::Uuid;

/// The next seq `dev` should push.
async fn next_seq(h: &Harness, dev: &Device) -> u64 {
    h.device_row(dev.id).await.high_seq + 1
}

/// Pushes `records` as the next entries of `dev`'s outbox with `token`.
async fn push_next(h: &Harness, token: &str, dev: &Device, records: Vec<Record>) -> Reply {
    let first = next_seq(h, dev).await;
    h.push(token, dev.id, &entries(first, records)).await
}

/// A second inspector's tablet, registered.
async fn inspector2(h: &Harness) -> (String, Device) {
    let dev = Device::new(6);
    let token = dev.register(&h.state.store, "inspector2").await;
    (token, dev)
}

fn step(finding: Uuid, action: RectificationAction, actor: &str) -> Record {
    let mut e = event(finding, action, None, actor);
    if action == RectificationAction::Dispatched {
        e.unit = Some("housing".into());
    }
    Record::Rectification(e)
}

#[tokio::test]
async fn names_in_pushed_records_are_the_signed_in_accounts() {
    let h = harness().await;
    let dev = &h.inspector_dev;
    let (i, f) = (Uuid::now_v7(), Uuid::now_v7());
    let Record::Inspection(mut inspection) = inspection(dev, i, site(1).id) else {
        unreachable!()
    };
    inspection.inspector = "admin".into();
    let Record::Finding(mut found) = finding(dev, f, site(1).id, Some(i), None) else {
        unreachable!()
    };
    found.reporter = "admin".into();
    let r = push_next(
        &h,
        &h.inspector,
        dev,
        vec![
            Record::Inspection(inspection),
            Record::Finding(found),
            step(f, RectificationAction::Rectified, "admin"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let export = h.export().await;
    assert_eq!(export.inspections[0].inspector, "inspector1");
    assert_eq!(export.findings[0].reporter, "inspector1");
    assert_eq!(export.events[0].actor, "inspector1");
}

#[tokio::test]
async fn a_tablet_pushes_only_the_steps_its_role_allows() {
    let h = harness().await;
    let f = h.finding_for("urban_mgmt").await;
    let (token2, dev2) = inspector2(&h).await;
    for action in [
        RectificationAction::Closed,
        RectificationAction::Dispatched,
        RectificationAction::Opened,
    ] {
        let r = push_next(&h, &token2, &dev2, vec![step(f, action, "inspector2")]).await;
        r.assert_refused(StatusCode::FORBIDDEN, "step_not_allowed");
        assert_eq!(r.body["seq"], 1, "{}", r.body);
    }
    assert!(h.export().await.events.is_empty(), "nothing was written");

    // What each role may do goes through.
    for (token, dev, action) in [
        (&token2, &dev2, RectificationAction::Verified),
        (&token2, &dev2, RectificationAction::SentBack),
        (&h.admin, &h.admin_dev, RectificationAction::Closed),
    ] {
        let r = push_next(&h, token, dev, vec![step(f, action, "x")]).await;
        assert_eq!(r.status, StatusCode::OK, "{action:?}: {}", r.body);
    }
    assert_eq!(h.export().await.events.len(), 3);
}

#[tokio::test]
async fn a_step_stamped_far_ahead_is_refused() {
    let h = harness().await;
    let f = h.finding_for("urban_mgmt").await;
    let mut e = event(f, RectificationAction::Rectified, None, "inspector1");
    // The year 2100: a step the office could never overtake.
    e.hlc = Hlc {
        time: 4_102_444_800 << 32,
        node: 7,
    };
    let r = push_next(
        &h,
        &h.inspector,
        &h.inspector_dev,
        vec![Record::Rectification(e)],
    )
    .await;
    r.assert_refused(StatusCode::UNPROCESSABLE_ENTITY, "invalid_record");
    assert_eq!(r.body["field"], "hlc", "{}", r.body);
    assert!(h.export().await.events.is_empty());
}

#[tokio::test]
async fn only_a_dispatch_names_a_unit_through_any_door() {
    let h = harness().await;
    let f = h.finding_for("urban_mgmt").await;
    let moved = event(
        f,
        RectificationAction::Rectified,
        Some("housing"),
        "unit_urban",
    );
    let r = push_next(
        &h,
        &h.inspector,
        &h.inspector_dev,
        vec![Record::Rectification(moved.clone())],
    )
    .await;
    r.assert_refused(StatusCode::UNPROCESSABLE_ENTITY, "invalid_record");
    assert_eq!(r.body["field"], "unit", "{}", r.body);
    let r = h
        .json(
            axum::http::Method::POST,
            &format!("/api/v1/findings/{f}/events"),
            Some(&h.unit_urban),
            &serde_json::to_value(&moved).unwrap(),
        )
        .await;
    r.assert_refused(StatusCode::UNPROCESSABLE_ENTITY, "invalid_event");
    assert_eq!(r.body["field"], "unit", "{}", r.body);
    assert!(h.export().await.events.is_empty());
}

#[tokio::test]
async fn photo_records_only_for_the_devices_own_findings() {
    let h = harness().await;
    let f = h.finding_for("urban_mgmt").await;
    let (token2, dev2) = inspector2(&h).await;
    let bytes = jpeg(64, 48);
    let before = photo_record(&dev2, &bytes, Some(f), 64, 48);
    let r = push_next(&h, &token2, &dev2, vec![Record::Photo(before)]).await;
    r.assert_refused(StatusCode::FORBIDDEN, "other_device");
    assert!(h.export().await.photos.is_empty());
    // An after-photo of a re-check (回头看) is evidence about any finding the account may
    // re-check.
    let mut after = photo_record(&dev2, &bytes, Some(f), 64, 48);
    after.kind = PhotoKind::After;
    let after = resign(&dev2, after);
    let r = push_next(&h, &token2, &dev2, vec![Record::Photo(after)]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

/// Signs a photo record again after a change.
fn resign(dev: &Device, mut r: PhotoRecord) -> PhotoRecord {
    use ed25519_dalek::Signer;
    r.signature = hex::encode(
        dev.key
            .sign(&fieldcheck_core::photo::signed_message(&r))
            .to_bytes(),
    );
    r
}

#[tokio::test]
async fn a_recorded_photo_cannot_be_claimed_by_another_device() {
    let h = harness().await;
    let bytes = jpeg(64, 48);
    let own = photo_record(&h.inspector_dev, &bytes, None, 64, 48);
    let r = push_next(
        &h,
        &h.inspector,
        &h.inspector_dev,
        vec![Record::Photo(own.clone())],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let (token2, dev2) = inspector2(&h).await;
    let squat = photo_record(&dev2, &bytes, None, 64, 48);
    let r = push_next(&h, &token2, &dev2, vec![Record::Photo(squat)]).await;
    r.assert_refused(StatusCode::CONFLICT, "photo_taken");
    // The owner's upload still goes through.
    let r = h.upload(&own.sha256, 0, bytes).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(h.blob_exists(&own.sha256));
}

#[tokio::test]
async fn an_acknowledged_entry_is_skipped_before_it_is_checked() {
    let h = harness().await;
    let dev = &h.inspector_dev;
    let first = next_seq(&h, dev).await;
    let (f, g) = (Uuid::now_v7(), Uuid::now_v7());
    let r = h
        .push(
            &h.inspector,
            dev.id,
            &entries(first, vec![finding(dev, f, site(1).id, None, None)]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // The tablet re-sends the acknowledged entry (say its answer was lost) in a form that would
    // no longer pass, together with a new one: the old one is skipped, the new one applied.
    let Record::Finding(mut stale) = finding(dev, f, site(1).id, None, None) else {
        unreachable!()
    };
    stale.description = String::new();
    let r = h
        .push(
            &h.inspector,
            dev.id,
            &entries(
                first,
                vec![
                    Record::Finding(stale),
                    finding(dev, g, site(1).id, None, None),
                ],
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["acked_through"], first + 1);
    let export = h.export().await;
    assert_eq!(export.findings.len(), 2);
    assert!(export.findings.iter().all(|x| !x.description.is_empty()));
}

/// A change that makes a good site bad.
type Spoil = fn(&mut Site);

#[tokio::test]
async fn site_writes_through_the_api_keep_the_dashboards_rules() {
    let h = harness().await;
    let before = h.state.store.export().await.unwrap();
    let sites = || async {
        fieldcheck_server::dashboard::reference::Reference::load(h.state.store.as_ref())
            .await
            .unwrap()
            .sites
    };
    let count = sites().await.len();
    let cases: [(&str, Spoil); 5] = [
        ("name", |s| s.name = "巷".repeat(50_000)),
        ("name", |s| s.name = "南门\u{7}菜市场".into()),
        ("address", |s| s.address = "一号\u{202E}楼".into()),
        ("unit", |s| s.unit = Some("no_such_unit".into())),
        ("site_type", |s| s.site_type = "moon_base".into()),
    ];
    for (field, spoil) in cases {
        let mut s = site(99);
        spoil(&mut s);
        let r = h
            .json(
                axum::http::Method::PUT,
                &format!("/api/v1/sites/{}", s.id),
                Some(&h.admin),
                &serde_json::to_value(&s).unwrap(),
            )
            .await;
        r.assert_refused(StatusCode::UNPROCESSABLE_ENTITY, "invalid_site");
        assert_eq!(r.body["field"], field, "{}", r.body);
    }
    assert_eq!(sites().await.len(), count, "nothing was stored");
    assert_eq!(h.state.store.export().await.unwrap(), before);
}

#[tokio::test]
async fn control_and_direction_characters_are_refused_in_pushed_text() {
    let h = harness().await;
    let dev = &h.inspector_dev;
    for text in ["井盖\u{0}缺失", "井盖\u{202E}缺失", "井盖\u{2066}缺失"] {
        let Record::Finding(mut f) = finding(dev, Uuid::now_v7(), site(1).id, None, None) else {
            unreachable!()
        };
        f.description = text.into();
        let r = push_next(&h, &h.inspector, dev, vec![Record::Finding(f)]).await;
        r.assert_refused(StatusCode::UNPROCESSABLE_ENTITY, "invalid_record");
        assert_eq!(r.body["field"], "description", "{}", r.body);
    }
    // Line breaks and tabs are text in a description.
    let Record::Finding(mut f) = finding(dev, Uuid::now_v7(), site(1).id, None, None) else {
        unreachable!()
    };
    f.description = "井盖缺失\r\n\t第二处".into();
    let r = push_next(&h, &h.inspector, dev, vec![Record::Finding(f)]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(h.export().await.findings.len(), 1);
}
