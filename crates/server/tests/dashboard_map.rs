//! The dashboard's map over HTTP (the real router; SQLite, and the points also on PostgreSQL):
//! the points of every filter are the ledger's findings (placed at their own position, else at
//! their site's, else counted as unplaced), a unit member gets only its unit's, a bad filter
//! gets the ledger's sentence, and the page's content policy lets images come from the
//! configured tile source's origins and nowhere else.

use crate::common::*;
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use fieldcheck_protocol::*;
use fieldcheck_server::app::{AppState, router};
use fieldcheck_server::blobs::LocalBlobs;
use fieldcheck_server::config::{Limits, MapConfig};
use fieldcheck_server::store::DynStore;
use http_body_util::BodyExt;
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::Arc;
use tower::ServiceExt;
use uuid::Uuid;

/// A county of three sites (1 has no position; 2 and 3 in two streets) and five findings.
struct County {
    router: Router,
    admin: String,
    urban: String,
    /// At site 2 with its own position, urban_mgmt.
    own: Uuid,
    /// At site 2 without a position, housing: placed at site 2.
    at_site: Uuid,
    /// At site 1 without a position, urban_mgmt: unplaced.
    nowhere: Uuid,
    /// At site 3, an event, with its own position, no unit.
    event: Uuid,
    /// At site 3, dispatched to housing with a deadline long past: overdue.
    late: Uuid,
    _dir: tempfile::TempDir,
}

const OWN: (f64, f64) = (30.274_112, 120.155_234);

fn located(lat: f64, lon: f64) -> Option<Position> {
    Some(Position {
        lat,
        lon,
        accuracy_m: 5.0,
        source: PositionSource::Gps,
    })
}

async fn county(store: DynStore, map: MapConfig) -> County {
    seed(&store).await;
    let mut s2 = site(2);
    s2.position = located(30.2760, 120.1602);
    let mut s3 = site(3);
    s3.street = "东湖街道".into();
    s3.position = located(30.2805, 120.1650);
    store.put_site(&s2).await.unwrap();
    store.put_site(&s3).await.unwrap();
    add_user(&store, "admin", Role::Admin, None, "admin-pw").await;
    add_user(
        &store,
        "unit_urban",
        Role::UnitMember,
        Some("urban_mgmt"),
        "u-pw",
    )
    .await;
    let dev = Device::new(3);
    dev.register(&store, "inspector1").await;
    let ids: Vec<Uuid> = (0..5).map(|_| Uuid::now_v7()).collect();
    let with = |id: Uuid, at: &Site, unit: Option<&str>, pos: Option<Position>, event: bool| {
        let mut r = finding(&dev, id, at.id, None, unit);
        if let Record::Finding(f) = &mut r {
            f.position = pos;
            f.deadline = Some("2099-01-01".into());
            if event {
                f.category = Category::Event;
            }
        }
        r
    };
    let records = vec![
        with(
            ids[0],
            &s2,
            Some("urban_mgmt"),
            located(OWN.0, OWN.1),
            false,
        ),
        with(ids[1], &s2, Some("housing"), None, false),
        with(ids[2], &site(1), Some("urban_mgmt"), None, false),
        with(ids[3], &s3, None, located(30.2811, 120.1655), true),
        with(ids[4], &s3, None, located(30.2801, 120.1649), false),
    ];
    store
        .apply_push(dev.id, &dev.public_hex(), &entries(1, records))
        .await
        .unwrap();
    let mut dispatch = event(
        ids[4],
        RectificationAction::Dispatched,
        Some("housing"),
        "admin",
    );
    dispatch.deadline = Some("2020-01-01".into());
    assert!(store.append_office_event(&dispatch).await.unwrap());
    let dir = tempfile::tempdir().unwrap();
    let mut state = AppState::new(
        store,
        Arc::new(LocalBlobs::new(dir.path().join("photos"))),
        Limits::default(),
    );
    state.map = map.source().unwrap();
    let state = Arc::new(state);
    let session = |name: &'static str| {
        let state = state.clone();
        async move {
            let (token, _) = fieldcheck_server::dashboard::session::open(&state, name)
                .await
                .unwrap();
            format!("fc_session={token}")
        }
    };
    County {
        admin: session("admin").await,
        urban: session("unit_urban").await,
        router: router(state),
        own: ids[0],
        at_site: ids[1],
        nowhere: ids[2],
        event: ids[3],
        late: ids[4],
        _dir: dir,
    }
}

impl County {
    async fn get(&self, path: &str, cookie: &str) -> (StatusCode, HeaderMap, String) {
        let mut req = Request::builder().uri(path);
        if !cookie.is_empty() {
            req = req.header(header::COOKIE, cookie);
        }
        let resp = self
            .router
            .clone()
            .oneshot(req.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let (status, headers) = (resp.status(), resp.headers().clone());
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        (status, headers, String::from_utf8_lossy(&bytes).into())
    }

    /// The points JSON of `query` as `cookie`.
    async fn points(&self, query: &str, cookie: &str) -> Value {
        let (status, _, body) = self
            .get(&format!("/dashboard/map/points.json{query}"), cookie)
            .await;
        assert_eq!(status, StatusCode::OK, "{query}: {body}");
        serde_json::from_str(&body).unwrap()
    }

    /// The finding ids the ledger lists for `query` as `cookie` (all on one page here).
    async fn ledger(&self, query: &str, cookie: &str) -> BTreeSet<String> {
        let (status, _, body) = self.get(&format!("/dashboard/ledger{query}"), cookie).await;
        assert_eq!(status, StatusCode::OK, "{query}");
        body.split("data-finding=\"")
            .skip(1)
            .map(|rest| rest[..36].to_string())
            .collect()
    }
}

fn ids(points: &Value) -> BTreeSet<String> {
    points["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[0].as_str().unwrap().to_string())
        .collect()
}

fn point(points: &Value, id: Uuid) -> &Value {
    points["points"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p[0] == id.to_string())
        .unwrap_or_else(|| panic!("{id} not drawn: {points}"))
}

/// Every filter draws exactly the ledger's findings that have a place, and counts the rest.
async fn the_map_draws_what_the_ledger_lists(store: DynStore) {
    let c = county(store, MapConfig::default()).await;
    let site2 = site(2).id.to_string();
    for (query, expected) in [
        ("", 5),
        ("?status=open", 4),
        ("?status=dispatched", 1),
        ("?street=%E4%B8%9C%E6%B9%96%E8%A1%97%E9%81%93", 2),
        (&*format!("?site={site2}"), 2),
        ("?unit=housing", 2),
        ("?overdue=1", 1),
        ("?category=event", 1),
        ("?from=2023-11-14&to=2023-11-15&sort=deadline&dir=asc", 5),
        ("?from=2030-01-01", 0),
    ] {
        let listed = c.ledger(query, &c.admin).await;
        assert_eq!(listed.len(), expected, "{query}");
        let p = c.points(query, &c.admin).await;
        let drawn = ids(&p);
        let unplaced = p["unplaced"].as_u64().unwrap() as usize;
        assert!(drawn.is_subset(&listed), "{query}: {drawn:?} ⊄ {listed:?}");
        assert_eq!(drawn.len() + unplaced, listed.len(), "{query}");
        assert_eq!(
            p["total"].as_u64().unwrap() as usize,
            listed.len(),
            "{query}"
        );
        assert_eq!(
            listed.contains(&c.nowhere.to_string()),
            unplaced == 1,
            "{query}: only the finding at a site without a position is unplaced"
        );
    }
    let all = c.points("", &c.admin).await;
    assert_eq!(all["sites"].as_array().unwrap().len(), 3, "every site");
    let site_at = |p: &Value| all["sites"][p[5].as_u64().unwrap() as usize].clone();
    let own = point(&all, c.own);
    assert_eq!(
        (own[2].as_f64(), own[3].as_f64()),
        (Some(OWN.0), Some(OWN.1))
    );
    assert_eq!(own[6], 0, "its own position, not overdue");
    assert_eq!(site_at(own)[0], site2);
    let at_site = point(&all, c.at_site);
    assert_eq!(
        (at_site[2].as_f64(), at_site[3].as_f64()),
        (Some(30.276), Some(120.1602))
    );
    assert_eq!(at_site[6], 2, "placed at its site");
    let late = point(&all, c.late);
    assert_eq!(late[6], 1, "overdue");
    let statuses = all["statuses"].as_array().unwrap();
    assert_eq!(
        statuses[late[4].as_u64().unwrap() as usize][0],
        "dispatched"
    );
    assert_eq!(statuses[late[4].as_u64().unwrap() as usize][1], "待整改");
    assert_eq!(site_at(point(&all, c.event))[3], "东湖街道");
    let number = own[1].as_str().unwrap();
    assert_eq!(
        number.len(),
        "20231115-001".len(),
        "the short number: {number}"
    );
}

#[tokio::test]
async fn map_points_are_the_ledgers_findings_on_sqlite() {
    let s = sqlite_store().await.unwrap();
    the_map_draws_what_the_ledger_lists(s.store.clone()).await;
}

#[tokio::test]
async fn map_points_are_the_ledgers_findings_on_postgres() {
    let Some(s) = pg_store().await else { return };
    the_map_draws_what_the_ledger_lists(s.store.clone()).await;
}

/// Threat: a unit member reads other units' findings off the map by editing the query string.
#[tokio::test]
async fn map_a_unit_member_gets_only_its_units_points() {
    let s = sqlite_store().await.unwrap();
    let c = county(s.store.clone(), MapConfig::default()).await;
    for query in ["", "?unit=housing", "?status=dispatched"] {
        let p = c.points(query, &c.urban).await;
        let listed = c.ledger(query, &c.urban).await;
        let drawn = ids(&p);
        assert!(drawn.is_subset(&listed), "{query}");
        assert_eq!(
            drawn.len() + p["unplaced"].as_u64().unwrap() as usize,
            listed.len()
        );
        for other in [c.at_site, c.event, c.late] {
            assert!(!drawn.contains(&other.to_string()), "{query}: {other}");
        }
    }
    let p = c.points("", &c.urban).await;
    assert_eq!(ids(&p), BTreeSet::from([c.own.to_string()]));
    assert_eq!(p["unplaced"], 1, "its finding at site 1");
    let (status, _, body) = c.get("/dashboard/map", &c.urban).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        !body.contains("id=\"filter-unit\""),
        "no unit filter for a unit"
    );
    // Signed out: the login page, like the ledger.
    let (status, headers, _) = c.get("/dashboard/map/points.json", "").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/dashboard/login");
}

/// A bad filter is refused with the ledger's own sentence, naming the field: the page like the
/// ledger's page, the points as JSON.
#[tokio::test]
async fn map_a_bad_filter_gets_the_ledgers_sentence() {
    let s = sqlite_store().await.unwrap();
    let c = county(s.store.clone(), MapConfig::default()).await;
    for (query, field, sentence) in [
        ("?status=lost", "status", "“状态” 填写有误：没有这个状态"),
        (
            "?from=2026-13-01",
            "from",
            "“起始日期” 填写有误：日期格式应为",
        ),
        ("?sort=password", "sort", "不能按此列排序"),
        ("?overdue=2", "overdue", "只能是 1 或留空"),
    ] {
        let (status, _, ledger) = c.get(&format!("/dashboard/ledger{query}"), &c.admin).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}");
        assert!(ledger.contains(sentence), "{query}: {ledger}");
        let (status, _, page) = c.get(&format!("/dashboard/map{query}"), &c.admin).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}");
        assert!(page.contains(sentence), "{query}: {page}");
        let (status, headers, body) = c
            .get(&format!("/dashboard/map/points.json{query}"), &c.admin)
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}");
        assert_eq!(headers[header::CONTENT_TYPE], "application/json");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            (v["error"].as_str(), v["field"].as_str()),
            (Some("invalid"), Some(field))
        );
        assert!(v["message"].as_str().unwrap().contains(sentence), "{body}");
    }
}

fn directives(policy: &str) -> Vec<(String, String)> {
    policy
        .split(';')
        .map(|d| {
            let d = d.trim();
            let (name, values) = d.split_once(' ').unwrap_or((d, ""));
            (name.to_string(), values.to_string())
        })
        .collect()
}

fn directive(policy: &str, name: &str) -> Option<String> {
    directives(policy)
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v)
}

/// Threat: the map page is made a way to load images (or scripts) from anywhere. Its policy
/// adds exactly the configured tile source's origins to the images' and nothing else, scripts
/// still from this server only; every other page keeps the server's policy.
#[tokio::test]
async fn map_content_policy_allows_the_tile_origins_and_nothing_else() {
    let tianditu = MapConfig {
        tiles: "https://t{s}.tianditu.gov.cn/vec_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=vec&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk=KEY".into(),
        labels: "https://labels.example.cn:8443/cva/{z}/{x}/{y}.png".into(),
        subdomains: "01".into(),
        attribution: "© 天地图".into(),
        max_zoom: Some(18),
    };
    let s = sqlite_store().await.unwrap();
    let c = county(s.store.clone(), tianditu).await;
    let (status, headers, body) = c.get("/dashboard/map", &c.admin).await;
    assert_eq!(status, StatusCode::OK);
    let policy = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert_eq!(
        directive(policy, "img-src").unwrap(),
        "'self' data: https://t0.tianditu.gov.cn https://t1.tianditu.gov.cn https://labels.example.cn:8443",
        "{policy}"
    );
    assert_eq!(
        directive(policy, "script-src").unwrap(),
        "'self'",
        "{policy}"
    );
    assert_eq!(
        directive(policy, "connect-src").unwrap(),
        "'self'",
        "{policy}"
    );
    assert_eq!(
        directive(policy, "default-src").unwrap(),
        "'none'",
        "{policy}"
    );
    let server = fieldcheck_server::app::CONTENT_POLICY;
    for (name, values) in directives(server) {
        if name != "img-src" {
            assert_eq!(directive(policy, &name), Some(values), "{name}: {policy}");
        }
    }
    assert_eq!(directives(policy).len(), directives(server).len() + 1);
    assert!(
        body.contains("t{s}.tianditu.gov.cn/vec_w/wmts"),
        "the template reaches the script"
    );
    assert!(body.contains("\"subdomains\":[\"0\",\"1\"]"), "{body}");
    assert!(
        !body.contains("onclick") && !body.contains("<script>"),
        "no inline script"
    );
    for part in [
        "<script src=\"/dashboard/static/leaflet-1.9.4.js\" defer></script>",
        "<script src=\"/dashboard/static/map.js\" defer></script>",
        "data-points=\"/dashboard/map/points.json?",
        "id=\"ledger-filters\"",
    ] {
        assert!(body.contains(part), "{part}");
    }
    let (_, headers, _) = c.get("/dashboard/ledger", &c.admin).await;
    assert_eq!(
        headers[header::CONTENT_SECURITY_POLICY],
        server,
        "other pages keep theirs"
    );
    // The scripts and styles, from this server.
    for (path, kind) in [
        (
            "/dashboard/static/leaflet-1.9.4.js",
            "text/javascript; charset=utf-8",
        ),
        (
            "/dashboard/static/leaflet-1.9.4.css",
            "text/css; charset=utf-8",
        ),
        ("/dashboard/static/map.js", "text/javascript; charset=utf-8"),
        ("/dashboard/static/map.css", "text/css; charset=utf-8"),
    ] {
        let (status, headers, body) = c.get(path, "").await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(headers[header::CONTENT_TYPE], kind, "{path}");
        assert!(body.len() > 1_000, "{path}");
    }
    // No tile source: images from this server only.
    let s = sqlite_store().await.unwrap();
    let plain = county(s.store.clone(), MapConfig::default()).await;
    let (_, headers, body) = plain.get("/dashboard/map", &plain.admin).await;
    let policy = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert_eq!(
        directive(policy, "img-src").unwrap(),
        "'self' data:",
        "{policy}"
    );
    assert!(body.contains("\"tiles\":null"), "the street plan");
}
