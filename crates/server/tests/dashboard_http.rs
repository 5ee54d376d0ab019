//! The office dashboard over HTTP (the real router, a real SQLite file; the ledger's read model
//! also on a real PostgreSQL): sign-in and sessions, CSRF on every form, who may use which
//! page, the ledger's filters, and the read model following pushes, office steps and site edits.

use crate::common;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use common::*;
use fieldcheck_protocol::*;
use fieldcheck_server::app::{AppState, router};
use fieldcheck_server::blobs::LocalBlobs;
use fieldcheck_server::config::Limits;
use fieldcheck_server::dashboard::ledger::LedgerFilter;
use fieldcheck_server::dashboard::reference::Reference;
use fieldcheck_server::dashboard::scores::{Scores, Tally};
use fieldcheck_server::dashboard::{PageAccess, pages};
use fieldcheck_server::store::DynStore;
use http_body_util::BodyExt;
use std::sync::Arc;
use tower::ServiceExt;
use uuid::Uuid;

pub(crate) struct Dash {
    pub(crate) state: fieldcheck_server::app::SharedState,
    router: Router,
    pub(crate) store: DynStore,
    /// Holds the SQLite file (`db.sqlite3`) and the photos.
    pub(crate) dir: tempfile::TempDir,
    /// Finding at site 1 found with unit urban_mgmt.
    pub(crate) urban: Uuid,
    /// Finding at site 1 found with unit housing.
    pub(crate) housing: Uuid,
    /// The urban finding's photo.
    photo: String,
}

pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: String,
}

impl Reply {
    pub(crate) fn location(&self) -> &str {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
    fn set_cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with(&format!("{name}=")))
            .map(str::to_string)
    }
}

/// A signed-in browser: its cookie header and CSRF token.
#[derive(Clone)]
pub(crate) struct Browser {
    pub(crate) cookie: String,
    pub(crate) csrf: String,
}

fn hidden_csrf(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
    html[at..at + 64].to_string()
}

pub(crate) async fn dash() -> Dash {
    let dir = tempfile::tempdir().unwrap();
    let store = fieldcheck_server::store::open(dir.path().join("db.sqlite3").to_str().unwrap())
        .await
        .unwrap();
    seed(&store).await;
    add_user(&store, "admin", Role::Admin, None, "admin-pw").await;
    add_user(&store, "inspector1", Role::Inspector, None, "inspector-pw").await;
    add_user(
        &store,
        "unit_urban",
        Role::UnitMember,
        Some("urban_mgmt"),
        "urban-pw",
    )
    .await;
    add_user(
        &store,
        "unit_housing",
        Role::UnitMember,
        Some("housing"),
        "housing-pw",
    )
    .await;
    let dev = Device::new(1);
    dev.register(&store, "inspector1").await;
    let (urban, housing) = (Uuid::now_v7(), Uuid::now_v7());
    let bytes = jpeg(64, 48);
    let photo = photo_record(&dev, &bytes, Some(urban), 64, 48);
    store
        .apply_push(
            dev.id,
            &dev.public_hex(),
            &entries(
                1,
                vec![
                    finding(&dev, urban, site(1).id, None, Some("urban_mgmt")),
                    finding(&dev, housing, site(1).id, None, Some("housing")),
                    Record::Photo(photo.clone()),
                ],
            ),
        )
        .await
        .unwrap();
    let photos = dir.path().join("photos");
    let blobs = LocalBlobs::new(photos.clone());
    fieldcheck_server::blobs::BlobStore::put(&blobs, &photo.sha256, bytes.clone().into())
        .await
        .unwrap();
    store.mark_photo_stored(&photo.sha256, 1).await.unwrap();
    let state = Arc::new(AppState::new(
        store.clone(),
        Arc::new(blobs),
        Limits::default(),
    ));
    Dash {
        router: router(state.clone()),
        state,
        store,
        dir,
        urban,
        housing,
        photo: photo.sha256,
    }
}

impl Dash {
    pub(crate) async fn send(
        &self,
        method: Method,
        path: &str,
        cookie: &str,
        ctype: &str,
        body: Body,
    ) -> Reply {
        let mut req = Request::builder().method(method).uri(path);
        if !cookie.is_empty() {
            req = req.header(header::COOKIE, cookie);
        }
        if !ctype.is_empty() {
            req = req.header(header::CONTENT_TYPE, ctype);
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
        Reply {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into(),
        }
    }

    pub(crate) async fn get(&self, path: &str, b: Option<&Browser>) -> Reply {
        let cookie = b.map_or("", |b| b.cookie.as_str());
        self.send(Method::GET, path, cookie, "", Body::empty())
            .await
    }

    /// The body of a signed-in `GET`, as bytes (a download).
    pub(crate) async fn get_bytes(&self, path: &str, b: &Browser) -> Vec<u8> {
        let req = Request::builder()
            .uri(path)
            .header(header::COOKIE, &b.cookie)
            .body(Body::empty())
            .unwrap();
        let resp = self.router.clone().oneshot(req).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "GET {path}");
        resp.into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec()
    }

    pub(crate) async fn post(
        &self,
        path: &str,
        b: Option<&Browser>,
        form: &[(&str, &str)],
    ) -> Reply {
        let cookie = b.map_or("", |b| b.cookie.as_str());
        let body = serde_urlencoded::to_string(form).unwrap();
        self.send(
            Method::POST,
            path,
            cookie,
            "application/x-www-form-urlencoded",
            Body::from(body),
        )
        .await
    }

    async fn try_login(&self, user: &str, password: &str) -> Reply {
        let page = self.get("/dashboard/login", None).await;
        let pre = page.set_cookie("fc_login_csrf").unwrap();
        let pre = pre.split(';').next().unwrap().to_string();
        let csrf = hidden_csrf(&page.body);
        self.post(
            "/dashboard/login",
            Some(&Browser {
                cookie: pre,
                csrf: String::new(),
            }),
            &[("csrf", &csrf), ("username", user), ("password", password)],
        )
        .await
    }

    pub(crate) async fn login(&self, user: &str, password: &str) -> Browser {
        let r = self.try_login(user, password).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let cookie = r.set_cookie("fc_session").unwrap();
        let cookie = cookie.split(';').next().unwrap().to_string();
        let mut b = Browser {
            cookie,
            csrf: String::new(),
        };
        let ledger = self.get("/dashboard/ledger", Some(&b)).await;
        assert_eq!(ledger.status, StatusCode::OK);
        b.csrf = hidden_csrf(&ledger.body);
        b
    }

    async fn events(&self, id: Uuid) -> usize {
        self.store.finding(id).await.unwrap().unwrap().events.len()
    }

    /// The office dispatches the urban finding to its unit, so the unit may answer it.
    /// Posts a site list (CSV text) to the import as `b`.
    async fn import_sites(&self, b: &Browser, csv: &str) -> Reply {
        let form = [("csrf", b.csrf.as_str()), ("csv", csv)];
        self.post("/dashboard/manage/sites/import", Some(b), &form)
            .await
    }

    async fn dispatch_urban(&self) {
        let mut e = event(
            self.urban,
            RectificationAction::Dispatched,
            Some("urban_mgmt"),
            "admin",
        );
        e.deadline = Some("2099-01-01".into());
        assert!(self.store.append_office_event(&e).await.unwrap());
    }
}

#[tokio::test]
async fn login_gives_a_strict_http_only_session_and_refuses_what_it_should() {
    let d = dash().await;
    let r = d.try_login("admin", "admin-pw").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), "/dashboard/overview");
    let c = r.set_cookie("fc_session").unwrap();
    assert!(
        c.contains("HttpOnly") && c.contains("SameSite=Strict"),
        "{c}"
    );
    for (user, pw, status, zh) in [
        (
            "admin",
            "wrong",
            StatusCode::UNAUTHORIZED,
            "用户名或密码错误",
        ),
        ("nobody", "x", StatusCode::UNAUTHORIZED, "用户名或密码错误"),
        (
            "inspector1",
            "inspector-pw",
            StatusCode::FORBIDDEN,
            "督查员请在平板上",
        ),
    ] {
        let r = d.try_login(user, pw).await;
        assert_eq!(r.status, status, "{user}");
        assert!(r.body.contains(zh), "{user}: {}", r.body);
        assert!(r.set_cookie("fc_session").is_none());
    }
    // A login form posted without its double-submit cookie is refused.
    let page = d.get("/dashboard/login", None).await;
    let csrf = hidden_csrf(&page.body);
    let r = d
        .post(
            "/dashboard/login",
            None,
            &[
                ("csrf", &csrf),
                ("username", "admin"),
                ("password", "admin-pw"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Logging out ends the session on the server, not only in the browser.
    let b = d.login("admin", "admin-pw").await;
    let r = d
        .post("/dashboard/logout", Some(&b), &[("csrf", &b.csrf)])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = d.get("/dashboard/ledger", Some(&b)).await;
    assert_eq!(r.location(), "/dashboard/login");
    // A made-up session cookie is a login page too.
    let fake = Browser {
        cookie: format!("fc_session={}", "ab".repeat(32)),
        csrf: String::new(),
    };
    assert_eq!(
        d.get("/dashboard/ledger", Some(&fake)).await.location(),
        "/dashboard/login"
    );
}

/// Threat: another site frames the dashboard (clickjacking a 结案 button), a browser sniffs an
/// uploaded photo as HTML, or a page's address leaks to another site. Every answer, pages,
/// photos, the API and errors alike, carries the headers that forbid it.
#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let d = dash().await;
    let admin = d.login("admin", "admin-pw").await;
    for (path, browser) in [
        ("/dashboard/login", None),
        ("/dashboard/ledger", Some(&admin)),
        ("/dashboard/static/app.css", None),
        ("/healthz", None),
        ("/api/v1/openapi.json", None),
        ("/no/such/page", None),
    ] {
        let r = d.get(path, browser).await;
        let header = |name: &str| {
            r.headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_else(|| panic!("{path}: no {name} header ({})", r.status))
                .to_string()
        };
        assert_eq!(header("x-frame-options"), "DENY", "{path}");
        assert_eq!(header("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(header("referrer-policy"), "same-origin", "{path}");
        let csp = header("content-security-policy");
        for directive in [
            "default-src 'none'",
            "frame-ancestors 'none'",
            "form-action 'self'",
        ] {
            assert!(csp.contains(directive), "{path}: {csp}");
        }
        assert!(
            csp.contains("script-src 'self';"),
            "scripts from this server only, never inline: {csp}"
        );
    }
}

/// Threat: a password that leaked is changed, but a browser signed in with it stays signed in.
/// A password change (`fieldcheck-server user passwd`) ends the account's dashboard sessions,
/// and only that account's.
#[tokio::test]
async fn a_password_change_ends_the_accounts_dashboard_sessions() {
    let d = dash().await;
    let admin = d.login("admin", "admin-pw").await;
    let unit = d.login("unit_urban", "urban-pw").await;
    assert_eq!(
        d.get("/dashboard/ledger", Some(&admin)).await.status,
        StatusCode::OK
    );
    assert!(
        d.store
            .set_password_hash("admin", "new-hash")
            .await
            .unwrap()
    );
    let r = d.get("/dashboard/ledger", Some(&admin)).await;
    assert_eq!(
        (r.status, r.location()),
        (StatusCode::SEE_OTHER, "/dashboard/login")
    );
    assert_eq!(
        d.get("/dashboard/ledger", Some(&unit)).await.status,
        StatusCode::OK
    );
}

/// Threat: an oversized user name stored in the failure table and the audit log, through the
/// dashboard's door. Refused before anything is counted, hashed or audited.
#[tokio::test]
async fn an_oversized_dashboard_login_is_refused_before_anything_is_stored() {
    let d = dash().await;
    let audit_before = d.store.recent_audit(1000).await.unwrap().len();
    let huge = "名".repeat(5_000);
    let r = d.try_login(&huge, "pw").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("用户名或密码过长"), "{}", r.body);
    assert_eq!(
        d.store.recent_audit(1000).await.unwrap().len(),
        audit_before
    );
    let key = format!("user:{huge}");
    assert_eq!(d.store.login_failures_since(&key, 0).await.unwrap(), 0);
}

#[tokio::test]
async fn every_form_needs_the_session_csrf_token_and_a_wrong_one_changes_nothing() {
    let d = dash().await;
    let admin = d.login("admin", "admin-pw").await;
    let other = d.login("admin", "admin-pw").await;
    assert_ne!(admin.csrf, other.csrf, "each session has its own token");
    let path = format!("/dashboard/findings/{}/dispatch", d.urban);
    let form = |csrf: &'static str| {
        vec![
            ("csrf", csrf),
            ("unit", "housing"),
            ("deadline", "2099-01-01"),
        ]
    };
    for csrf in [
        "",
        "forged",
        "0000000000000000000000000000000000000000000000000000000000000000",
    ] {
        let r = d.post(&path, Some(&admin), &form(csrf)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{csrf:?}");
        assert!(r.body.contains("CSRF"), "{}", r.body);
    }
    // Another session's token is not this session's.
    let r = d
        .post(
            &path,
            Some(&admin),
            &[
                ("csrf", &other.csrf),
                ("unit", "housing"),
                ("deadline", "2099-01-01"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(d.events(d.urban).await, 0, "nothing was written");
    let r = d
        .post(
            &path,
            Some(&admin),
            &[
                ("csrf", &admin.csrf),
                ("unit", "housing"),
                ("deadline", "2099-01-01"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(d.events(d.urban).await, 1);
    // Bad input is refused naming the field, and writes nothing.
    for (unit, deadline, field) in [
        ("nope", "2099-01-01", "unit"),
        ("housing", "2020-01-01", "deadline"),
        ("housing", "tomorrow", "deadline"),
    ] {
        let r = d
            .post(
                &path,
                Some(&admin),
                &[
                    ("csrf", &admin.csrf),
                    ("unit", unit),
                    ("deadline", deadline),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{field}");
        assert!(
            r.body.contains(&format!("data-field=\"{field}\"")),
            "{}",
            r.body
        );
    }
    assert_eq!(d.events(d.urban).await, 1);
}

#[tokio::test]
async fn authorization_matrix_every_page_every_caller() {
    let d = dash().await;
    let admin = d.login("admin", "admin-pw").await;
    let unit = d.login("unit_urban", "urban-pw").await;
    // An admin session whose account was disabled afterwards, and one opened before the
    // account's password changed: both count as signed out.
    add_user(&d.store, "admin_off", Role::Admin, None, "admin-off-pw").await;
    let disabled = d.login("admin_off", "admin-off-pw").await;
    d.store.set_user_disabled("admin_off", true).await.unwrap();
    add_user(&d.store, "admin_pw", Role::Admin, None, "admin-old-pw").await;
    let changed = d.login("admin_pw", "admin-old-pw").await;
    let new_hash = fieldcheck_server::auth::hash_password("admin-new-pw").unwrap();
    d.store
        .set_password_hash("admin_pw", &new_hash)
        .await
        .unwrap();
    // Logout last: it ends the session the other rows use.
    let mut table: Vec<_> = pages(&d.state)
        .into_iter()
        .map(|p| (p.method, p.path, p.access))
        .collect();
    table.sort_by_key(|(_, p, _)| *p == "/dashboard/logout");
    for (method, path, access) in &table {
        if (*method, *path) == ("POST", "/dashboard/login") {
            // Its CSRF check is the double-submit cookie: see the login test.
            continue;
        }
        let uri = path
            .replace("{id}", &d.urban.to_string())
            .replace("{sha256}", &d.photo)
            .replace("{code}", "en")
            .replace("{name}", "inspector1");
        for (who, b) in [
            ("anonymous", None),
            ("disabled user", Some(&disabled)),
            ("changed password", Some(&changed)),
            ("unit", Some(&unit)),
            ("admin", Some(&admin)),
        ] {
            let r = if *method == "GET" {
                d.get(&uri, b).await
            } else if path.ends_with("/rectify")
                || path.ends_with("/packs")
                || *path == "/dashboard/division"
            {
                let boundary = "XyZ";
                let csrf = b.map_or("", |b| b.csrf.as_str());
                let body = format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n--{boundary}--\r\n"
                );
                d.send(
                    Method::POST,
                    &uri,
                    b.map_or("", |b| b.cookie.as_str()),
                    &format!("multipart/form-data; boundary={boundary}"),
                    Body::from(body),
                )
                .await
            } else {
                d.post(&uri, b, &[("csrf", b.map_or("", |b| b.csrf.as_str()))])
                    .await
            };
            // A logout that worked also ends on the login page, but clears the cookie.
            let logged_out = *path == "/dashboard/logout" && r.set_cookie("fc_session").is_some();
            let to_login = r.status == StatusCode::SEE_OTHER
                && r.location() == "/dashboard/login"
                && !logged_out;
            let refused = r.status == StatusCode::FORBIDDEN;
            let signed_out = matches!(who, "anonymous" | "disabled user" | "changed password");
            let expect_login = signed_out && *access != PageAccess::Public;
            let expect_refused = matches!(
                (who, access),
                ("unit", PageAccess::Admin) | ("admin", PageAccess::Unit)
            );
            assert!(
                r.status != StatusCode::METHOD_NOT_ALLOWED && !r.body.contains("no_route"),
                "{method} {path} is routed"
            );
            if expect_login {
                assert!(
                    to_login,
                    "{method} {path} as {who}: expected the login page, got {} {}",
                    r.status,
                    r.location()
                );
            } else if expect_refused {
                assert!(
                    refused,
                    "{method} {path} as {who}: expected 403, got {}",
                    r.status
                );
            } else {
                assert!(
                    !to_login && !refused,
                    "{method} {path} as {who}: let in expected, got {} {}",
                    r.status,
                    &r.body[..r.body.len().min(300)]
                );
            }
        }
    }
}

#[tokio::test]
async fn a_unit_member_sees_and_answers_only_its_unit() {
    let d = dash().await;
    let unit = d.login("unit_urban", "urban-pw").await;
    let ledger = d.get("/dashboard/ledger?unit=housing", Some(&unit)).await;
    assert!(ledger.body.contains(&d.urban.to_string()));
    assert!(
        !ledger.body.contains(&d.housing.to_string()),
        "the unit filter cannot widen the scope"
    );
    let other = d
        .get(&format!("/dashboard/findings/{}", d.housing), Some(&unit))
        .await;
    assert_eq!(other.status, StatusCode::FORBIDDEN);
    let photo = d
        .get(&format!("/dashboard/photos/{}/thumb", d.photo), Some(&unit))
        .await;
    assert_eq!(photo.status, StatusCode::OK);
    assert_eq!(photo.headers[header::CONTENT_TYPE], "image/jpeg");
    let housing = d.login("unit_housing", "housing-pw").await;
    let photo = d
        .get(&format!("/dashboard/photos/{}", d.photo), Some(&housing))
        .await;
    assert_eq!(photo.status, StatusCode::FORBIDDEN, "another unit's photo");
}

/// Posts an after-photo for the urban finding as a multipart form.
async fn send_photo(d: &Dash, unit: &Browser, bytes: Vec<u8>) -> Reply {
    let boundary = "b0und";
    let mut body = format!("--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"p.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n", unit.csrf).into_bytes();
    body.extend_from_slice(&bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    d.send(
        Method::POST,
        &format!("/dashboard/findings/{}/rectify", d.urban),
        &unit.cookie,
        &format!("multipart/form-data; boundary={boundary}"),
        Body::from(body),
    )
    .await
}

#[tokio::test]
async fn an_after_photo_must_be_a_real_jpeg_or_png() {
    let d = dash().await;
    let unit = d.login("unit_urban", "urban-pw").await;
    // Not dispatched yet: the page says why there is nothing to do, and the unit cannot
    // answer it.
    let page = d
        .get(&format!("/dashboard/findings/{}", d.urban), Some(&unit))
        .await;
    assert!(page.body.contains("awaiting-dispatch"), "{}", page.body);
    assert!(!page.body.contains("rectify-form"));
    let r = send_photo(&d, &unit, jpeg(320, 240)).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    d.dispatch_urban().await;
    let page = d
        .get(&format!("/dashboard/findings/{}", d.urban), Some(&unit))
        .await;
    assert!(page.body.contains("rectify-form") && !page.body.contains("awaiting-dispatch"));
    for bad in [b"not an image".to_vec(), png_bomb_header(100_000)] {
        let r = send_photo(&d, &unit, bad).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert!(r.body.contains("data-field=\"photo\""), "{}", r.body);
    }
    assert_eq!(d.events(d.urban).await, 1, "only the dispatch");
    let r = send_photo(&d, &unit, jpeg(320, 240)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let row = d.store.finding(d.urban).await.unwrap().unwrap();
    assert_eq!(row.events.len(), 2);
    assert_eq!(row.events[1].action, RectificationAction::Rectified);
    let sha = row.events[1].photo_sha256.clone().unwrap();
    assert_eq!(sha, sha_hex(&jpeg(320, 240)));
    let full = d
        .get(&format!("/dashboard/photos/{sha}"), Some(&unit))
        .await;
    assert_eq!(full.status, StatusCode::OK);
}

/// The ledger's read model and filters on one backend.
async fn ledger_follows_writes(store: DynStore) {
    seed(&store).await;
    store.put_site(&site(2)).await.unwrap();
    let dev = Device::new(9);
    dev.register(&store, "inspector1").await;
    let ids: Vec<Uuid> = (0..6).map(|_| Uuid::now_v7()).collect();
    let mut records = Vec::new();
    for (n, id) in ids.iter().enumerate() {
        let s = if n < 4 { site(1).id } else { site(2).id };
        records.push(finding(&dev, *id, s, None, None));
    }
    store
        .apply_push(dev.id, &dev.public_hex(), &entries(1, records))
        .await
        .unwrap();
    let count = |f: LedgerFilter, unit: Option<&'static str>| {
        let store = store.clone();
        async move {
            let q = f.query(unit).unwrap();
            q.page(store.as_ref(), 50).await.unwrap()
        }
    };
    let (rows, total) = count(LedgerFilter::default(), None).await;
    assert_eq!((rows.len(), total), (6, 6));
    assert!(
        rows.iter()
            .all(|r| r.status == "open" && r.site_name.starts_with("文庙后巷"))
    );
    // A photo record arrives without its bytes: no thumbnail yet; once they are stored, the
    // finding's line shows it.
    let photo = photo_record(&dev, b"before", Some(ids[3]), 64, 48);
    store
        .apply_push(
            dev.id,
            &dev.public_hex(),
            &entries(7, vec![Record::Photo(photo.clone())]),
        )
        .await
        .unwrap();
    let thumb_of = |rows: Vec<fieldcheck_server::dashboard::ledger::LedgerRow>| {
        rows.into_iter()
            .find(|r| r.finding_id == ids[3].to_string())
            .map(|r| r.thumb)
    };
    assert_eq!(
        thumb_of(count(LedgerFilter::default(), None).await.0),
        Some(None)
    );
    store.mark_photo_stored(&photo.sha256, 1).await.unwrap();
    assert_eq!(
        thumb_of(count(LedgerFilter::default(), None).await.0),
        Some(Some(photo.sha256.clone()))
    );
    // Dispatch two to urban_mgmt (one with a deadline already past), close one.
    let mut e = event(
        ids[0],
        RectificationAction::Dispatched,
        Some("urban_mgmt"),
        "admin",
    );
    e.deadline = Some("2099-01-01".into());
    store.append_office_event(&e).await.unwrap();
    let mut late = event(
        ids[1],
        RectificationAction::Dispatched,
        Some("urban_mgmt"),
        "admin",
    );
    late.deadline = Some("2020-01-01".into());
    store.append_office_event(&late).await.unwrap();
    let mut fixed = event(ids[2], RectificationAction::Rectified, None, "inspector1");
    fixed.photo_sha256 = Some(sha_hex(b"after"));
    store.append_office_event(&fixed).await.unwrap();
    store
        .append_office_event(&event(ids[2], RectificationAction::Closed, None, "admin"))
        .await
        .unwrap();
    let by = |status: &str| LedgerFilter {
        status: status.into(),
        ..Default::default()
    };
    assert_eq!(count(by("dispatched"), None).await.1, 2);
    assert_eq!(count(by("closed"), None).await.1, 1);
    assert_eq!(count(by("open"), None).await.1, 3);
    let (rows, total) = count(
        LedgerFilter {
            overdue: "1".into(),
            ..Default::default()
        },
        None,
    )
    .await;
    assert_eq!(total, 1);
    assert_eq!(rows[0].finding_id, ids[1].to_string());
    assert!(rows[0].overdue);
    assert_eq!(
        count(LedgerFilter::default(), Some("urban_mgmt")).await.1,
        2
    );
    assert_eq!(count(LedgerFilter::default(), Some("housing")).await.1, 0);
    let closed = count(by("closed"), None).await.0;
    assert_eq!(
        closed[0].after_photo.as_deref(),
        Some(sha_hex(b"after").as_str())
    );
    let at_site2 = LedgerFilter {
        site: site(2).id.to_string(),
        ..Default::default()
    };
    assert_eq!(count(at_site2, None).await.1, 2);
    // Sorting by deadline puts the late one first when ascending (NULLs aside).
    let sorted = LedgerFilter {
        sort: "deadline".into(),
        dir: "asc".into(),
        status: "dispatched".into(),
        ..Default::default()
    };
    assert_eq!(
        count(sorted, None).await.0[0].finding_id,
        ids[1].to_string()
    );
    // Paging: 6 rows, 4 a page → 4 then 2.
    let page2 = LedgerFilter {
        page: "2".into(),
        ..Default::default()
    };
    let (rows, total) = page2
        .query(None)
        .unwrap()
        .page(store.as_ref(), 4)
        .await
        .unwrap();
    assert_eq!((rows.len(), total), (2, 6));
    // A renamed site is renamed in the ledger too.
    let mut renamed = site(2);
    renamed.name = "新名字".into();
    renamed.street = "东湖街道".into();
    store.put_site(&renamed).await.unwrap();
    let street = LedgerFilter {
        street: "东湖街道".into(),
        ..Default::default()
    };
    let (rows, total) = count(street, None).await;
    assert_eq!(total, 2);
    assert!(rows.iter().all(|r| r.site_name == "新名字"));
}

#[tokio::test]
async fn ledger_read_model_follows_writes_on_sqlite() {
    let s = sqlite_store().await.unwrap();
    ledger_follows_writes(s.store.clone()).await;
}

#[tokio::test]
async fn ledger_read_model_follows_writes_on_postgres() {
    let Some(s) = pg_store().await else { return };
    ledger_follows_writes(s.store.clone()).await;
}

/// The scores' read models on one backend: totals, groupings and day ranges follow pushes,
/// a changed answer, a site's new type, and a rebuild after a layout change.
async fn scores_follow_writes(store: DynStore) {
    seed(&store).await;
    store.put_site(&site(2)).await.unwrap();
    let dev = Device::new(9);
    dev.register(&store, "inspector1").await;
    let start = 1_700_000_000_000; // 2023-11-15 06:13 in China
    let later = start + 3 * 86_400_000;
    // Each inspection is pushed finished (only finished ones count).
    let started = |rec: Record, at: i64| match rec {
        Record::Inspection(mut i) => {
            i.started_at = at;
            i.finished_at = Some(at + 600_000);
            Record::Inspection(i)
        }
        other => other,
    };
    let (a, b, c) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let records = vec![
        started(inspection(&dev, a, site(1).id), start),
        item(a, "BA-01", ItemValue::Compliant),
        item(a, "BA-02", ItemValue::Count(3)), // below 5: not compliant
        item(a, "BA-03", ItemValue::Percent(99.0)),
        started(inspection(&dev, b, site(1).id), start + 1_000),
        item(b, "BA-01", ItemValue::NonCompliant),
        item(b, "BA-02", ItemValue::NotApplicable), // not an observation
        started(inspection(&dev, c, site(2).id), later),
        item(c, "BA-01", ItemValue::Compliant),
        item(c, "BA-03", ItemValue::Percent(50.0)), // below 95: not compliant
        finding(&dev, Uuid::now_v7(), site(1).id, None, None),
    ];
    store
        .apply_push(dev.id, &dev.public_hex(), &entries(1, records))
        .await
        .unwrap();
    let day1 = fieldcheck_domain::china_time::china_date(start);
    let day4 = fieldcheck_domain::china_time::china_date(later);
    let load = |from: Option<&'static str>, to: Option<&'static str>| {
        let store = store.clone();
        async move { Scores::load(store.as_ref(), from, to).await.unwrap() }
    };
    let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
    let (d1, d4) = (leak(day1), leak(day4));
    // (inspections, applicable, compliant, lost weight)
    let sums = |t: &Tally| (t.inspections, t.applicable, t.compliant, t.lost_weight);
    let items = |s: &Scores| -> Vec<(String, i64, i64, f64)> {
        s.by_item
            .iter()
            .map(|t| (t.key.clone(), t.applicable, t.compliant, t.lost_weight))
            .collect()
    };
    let all = load(None, None).await;
    assert_eq!(sums(&all.total), (3, 6, 3, 3.0));
    assert_eq!(all.total.weight, 6.0);
    assert_eq!(
        items(&all),
        vec![
            ("back_alley/BA-01".into(), 3, 2, 1.0),
            ("back_alley/BA-02".into(), 1, 0, 1.0),
            ("back_alley/BA-03".into(), 2, 1, 1.0),
        ]
    );
    assert_eq!(all.by_index.len(), 1);
    assert_eq!(
        (all.by_index[0].key.as_str(), all.by_index[0].applicable),
        ("II-26", 6)
    );
    let sites: Vec<_> = all
        .by_site
        .iter()
        .map(|t| (t.key.clone(), sums(t)))
        .collect();
    assert_eq!(
        sites,
        vec![
            (site(1).id.to_string(), (2, 4, 2, 2.0)),
            (site(2).id.to_string(), (1, 2, 1, 1.0)),
        ]
    );
    assert_eq!(all.findings_by_inspector.get("inspector1"), Some(&1));
    // A day range counts only that day's inspections, answers and findings.
    let first = load(Some(d1), Some(d1)).await;
    assert_eq!(sums(&first.total), (2, 4, 2, 2.0));
    assert_eq!(
        first.by_item[0],
        Tally {
            key: "back_alley/BA-01".into(),
            inspections: 0,
            applicable: 2,
            compliant: 1,
            weight: 2.0,
            lost_weight: 1.0,
        }
    );
    assert_eq!(first.findings_by_inspector.get("inspector1"), Some(&1));
    let fourth = load(Some(d4), None).await;
    assert_eq!(sums(&fourth.total), (1, 2, 1, 1.0));
    assert_eq!(fourth.findings_by_inspector.get("inspector1"), None);
    assert_eq!(sums(&load(None, Some(d1)).await.total), (2, 4, 2, 2.0));
    // A later answer replaces the earlier one, in the day's totals too.
    store
        .apply_push(
            dev.id,
            &dev.public_hex(),
            &entries(12, vec![item(a, "BA-02", ItemValue::Count(7))]),
        )
        .await
        .unwrap();
    let fixed = load(Some(d1), Some(d1)).await;
    assert_eq!(sums(&fixed.total), (2, 4, 3, 1.0));
    assert_eq!(
        items(&fixed),
        vec![
            ("back_alley/BA-01".into(), 2, 1, 1.0),
            ("back_alley/BA-02".into(), 1, 1, 0.0),
            ("back_alley/BA-03".into(), 1, 1, 0.0),
        ]
    );
    // A site that changes type moves its inspections with it.
    let mut market = site(2);
    market.site_type = "farmers_market".into();
    store.put_site(&market).await.unwrap();
    let types: Vec<_> = load(None, None)
        .await
        .by_site_type
        .iter()
        .map(|t| (t.key.clone(), t.inspections))
        .collect();
    assert_eq!(
        types,
        vec![("back_alley".into(), 2), ("farmers_market".into(), 1)]
    );
    // A database whose read models have an older layout rebuilds them from the source rows.
    store
        .dash_exec(vec![(
            "DELETE FROM dash_meta WHERE key = 'read_models'".into(),
            Vec::new(),
        )])
        .await
        .unwrap();
    fieldcheck_server::store::dashboard::migrate(store.as_ref())
        .await
        .unwrap();
    let rebuilt = load(None, None).await;
    assert_eq!(sums(&rebuilt.total), (3, 6, 4, 2.0));
    assert_eq!(items(&rebuilt).len(), 3);
}

/// Issue #17 item 9: an inspection in progress, or one discarded after an accidental start,
/// counts nowhere in the county's scores (it once showed a school area at 0.0 % after one
/// answer); finishing it brings it in. The server keeps the discard as the tablet sent it.
async fn only_finished_inspections_count(store: DynStore) {
    seed(&store).await;
    let dev = Device::new(11);
    dev.register(&store, "inspector1").await;
    let (open, dropped) = (Uuid::now_v7(), Uuid::now_v7());
    let with = |rec: Record, change: &dyn Fn(&mut InspectionRecord)| match rec {
        Record::Inspection(mut i) => {
            change(&mut i);
            Record::Inspection(i)
        }
        other => other,
    };
    let records = vec![
        inspection(&dev, open, site(1).id),
        item(open, "BA-01", ItemValue::NonCompliant),
        inspection(&dev, dropped, site(1).id),
        item(dropped, "BA-01", ItemValue::NonCompliant),
        with(inspection(&dev, dropped, site(1).id), &|i| {
            i.discarded_at = Some(i.started_at + 5_000)
        }),
    ];
    store
        .apply_push(dev.id, &dev.public_hex(), &entries(1, records))
        .await
        .unwrap();
    let total = || async {
        let s = Scores::load(store.as_ref(), None, None).await.unwrap();
        (s.total.inspections, s.total.applicable)
    };
    assert_eq!(
        total().await,
        (0, 0),
        "unfinished and discarded inspections counted"
    );
    let stored = store
        .dash_query(
            "SELECT payload FROM inspections WHERE id = $1",
            vec![dropped.to_string().into()],
        )
        .await
        .unwrap();
    let stored: InspectionRecord = serde_json::from_str(stored[0][0].text()).unwrap();
    assert!(stored.discarded_at.is_some(), "{stored:?}");
    // Finishing the open one brings it in, with its one answer.
    let finish = with(inspection(&dev, open, site(1).id), &|i| {
        i.finished_at = Some(i.started_at + 60_000)
    });
    store
        .apply_push(dev.id, &dev.public_hex(), &entries(6, vec![finish]))
        .await
        .unwrap();
    assert_eq!(total().await, (1, 1));
}

#[tokio::test]
async fn only_finished_inspections_count_on_sqlite() {
    let s = sqlite_store().await.unwrap();
    only_finished_inspections_count(s.store.clone()).await;
}

#[tokio::test]
async fn only_finished_inspections_count_on_postgres() {
    let Some(s) = pg_store().await else { return };
    only_finished_inspections_count(s.store.clone()).await;
}

#[tokio::test]
async fn scores_follow_writes_on_sqlite() {
    let s = sqlite_store().await.unwrap();
    scores_follow_writes(s.store.clone()).await;
}

#[tokio::test]
async fn scores_follow_writes_on_postgres() {
    let Some(s) = pg_store().await else { return };
    scores_follow_writes(s.store.clone()).await;
}

/// The real template pack's files, as (path inside the pack folder, bytes).
fn pack_files() -> Vec<(String, Vec<u8>)> {
    let root =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../content/civilized-city");
    let mut files = Vec::new();
    for dir in ["", "templates"] {
        for e in std::fs::read_dir(root.join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "toml") {
                let name = p.file_name().unwrap().to_string_lossy();
                let rel = if dir.is_empty() {
                    name.to_string()
                } else {
                    format!("{dir}/{name}")
                };
                files.push((rel, std::fs::read(&p).unwrap()));
            }
        }
    }
    files
}

/// A zip of `files` under `folder/`, deflated.
fn zip_of(folder: &str, files: &[(String, Vec<u8>)]) -> Vec<u8> {
    use std::io::Write;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in files {
        w.start_file(format!("{folder}{name}"), opts).unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// Replaces `from` by `to` in one file of a pack.
fn edited(files: &[(String, Vec<u8>)], file: &str, from: &str, to: &str) -> Vec<(String, Vec<u8>)> {
    files
        .iter()
        .map(|(n, b)| {
            let b = if n == file {
                let s = String::from_utf8(b.clone()).unwrap();
                assert!(s.contains(from), "{file} holds {from}");
                s.replacen(from, to, 1).into_bytes()
            } else {
                b.clone()
            };
            (n.clone(), b)
        })
        .collect()
}

async fn send_pack(d: &Dash, b: &Browser, csrf: &str, zip: &[u8]) -> Reply {
    let boundary = "pAcKb0und";
    let mut body = format!("--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"pack\"; filename=\"pack.zip\"\r\nContent-Type: application/zip\r\n\r\n").into_bytes();
    body.extend_from_slice(zip);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    d.send(
        Method::POST,
        "/dashboard/manage/packs",
        &b.cookie,
        &format!("multipart/form-data; boundary={boundary}"),
        Body::from(body),
    )
    .await
}

#[tokio::test]
async fn a_template_pack_imports_from_a_zip_and_a_bad_one_changes_nothing() {
    let d = dash().await;
    let admin = d.login("admin", "admin-pw").await;
    let versions = || async {
        d.store
            .dash_query(
                "SELECT id || ' v' || CAST(version AS TEXT) FROM templates ORDER BY id, version",
                Vec::new(),
            )
            .await
            .unwrap()
            .iter()
            .map(|r| r[0].text().to_string())
            .collect::<Vec<_>>()
    };
    let before = versions().await;
    assert_eq!(before, vec!["back_alley v1"]);
    let pack = pack_files();
    let refused = |r: &Reply, words: &[&str]| {
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        for w in words {
            assert!(r.body.contains(w), "the message names {w}: {}", r.body);
        }
    };
    // The national pack's back_alley, given the version already here (v1), differs from it:
    // refused whole.
    let same_version = edited(
        &pack,
        "templates/back_alley.toml",
        "version = 2",
        "version = 1",
    );
    let r = send_pack(
        &d,
        &admin,
        &admin.csrf,
        &zip_of("civilized-city/", &same_version),
    )
    .await;
    refused(&r, &["back_alley", "version"]);
    assert_eq!(versions().await, before, "nothing of the pack was imported");
    // A field breaking a rule: the page names the file, the item and the field.
    let broken = edited(
        &pack,
        "templates/farmers_market.toml",
        "weight = 1.5",
        "weight = -1.5",
    );
    let r = send_pack(&d, &admin, &admin.csrf, &zip_of("civilized-city/", &broken)).await;
    refused(&r, &["templates/farmers_market.toml", "weight"]);
    assert!(
        !r.body.contains("/tmp"),
        "no server path in the message: {}",
        r.body
    );
    assert_eq!(versions().await, before);
    // Not a zip, no pack.toml, a path out of the folder, a zip bomb.
    refused(
        &send_pack(&d, &admin, &admin.csrf, b"PK\x03\x04 not really").await,
        &[".zip"],
    );
    let no_pack: Vec<_> = pack
        .iter()
        .filter(|(n, _)| n != "pack.toml")
        .cloned()
        .collect();
    refused(
        &send_pack(&d, &admin, &admin.csrf, &zip_of("", &no_pack)).await,
        &["pack.toml"],
    );
    let escape = vec![("../../evil.toml".to_string(), b"x = 1".to_vec())];
    refused(
        &send_pack(&d, &admin, &admin.csrf, &zip_of("", &escape)).await,
        &["路径"],
    );
    let bomb = vec![("pack.toml".to_string(), vec![b' '; 3 << 20])];
    let bomb = zip_of("", &bomb);
    assert!(bomb.len() < 100_000);
    refused(&send_pack(&d, &admin, &admin.csrf, &bomb).await, &["MB"]);
    // A forged token and a unit member are refused too.
    let bumped = edited(
        &pack,
        "templates/back_alley.toml",
        "version = 2",
        "version = 3",
    );
    let good = zip_of("civilized-city/", &bumped);
    let forged = send_pack(&d, &admin, &"0".repeat(64), &good).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let unit = d.login("unit_urban", "urban-pw").await;
    assert_eq!(
        send_pack(&d, &unit, &unit.csrf, &good).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(versions().await, before);
    // With the changed checklist at a new version the pack imports: both versions are kept.
    let r = send_pack(&d, &admin, &admin.csrf, &good).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let after = versions().await;
    assert_eq!(after.len(), 17, "{after:?}");
    assert!(
        after.contains(&"back_alley v1".to_string())
            && after.contains(&"back_alley v3".to_string())
    );
    let manage = d.get("/dashboard/manage", Some(&admin)).await;
    assert!(
        manage.body.contains("farmers_market"),
        "the versions table lists the new templates"
    );
    // Importing the same pack again changes nothing.
    let again = send_pack(&d, &admin, &admin.csrf, &good).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    assert_eq!(versions().await, after);
}

/// The CSV site import stores every line or none: a bad line is named and imports nothing, and
/// a failure while storing (a trigger refusing one site) leaves none of the batch either.
#[tokio::test]
async fn the_site_csv_import_stores_every_line_or_none() {
    let d = dash().await;
    let admin = d.login("admin", "admin-pw").await;
    let names = || async {
        let mut names: Vec<String> = Reference::load(d.store.as_ref())
            .await
            .unwrap()
            .sites
            .into_iter()
            .map(|s| s.name)
            .collect();
        names.sort();
        names
    };
    let import = |csv: String| {
        let (admin, d) = (admin.clone(), &d);
        async move { d.import_sites(&admin, &csv).await }
    };
    let header = "名称,类型,区县,街道,地址,纬度,经度,单位\n";
    let line = |name: &str, site_type: &str| format!("{name},{site_type},示范县,城关街道,,,,\n");
    // A header and two sites, each (name, site type).
    let two_sites = |first: (&str, &str), second: (&str, &str)| {
        format!(
            "{header}{}{}",
            line(first.0, first.1),
            line(second.0, second.1)
        )
    };
    let before = names().await;

    let good = format!(
        "{header}南门菜市场,back_alley,示范县,城关街道,南门路1号,30.1,120.2,urban_mgmt\n{}",
        line("北街小巷", "back_alley")
    );
    let r = import(good).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let imported = names().await;
    assert_eq!(imported.len(), before.len() + 2);
    assert!(
        imported.contains(&"南门菜市场".to_string()) && imported.contains(&"北街小巷".to_string())
    );

    let r = import(two_sites(
        ("东门小巷", "back_alley"),
        ("西门小巷", "no_such_type"),
    ))
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("第 3 行的“类型”"), "{}", r.body);
    assert_eq!(names().await, imported, "a bad line imports nothing");

    rusqlite::Connection::open(d.dir.path().join("db.sqlite3"))
        .unwrap()
        .execute_batch(
            "CREATE TRIGGER refuse_site BEFORE INSERT ON sites WHEN NEW.payload LIKE '%拒收巷%' \
             BEGIN SELECT RAISE(ABORT, 'injected failure'); END;",
        )
        .unwrap();
    let r = import(two_sites(
        ("东门小巷", "back_alley"),
        ("拒收巷", "back_alley"),
    ))
    .await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR, "{}", r.body);
    assert_eq!(
        names().await,
        imported,
        "the line stored before the failure is rolled back with it"
    );
}

/// Importing the same site list twice must not double the county's sites: a line with a code
/// updates the site of that code, one without updates the site of the same name, district and
/// street, and the page says what was added, updated and left unchanged.
#[tokio::test]
async fn importing_a_site_list_again_updates_and_never_duplicates() {
    let d = dash().await;
    let admin = d.login("admin", "admin-pw").await;
    let sites = || async { Reference::load(d.store.as_ref()).await.unwrap().sites };
    let import = |csv: &str| {
        let (admin, d, csv) = (admin.clone(), &d, csv.to_string());
        async move { d.import_sites(&admin, &csv).await }
    };
    let header = "名称,类型,区县,街道,地址,纬度,经度,单位,编号\n";
    let list = format!(
        "{header}南门菜市场,back_alley,示范县,城关街道,南门路1号,,,,QR-001\n北街小巷,back_alley,示范县,城关街道,,,,,\n"
    );
    let before = sites().await.len();
    let r = import(&list).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(
        r.location().contains("added=2&updated=0&unchanged=0"),
        "{}",
        r.location()
    );
    let first = sites().await;
    assert_eq!(first.len(), before + 2);

    let r = import(&list).await;
    assert!(
        r.location().contains("added=0&updated=0&unchanged=2"),
        "{}",
        r.location()
    );
    assert_eq!(sites().await, first, "the same list again changes nothing");

    let moved = format!(
        "{header}南门市场,back_alley,示范县,城关街道,南门路9号,,,,QR-001\n北街小巷,back_alley,示范县,城关街道,北街3号,,,,\n"
    );
    let r = import(&moved).await;
    assert!(
        r.location().contains("added=0&updated=2&unchanged=0"),
        "{}",
        r.location()
    );
    let after = sites().await;
    assert_eq!(after.len(), before + 2, "updated, not duplicated");
    let coded = |all: &[Site]| {
        all.iter()
            .find(|s| s.qr_code.as_deref() == Some("QR-001"))
            .cloned()
            .unwrap()
    };
    assert_eq!(
        coded(&after).id,
        coded(&first).id,
        "the code keeps the site's id"
    );
    assert_eq!(
        (coded(&after).name.as_str(), coded(&after).address.as_str()),
        ("南门市场", "南门路9号")
    );

    let twice = format!(
        "{header}东门,back_alley,示范县,城关街道,,,,,QR-009\n西门,back_alley,示范县,城关街道,,,,,QR-009\n"
    );
    let r = import(&twice).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("第 3 行"), "{}", r.body);
    assert_eq!(
        sites().await,
        after,
        "a list naming one site twice imports nothing"
    );

    let page = d
        .get(
            "/dashboard/manage?added=1&updated=2&unchanged=3",
            Some(&admin),
        )
        .await;
    let garbled = d
        .get("/dashboard/manage?added=x&updated=-1", Some(&admin))
        .await;
    assert_eq!(
        garbled.status,
        StatusCode::OK,
        "a garbled report shows the page"
    );
    assert!(!garbled.body.contains("import-report"));
    assert!(
        page.body.contains("新增 1 个点位，更新 2 个，3 个未变"),
        "{}",
        page.body
    );
}

/// The QR label sheet has one label per site, each holding this county's id and the site's,
/// as the tablet will read them back.
#[tokio::test]
async fn the_label_sheet_has_each_sites_label() {
    let d = dash().await;
    let admin = d.login("admin", "admin-pw").await;
    let county = d.store.county_id().await.unwrap();
    // More sites than one page of labels holds.
    let more: Vec<Site> = (100..160).map(site).collect();
    d.store.put_sites(&more).await.unwrap();
    let sites = Reference::load(d.store.as_ref()).await.unwrap().sites;
    assert!(sites.len() > 48);
    let page = |n: &str| {
        let (d, admin) = (&d, admin.clone());
        let path = format!("/dashboard/manage/labels?page={n}");
        async move {
            let r = d.get(&path, Some(&admin)).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
            r.body
        }
    };
    let (first, second) = (page("1").await, page("2").await);
    assert_eq!(first.matches("<svg").count(), 48, "four A4 sheets a page");
    assert_eq!(second.matches("<svg").count(), sites.len() - 48);
    assert_eq!(
        page("abc").await,
        first,
        "a page that is no number is the first"
    );
    assert_eq!(page("999").await, second, "past the end is the last page");
    for site in &sites {
        let text = fieldcheck_domain::site_label::SiteLabel {
            county,
            site: site.id,
        }
        .text();
        let attr = format!("data-label=\"{text}\"");
        assert_eq!(
            first.matches(&attr).count() + second.matches(&attr).count(),
            1,
            "{} has one label",
            site.name
        );
        assert_eq!(
            fieldcheck_domain::site_label::parse(&text, county).map(|l| l.site),
            Ok(site.id)
        );
    }
    assert_eq!(
        d.store.county_id().await.unwrap(),
        county,
        "the county id is kept"
    );
}

#[tokio::test]
async fn office_forms_refuse_control_and_direction_characters() {
    let d = dash().await;
    let admin = d.login("admin", "admin-pw").await;
    let users = d.store.list_users().await.unwrap().len();
    for name in ["wang\u{7}", "wang\u{202E}gnaw", "wang\nwu"] {
        let r = d
            .post(
                "/dashboard/manage/users",
                Some(&admin),
                &[
                    ("csrf", &admin.csrf),
                    ("name", name),
                    ("role", "inspector"),
                    ("password", "long-enough-pw"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{name:?}");
        assert!(r.body.contains("data-field=\"name\""), "{}", r.body);
    }
    assert_eq!(d.store.list_users().await.unwrap().len(), users);
    let r = d
        .post(
            "/dashboard/manage/units",
            Some(&admin),
            &[
                ("csrf", &admin.csrf),
                ("code", "parks"),
                ("name_zh", "园林\u{2067}局"),
                ("name_en", "Parks"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let reference = Reference::load(d.store.as_ref()).await.unwrap();
    assert!(!reference.has_unit("parks"));
    // Right-to-left text that is stored is shown isolated from what stands around it.
    let css = d.get("/dashboard/static/app.css", None).await;
    assert!(css.body.contains("td,th,dd,li"), "{}", css.body);
    assert!(css.body.contains("unicode-bidi:isolate"));
}

#[tokio::test]
async fn an_after_photo_for_a_finding_that_cannot_take_it_is_not_stored() {
    let d = dash().await;
    let unit = d.login("unit_urban", "urban-pw").await;
    d.dispatch_urban().await;
    let r = send_photo(&d, &unit, jpeg(320, 240)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    // Reported fixed already: three more uploads are refused, and none is kept or shown.
    for side in [330, 340, 350] {
        let r = send_photo(&d, &unit, jpeg(side, 240)).await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
        let sha = sha_hex(&jpeg(side, 240));
        let kept = d
            .store
            .dash_query(
                "SELECT COUNT(*) FROM dash_uploads WHERE sha256 = $1",
                vec![sha.as_str().into()],
            )
            .await
            .unwrap();
        assert_eq!(kept[0][0].int(), 0, "the refused photo is not recorded");
        let blob = d
            .dir
            .path()
            .join("photos")
            .join(&sha[..2])
            .join(format!("{sha}.jpg"));
        assert!(!blob.exists(), "nor kept");
    }
    assert_eq!(d.events(d.urban).await, 2, "the dispatch and the one fix");
}

/// Threat: the dashboard answered an unknown name without checking any hash, about 30× faster
/// than a known one, which told a stranger which names exist.
#[tokio::test]
async fn an_unknown_name_costs_the_same_hash_at_the_dashboard() {
    let d = dash().await;
    for (name, hashes) in [("nobody-by-this-name", 1), ("admin", 2)] {
        let r = d.try_login(name, "wrong-guess").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{name}");
        assert_eq!(d.state.hashes.runs(), hashes, "{name}");
    }
}

#[tokio::test]
async fn the_office_sees_the_check_in_and_the_marked_copy_first() {
    let d = dash().await;
    let admin = d.login("admin", "admin-pw").await;
    let page = d
        .get(&format!("/dashboard/findings/{}", d.urban), Some(&admin))
        .await;
    assert!(page.body.contains("无扫码记录"), "no check-in yet");
    assert!(
        !d.get("/dashboard/ledger", Some(&admin))
            .await
            .body
            .contains("到场核验 ✓")
    );

    let dev = Device::new(1);
    let county = d.state.county_id().await.unwrap();
    let high = d
        .store
        .list_devices()
        .await
        .unwrap()
        .into_iter()
        .find(|x| x.public_key == dev.public_hex())
        .unwrap();
    let dev = Device { id: high.id, ..dev };
    let mut marked = photo_record(&dev, &jpeg(64, 40), Some(d.urban), 64, 40);
    marked.marked_from = Some(d.photo.clone());
    let marked = {
        use ed25519_dalek::Signer;
        let mut m = marked;
        m.signature = hex::encode(
            dev.key
                .sign(&fieldcheck_domain::device_signature::signed_message(&m))
                .to_bytes(),
        );
        m
    };
    let records = vec![
        Record::CheckIn(check_in(&dev, site(1).id, county)),
        Record::Photo(marked.clone()),
    ];
    d.store
        .apply_push(
            dev.id,
            &dev.public_hex(),
            &entries(high.high_seq + 1, records),
        )
        .await
        .unwrap();

    let page = d
        .get(&format!("/dashboard/findings/{}", d.urban), Some(&admin))
        .await;
    assert!(page.body.contains("到场核验 ✓"), "{}", page.body);
    let marked_at = page
        .body
        .find(&format!("data-sha=\"{}\"", marked.sha256))
        .unwrap();
    let original_at = page
        .body
        .find(&format!("data-sha=\"{}\"", d.photo))
        .unwrap();
    assert!(marked_at < original_at, "the marked copy comes first");
    assert!(page.body.contains("已标注"));
    assert!(
        page.body
            .contains(&format!("href=\"/dashboard/photos/{}\"", d.photo))
    );
    let ledger = d.get("/dashboard/ledger", Some(&admin)).await;
    assert_eq!(
        ledger.body.matches("到场核验 ✓").count(),
        2,
        "both findings at site 1 that day"
    );
    // The printed report shows the marked copy, the original one click away.
    d.store.mark_photo_stored(&marked.sha256, 2).await.unwrap();
    let report = d.get("/dashboard/report", Some(&admin)).await;
    let block = report
        .body
        .split("report-block")
        .find(|b| b.contains(&d.urban.to_string()))
        .unwrap();
    assert!(
        block.contains(&format!("src=\"/dashboard/photos/{}\"", marked.sha256)),
        "{block}"
    );
    assert!(block.contains(&format!("href=\"/dashboard/photos/{}\"", d.photo)));
    assert!(block.contains("已标注"));
}

#[tokio::test]
async fn the_office_confines_an_inspector_to_districts_from_the_management_page() {
    let d = dash().await;
    let admin = d.login("admin", "admin-pw").await;
    let path = "/dashboard/manage/users/inspector1/districts";
    let page = d.get("/dashboard/manage", Some(&admin)).await;
    assert!(
        page.body.contains(path),
        "the inspector's scope form is listed"
    );
    let r = d
        .post(
            path,
            Some(&admin),
            &[("csrf", &admin.csrf), ("districts", "没有这个区")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("没有位于"), "{}", r.body);
    assert_eq!(
        d.store.account_scope("inspector1").await.unwrap().version,
        0
    );
    let r = d
        .post(
            path,
            Some(&admin),
            &[("csrf", &admin.csrf), ("districts", " 示范县，示范县 ")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let scope = d.store.account_scope("inspector1").await.unwrap();
    assert_eq!(
        (scope.version, scope.districts),
        (1, vec!["示范县".to_string()])
    );
    let page = d.get("/dashboard/manage", Some(&admin)).await;
    assert!(
        page.body.contains("value=\"示范县\""),
        "the form shows the scope"
    );
    let audit = d.store.recent_audit(5).await.unwrap();
    assert_eq!(audit[0].action, "dashboard_set_districts");
    // An empty field gives the whole county back.
    let r = d
        .post(
            path,
            Some(&admin),
            &[("csrf", &admin.csrf), ("districts", "")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(
        d.store
            .account_scope("inspector1")
            .await
            .unwrap()
            .districts
            .is_empty()
    );
}

#[tokio::test]
async fn the_office_pages_speak_a_clerks_words_not_a_developers() {
    let d = dash().await;
    d.dispatch_urban().await;
    let admin = d.login("admin", "admin-pw").await;
    let page = d
        .get(&format!("/dashboard/findings/{}", d.urban), Some(&admin))
        .await;
    assert!(!page.body.contains(">HLC<"), "no clock column");
    let step = d.store.finding(d.urban).await.unwrap().unwrap().events[0].clone();
    assert!(!page.body.contains(&step.hlc.to_string()), "no raw stamps");
    let when = fieldcheck_server::dashboard::ledger::fmt_time(step.hlc.unix_millis());
    assert!(page.body.contains(&when), "each step shows its time");
    assert!(page.body.contains("原片未改动 ✓") && page.body.contains("拍摄平板签名有效 ✓"));
    assert!(!page.body.contains("哈希"));
    let device = d.store.list_devices().await.unwrap()[0].id.to_string();
    assert_eq!(
        page.body.matches(&device).count(),
        1,
        "the device id only as a tooltip"
    );

    let manage = d.get("/dashboard/manage", Some(&admin)).await;
    let users = &manage.body[manage.body.find("id=\"users\"").unwrap()..];
    let users = &users[..users.find("</table>").unwrap()];
    assert!(
        users.contains("<thead>") && users.contains("角色"),
        "the accounts table has headers"
    );
    assert!(
        users.contains("督查员") && users.contains("责任单位") && users.contains("创城办管理员")
    );
    assert!(!users.contains(">unit_member<") && !users.contains(">inspector<"));
    assert!(!users.contains(">urban_mgmt<"), "units by name, not code");
}

/// Exports the whole ledger as `b` and returns the workbook's bytes.
async fn export_ledger(d: &Dash, b: &Browser) -> Vec<u8> {
    let started = d
        .post(
            "/dashboard/exports",
            Some(b),
            &[("csrf", &b.csrf), ("query", "")],
        )
        .await;
    assert_eq!(started.status, StatusCode::SEE_OTHER, "{}", started.body);
    let job = started.location().to_string();
    for _ in 0..200 {
        if d.get(&job, Some(b)).await.body.contains("export-download") {
            let req = Request::get(format!("{job}/file"))
                .header(header::COOKIE, &b.cookie)
                .body(Body::empty())
                .unwrap();
            let resp = d.router.clone().oneshot(req).await.unwrap();
            assert_eq!(resp.status(), StatusCode::OK);
            return resp
                .into_body()
                .collect()
                .await
                .unwrap()
                .to_bytes()
                .to_vec();
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the export never finished");
}

#[tokio::test]
async fn the_workbook_fits_a_clerks_work() {
    use calamine::{Data, Reader, Xlsx, open_workbook_from_rs};
    let d = dash().await;
    // A finding from a checklist item, pushed today: its number is today's.
    let dev = Device::new(1);
    let high = d.store.list_devices().await.unwrap()[0].clone();
    let dev = Device { id: high.id, ..dev };
    let from_item = Uuid::now_v7();
    let ins = Uuid::now_v7();
    d.store
        .apply_push(
            dev.id,
            &dev.public_hex(),
            &entries(
                high.high_seq + 1,
                vec![
                    inspection(&dev, ins, site(1).id),
                    finding(&dev, from_item, site(1).id, Some(ins), Some("urban_mgmt")),
                ],
            ),
        )
        .await
        .unwrap();
    d.dispatch_urban().await;
    assert!(
        d.store
            .set_display_name("inspector1", "张伟")
            .await
            .unwrap()
    );
    let admin = d.login("admin", "admin-pw").await;
    let bytes = export_ledger(&d, &admin).await;

    let mut book: Xlsx<_> = open_workbook_from_rs(std::io::Cursor::new(bytes.clone())).unwrap();
    let sheet = book.worksheet_range("问题台账").unwrap();
    let rows: Vec<&[Data]> = sheet.rows().collect();
    assert_eq!(rows.len(), 4, "a header and three findings");
    let header: Vec<String> = rows[0].iter().map(|c| c.to_string()).collect();
    assert_eq!(header[0], "问题编号");
    let now = fieldcheck_domain::clock::wall_clock_ms();
    let today = fieldcheck_domain::finding_number::numbering_day(now, now);
    let mut numbers = Vec::new();
    for r in &rows[1..] {
        let number = r[0].to_string();
        assert!(
            fieldcheck_domain::finding_number::is_valid(&number),
            "a short number, not an id: {number}"
        );
        numbers.push(number);
        assert!(
            matches!(r[1], Data::DateTime(_)),
            "发现时间 is a date and time Excel can sort and filter: {:?}",
            r[1]
        );
        assert_eq!(
            r[16].to_string(),
            "张伟",
            "记录人 is the person, not the login"
        );
        for c in [14, 15] {
            assert!(
                ["是", "否"].contains(&r[c].to_string().as_str()),
                "{} says 是 or 否, never blank: {:?}",
                header[c],
                r[c]
            );
        }
    }
    numbers.sort();
    assert_eq!(
        numbers,
        (1..=3)
            .map(|n| format!("{today}-{n:03}"))
            .collect::<Vec<_>>(),
        "unique, numbered by today's arrivals"
    );
    assert!(
        rows[1..].iter().all(|r| matches!(r[12], Data::DateTime(_))),
        "整改期限 is a date"
    );
    let item = rows[1..]
        .iter()
        .find(|r| !r[8].to_string().is_empty())
        .expect("the finding from a checklist item");
    assert_eq!(
        item[8].to_string(),
        "BA-01 路面平整",
        "the item with its text"
    );
    // The before-photo is in the sheet as a picture, not only a link behind a login.
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let pictures: Vec<String> = zip
        .file_names()
        .map(|n| n.unwrap().to_string())
        .filter(|n| n.starts_with("xl/media/"))
        .collect();
    assert_eq!(pictures.len(), 1, "the one stored photo: {pictures:?}");
    let mut thumb = Vec::new();
    std::io::Read::read_to_end(&mut zip.by_name(&pictures[0]).unwrap(), &mut thumb).unwrap();
    assert_eq!(
        thumb,
        fieldcheck_server::thumbnails::thumbnail(&d.state, &d.photo)
            .await
            .unwrap(),
        "its thumbnail"
    );
}

#[tokio::test]
async fn the_office_names_the_person_behind_an_account_and_pages_show_it() {
    let d = dash().await;
    let admin = d.login("admin", "admin-pw").await;
    let path = "/dashboard/manage/users/inspector1/name";
    // Too long for a photo's stamp: refused, the typed name kept, nothing stored.
    let long = "张".repeat(33);
    let r = d
        .post(
            path,
            Some(&admin),
            &[("csrf", &admin.csrf), ("display_name", &long)],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("姓名最多 32 个字"), "{}", r.body);
    assert!(r.body.contains(&long), "what was typed is kept");
    assert_eq!(
        d.store
            .user("inspector1")
            .await
            .unwrap()
            .unwrap()
            .display_name,
        ""
    );
    // A unit member may not name anyone.
    let unit = d.login("unit_urban", "urban-pw").await;
    let r = d
        .post(
            path,
            Some(&unit),
            &[("csrf", &unit.csrf), ("display_name", "王五")],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = d
        .post(
            path,
            Some(&admin),
            &[("csrf", &admin.csrf), ("display_name", " 张伟 ")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(
        d.store
            .user("inspector1")
            .await
            .unwrap()
            .unwrap()
            .shown_name(),
        "张伟"
    );
    assert_eq!(
        d.store.recent_audit(1).await.unwrap()[0].action,
        "dashboard_set_display_name"
    );
    // The finding page names the person who recorded it, not the login.
    let page = d
        .get(&format!("/dashboard/findings/{}", d.urban), Some(&admin))
        .await;
    let reporter: String = page
        .body
        .split("id=\"finding-reporter\"")
        .nth(1)
        .unwrap()
        .chars()
        .take(80)
        .collect();
    assert!(reporter.contains("张伟"), "{reporter}");
    // And shows its short number.
    assert!(page.body.contains("id=\"finding-number\""), "{}", page.body);
}

#[tokio::test]
async fn every_signed_in_page_names_the_servers_version_and_commit() {
    let d = dash().await;
    let admin = d.login("admin", "admin-pw").await;
    for path in [
        "/dashboard/overview",
        "/dashboard/ledger",
        "/dashboard/manage",
    ] {
        let r = d.get(path, Some(&admin)).await;
        assert!(
            r.body.contains(&format!(
                "id=\"version\">创城巡查 服务器 {}",
                fieldcheck_build_info::VERSION_LINE
            )),
            "{path}: no version footer"
        );
    }
}
