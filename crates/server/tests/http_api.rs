//! The HTTP API over the real router (SQLite store in a temp dir): the authorization matrix,
//! the bad-input list (status, message, nothing written), photos, login limits, overload and
//! the OpenAPI document.

use crate::common;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use common::*;
use fieldcheck_protocol::*;
use fieldcheck_server::app::{Access, AppState, ROUTES, SharedState, router};
use fieldcheck_server::blobs::LocalBlobs;
use fieldcheck_server::config::Limits;
use fieldcheck_server::store::{DynStore, NewDevice};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::sync::Arc;
use tower::ServiceExt;
use uuid::Uuid;

/// The router over a fresh SQLite store with an account (and a registered tablet) of each role.
pub(crate) struct Harness {
    pub(crate) state: SharedState,
    pub(crate) router: Router,
    pub(crate) dir: tempfile::TempDir,
    pub(crate) admin: String,
    pub(crate) admin_dev: Device,
    pub(crate) inspector: String,
    pub(crate) inspector_dev: Device,
    pub(crate) unit_urban: String,
    pub(crate) unit_housing: String,
    pub(crate) revoked: String,
}

/// An answer: status, headers and the JSON body (or the text, as a JSON string).
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Value,
}

impl Reply {
    pub(crate) fn code(&self) -> &str {
        self.body["error"].as_str().unwrap_or("")
    }
    /// A refusal a person can act on: a code and a "中文 / English" message.
    pub(crate) fn assert_refused(&self, status: StatusCode, code: &str) {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(self.code(), code, "{}", self.body);
        let msg = self.body["message"].as_str().unwrap();
        assert!(
            msg.contains(" / ") && msg.chars().any(|c| c > '\u{2e80}'),
            "bilingual: {msg}"
        );
    }
}

pub(crate) async fn harness_with(limits: Limits) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let store: DynStore =
        fieldcheck_server::store::open(dir.path().join("db.sqlite3").to_str().unwrap())
            .await
            .unwrap();
    seed(&store).await;
    add_user(&store, "admin", Role::Admin, None, "admin-pw").await;
    add_user(&store, "inspector1", Role::Inspector, None, "inspector-pw").await;
    add_user(&store, "inspector2", Role::Inspector, None, "pw2").await;
    add_user(
        &store,
        "unit_urban",
        Role::UnitMember,
        Some("urban_mgmt"),
        "pw",
    )
    .await;
    add_user(
        &store,
        "unit_housing",
        Role::UnitMember,
        Some("housing"),
        "pw",
    )
    .await;
    let inspector_dev = Device::new(1);
    let inspector = inspector_dev.register(&store, "inspector1").await;
    let admin_dev = Device::new(2);
    let admin = admin_dev.register(&store, "admin").await;
    let unit_urban = Device::new(3).register(&store, "unit_urban").await;
    let unit_housing = Device::new(4).register(&store, "unit_housing").await;
    let gone = Device::new(5);
    let revoked = gone.register(&store, "inspector2").await;
    store.revoke_device(gone.id, 1).await.unwrap();
    let photos = dir.path().join("photos");
    let state = Arc::new(AppState::new(
        store,
        Arc::new(LocalBlobs::new(photos.clone())),
        limits,
    ));
    Harness {
        router: router(state.clone()),
        state,
        dir,
        admin,
        admin_dev,
        inspector,
        inspector_dev,
        unit_urban,
        unit_housing,
        revoked,
    }
}

pub(crate) async fn harness() -> Harness {
    harness_with(Limits {
        max_json_bytes: 256 * 1024,
        ..Limits::default()
    })
    .await
}

impl Harness {
    pub(crate) async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, String)],
        body: Body,
    ) -> Reply {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        let resp = self
            .router
            .clone()
            .oneshot(req.body(body).unwrap())
            .await
            .unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
        Reply {
            status,
            headers,
            body,
        }
    }

    /// The store's row of the device `id`.
    pub(crate) async fn device_row(&self, id: Uuid) -> fieldcheck_server::store::DeviceRow {
        self.state
            .store
            .list_devices()
            .await
            .unwrap()
            .into_iter()
            .find(|d| d.id == id)
            .unwrap()
    }

    pub(crate) async fn json(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: &Value,
    ) -> Reply {
        self.send(
            method,
            path,
            token,
            &[("content-type", "application/json".into())],
            Body::from(body.to_string()),
        )
        .await
    }

    /// Posts a rectification step to the office API as `token`.
    pub(crate) async fn step(&self, token: &str, event: &RectificationEventRecord) -> Reply {
        let path = format!("/api/v1/findings/{}/events", event.finding_id);
        let body = serde_json::to_value(event).unwrap();
        self.json(Method::POST, &path, Some(token), &body).await
    }

    pub(crate) async fn push(&self, token: &str, device: Uuid, entries: &[OutboxEntry]) -> Reply {
        let req = PushRequest {
            protocol_version: PROTOCOL_VERSION,
            device_id: device,
            hlc: hlc(),
            entries: entries.to_vec(),
        };
        self.json(
            Method::POST,
            "/api/v1/sync/push",
            Some(token),
            &serde_json::to_value(req).unwrap(),
        )
        .await
    }

    pub(crate) async fn upload(&self, sha: &str, offset: u64, bytes: Vec<u8>) -> Reply {
        let token = self.inspector.clone();
        self.send(
            Method::PATCH,
            &format!("/api/v1/photos/{sha}"),
            Some(&token),
            &[
                ("upload-offset", offset.to_string()),
                ("content-type", "application/offset+octet-stream".into()),
            ],
            Body::from(bytes),
        )
        .await
    }

    pub(crate) async fn export(&self) -> fieldcheck_server::store::Export {
        self.state.store.export().await.unwrap()
    }

    /// Pushes a finding dispatched (on site) to `unit`, and returns its id.
    pub(crate) async fn finding_for(&self, unit: &str) -> Uuid {
        let f = Uuid::now_v7();
        let high = self
            .state
            .store
            .list_devices()
            .await
            .unwrap()
            .iter()
            .find(|d| d.id == self.inspector_dev.id)
            .unwrap()
            .high_seq;
        let r = self
            .push(
                &self.inspector,
                self.inspector_dev.id,
                &entries(
                    high + 1,
                    vec![finding(
                        &self.inspector_dev,
                        f,
                        site(1).id,
                        None,
                        Some(unit),
                    )],
                ),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        f
    }

    pub(crate) fn blob_exists(&self, sha: &str) -> bool {
        self.dir
            .path()
            .join("photos")
            .join(&sha[..2])
            .join(format!("{sha}.jpg"))
            .exists()
    }
}

#[tokio::test]
async fn openapi_lists_every_route_and_no_other() {
    let h = harness().await;
    let r = h
        .send(
            Method::GET,
            "/api/v1/openapi.json",
            None,
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let paths = r.body["paths"].as_object().unwrap();
    let mut documented = 0;
    for (method, path, _) in ROUTES {
        let op = &paths
            .get(*path)
            .unwrap_or_else(|| panic!("{path} missing from OpenAPI"))[method.to_ascii_lowercase()];
        assert!(op.is_object(), "{method} {path} missing from OpenAPI");
        documented += 1;
    }
    let total: usize = paths.values().map(|p| p.as_object().unwrap().len()).sum();
    assert_eq!(total, documented, "the document lists only real routes");
}

#[tokio::test]
async fn authorization_matrix_every_route_every_caller() {
    let h = harness().await;
    let sha = sha_hex(b"nothing");
    let id = Uuid::now_v7();
    // A token whose account was disabled afterwards, and one issued before a password change.
    add_user(
        &h.state.store,
        "disabled1",
        Role::Inspector,
        None,
        "pw-disabled",
    )
    .await;
    let disabled = Device::new(21).register(&h.state.store, "disabled1").await;
    h.state
        .store
        .set_user_disabled("disabled1", true)
        .await
        .unwrap();
    add_user(&h.state.store, "admin2", Role::Admin, None, "pw-old-admin2").await;
    let before_change = Device::new(22).register(&h.state.store, "admin2").await;
    let new_hash = fieldcheck_server::auth::hash_password("pw-new-admin2").unwrap();
    h.state
        .store
        .set_password_hash("admin2", &new_hash)
        .await
        .unwrap();
    let callers: [(&str, Option<String>, Option<Role>); 7] = [
        ("anonymous", None, None),
        ("disabled user", Some(disabled), None),
        ("changed password", Some(before_change), None),
        (
            "inspector",
            Some(h.inspector.clone()),
            Some(Role::Inspector),
        ),
        (
            "unit member",
            Some(h.unit_urban.clone()),
            Some(Role::UnitMember),
        ),
        ("admin", Some(h.admin.clone()), Some(Role::Admin)),
        ("revoked device", Some(h.revoked.clone()), None),
    ];
    for (method, path, access) in ROUTES {
        let uri = path
            .replace("{sha256}", &sha)
            .replace("{id}", &id.to_string())
            .replace("{name}", "inspector1");
        for (who, token, role) in &callers {
            let headers = [
                ("content-type", "application/json".to_string()),
                ("upload-offset", "0".to_string()),
            ];
            let r = h
                .send(
                    Method::from_bytes(method.as_bytes()).unwrap(),
                    &uri,
                    token.as_deref(),
                    &headers,
                    Body::from("{}"),
                )
                .await;
            let allowed = match (access, role) {
                (Access::Public, _) => true,
                // A password change deletes the account's tokens; a disable keeps them (the
                // tablet may still ask whether it is revoked) but refuses them everywhere else.
                (Access::AnyToken, _) => token.is_some() && *who != "changed password",
                (_, None) => false,
                (Access::AnyRole, Some(_)) => true,
                (Access::Device, Some(r)) => matches!(r, Role::Inspector | Role::Admin),
                (Access::Office, Some(r)) => matches!(r, Role::Admin | Role::UnitMember),
                (Access::Admin, Some(r)) => *r == Role::Admin,
            };
            assert_ne!(r.code(), "no_route", "{method} {path} is routed");
            let expected = if allowed {
                None
            } else if token.is_none() || role.is_none() {
                Some(StatusCode::UNAUTHORIZED)
            } else {
                Some(StatusCode::FORBIDDEN)
            };
            match expected {
                None => assert!(
                    r.status != StatusCode::UNAUTHORIZED && r.status != StatusCode::FORBIDDEN,
                    "{method} {path} as {who}: expected to be let in, got {} {}",
                    r.status,
                    r.body
                ),
                Some(s) => {
                    assert_eq!(r.status, s, "{method} {path} as {who}: {}", r.body);
                    assert!(
                        r.body["message"]
                            .as_str()
                            .is_some_and(|m| m.contains(" / "))
                    );
                }
            }
        }
    }
}

#[tokio::test]
async fn push_acks_the_prefix_and_carries_the_server_clock() {
    let h = harness().await;
    let dev = &h.inspector_dev;
    let outbox = outbox(dev, site(1).id, 2);
    let sent = hlc();
    let r = h.push(&h.inspector, dev.id, &outbox[..10]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let resp: PushResponse = serde_json::from_value(r.body).unwrap();
    assert_eq!((resp.acked_through, resp.applied), (10, 10));
    assert!(
        resp.server_hlc > sent,
        "server clock merged past the device's"
    );
    let again = h.push(&h.inspector, dev.id, &outbox[..10]).await;
    assert_eq!(
        serde_json::from_value::<PushResponse>(again.body)
            .unwrap()
            .applied,
        0
    );
    let rest = h.push(&h.inspector, dev.id, &outbox[10..]).await;
    assert_eq!(
        serde_json::from_value::<PushResponse>(rest.body)
            .unwrap()
            .acked_through,
        18
    );
    assert_eq!(h.export().await, expected_export(&outbox));
}

#[tokio::test]
async fn bad_pushes_are_refused_with_a_reason_and_write_nothing() {
    let h = harness().await;
    let dev = &h.inspector_dev;
    let good = outbox(dev, site(1).id, 1);
    assert_eq!(
        h.push(&h.inspector, dev.id, &good[..2]).await.status,
        StatusCode::OK
    );
    let before = h.export().await;
    let audit_before = h.state.store.recent_audit(1000).await.unwrap().len();

    // Malformed JSON.
    let r = h
        .send(
            Method::POST,
            "/api/v1/sync/push",
            Some(&h.inspector),
            &[("content-type", "application/json".into())],
            Body::from("{\"protocol_version\": 1,"),
        )
        .await;
    r.assert_refused(StatusCode::BAD_REQUEST, "malformed_json");
    // Wrong types.
    let r = h
        .json(
            Method::POST,
            "/api/v1/sync/push",
            Some(&h.inspector),
            &json!({"protocol_version": "one", "device_id": dev.id, "hlc": hlc(), "entries": "x"}),
        )
        .await;
    r.assert_refused(StatusCode::UNPROCESSABLE_ENTITY, "invalid_json");
    // Unknown protocol version.
    let mut req = serde_json::to_value(PushRequest {
        protocol_version: 99,
        device_id: dev.id,
        hlc: hlc(),
        entries: good[2..3].to_vec(),
    })
    .unwrap();
    let r = h
        .json(Method::POST, "/api/v1/sync/push", Some(&h.inspector), &req)
        .await;
    r.assert_refused(StatusCode::BAD_REQUEST, "protocol_version");
    assert!(r.body["message"].as_str().unwrap().contains("99"));
    // A token used for another device id.
    req["protocol_version"] = json!(PROTOCOL_VERSION);
    req["device_id"] = json!(Uuid::now_v7());
    h.json(Method::POST, "/api/v1/sync/push", Some(&h.inspector), &req)
        .await
        .assert_refused(StatusCode::FORBIDDEN, "forbidden");
    // Records made by another device.
    let other = Device::new(9);
    let r = h
        .push(
            &h.inspector,
            dev.id,
            &entries(3, vec![inspection(&other, Uuid::now_v7(), site(1).id)]),
        )
        .await;
    r.assert_refused(StatusCode::FORBIDDEN, "other_device");
    assert_eq!(r.body["seq"], 3);
    // Another device reusing this device's record ids to overwrite them.
    let intruder = Device::new(10);
    let intruder_token = intruder.register(&h.state.store, "inspector1").await;
    let ins_id = match &good[0].record {
        Record::Inspection(i) => i.id,
        _ => unreachable!(),
    };
    let r = h
        .push(
            &intruder_token,
            intruder.id,
            &entries(1, vec![inspection(&intruder, ins_id, site(1).id)]),
        )
        .await;
    r.assert_refused(StatusCode::FORBIDDEN, "other_device");
    let r = h
        .push(
            &intruder_token,
            intruder.id,
            &entries(1, vec![item(ins_id, "BA-01", ItemValue::NonCompliant)]),
        )
        .await;
    r.assert_refused(StatusCode::FORBIDDEN, "other_device");
    // A sequence gap.
    let r = h.push(&h.inspector, dev.id, &good[4..6]).await;
    r.assert_refused(StatusCode::CONFLICT, "sequence_gap");
    assert_eq!(r.body["expected_seq"], 3);
    // Invalid records name seq and field.
    let ins = match &good[0].record {
        Record::Inspection(i) => i.id,
        _ => unreachable!(),
    };
    let cases: Vec<(Record, &str)> = vec![
        (item(ins, "BA-03", ItemValue::Percent(140.0)), "value"),
        (item(ins, "NOPE", ItemValue::Compliant), "item_code"),
        (item(ins, "BA-02", ItemValue::Compliant), "value"),
        (inspection(dev, Uuid::now_v7(), Uuid::now_v7()), "site_id"),
        (
            Record::Photo(PhotoRecord {
                signature: "00".repeat(64),
                ..photo_record(dev, b"x", None, 10, 10)
            }),
            "signature",
        ),
        (
            Record::Photo(photo_record(dev, b"x", None, 30_000, 30_000)),
            "width",
        ),
        (
            finding(
                &h.inspector_dev,
                Uuid::now_v7(),
                site(1).id,
                None,
                Some("no_such_unit"),
            ),
            "unit",
        ),
    ];
    for (record, field) in cases {
        let r = h
            .push(
                &h.inspector,
                dev.id,
                &entries(3, vec![good[2].record.clone(), record]),
            )
            .await;
        r.assert_refused(StatusCode::UNPROCESSABLE_ENTITY, "invalid_record");
        assert_eq!(
            (r.body["seq"].as_u64(), r.body["field"].as_str()),
            (Some(4), Some(field)),
            "{}",
            r.body
        );
    }
    // A body over the limit.
    let big = json!({"protocol_version": PROTOCOL_VERSION, "device_id": dev.id, "hlc": hlc(), "entries": [], "pad": "x".repeat(300 * 1024)});
    h.json(Method::POST, "/api/v1/sync/push", Some(&h.inspector), &big)
        .await
        .assert_refused(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large");

    assert_eq!(h.export().await, before, "nothing written");
    assert_eq!(
        h.state.store.recent_audit(1000).await.unwrap().len(),
        audit_before
    );
    let dev_row = h.device_row(dev.id).await;
    assert_eq!(dev_row.high_seq, 2);
}

#[tokio::test]
async fn paths_with_dot_dot_are_refused() {
    let h = harness().await;
    for path in [
        "/api/v1/photos/../../etc/passwd",
        "/api/v1/photos/%2e%2e/offset",
        "/api/v1/../healthz",
    ] {
        h.send(Method::GET, path, Some(&h.admin), &[], Body::empty())
            .await
            .assert_refused(StatusCode::BAD_REQUEST, "bad_path");
    }
}

#[tokio::test]
async fn expired_and_revoked_tokens_are_refused() {
    let h = harness().await;
    let dev = Device::new(7);
    let (token, hash) = fieldcheck_server::auth::new_token();
    h.state
        .store
        .register_device(&NewDevice {
            id: dev.id,
            user_name: "inspector1".into(),
            public_key: dev.public_hex(),
            label: "old".into(),
            token_hash: hash,
            token_expires_at: 1000,
            at: 1,
        })
        .await
        .unwrap();
    let pull = json!({"protocol_version": PROTOCOL_VERSION, "cursor": 0, "hlc": hlc()});
    h.json(Method::POST, "/api/v1/sync/pull", Some(&token), &pull)
        .await
        .assert_refused(StatusCode::UNAUTHORIZED, "token_expired");
    h.json(Method::POST, "/api/v1/sync/pull", Some(&h.revoked), &pull)
        .await
        .assert_refused(StatusCode::UNAUTHORIZED, "token_revoked");
    h.json(Method::POST, "/api/v1/sync/pull", Some("f00d"), &pull)
        .await
        .assert_refused(StatusCode::UNAUTHORIZED, "unauthorized");
}

#[tokio::test]
async fn unit_members_see_and_answer_only_their_units_findings() {
    let h = harness().await;
    let urban = h.finding_for("urban_mgmt").await;
    let housing = h.finding_for("housing").await;
    let r = h
        .send(
            Method::GET,
            &format!("/api/v1/findings/{housing}"),
            Some(&h.unit_urban),
            &[],
            Body::empty(),
        )
        .await;
    r.assert_refused(StatusCode::FORBIDDEN, "forbidden");
    let r = h
        .send(
            Method::GET,
            &format!("/api/v1/findings/{urban}"),
            Some(&h.unit_urban),
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let list = h
        .send(
            Method::GET,
            "/api/v1/findings",
            Some(&h.unit_housing),
            &[],
            Body::empty(),
        )
        .await;
    let ids: Vec<&str> = list
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["finding"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [housing.to_string()]);
    assert_eq!(
        h.send(
            Method::GET,
            "/api/v1/findings",
            Some(&h.admin),
            &[],
            Body::empty()
        )
        .await
        .body
        .as_array()
        .unwrap()
        .len(),
        2
    );

    // A unit answers a finding once the office dispatched it, not before.
    let fixed = event(urban, RectificationAction::Rectified, None, "unit_urban");
    h.step(&h.unit_urban, &fixed)
        .await
        .assert_refused(StatusCode::CONFLICT, "step_not_applicable");
    let dispatch = event(
        urban,
        RectificationAction::Dispatched,
        Some("urban_mgmt"),
        "admin",
    );
    let r = h.step(&h.admin, &dispatch).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    // A unit reports its own finding fixed; it may not close it, nor touch another unit's.
    let fixed = event(urban, RectificationAction::Rectified, None, "unit_urban");
    let r = h.step(&h.unit_urban, &fixed).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let close = event(urban, RectificationAction::Closed, None, "unit_urban");
    h.step(&h.unit_urban, &close)
        .await
        .assert_refused(StatusCode::FORBIDDEN, "step_not_allowed");
    let other = event(housing, RectificationAction::Rectified, None, "unit_urban");
    h.step(&h.unit_urban, &other)
        .await
        .assert_refused(StatusCode::FORBIDDEN, "forbidden");
    // The office dispatches the housing finding to urban management: now urban sees it.
    let dispatch = event(
        housing,
        RectificationAction::Dispatched,
        Some("urban_mgmt"),
        "admin",
    );
    let r = h.step(&h.admin, &dispatch).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(
        h.send(
            Method::GET,
            &format!("/api/v1/findings/{housing}"),
            Some(&h.unit_urban),
            &[],
            Body::empty()
        )
        .await
        .status,
        StatusCode::OK
    );

    // Pull: the unit sees reference data and its own unit's steps.
    let pull =
        json!({"protocol_version": PROTOCOL_VERSION, "cursor": 0, "limit": 500, "hlc": hlc()});
    let r = h
        .json(
            Method::POST,
            "/api/v1/sync/pull",
            Some(&h.unit_urban),
            &pull,
        )
        .await;
    let resp: PullResponse = serde_json::from_value(r.body).unwrap();
    let steps = resp
        .changes
        .iter()
        .filter(|c| matches!(c.item, ChangeItem::Rectification(_)))
        .count();
    assert_eq!(steps, 3, "two dispatches to urban and its fix");
    let r = h
        .json(
            Method::POST,
            "/api/v1/sync/pull",
            Some(&h.unit_housing),
            &pull,
        )
        .await;
    let resp: PullResponse = serde_json::from_value(r.body).unwrap();
    assert_eq!(
        resp.changes
            .iter()
            .filter(|c| matches!(c.item, ChangeItem::Rectification(_)))
            .count(),
        0
    );
    assert!(
        resp.changes
            .iter()
            .any(|c| matches!(&c.item, ChangeItem::Template(t) if t.id == "back_alley"))
    );
}

#[tokio::test]
async fn pull_pages_with_a_cursor() {
    let h = harness().await;
    let mut cursor = 0;
    let mut n = 0;
    loop {
        let r = h
            .json(
                Method::POST,
                "/api/v1/sync/pull",
                Some(&h.inspector),
                &json!({"protocol_version": PROTOCOL_VERSION, "cursor": cursor, "limit": 2, "hlc": hlc()}),
            )
            .await;
        let page: PullResponse = serde_json::from_value(r.body).unwrap();
        n += page.changes.len();
        cursor = page.cursor;
        if !page.more {
            break;
        }
        assert_eq!(page.changes.len(), 2);
    }
    assert_eq!(n, 6, "5 content items and 1 site");

    // A tablet that asks for gzip gets the page compressed.
    let body =
        json!({"protocol_version": PROTOCOL_VERSION, "cursor": 0, "limit": 50, "hlc": hlc()});
    let r = h
        .send(
            Method::POST,
            "/api/v1/sync/pull",
            Some(&h.inspector),
            &[
                ("content-type", "application/json".into()),
                ("accept-encoding", "gzip".into()),
            ],
            Body::from(body.to_string()),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers["content-encoding"], "gzip");
}

#[tokio::test]
async fn assignments_are_checked_and_reach_their_inspector_only() {
    let h = harness().await;
    let id = Uuid::now_v7();
    let path = format!("/api/v1/assignments/{id}");
    let good = json!({
        "id": id, "inspector": "inspector1", "site_id": site(1).id,
        "date": "2026-11-28", "note": "复查井盖", "cancelled": false,
    });
    let with = |key: &str, value: Value| {
        let mut v = good.clone();
        v[key] = value;
        v
    };
    let assignments_pulled = |token: String| {
        let h = &h;
        async move {
            let r = h
                .json(
                    Method::POST,
                    "/api/v1/sync/pull",
                    Some(&token),
                    &json!({"protocol_version": PROTOCOL_VERSION, "cursor": 0, "hlc": hlc()}),
                )
                .await;
            let page: PullResponse = serde_json::from_value(r.body).unwrap();
            page.changes
                .into_iter()
                .filter_map(|c| match c.item {
                    ChangeItem::Assignment(a) => Some(a),
                    _ => None,
                })
                .collect::<Vec<_>>()
        }
    };
    let bad = [
        (with("id", json!(Uuid::now_v7())), "id"),
        (with("inspector", json!("nobody")), "inspector"),
        (with("inspector", json!("unit_urban")), "inspector"),
        (with("inspector", json!("admin")), "inspector"),
        (with("site_id", json!(Uuid::now_v7())), "site_id"),
        (with("date", json!("2026-02-30")), "date"),
        (with("date", json!("2026-11-28T08:00")), "date"),
        (with("date", json!("28/11/2026")), "date"),
        (with("note", json!("井".repeat(2001))), "note"),
    ];
    for (body, field) in bad {
        let r = h.json(Method::PUT, &path, Some(&h.admin), &body).await;
        r.assert_refused(StatusCode::UNPROCESSABLE_ENTITY, "invalid_assignment");
        assert_eq!(r.body["field"], field, "{}", r.body);
        assert!(r.body["message"].as_str().unwrap().contains(field));
    }
    let r = h
        .json(
            Method::PUT,
            &path,
            Some(&h.admin),
            &with("date", json!(20261128)),
        )
        .await;
    r.assert_refused(StatusCode::UNPROCESSABLE_ENTITY, "invalid_json");
    let r = h
        .send(
            Method::PUT,
            &path,
            Some(&h.admin),
            &[("content-type", "application/json".into())],
            Body::from("{\"id\": "),
        )
        .await;
    r.assert_refused(StatusCode::BAD_REQUEST, "malformed_json");
    let r = h.json(Method::PUT, &path, Some(&h.inspector), &good).await;
    r.assert_refused(StatusCode::FORBIDDEN, "forbidden");
    assert!(
        assignments_pulled(h.admin.clone()).await.is_empty(),
        "nothing written"
    );

    let r = h.json(Method::PUT, &path, Some(&h.admin), &good).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let stored: Assignment = serde_json::from_value(good).unwrap();
    assert_eq!(assignments_pulled(h.inspector.clone()).await, [stored]);
    assert!(assignments_pulled(h.unit_urban.clone()).await.is_empty());
    let inspector2 = Device::new(9).register(&h.state.store, "inspector2").await;
    assert!(assignments_pulled(inspector2).await.is_empty());
    let audit = h.state.store.recent_audit(1).await.unwrap();
    assert_eq!(
        (audit[0].action.as_str(), audit[0].actor.as_str()),
        ("put_assignment", "admin")
    );
}

/// Pushes a photo record for these bytes and returns its hash.
async fn push_photo(h: &Harness, bytes: &[u8], width: u32, height: u32) -> String {
    let dev = &h.inspector_dev;
    let rec = photo_record(dev, bytes, None, width, height);
    let high = h
        .state
        .store
        .list_devices()
        .await
        .unwrap()
        .iter()
        .find(|d| d.id == dev.id)
        .unwrap()
        .high_seq;
    let r = h
        .push(
            &h.inspector,
            dev.id,
            &entries(high + 1, vec![Record::Photo(rec.clone())]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    rec.sha256
}

#[tokio::test]
async fn photo_upload_resumes_from_the_servers_offset_and_is_verified() {
    let h = harness().await;
    let bytes = jpeg(64, 48);
    let sha = push_photo(&h, &bytes, 64, 48).await;
    let missing = h
        .json(
            Method::POST,
            "/api/v1/photos/missing",
            Some(&h.inspector),
            &json!({"hashes": [sha, sha_hex(b"unknown")]}),
        )
        .await;
    assert_eq!(missing.body["missing"].as_array().unwrap().len(), 2);

    // A truncated upload: held, not accepted; the answer says where to resume.
    let half = bytes.len() / 2;
    let r = h.upload(&sha, 0, bytes[..half].to_vec()).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    assert_eq!(
        (r.body["offset"].as_u64(), r.body["complete"].as_bool()),
        (Some(half as u64), Some(false))
    );
    assert!(
        r.body["message"]
            .as_str()
            .unwrap()
            .contains("resume at offset")
    );
    assert!(!h.blob_exists(&sha));
    let missing = h
        .json(
            Method::POST,
            "/api/v1/photos/missing",
            Some(&h.inspector),
            &json!({"hashes": [sha]}),
        )
        .await;
    assert_eq!(missing.body["missing"][0], sha.as_str());
    let r = h
        .send(
            Method::GET,
            &format!("/api/v1/photos/{sha}/offset"),
            Some(&h.inspector),
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(r.body["offset"].as_u64(), Some(half as u64));
    assert_eq!(r.headers["upload-offset"], half.to_string().as_str());
    // Resuming from the wrong offset is refused with the right one.
    let r = h.upload(&sha, 0, bytes.clone()).await;
    r.assert_refused(StatusCode::CONFLICT, "offset_mismatch");
    assert_eq!(r.headers["upload-offset"], half.to_string().as_str());
    // The rest completes and verifies it.
    let r = h.upload(&sha, half as u64, bytes[half..].to_vec()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["complete"], true);
    assert!(h.blob_exists(&sha));
    let missing = h
        .json(
            Method::POST,
            "/api/v1/photos/missing",
            Some(&h.inspector),
            &json!({"hashes": [sha]}),
        )
        .await;
    assert!(missing.body["missing"].as_array().unwrap().is_empty());
    // Uploading again is harmless.
    assert_eq!(h.upload(&sha, 0, bytes).await.status, StatusCode::OK);
    // Another device may not upload this device's photo.
    let r = h
        .send(
            Method::PATCH,
            &format!("/api/v1/photos/{}", sha_hex(b"zzz")),
            Some(&h.inspector),
            &[("upload-offset", "0".into())],
            Body::empty(),
        )
        .await;
    r.assert_refused(StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn bad_photos_are_refused_and_not_kept() {
    let h = harness().await;
    // Bytes that do not match the hash (same length, so they reach verification).
    let good = jpeg(40, 30);
    let sha = push_photo(&h, &good, 40, 30).await;
    let mut forged = good.clone();
    forged[good.len() / 2] ^= 0xff;
    h.upload(&sha, 0, forged)
        .await
        .assert_refused(StatusCode::UNPROCESSABLE_ENTITY, "hash_mismatch");
    assert_eq!(h.state.blobs.held(&sha).await.unwrap(), 0, "discarded");
    // More bytes than declared.
    let mut long = good.clone();
    long.push(0);
    h.upload(&sha, 0, long)
        .await
        .assert_refused(StatusCode::PAYLOAD_TOO_LARGE, "photo_too_long");
    // Not an image.
    let junk = b"this is a text file, not a photo".to_vec();
    let sha_junk = push_photo(&h, &junk, 10, 10).await;
    h.upload(&sha_junk, 0, junk)
        .await
        .assert_refused(StatusCode::UNPROCESSABLE_ENTITY, "not_an_image");
    // A 30,000 × 30,000 image (refused from its header, before any decoding).
    let bomb = png_bomb_header(30_000);
    let sha_bomb = push_photo(&h, &bomb, 100, 100).await;
    h.upload(&sha_bomb, 0, bomb)
        .await
        .assert_refused(StatusCode::UNPROCESSABLE_ENTITY, "image_too_large");
    // Dimensions that differ from the record.
    let other = jpeg(20, 20);
    let sha_dims = push_photo(&h, &other, 21, 20).await;
    h.upload(&sha_dims, 0, other)
        .await
        .assert_refused(StatusCode::UNPROCESSABLE_ENTITY, "dimensions_mismatch");
    for s in [&sha, &sha_junk, &sha_bomb, &sha_dims] {
        assert!(!h.blob_exists(s));
        assert!(!h.state.store.photo(s).await.unwrap().unwrap().stored);
    }
    // A bad hash in the path.
    h.send(
        Method::GET,
        "/api/v1/photos/XYZ/offset",
        Some(&h.inspector),
        &[],
        Body::empty(),
    )
    .await
    .assert_refused(StatusCode::BAD_REQUEST, "bad_hash");
}

#[tokio::test]
async fn login_registers_the_device_and_limits_failures() {
    let h = harness().await;
    let dev = Device::new(8);
    let login = |password: &str, device: &Device| {
        json!({"username": "inspector1", "password": password, "device_id": device.id,
               "device_public_key": device.public_hex(), "device_label": "平板 8", "protocol_version": PROTOCOL_VERSION})
    };
    let r = h
        .json(
            Method::POST,
            "/api/v1/login",
            None,
            &login("inspector-pw", &dev),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let resp: LoginResponse = serde_json::from_value(r.body).unwrap();
    assert_eq!((resp.role, resp.device_id), (Role::Inspector, dev.id));
    assert_eq!(
        resp.county_id,
        Some(h.state.store.county_id().await.unwrap()),
        "the tablet learns the county its site labels name"
    );
    assert_eq!(
        resp.display_name.as_deref(),
        Some("inspector1"),
        "no person's name yet: the account name"
    );
    assert!(
        h.state
            .store
            .set_display_name("inspector1", "张伟")
            .await
            .unwrap()
    );
    let again = h
        .json(
            Method::POST,
            "/api/v1/login",
            None,
            &login("inspector-pw", &dev),
        )
        .await;
    let again: LoginResponse = serde_json::from_value(again.body).unwrap();
    assert_eq!(
        again.display_name.as_deref(),
        Some("张伟"),
        "the tablet learns whose name its photos print"
    );
    let resp = again;
    let pull = json!({"protocol_version": PROTOCOL_VERSION, "cursor": 0, "hlc": hlc()});
    assert_eq!(
        h.json(Method::POST, "/api/v1/sync/pull", Some(&resp.token), &pull)
            .await
            .status,
        StatusCode::OK
    );

    let mut bad_key = login("inspector-pw", &dev);
    bad_key["device_public_key"] = json!("abcd");
    h.json(Method::POST, "/api/v1/login", None, &bad_key)
        .await
        .assert_refused(StatusCode::UNPROCESSABLE_ENTITY, "invalid_device_key");
    for _ in 0..5 {
        h.json(Method::POST, "/api/v1/login", None, &login("wrong", &dev))
            .await
            .assert_refused(StatusCode::UNAUTHORIZED, "bad_credentials");
    }
    let r = h
        .json(
            Method::POST,
            "/api/v1/login",
            None,
            &login("inspector-pw", &dev),
        )
        .await;
    r.assert_refused(StatusCode::TOO_MANY_REQUESTS, "too_many_logins");
    assert!(r.headers.contains_key("retry-after"));

    // A revoked tablet cannot sign in again.
    let gone = h
        .state
        .store
        .list_devices()
        .await
        .unwrap()
        .into_iter()
        .find(|d| d.revoked_at.is_some())
        .unwrap();
    let mut again = login("pw2", &Device::new(5));
    again["username"] = json!("inspector2");
    again["device_id"] = json!(gone.id);
    h.json(Method::POST, "/api/v1/login", None, &again)
        .await
        .assert_refused(StatusCode::FORBIDDEN, "device_revoked");
    // Revoking over the API cuts a device off at once.
    let r = h
        .send(
            Method::POST,
            &format!("/api/v1/devices/{}/revoke", dev.id),
            Some(&h.admin),
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    h.json(Method::POST, "/api/v1/sync/pull", Some(&resp.token), &pull)
        .await
        .assert_refused(StatusCode::UNAUTHORIZED, "token_revoked");
    let audit = h
        .send(
            Method::GET,
            "/api/v1/audit?limit=50",
            Some(&h.admin),
            &[],
            Body::empty(),
        )
        .await;
    let actions: Vec<&str> = audit
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.contains(&"login")
            && actions.contains(&"login_failed")
            && actions.contains(&"revoke_device"),
        "{actions:?}"
    );
}

/// Threat: device takeover. Device ids travel in every pulled finding; signing in with another
/// tablet's id used to re-register it to the caller's account and key, who could then push as
/// that device, and the victim's next push was acknowledged with nothing applied.
#[tokio::test]
async fn a_device_id_stays_with_its_first_key_and_account() {
    let h = harness().await;
    let tablet = Device::new(31);
    let attacker = Device::new(32);
    let sign_in = async |user: &str, password: &str, key: String| {
        let body = json!({"username": user, "password": password, "device_id": tablet.id,
            "device_public_key": key, "device_label": "平板", "protocol_version": PROTOCOL_VERSION});
        h.json(Method::POST, "/api/v1/login", None, &body).await
    };
    let token_of = |r: Reply| {
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        r.body["token"].as_str().unwrap().to_string()
    };
    let token = token_of(sign_in("inspector1", "inspector-pw", tablet.public_hex()).await);

    // Another account, with its own key or with the tablet's, and the same account with a new
    // key: each refused, and the binding stays as it was.
    for (user, password, key) in [
        ("inspector2", "pw2", attacker.public_hex()),
        ("inspector2", "pw2", tablet.public_hex()),
        ("inspector1", "inspector-pw", attacker.public_hex()),
    ] {
        sign_in(user, password, key)
            .await
            .assert_refused(StatusCode::CONFLICT, "device_bound");
    }
    let bound = h.device_row(tablet.id).await;
    assert_eq!(
        (bound.user_name.as_str(), bound.public_key.clone()),
        ("inspector1", tablet.public_hex())
    );
    let pull = json!({"protocol_version": PROTOCOL_VERSION, "cursor": 0, "hlc": hlc()});
    assert_eq!(
        h.json(Method::POST, "/api/v1/sync/pull", Some(&token), &pull)
            .await
            .status,
        StatusCode::OK,
        "the tablet's own token still works"
    );
    // Signing in again as itself renews the token.
    let token = token_of(sign_in("inspector1", "inspector-pw", tablet.public_hex()).await);

    // An administrator's reset frees the id for a new key (a tablet whose key was lost), and
    // voids its token.
    assert!(h.state.store.reset_device(tablet.id).await.unwrap());
    h.json(Method::POST, "/api/v1/sync/pull", Some(&token), &pull)
        .await
        .assert_refused(StatusCode::UNAUTHORIZED, "unauthorized");
    token_of(sign_in("inspector1", "inspector-pw", attacker.public_hex()).await);
    assert!(!h.state.store.reset_device(Uuid::now_v7()).await.unwrap());
}

/// Threat: a password that leaked is changed, but a tablet signed in with it keeps syncing. A
/// password change ends every device token of the account (the tablet asks for the new
/// password), and only that account's.
#[tokio::test]
async fn a_password_change_ends_the_accounts_device_tokens() {
    let h = harness().await;
    let pull = json!({"protocol_version": PROTOCOL_VERSION, "cursor": 0, "hlc": hlc()});
    let status = async |token: &str| {
        h.json(Method::POST, "/api/v1/sync/pull", Some(token), &pull)
            .await
            .status
    };
    assert_eq!(status(&h.inspector).await, StatusCode::OK);
    assert_eq!(status(&h.admin).await, StatusCode::OK);
    assert!(
        h.state
            .store
            .set_password_hash("inspector1", "new-hash")
            .await
            .unwrap()
    );
    assert_eq!(status(&h.inspector).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        status(&h.admin).await,
        StatusCode::OK,
        "other accounts keep theirs"
    );
}

/// Threat: a 7 MB user name was written to the failure table and to the append-only audit log
/// (and hashed). A name or password longer than any account can have is refused before
/// anything is stored or hashed.
#[tokio::test]
async fn an_oversized_login_is_refused_before_anything_is_stored() {
    let h = harness().await;
    let audit_before = h.state.store.recent_audit(1000).await.unwrap().len();
    let dev = Device::new(41);
    let huge = "名".repeat(5_000);
    for (username, password) in [(huge.as_str(), "pw"), ("inspector1", huge.as_str())] {
        let body = json!({"username": username, "password": password, "device_id": dev.id,
            "device_public_key": dev.public_hex(), "device_label": "平板", "protocol_version": PROTOCOL_VERSION});
        h.json(Method::POST, "/api/v1/login", None, &body)
            .await
            .assert_refused(StatusCode::UNPROCESSABLE_ENTITY, "invalid_login");
    }
    assert_eq!(
        h.state.store.recent_audit(1000).await.unwrap().len(),
        audit_before,
        "nothing audited"
    );
    for key in [format!("user:{huge}"), "user:inspector1".to_string()] {
        assert_eq!(
            h.state.store.login_failures_since(&key, 0).await.unwrap(),
            0
        );
    }
}

#[tokio::test]
async fn over_the_sync_cap_answers_503_with_retry_after() {
    let h = harness_with(Limits {
        max_concurrent_syncs: 0,
        sync_queue_wait_ms: 0,
        ..Limits::default()
    })
    .await;
    let r = h
        .json(
            Method::POST,
            "/api/v1/sync/pull",
            Some(&h.inspector),
            &json!({"protocol_version": PROTOCOL_VERSION, "cursor": 0, "hlc": hlc()}),
        )
        .await;
    r.assert_refused(StatusCode::SERVICE_UNAVAILABLE, "busy");
    assert_eq!(r.headers["retry-after"], "5");
    assert_eq!(
        h.send(Method::GET, "/healthz", None, &[], Body::empty())
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn over_the_push_cap_answers_503_and_pull_still_works() {
    let h = harness_with(Limits {
        max_concurrent_pushes: 0,
        push_queue_wait_ms: 0,
        ..Limits::default()
    })
    .await;
    let r = h
        .json(
            Method::POST,
            "/api/v1/sync/push",
            Some(&h.inspector),
            &json!({"protocol_version": PROTOCOL_VERSION, "device_id": Uuid::nil(), "hlc": hlc(), "entries": []}),
        )
        .await;
    r.assert_refused(StatusCode::SERVICE_UNAVAILABLE, "busy");
    assert_eq!(r.headers["retry-after"], "1");
    let pull = h
        .json(
            Method::POST,
            "/api/v1/sync/pull",
            Some(&h.inspector),
            &json!({"protocol_version": PROTOCOL_VERSION, "cursor": 0, "hlc": hlc()}),
        )
        .await;
    assert_eq!(pull.status, StatusCode::OK);
}

/// Starts the inspector's push and sends only the start of its body: it holds its push slot
/// and its place in the push line until `tx` is dropped (the body is then cut short: 400).
async fn held_push(
    h: &Harness,
) -> (
    tokio::sync::mpsc::Sender<Result<Vec<u8>, std::io::Error>>,
    tokio::task::JoinHandle<Result<axum::response::Response, std::convert::Infallible>>,
) {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(1);
    tx.send(Ok(b"{\"protocol_version\":".to_vec()))
        .await
        .unwrap();
    let stream =
        futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|c| (c, rx)) });
    let held = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/sync/push")
        .header("authorization", format!("Bearer {}", h.inspector))
        .header("content-type", "application/json")
        .body(Body::from_stream(stream))
        .unwrap();
    (tx, tokio::spawn(h.router.clone().oneshot(held)))
}

#[tokio::test]
async fn a_push_over_the_cap_waits_its_turn_instead_of_being_refused() {
    let h = harness_with(Limits {
        max_concurrent_pushes: 1,
        ..Limits::default()
    })
    .await;
    // A push whose body is still coming holds the one push slot.
    let (tx, held) = held_push(&h).await;
    while h.state.push_slots.available_permits() > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let push = json!({"protocol_version": PROTOCOL_VERSION, "device_id": h.inspector_dev.id,
        "hlc": hlc(), "entries": []});
    let waiting = h.json(Method::POST, "/api/v1/sync/push", Some(&h.inspector), &push);
    tokio::pin!(waiting);
    // It waits in line rather than being told to come back…
    let early = tokio::time::timeout(std::time::Duration::from_millis(300), &mut waiting).await;
    assert!(early.is_err(), "answered while the slot was held");
    // …and goes through as soon as the slot is free (the held push's body is cut short).
    drop(tx);
    let r = waiting.await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["acked_through"], 0);
    let held = held.await.unwrap().unwrap();
    assert_eq!(held.status(), StatusCode::BAD_REQUEST);
}

/// A server whose push line takes one push at a time (a target of 1 ms), its one place held
/// by the inspector's push, whose body is still coming until `tx` is dropped.
async fn line_of_one() -> (
    Harness,
    tokio::sync::mpsc::Sender<Result<Vec<u8>, std::io::Error>>,
    tokio::task::JoinHandle<Result<axum::response::Response, std::convert::Infallible>>,
) {
    let h = harness_with(Limits {
        push_wait_target_ms: Some(1),
        ..Limits::default()
    })
    .await;
    let (tx, held) = held_push(&h).await;
    while h.state.push_slots.available_permits() == h.state.limits.max_concurrent_pushes {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    (h, tx, held)
}

#[tokio::test]
async fn past_the_wait_target_a_push_is_given_a_number_and_keeps_its_place() {
    let (h, tx, held) = line_of_one().await;
    let push = json!({"protocol_version": PROTOCOL_VERSION, "device_id": h.admin_dev.id,
        "hlc": hlc(), "entries": []});
    // Another device is told its place and when to come back, at once…
    let r = h
        .json(Method::POST, "/api/v1/sync/push", Some(&h.admin), &push)
        .await;
    r.assert_refused(StatusCode::SERVICE_UNAVAILABLE, "queued");
    assert_eq!(r.body["ahead"], 1, "{}", r.body);
    let ms = r.body["retry_after_ms"].as_u64().unwrap();
    assert!((200..=5_000).contains(&ms), "{ms}");
    let secs: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert_eq!(secs, ms.div_ceil(1000));
    // …and told the same place when it comes back too early.
    let again = h
        .json(Method::POST, "/api/v1/sync/push", Some(&h.admin), &push)
        .await;
    again.assert_refused(StatusCode::SERVICE_UNAVAILABLE, "queued");
    assert_eq!(again.body["ahead"], 1);
    // Once the held push is answered (its body cut short), its turn has come.
    drop(tx);
    let held = held.await.unwrap().unwrap();
    assert_eq!(held.status(), StatusCode::BAD_REQUEST);
    let r = h
        .json(Method::POST, "/api/v1/sync/push", Some(&h.admin), &push)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

#[tokio::test]
async fn a_device_with_a_number_asks_for_its_turn_without_its_batch_and_its_place_is_held() {
    let (h, tx, held) = line_of_one().await;
    let turn = |token: String| {
        let h = &h;
        async move {
            h.send(
                Method::POST,
                "/api/v1/sync/turn",
                Some(&token),
                &[],
                Body::empty(),
            )
            .await
        }
    };
    // The admin's tablet asks with no batch: the question waits on the server for its turn
    // (at most TURN_WAIT), then it is told its number and when to ask again, as a push.
    let r = turn(h.admin.clone()).await;
    r.assert_refused(StatusCode::SERVICE_UNAVAILABLE, "queued");
    assert_eq!(r.body["ahead"], 1, "{}", r.body);
    assert!(r.body["retry_after_ms"].as_u64().is_some(), "{}", r.body);
    drop(tx);
    assert_eq!(
        held.await.unwrap().unwrap().status(),
        StatusCode::BAD_REQUEST
    );
    // Its turn has come: nothing to read, and the place is held for its push…
    let r = turn(h.admin.clone()).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    // …so another tablet asking now waits behind it…
    let other = Device::new(23).register(&h.state.store, "inspector1").await;
    let mut waiting = std::pin::pin!(turn(other));
    assert!(
        tokio::time::timeout(std::time::Duration::from_millis(300), &mut waiting)
            .await
            .is_err(),
        "given the place held for the admin's push"
    );
    // …the admin's push goes through…
    let push = json!({"protocol_version": PROTOCOL_VERSION, "device_id": h.admin_dev.id,
        "hlc": hlc(), "entries": []});
    let (pushed, other_turn) = tokio::join!(
        h.json(Method::POST, "/api/v1/sync/push", Some(&h.admin), &push),
        waiting
    );
    assert_eq!(pushed.status, StatusCode::OK, "{}", pushed.body);
    // …and its answer gives the other tablet its turn.
    assert_eq!(
        other_turn.status,
        StatusCode::NO_CONTENT,
        "{}",
        other_turn.body
    );
}

#[tokio::test]
async fn one_upload_per_photo_at_a_time() {
    let h = harness().await;
    let bytes = jpeg(64, 48);
    let sha = push_photo(&h, &bytes, 64, 48).await;
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(1);
    let stream =
        futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|c| (c, rx)) });
    let req = Request::builder()
        .method(Method::PATCH)
        .uri(format!("/api/v1/photos/{sha}"))
        .header("authorization", format!("Bearer {}", h.inspector))
        .header("upload-offset", "0")
        .body(Body::from_stream(stream))
        .unwrap();
    let first = tokio::spawn(h.router.clone().oneshot(req));
    tx.send(Ok(bytes[..10].to_vec())).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    h.upload(&sha, 10, bytes[10..].to_vec())
        .await
        .assert_refused(StatusCode::CONFLICT, "upload_in_progress");
    drop(tx);
    assert_eq!(first.await.unwrap().unwrap().status(), StatusCode::ACCEPTED);
    let r = h.upload(&sha, 10, bytes[10..].to_vec()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}
