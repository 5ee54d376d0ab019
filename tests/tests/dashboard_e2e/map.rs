//! The map (问题地图) in Chromium against a real server: with tiles from a local tile server
//! (a small HTTP server in the test on 127.0.0.1 that draws a 256×256 PNG for each z/x/y and
//! records what it was asked), the map asks it for tiles and shows them, draws the tablet's
//! findings as points on its canvas in their status's colour, and a click on one opens a popup
//! that leads to the finding's page; a filter draws fewer; with no tile source it asks for no
//! tile and draws the street plan from the sites. Screenshots at 1024×768 and 768×1024.

use super::{ADMIN, ADMIN_PASSWORD, Session, artifacts, office_and_tablet, record_finding};
use axum::extract::{Path as UrlPath, State};
use axum::http::header;
use fieldcheck_tests::chromium::{Driver, set_viewport};
use fieldcheck_tests::server::{ServerCommand, ServerProcess};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

type Asked = Arc<Mutex<Vec<String>>>;

/// A 256×256 PNG for tile z/x/y: a pale ground with a grid and a darker band, different per
/// tile, so a screenshot shows where tiles were laid.
fn tile_png(z: u32, x: u32, y: u32) -> Vec<u8> {
    let mut rgb = Vec::with_capacity(256 * 256 * 3);
    let tint = ((x * 31 + y * 17 + z * 7) % 40) as u8;
    for row in 0..256u32 {
        for col in 0..256u32 {
            let grid = row % 64 == 0 || col % 64 == 0;
            let band = (row + col) % 128 < 6;
            let v = if grid {
                [170, 190, 205]
            } else if band {
                [200, 215, 200]
            } else {
                [232 - tint / 2, 238, 228 - tint]
            };
            rgb.extend_from_slice(&v);
        }
    }
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, 256, 256);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().unwrap();
    writer.write_image_data(&rgb).unwrap();
    writer.finish().unwrap();
    out
}

/// The tile server on a free loopback port: `GET /tiles/{z}/{x}/{y}` (`.png` after `y`) answers
/// a tile and records `z/x/y`. Returns the record and the server's address.
async fn tile_server() -> (Asked, String) {
    async fn tile(
        State(asked): State<Asked>,
        UrlPath((z, x, y)): UrlPath<(u32, u32, String)>,
    ) -> impl axum::response::IntoResponse {
        let y: u32 = y.trim_end_matches(".png").parse().unwrap_or(0);
        asked.lock().unwrap().push(format!("{z}/{x}/{y}"));
        ([(header::CONTENT_TYPE, "image/png")], tile_png(z, x, y))
    }
    let asked: Asked = Arc::default();
    let app = axum::Router::new()
        .route("/tiles/{z}/{x}/{y}", axum::routing::get(tile))
        .with_state(asked.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (asked, format!("http://{addr}"))
}

impl Session<'_> {
    async fn js(&self, script: &str, args: Vec<Value>) -> Value {
        self.c.execute(script, args).await.unwrap()
    }

    /// Opens the map at `query` and waits (up to 30 s) until it has drawn its points.
    async fn open_map(&self, query: &str) {
        self.goto(&format!("/dashboard/map{query}")).await;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready = self
                .js(
                    "const m = document.getElementById('map'); return m && m.dataset.ready || ''",
                    vec![],
                )
                .await;
            match ready.as_str() {
                Some("1") => return,
                Some("failed") => panic!("the map failed: {}", self.text("#map-summary").await),
                _ => {}
            }
            assert!(Instant::now() < deadline, "the map never drew its points");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The map's `data-*` count.
    async fn drawn(&self, what: &str) -> u64 {
        self.attr("#map", what).await.parse().unwrap()
    }

    /// Each finding marker drawn: its index and the colour of the canvas pixel at its centre.
    async fn marker_pixels(&self) -> Value {
        self.js(
            r#"const el = document.getElementById('map');
               const map = el.leafletMap;
               const canvas = el.querySelector('canvas');
               const ctx = canvas.getContext('2d');
               const box = canvas.getBoundingClientRect();
               const mapBox = el.getBoundingClientRect();
               const out = [];
               map.eachLayer(l => {
                 if (!(l instanceof L.CircleMarker) || l.options.index === undefined) return;
                 const p = map.latLngToContainerPoint(l.getLatLng());
                 const x = Math.round((mapBox.left + p.x - box.left) * canvas.width / box.width);
                 const y = Math.round((mapBox.top + p.y - box.top) * canvas.height / box.height);
                 const d = ctx.getImageData(x, y, 1, 1).data;
                 out.push({index: l.options.index, rgb: [d[0], d[1], d[2]], fill: l.options.fillColor,
                           client: [mapBox.left + p.x, mapBox.top + p.y]});
               });
               return out;"#,
            vec![],
        )
        .await
    }
}

fn hex_rgb(hex: &str) -> [i64; 3] {
    let v = |i: usize| i64::from_str_radix(&hex[i..i + 2], 16).unwrap();
    [v(1), v(3), v(5)]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_map_with_a_local_tile_server_and_the_street_plan_without() {
    let shots = artifacts();
    let server_dir = tempfile::tempdir().unwrap();
    let tablet_dir = tempfile::tempdir().unwrap();
    let profile = tempfile::tempdir().unwrap();
    let data = server_dir.path();
    let (plain, t, sites) = office_and_tablet(data, tablet_dir.path(), 11).await;
    let found: Vec<String> = [(0, "井盖破损下沉"), (1, "楼道堆放杂物"), (2, "路灯不亮")]
        .iter()
        .map(|(n, what)| {
            record_finding(&t, &sites[*n], what, *n as u64 + 1, None)
                .id
                .to_string()
        })
        .collect();
    t.engine.sync_now().await.unwrap();
    drop(plain);

    // With tiles from the local tile server.
    let (asked, tiles_url) = tile_server().await;
    let server = ServerCommand::new(data)
        .config(&format!(
            "[map]\ntiles = \"{tiles_url}/tiles/{{z}}/{{x}}/{{y}}.png\"\nattribution = \"测试瓦片\"\nmax_zoom = 18\n"
        ))
        .unwrap()
        .serve()
        .unwrap();
    let driver = Driver::start();
    let s = Session {
        c: driver.browser(profile.path()).await,
        base: server.url.clone(),
        shots: &shots,
    };
    set_viewport(&s.c, (1024, 768)).await;
    s.login(ADMIN, ADMIN_PASSWORD).await;
    s.click(fantoccini::Locator::Id("nav-map")).await;
    s.wait_url("/dashboard/map").await;
    s.open_map("").await;
    assert_eq!(
        s.drawn("data-drawn-points").await,
        3,
        "the tablet's three findings"
    );
    assert!(s.drawn("data-drawn-sites").await >= 3);
    let summary = s.text("#map-summary").await;
    assert!(summary.contains("地图上 3 条问题"), "{summary}");
    // The tiles: asked of the local server, and shown.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let loaded = s
            .js(
                "return document.querySelectorAll('#map img.leaflet-tile-loaded').length",
                vec![],
            )
            .await;
        if loaded.as_u64().unwrap() >= 4 {
            break;
        }
        assert!(Instant::now() < deadline, "no tile was shown: {loaded}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    {
        let asked = asked.lock().unwrap();
        assert!(asked.len() >= 4, "{asked:?}");
        for tile in asked.iter() {
            let z: u32 = tile.split('/').next().unwrap().parse().unwrap();
            assert!((1..=18).contains(&z), "{tile}");
        }
    }
    let sources = s
        .js(
            "return [...document.querySelectorAll('#map img.leaflet-tile')].map(i => i.src)",
            vec![],
        )
        .await;
    for src in sources.as_array().unwrap() {
        assert!(
            src.as_str()
                .unwrap()
                .starts_with(&format!("{tiles_url}/tiles/")),
            "{src}"
        );
    }
    assert!(
        s.text(".leaflet-control-attribution")
            .await
            .contains("测试瓦片")
    );
    // Every finding is a point on the canvas, in the colour of its status (待派遣).
    let pixels = s.marker_pixels().await;
    assert_eq!(pixels.as_array().unwrap().len(), 3, "{pixels}");
    for p in pixels.as_array().unwrap() {
        let want = hex_rgb(p["fill"].as_str().unwrap());
        assert_eq!(want, hex_rgb("#e6a23c"), "open findings are amber: {p}");
        let got: Vec<i64> = p["rgb"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_i64().unwrap())
            .collect();
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() <= 40, "the canvas shows the point: {p}");
        }
    }
    s.shot("40-map-tiles-1024x768").await;
    // A click on a point: its popup, and from there the finding's page.
    let at = &pixels[0]["client"];
    s.js(
        "const [x, y] = arguments; const c = document.querySelector('#map canvas');
         for (const type of ['mousedown', 'mouseup', 'click']) {
           c.dispatchEvent(new MouseEvent(type, {clientX: x, clientY: y, bubbles: true, cancelable: true, view: window}));
         }
         return true",
        vec![at[0].clone(), at[1].clone()],
    )
    .await;
    s.c.wait()
        .for_element(fantoccini::Locator::Css(".map-popup .popup-link"))
        .await
        .unwrap();
    let href = s.attr(".map-popup .popup-link", "href").await;
    let id = href.rsplit('/').next().unwrap().to_string();
    assert!(found.contains(&id), "{href}");
    // The popup fades in, and WebDriver reads no text from it until it shows.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let mut popup = s.text(".map-popup").await;
    while popup.is_empty() && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        popup = s.text(".map-popup").await;
    }
    assert!(
        popup.contains("待派遣") && popup.contains("位置取自点位"),
        "{popup}"
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    s.shot("41-map-popup-1024x768").await;
    s.click(fantoccini::Locator::Css(".map-popup .popup-link"))
        .await;
    s.wait_url(&format!("/dashboard/findings/{id}")).await;
    // A filter draws only what the ledger lists.
    s.open_map(&format!("?site={}", sites[1].id)).await;
    assert_eq!(s.drawn("data-drawn-points").await, 1);
    set_viewport(&s.c, (768, 1024)).await;
    s.open_map("").await;
    s.shot("42-map-tiles-768x1024").await;
    let overflow = s
        .js(
            "return document.documentElement.scrollWidth <= window.innerWidth",
            vec![],
        )
        .await;
    assert_eq!(overflow, json!(true), "nothing wider than the window");
    drop(server);

    // No tile source: no tile asked for, the street plan drawn from the sites. (The page
    // with tiles is left first: it would ask for more when the window changes.)
    s.c.goto("about:blank").await.unwrap();
    set_viewport(&s.c, (1024, 768)).await;
    asked.lock().unwrap().clear();
    let server = ServerProcess::start(data).unwrap();
    let s = Session {
        base: server.url.clone(),
        ..s
    };
    s.open_map("").await;
    assert_eq!(s.drawn("data-drawn-points").await, 3);
    let plan = s
        .js(
            "const m = document.getElementById('map');
             return {plan: m.classList.contains('street-plan'),
                     tiles: m.querySelectorAll('img.leaflet-tile').length,
                     streets: m.querySelectorAll('.street-label').length,
                     sites: m.querySelectorAll('.site-label').length,
                     scale: !!m.querySelector('.leaflet-control-scale')}",
            vec![],
        )
        .await;
    assert_eq!(plan["plan"], json!(true), "{plan}");
    assert_eq!(plan["tiles"], json!(0), "{plan}");
    assert!(
        plan["streets"].as_u64().unwrap() >= 1,
        "streets named: {plan}"
    );
    assert!(plan["sites"].as_u64().unwrap() >= 3, "sites named: {plan}");
    assert_eq!(plan["scale"], json!(true), "{plan}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let late = asked.lock().unwrap().clone();
    assert!(late.is_empty(), "no tile asked for: {late:?}");
    s.shot("43-map-plan-1024x768").await;
    set_viewport(&s.c, (768, 1024)).await;
    s.open_map("").await;
    s.shot("44-map-plan-768x1024").await;
    s.c.close().await.unwrap();
}
