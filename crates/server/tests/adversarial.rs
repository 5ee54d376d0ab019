//! The attacker's tests (issue #14): one test per threat in `docs/SECURITY.md`, each tried the
//! way an ordinary account would try it, and each checking that the refusal changed nothing.

use crate::common::*;
use crate::http_api::{Harness, Reply, harness};
use axum::body::Body;
use axum::http::{Method, StatusCode};
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
    let r = h.step(&h.unit_urban, &moved).await;
    r.assert_refused(StatusCode::UNPROCESSABLE_ENTITY, "invalid_event");
    assert_eq!(r.body["field"], "unit", "{}", r.body);
    assert!(h.export().await.events.is_empty());
}

#[tokio::test]
async fn a_fix_or_an_on_site_check_without_its_after_photo_is_refused_at_every_door() {
    let h = harness().await;
    let f = h.finding_for("urban_mgmt").await;
    let dispatch = event(
        f,
        RectificationAction::Dispatched,
        Some("urban_mgmt"),
        "admin",
    );
    let r = h.step(&h.admin, &dispatch).await;
    assert!(r.status.is_success(), "{}", r.body);
    let mut bare = event(f, RectificationAction::Rectified, None, "inspector1");
    bare.photo_sha256 = None;
    // The tablet's push, the unit's API call.
    let r = push_next(
        &h,
        &h.inspector,
        &h.inspector_dev,
        vec![Record::Rectification(bare.clone())],
    )
    .await;
    r.assert_refused(StatusCode::UNPROCESSABLE_ENTITY, "invalid_record");
    assert_eq!(r.body["field"], "photo_sha256", "{}", r.body);
    let bare_unit = RectificationEventRecord {
        id: uuid::Uuid::now_v7(),
        actor: "unit_urban".into(),
        ..bare.clone()
    };
    let r = h.step(&h.unit_urban, &bare_unit).await;
    r.assert_refused(StatusCode::UNPROCESSABLE_ENTITY, "invalid_event");
    assert_eq!(r.body["field"], "photo_sha256", "{}", r.body);
    let steps = |h: &Harness| {
        let store = h.state.store.clone();
        async move { store.finding(f).await.unwrap().unwrap().events.len() }
    };
    assert_eq!(steps(&h).await, 1, "only the dispatch");
    // With its photo the unit's fix stands; the office then verifies from it, photo or not.
    let r = h
        .step(
            &h.unit_urban,
            &event(f, RectificationAction::Rectified, None, "unit_urban"),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    let mut office_check = event(f, RectificationAction::Verified, None, "admin");
    office_check.photo_sha256 = None;
    let r = h.step(&h.admin, &office_check).await;
    assert!(r.status.is_success(), "{}", r.body);
    assert_eq!(steps(&h).await, 3);
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
            .sign(&fieldcheck_domain::device_signature::signed_message(&r))
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

/// A tablet sign-in for `user` from the address `ip`.
async fn login_from(h: &Harness, ip: &str, user: &str, password: &str) -> Reply {
    use axum::extract::ConnectInfo;
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let dev = Device::new(40);
    let body = serde_json::json!({"username": user, "password": password, "device_id": dev.id,
        "device_public_key": dev.public_hex(), "device_label": "平板", "protocol_version": PROTOCOL_VERSION});
    let mut req = axum::http::Request::post("/api/v1/login")
        .header("content-type", "application/json")
        .body(axum::body::Body::from(body.to_string()))
        .unwrap();
    let addr: std::net::SocketAddr = format!("{ip}:40000").parse().unwrap();
    req.extensions_mut().insert(ConnectInfo(addr));
    let resp = h.router.clone().oneshot(req).await.unwrap();
    let (status, headers) = (resp.status(), resp.headers().clone());
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        headers,
        body: serde_json::from_slice(&bytes).unwrap_or_default(),
    }
}

#[tokio::test]
async fn parallel_wrong_passwords_get_no_more_checks_than_allowed() {
    let h = harness().await;
    let allowed = h.state.limits.login_max_failures;
    let tries = (0..40).map(|i| {
        let h = &h;
        async move { login_from(h, "10.0.0.66", "inspector1", &format!("guess-{i}")).await }
    });
    let replies = futures_util::future::join_all(tries).await;
    let checked = replies
        .iter()
        .filter(|r| r.status == StatusCode::UNAUTHORIZED)
        .count() as u64;
    let refused = replies
        .iter()
        .filter(|r| r.status == StatusCode::TOO_MANY_REQUESTS)
        .count() as u64;
    assert!(
        checked <= allowed,
        "{checked} password checks, {allowed} allowed"
    );
    assert_eq!(checked + refused, 40);
    assert!(
        h.state.hashes.runs() <= allowed,
        "{} hashes",
        h.state.hashes.runs()
    );
}

#[tokio::test]
async fn a_stranger_cannot_lock_the_admin_out_from_elsewhere() {
    let h = harness().await;
    for _ in 0..h.state.limits.login_max_failures {
        let r = login_from(&h, "203.0.113.9", "admin", "guess").await;
        r.assert_refused(StatusCode::UNAUTHORIZED, "bad_credentials");
    }
    login_from(&h, "203.0.113.9", "admin", "admin-pw")
        .await
        .assert_refused(StatusCode::TOO_MANY_REQUESTS, "too_many_logins");
    let r = login_from(&h, "10.1.1.1", "admin", "admin-pw").await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "the office still signs in: {}",
        r.body
    );
}

#[tokio::test]
async fn an_address_that_keeps_failing_backs_off_longer() {
    let h = harness().await;
    let window = h.state.limits.login_window_secs as i64 * 1000;
    let now = fieldcheck_server::clock::now_ms();
    // Four earlier lockouts' worth of failures, all older than the first window.
    for i in 0..20 {
        h.state
            .store
            .record_login_failure("user:admin@198.51.100.7", now - window - 1000 * (i + 1))
            .await
            .unwrap();
    }
    let r = login_from(&h, "198.51.100.7", "admin", "admin-pw").await;
    r.assert_refused(StatusCode::TOO_MANY_REQUESTS, "too_many_logins");
    let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(
        retry > h.state.limits.login_window_secs,
        "retry after {retry} s"
    );
}

#[tokio::test]
async fn an_unknown_name_costs_the_same_hash_at_the_api() {
    let h = harness().await;
    let r = login_from(&h, "10.0.0.5", "nobody-by-this-name", "guess").await;
    r.assert_refused(StatusCode::UNAUTHORIZED, "bad_credentials");
    assert_eq!(h.state.hashes.runs(), 1);
}

#[tokio::test]
async fn a_login_storm_past_the_waiting_room_is_told_to_come_back() {
    let h = crate::http_api::harness_with(fieldcheck_server::config::Limits {
        max_concurrent_hashes: 1,
        max_waiting_hashes: 2,
        ..fieldcheck_server::config::Limits::default()
    })
    .await;
    let tries = (0..24).map(|i| {
        let h = &h;
        async move { login_from(h, &format!("10.9.0.{i}"), &format!("nobody{i}"), "guess").await }
    });
    let replies = futures_util::future::join_all(tries).await;
    let busy: Vec<&Reply> = replies
        .iter()
        .filter(|r| r.status == StatusCode::SERVICE_UNAVAILABLE)
        .collect();
    assert!(!busy.is_empty(), "some are told to come back");
    assert!(busy.iter().all(|r| r.headers.contains_key("retry-after")));
    assert!(
        replies
            .iter()
            .all(|r| matches!(r.status.as_u16(), 401 | 503)),
        "no other answer"
    );
}

#[tokio::test]
async fn a_request_without_a_token_takes_no_sync_slot() {
    let h = crate::http_api::harness_with(fieldcheck_server::config::Limits {
        max_concurrent_syncs: 0,
        ..fieldcheck_server::config::Limits::default()
    })
    .await;
    let pull = serde_json::json!({"protocol_version": PROTOCOL_VERSION, "cursor": 0, "hlc": hlc()});
    let r = h
        .json(axum::http::Method::POST, "/api/v1/sync/pull", None, &pull)
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
    let r = h
        .json(
            axum::http::Method::POST,
            "/api/v1/sync/pull",
            Some("forged"),
            &pull,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
}

#[tokio::test]
async fn one_device_cannot_take_every_sync_slot() {
    use tower::ServiceExt;
    let h = crate::http_api::harness_with(fieldcheck_server::config::Limits {
        max_syncs_per_device: 1,
        ..fieldcheck_server::config::Limits::default()
    })
    .await;
    let dev = h.inspector_dev.id;
    // A push whose body never ends holds the inspector's tablet's one slot.
    let (tx, rx) = tokio::sync::mpsc::channel::<bytes::Bytes>(1);
    tx.send(bytes::Bytes::from_static(b"{\"protocol_version\":"))
        .await
        .unwrap();
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|b| (Ok::<_, std::io::Error>(b), rx))
    });
    let req = axum::http::Request::post("/api/v1/sync/push")
        .header("authorization", format!("Bearer {}", h.inspector))
        .header("content-type", "application/json")
        .body(axum::body::Body::from_stream(body))
        .unwrap();
    let held = tokio::spawn(h.router.clone().oneshot(req));
    for _ in 0..100 {
        if h.state.device_slots.in_flight(dev) == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(h.state.device_slots.in_flight(dev), 1);
    // The same tablet asks again (its first connection died on its side): the stale request is
    // given up, the new one served, and the tablet never holds more than its one slot.
    let pull = serde_json::json!({"protocol_version": PROTOCOL_VERSION, "cursor": 0, "hlc": hlc()});
    let r = h
        .json(
            axum::http::Method::POST,
            "/api/v1/sync/pull",
            Some(&h.inspector),
            &pull,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let held = held.await.unwrap().unwrap();
    assert_eq!(held.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        h.state.device_slots.in_flight(dev),
        0,
        "every slot is given back"
    );
    // Another device was never in the way.
    let r = h
        .json(
            axum::http::Method::POST,
            "/api/v1/sync/pull",
            Some(&h.admin),
            &pull,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    drop(tx);
}

#[tokio::test]
async fn a_finding_edited_after_dispatch_reaches_only_its_current_unit() {
    let h = harness().await;
    let f = h.finding_for("urban_mgmt").await;
    let dispatch = event(f, RectificationAction::Dispatched, Some("housing"), "admin");
    let r = h.step(&h.admin, &dispatch).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    // The inspector edits the finding on the tablet, which still names the unit seen on site.
    let Record::Finding(mut edit) =
        finding(&h.inspector_dev, f, site(1).id, None, Some("urban_mgmt"))
    else {
        unreachable!()
    };
    edit.description = "井盖缺失，已设警示".into();
    let r = push_next(
        &h,
        &h.inspector,
        &h.inspector_dev,
        vec![Record::Finding(edit)],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let pulled = |token: String| {
        let h = &h;
        async move {
            let pull = serde_json::json!({"protocol_version": PROTOCOL_VERSION, "cursor": 0, "limit": 500, "hlc": hlc()});
            let r = h
                .json(
                    axum::http::Method::POST,
                    "/api/v1/sync/pull",
                    Some(&token),
                    &pull,
                )
                .await;
            let resp: PullResponse = serde_json::from_value(r.body).unwrap();
            resp.changes
                .into_iter()
                .filter_map(|c| match c.item {
                    ChangeItem::Finding(x) => Some(x.description),
                    _ => None,
                })
                .collect::<Vec<_>>()
        }
    };
    let urban = pulled(h.unit_urban.clone()).await;
    assert!(
        !urban.iter().any(|d| d.contains("警示")),
        "the unit it was taken from does not get the edit: {urban:?}"
    );
    let housing = pulled(h.unit_housing.clone()).await;
    assert!(housing.iter().any(|d| d.contains("警示")), "{housing:?}");
}

#[tokio::test]
async fn a_sign_in_told_busy_is_not_counted_against_the_account() {
    let h = crate::http_api::harness_with(fieldcheck_server::config::Limits {
        max_concurrent_hashes: 1,
        max_waiting_hashes: 0,
        ..fieldcheck_server::config::Limits::default()
    })
    .await;
    // Hold the one hash slot, as a storm would.
    let held = h.state.hashes.slot().await.unwrap();
    for _ in 0..10 {
        let r = login_from(&h, "10.0.0.7", "inspector1", "inspector-pw").await;
        assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.body);
    }
    drop(held);
    let failures = h
        .state
        .store
        .login_failures_since("user:inspector1@10.0.0.7", 0)
        .await
        .unwrap();
    assert_eq!(failures, 0, "ten busy answers are not ten failures");
    let r = login_from(&h, "10.0.0.7", "inspector1", "inspector-pw").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

/// Threat: the office API dispatches a finding to a unit that does not exist, or with a
/// deadline that is no day, which the dashboard's form refuses: the finding would wait on no
/// one. Every door asks the one office service, so the API refuses it too and writes nothing.
#[tokio::test]
async fn a_dispatch_names_an_existing_unit_and_a_real_deadline_at_every_door() {
    let h = harness().await;
    let f = h.finding_for("urban_mgmt").await;
    let steps = || async {
        let row = h.state.store.finding(f).await.unwrap().unwrap();
        row.events.len()
    };
    let before = steps().await;
    let nowhere = event(
        f,
        RectificationAction::Dispatched,
        Some("no_such_unit"),
        "admin",
    );
    let r = h.step(&h.admin, &nowhere).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.body["field"], "unit", "{}", r.body);
    let mut no_day = event(f, RectificationAction::Dispatched, Some("housing"), "admin");
    no_day.deadline = Some("2026-02-30".into());
    let r = h.step(&h.admin, &no_day).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.body["field"], "deadline", "{}", r.body);
    assert_eq!(steps().await, before, "nothing was written");
    let fine = event(f, RectificationAction::Dispatched, Some("housing"), "admin");
    let r = h.step(&h.admin, &fine).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
}

/// Threat: an office client backdates a step by choosing its stamp (1970), so that it orders
/// before steps already in the log and changes the finding's derived status in hindsight. An
/// office step is stamped by the server's clock at every door; the client's stamp is ignored.
#[tokio::test]
async fn office_steps_are_stamped_by_the_server_clock() {
    let h = harness().await;
    let f = h.finding_for("urban_mgmt").await;
    let before = h.state.clock.now();
    let mut backdated = event(f, RectificationAction::Dispatched, Some("housing"), "admin");
    backdated.hlc = Hlc {
        time: 1 << 32,
        node: 7,
    };
    let r = h.step(&h.admin, &backdated).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let stored = h.state.store.finding(f).await.unwrap().unwrap().events;
    let step = stored.iter().find(|e| e.id == backdated.id).unwrap();
    assert!(
        step.hlc > before,
        "stamped {:?}, not after the server's {before:?}",
        step.hlc
    );
    // A retry of the same step is the same step: nothing is logged twice.
    let changes = |h: &Harness| {
        let store = h.state.store.clone();
        async move {
            store
                .pull(
                    0,
                    10_000,
                    &fieldcheck_server::store::PullScope::Everything,
                    None,
                )
                .await
                .unwrap()
                .changes
                .len()
        }
    };
    let logged = changes(&h).await;
    let r = h.step(&h.admin, &backdated).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(changes(&h).await, logged, "a retry logs nothing new");
}

#[tokio::test]
async fn check_ins_are_signed_and_name_a_site_of_this_county_by_its_label() {
    let h = harness().await;
    let dev = &h.inspector_dev;
    let county = h.state.county_id().await.unwrap();
    let stored = |h: &Harness| {
        let store = h.state.store.clone();
        async move {
            store
                .dash_query("SELECT id FROM check_ins", vec![])
                .await
                .unwrap()
                .len()
        }
    };
    use ed25519_dalek::Signer;
    let sign = |mut r: CheckInRecord| {
        r.signature = hex::encode(
            dev.key
                .sign(&fieldcheck_domain::device_signature::check_in_message(&r))
                .to_bytes(),
        );
        r
    };
    let other_county = check_in(dev, site(1).id, Uuid::now_v7());
    let r = push_next(&h, &h.inspector, dev, vec![Record::CheckIn(other_county)]).await;
    r.assert_refused(StatusCode::UNPROCESSABLE_ENTITY, "invalid_record");
    assert_eq!(r.body["field"], "label");
    let mut other_site = check_in(dev, site(1).id, county);
    other_site.label = fieldcheck_domain::site_label::SiteLabel {
        county,
        site: Uuid::now_v7(),
    }
    .text();
    let r = push_next(
        &h,
        &h.inspector,
        dev,
        vec![Record::CheckIn(sign(other_site))],
    )
    .await;
    assert_eq!(r.body["field"], "label", "{}", r.body);
    let unknown = sign(CheckInRecord {
        site_id: Uuid::now_v7(),
        ..check_in(dev, site(1).id, county)
    });
    let r = push_next(&h, &h.inspector, dev, vec![Record::CheckIn(unknown)]).await;
    assert_eq!(r.body["field"], "site_id", "{}", r.body);
    let mut moved = check_in(dev, site(1).id, county);
    moved.at -= 86_400_000; // a day earlier than it was signed
    let r = push_next(&h, &h.inspector, dev, vec![Record::CheckIn(moved)]).await;
    assert_eq!(r.body["field"], "signature", "{}", r.body);
    assert_eq!(stored(&h).await, 0, "every refusal wrote nothing");

    let good = check_in(dev, site(1).id, county);
    let r = push_next(&h, &h.inspector, dev, vec![Record::CheckIn(good)]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(stored(&h).await, 1);
}

#[tokio::test]
async fn a_marked_copy_needs_an_original_the_server_knows() {
    let h = harness().await;
    let dev = &h.inspector_dev;
    let f = h.finding_for("urban_mgmt").await;
    let mut marked = photo_record(dev, &jpeg(64, 48), Some(f), 64, 48);
    marked.marked_from = Some(sha_hex(b"never pushed"));
    let r = push_next(
        &h,
        &h.inspector,
        dev,
        vec![Record::Photo(resign(dev, marked))],
    )
    .await;
    r.assert_refused(StatusCode::UNPROCESSABLE_ENTITY, "invalid_record");
    assert_eq!(r.body["field"], "marked_from");
    assert!(h.export().await.photos.is_empty());
    // With its original earlier in the same batch it is kept, linked to it.
    let original = photo_record(dev, &jpeg(64, 40), Some(f), 64, 40);
    let mut marked = photo_record(dev, &jpeg(64, 48), Some(f), 64, 48);
    marked.marked_from = Some(original.sha256.clone());
    let marked = resign(dev, marked);
    let r = push_next(
        &h,
        &h.inspector,
        dev,
        vec![
            Record::Photo(original.clone()),
            Record::Photo(marked.clone()),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let photos = h.export().await.photos;
    let kept = photos.iter().find(|p| p.sha256 == marked.sha256).unwrap();
    assert_eq!(kept.marked_from.as_deref(), Some(original.sha256.as_str()));
}

#[tokio::test]
async fn a_photo_reaches_only_callers_who_may_see_its_finding() {
    let h = harness().await;
    let dev = &h.inspector_dev;
    let f = h.finding_for("urban_mgmt").await;
    let bytes = jpeg(640, 480);
    let before = photo_record(dev, &bytes, Some(f), 640, 480);
    let r = push_next(&h, &h.inspector, dev, vec![Record::Photo(before.clone())]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = h.upload(&before.sha256, 0, bytes.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // Inspector 2 is confined to another district.
    let east = Site {
        district: "东城区".into(),
        ..site(2)
    };
    h.state.store.put_site(&east).await.unwrap();
    let (token2, _) = inspector2(&h).await;
    let r = h
        .json(
            Method::PUT,
            "/api/v1/users/inspector2/districts",
            Some(&h.admin),
            &serde_json::json!({ "districts": ["东城区"] }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["version"], 1);
    let r = h
        .json(
            Method::PUT,
            "/api/v1/users/inspector2/districts",
            Some(&h.admin),
            &serde_json::json!({ "districts": ["西城区"] }),
        )
        .await;
    r.assert_refused(StatusCode::UNPROCESSABLE_ENTITY, "invalid_account");

    let get = |token: String| {
        let h = &h;
        let path = format!("/api/v1/photos/{}", before.sha256);
        async move {
            h.send(Method::GET, &path, Some(&token), &[], Body::empty())
                .await
        }
    };
    let thumbs = |token: String, hashes: Vec<String>| {
        let h = &h;
        async move {
            h.json(
                Method::POST,
                "/api/v1/photos/thumbnails",
                Some(&token),
                &serde_json::json!({ "hashes": hashes }),
            )
            .await
        }
    };
    for token in [token2.clone(), h.unit_housing.clone()] {
        let r = get(token.clone()).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
        let r = thumbs(token, vec![before.sha256.clone()]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    }
    for token in [h.inspector.clone(), h.unit_urban.clone(), h.admin.clone()] {
        let r = get(token.clone()).await;
        assert_eq!(r.status, StatusCode::OK);
        let r = thumbs(token, vec![before.sha256.clone()]).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let thumb = r.body["thumbnails"][0]["jpeg_base64"].as_str().unwrap();
        use base64::Engine as _;
        let jpeg = base64::engine::general_purpose::STANDARD
            .decode(thumb)
            .unwrap();
        let info = fieldcheck_photo_codec::check_image(&jpeg, 320).unwrap();
        assert_eq!((info.width, info.height), (320, 240));
    }
    let r = get(h.inspector.clone()).await;
    assert_eq!(
        r.body,
        serde_json::Value::String(String::from_utf8_lossy(&bytes).into())
    );
    let r = thumbs(h.admin.clone(), vec![before.sha256.clone(); 65]).await;
    r.assert_refused(StatusCode::PAYLOAD_TOO_LARGE, "too_many_hashes");
    let r = thumbs(h.admin.clone(), vec!["../etc".into()]).await;
    r.assert_refused(StatusCode::BAD_REQUEST, "bad_hash");
}

#[tokio::test]
async fn a_discard_cannot_unsay_a_finished_inspection_or_predate_its_start() {
    let h = harness().await;
    let dev = &h.inspector_dev;
    let id = Uuid::now_v7();
    let Record::Inspection(started) = inspection(dev, id, site(1).id) else {
        unreachable!()
    };
    let r = push_next(
        &h,
        &h.inspector,
        dev,
        vec![Record::Inspection(started.clone())],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let finished = InspectionRecord {
        finished_at: Some(started.started_at + 60_000),
        discarded_at: Some(started.started_at + 90_000),
        ..started.clone()
    };
    let before_start = InspectionRecord {
        discarded_at: Some(started.started_at - 1),
        ..started.clone()
    };
    for forged in [finished, before_start] {
        let r = push_next(&h, &h.inspector, dev, vec![Record::Inspection(forged)]).await;
        r.assert_refused(StatusCode::UNPROCESSABLE_ENTITY, "invalid_record");
        assert_eq!(r.body["field"], "discarded_at", "{}", r.body);
    }
    let kept = h.export().await.inspections;
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].discarded_at, None, "nothing changed");
    // An honest discard of the unfinished inspection is taken.
    let discarded = InspectionRecord {
        discarded_at: Some(started.started_at + 30_000),
        ..started
    };
    let r = push_next(&h, &h.inspector, dev, vec![Record::Inspection(discarded)]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(h.export().await.inspections[0].discarded_at.is_some());
}
