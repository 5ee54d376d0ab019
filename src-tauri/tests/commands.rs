//! The app's commands through Tauri's IPC (mock runtime, no display): the same builder as the
//! real app, over a real SQLite database and photo directory in a temporary directory.

use fieldcheck_app_lib::state::{AppState, DATABASE_FILE};
use fieldcheck_app_lib::{DataDir, builder};
use fieldcheck_core::store::Store;
use fieldcheck_domain::pack_folder::load_pack;
use fieldcheck_protocol::Site;
use serde_json::{Value, json};
use std::path::Path;
use tauri::Manager;
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{
    INVOKE_KEY, MockRuntime, get_ipc_response, mock_builder, mock_context, noop_assets,
};
use tauri::webview::{InvokeRequest, WebviewWindow};
use uuid::Uuid;

/// A `width` × `height` picture as a PNG (colour bands shifted by `seed`, stored without
/// compression): a photo large enough for its stamp, which a photo under about 650 × 490 px is
/// not (`PhotoError::TooSmall`), the app's icons included.
fn photo_png(width: u32, height: u32, seed: u8) -> Vec<u8> {
    fn crc32(bytes: &[u8]) -> u32 {
        let mut c = !0u32;
        for &b in bytes {
            c ^= u32::from(b);
            for _ in 0..8 {
                c = if c & 1 == 1 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
        }
        !c
    }
    let mut raw = Vec::with_capacity(((width * 3 + 1) * height) as usize);
    for y in 0..height {
        raw.push(0); // no filter
        for x in 0..width {
            let v = ((x / 16 + y / 16) as u8)
                .wrapping_mul(17)
                .wrapping_add(seed);
            raw.extend_from_slice(&[v, 255 - v, v / 2]);
        }
    }
    // zlib: stored deflate blocks, then the Adler-32 of the data.
    let mut zlib = vec![0x78, 0x01];
    let blocks = raw.chunks(65_535).count();
    for (i, block) in raw.chunks(65_535).enumerate() {
        let len = block.len() as u16;
        zlib.push(u8::from(i + 1 == blocks));
        zlib.extend_from_slice(&len.to_le_bytes());
        zlib.extend_from_slice(&(!len).to_le_bytes());
        zlib.extend_from_slice(block);
    }
    let (a, b) = raw.iter().fold((1u32, 0u32), |(a, b), &x| {
        let a = (a + u32::from(x)) % 65_521;
        (a, (b + a) % 65_521)
    });
    zlib.extend_from_slice(&((b << 16) | a).to_be_bytes());
    let mut header = width.to_be_bytes().to_vec();
    header.extend_from_slice(&height.to_be_bytes());
    header.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    for (kind, data) in [(b"IHDR", header), (b"IDAT", zlib), (b"IEND", Vec::new())] {
        let mut chunk = kind.to_vec();
        chunk.extend_from_slice(&data);
        png.extend_from_slice(&(data.len() as u32).to_be_bytes());
        png.extend_from_slice(&chunk);
        png.extend_from_slice(&crc32(&chunk).to_be_bytes());
    }
    png
}

/// A tablet database with the real checklist pack, one back alley, and a login.
fn seed(dir: &Path) -> Site {
    let mut store = Store::open(dir.join(DATABASE_FILE)).unwrap();
    let pack = load_pack(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../content/civilized-city"))
        .unwrap();
    store.import_pack(&pack).unwrap();
    let site = Site {
        id: Uuid::now_v7(),
        name: "文庙后巷".into(),
        site_type: "back_alley".into(),
        district: "城关区".into(),
        street: "城关街道".into(),
        address: "文庙后巷".into(),
        position: None,
        unit: None,
        qr_code: None,
    };
    store.upsert_site(&site).unwrap();
    store
        .save_login("http://127.0.0.1:9", "inspector1", "token")
        .unwrap();
    site
}

fn app(dir: &Path) -> (tauri::App<MockRuntime>, WebviewWindow<MockRuntime>) {
    let app = builder(mock_builder(), DataDir::At(dir.to_path_buf()))
        .build(mock_context(noop_assets()))
        .unwrap();
    // The mock runtime never reaches the setup hook, which opens the state in the real app.
    app.manage(AppState::open(dir, None).unwrap());
    let webview = tauri::WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .unwrap();
    (app, webview)
}

fn request(cmd: &str, body: InvokeBody, headers: &[(&'static str, String)]) -> InvokeRequest {
    let mut map = tauri::http::HeaderMap::new();
    for (k, v) in headers {
        map.insert(*k, v.parse().unwrap());
    }
    InvokeRequest {
        cmd: cmd.into(),
        callback: CallbackFn(0),
        error: CallbackFn(1),
        url: "tauri://localhost".parse().unwrap(),
        body,
        headers: map,
        invoke_key: INVOKE_KEY.to_string(),
    }
}

fn call(webview: &WebviewWindow<MockRuntime>, cmd: &str, args: Value) -> Result<Value, Value> {
    get_ipc_response(webview, request(cmd, InvokeBody::Json(args), &[]))
        .map(|b| b.deserialize::<Value>().unwrap())
}

#[test]
fn an_inspection_through_the_commands_scores_live_and_refuses_bad_answers() {
    let dir = tempfile::tempdir().unwrap();
    let site = seed(dir.path());
    let (_app, w) = app(dir.path());

    let info = call(&w, "app_info", json!({})).unwrap();
    assert_eq!(info["signed_in"], true);
    assert_eq!(info["username"], "inspector1");
    assert_eq!(info["mobile"], false);

    let sites = call(
        &w,
        "list_sites",
        json!({"text": "文庙", "site_type": "back_alley"}),
    )
    .unwrap();
    assert_eq!(sites.as_array().unwrap().len(), 1);
    let id = call(
        &w,
        "start_inspection",
        json!({"site_id": site.id, "position": null}),
    )
    .unwrap();
    let id = id.as_str().unwrap().to_string();
    let screen = call(&w, "load_inspection", json!({"inspection_id": id})).unwrap();
    let items = screen["template"]["items"].as_array().unwrap();
    let verdict = items.iter().find(|i| i["kind"] == "verdict").unwrap();
    let code = verdict["code"].as_str().unwrap();

    let answered = call(
        &w,
        "record_result",
        json!({"inspection_id": id, "item_code": code, "value": {"kind": "non_compliant"}, "note": "井盖缺失"}),
    )
    .unwrap();
    assert_eq!(answered["result"]["value"]["kind"], "non_compliant");
    assert_eq!(answered["score"]["applicable"], 1);
    assert_eq!(answered["score"]["pass_rate"], 0.0);

    // A count for a verdict item: refused in Chinese and English, nothing stored.
    let err = call(
        &w,
        "record_result",
        json!({"inspection_id": id, "item_code": code, "value": {"kind": "count", "value": 3}, "note": ""}),
    )
    .unwrap_err();
    let message = err["message"].as_str().unwrap();
    assert!(
        message.contains("需要") && message.contains("takes"),
        "{message}"
    );
    let screen = call(&w, "load_inspection", json!({"inspection_id": id})).unwrap();
    assert_eq!(screen["results"][0]["value"]["kind"], "non_compliant");

    let err = call(&w, "load_inspection", json!({"inspection_id": "nope"})).unwrap_err();
    assert_eq!(err["field"], "inspection_id");

    // Resume after a restart: the unfinished inspection is offered.
    let unfinished = call(&w, "unfinished_inspections", json!({})).unwrap();
    assert_eq!(unfinished[0]["inspection"]["id"], id.as_str());
    assert_eq!(unfinished[0]["site_name"], "文庙后巷");

    let status = call(&w, "sync_status", json!({})).unwrap();
    assert_eq!(status["records_pending"], 2, "{status}");
}

#[test]
fn a_photo_arrives_as_a_raw_body_and_a_json_body_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let site = seed(dir.path());
    let (app, w) = app(dir.path());
    let finding = call(
        &w,
        "add_finding",
        json!({"finding": {
            "site_id": site.id, "inspection_id": null, "item_code": null,
            "category": "component", "subcategory": "manhole_cover",
            "description": "井盖破损下沉", "severity": "critical",
            "position": {"lat": 30.27, "lon": 120.16, "accuracy_m": 30.0, "source": "manual"},
            "unit": null, "deadline": "2026-12-01", "same_day": true
        }}),
    )
    .unwrap();
    assert_eq!(finding["same_day"], true);
    assert_eq!(finding["position"]["source"], "manual");
    let meta = json!({"kind": "before", "finding_id": finding["id"], "inspection_id": null, "position": null});

    let photo = get_ipc_response(
        &w,
        request(
            "add_photo",
            InvokeBody::Raw(photo_png(800, 600, 1)),
            &[("x-photo", meta.to_string())],
        ),
    )
    .unwrap()
    .deserialize::<Value>()
    .unwrap();
    let sha = photo["sha256"].as_str().unwrap();
    assert_eq!(sha.len(), 64);
    assert_eq!(photo["kind"], "before");
    let state = app.state::<AppState>();
    assert!(
        state
            .data_dir
            .join("photos")
            .join(format!("{sha}.jpg"))
            .exists()
    );
    assert!(
        state
            .data_dir
            .join("photos/thumbs")
            .join(format!("{sha}.jpg"))
            .exists()
    );

    let err = get_ipc_response(
        &w,
        request(
            "add_photo",
            InvokeBody::Json(json!({"bytes": "base64"})),
            &[("x-photo", meta.to_string())],
        ),
    )
    .unwrap_err();
    assert_eq!(err["field"], "body", "{err}");
    let err = get_ipc_response(
        &w,
        request("add_photo", InvokeBody::Raw(vec![1, 2, 3]), &[]),
    )
    .unwrap_err();
    assert_eq!(err["field"], "x-photo", "{err}");

    let detail = call(&w, "finding_detail", json!({"finding_id": finding["id"]})).unwrap();
    assert_eq!(detail["photos"].as_array().unwrap().len(), 1);
    assert_eq!(detail["status"], "open");
    let status = call(&w, "sync_status", json!({})).unwrap();
    assert_eq!(status["photos_pending"], 1);
    let storage = call(&w, "storage_info", json!({})).unwrap();
    assert_eq!(storage["photo_count"], 1);

    // 当场整改: seen fixed on site with an after photo.
    let after = get_ipc_response(
        &w,
        request(
            "add_photo",
            InvokeBody::Raw(photo_png(800, 600, 2)),
            &[("x-photo", json!({"kind": "after", "finding_id": finding["id"], "inspection_id": null, "position": null}).to_string())],
        ),
    )
    .unwrap()
    .deserialize::<Value>()
    .unwrap();
    let status = call(
        &w,
        "recheck",
        json!({"finding_id": finding["id"], "fixed": true, "note": "", "photo_sha256": after["sha256"]}),
    )
    .unwrap();
    assert_eq!(status, "rectified");
    let list = call(&w, "rechecks", json!({})).unwrap();
    assert_eq!(list[0]["status"], "rectified");
    assert_eq!(list[0]["site_name"], "文庙后巷");
}

#[test]
fn signing_out_keeps_unsynced_work() {
    let dir = tempfile::tempdir().unwrap();
    let site = seed(dir.path());
    let (_app, w) = app(dir.path());
    call(
        &w,
        "start_inspection",
        json!({"site_id": site.id, "position": null}),
    )
    .unwrap();
    call(&w, "logout", json!({})).unwrap();
    let info = call(&w, "app_info", json!({})).unwrap();
    assert_eq!(info["signed_in"], false);
    assert_eq!(info["username"], "inspector1");
    let status = call(&w, "sync_status", json!({})).unwrap();
    assert_eq!(
        (
            status["records_pending"].as_u64(),
            status["signed_in"].as_bool()
        ),
        (Some(1), Some(false))
    );
}

#[test]
fn a_scanned_label_checks_in_and_a_marked_copy_keeps_its_original() {
    let dir = tempfile::tempdir().unwrap();
    let site = seed(dir.path());
    let county = Uuid::now_v7();
    Store::open(dir.path().join(DATABASE_FILE))
        .unwrap()
        .save_county(Some(county))
        .unwrap();
    let (app, w) = app(dir.path());
    let label =
        |county: Uuid, site: Uuid| fieldcheck_domain::site_label::SiteLabel { county, site }.text();

    // Another county's label, or a site the tablet does not hold: refused, nothing recorded.
    let err = call(
        &w,
        "scan_label_text",
        json!({"text": label(Uuid::now_v7(), site.id), "position": null}),
    )
    .unwrap_err();
    assert!(
        err["message"].as_str().unwrap().contains("其他区县"),
        "{err}"
    );
    let err = call(
        &w,
        "scan_label_text",
        json!({"text": label(county, Uuid::now_v7()), "position": null}),
    )
    .unwrap_err();
    assert_eq!(err["field"], "site", "{err}");
    let page = call(&w, "site_page", json!({"site_id": site.id})).unwrap();
    assert_eq!(page["checked_in_at"], Value::Null);

    let position = json!({"lat": 30.27, "lon": 120.16, "accuracy_m": 8.0, "source": "gps"});
    let opened = call(
        &w,
        "scan_label_text",
        json!({"text": label(county, site.id), "position": position}),
    )
    .unwrap();
    assert_eq!(opened["id"], json!(site.id));
    let page = call(&w, "site_page", json!({"site_id": site.id})).unwrap();
    assert!(page["checked_in_at"].is_number(), "{page}");
    let status = call(&w, "sync_status", json!({})).unwrap();
    assert_eq!(status["records_pending"], 1, "the check-in is queued");

    // A marked copy of an after-photo: a second photo linked to the untouched original.
    let finding = call(
        &w,
        "add_finding",
        json!({"finding": {
            "site_id": site.id, "inspection_id": null, "item_code": null,
            "category": "component", "subcategory": "manhole_cover",
            "description": "井盖破损下沉", "severity": "critical", "position": null,
            "unit": null, "deadline": null, "same_day": false
        }}),
    )
    .unwrap();
    let icon =
        |name: &str| std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join(name)).unwrap();
    let meta = json!({"kind": "after", "finding_id": finding["id"], "inspection_id": null, "position": null});
    let original = get_ipc_response(
        &w,
        request(
            "add_photo",
            InvokeBody::Raw(photo_png(800, 600, 3)),
            &[("x-photo", meta.to_string())],
        ),
    )
    .unwrap()
    .deserialize::<Value>()
    .unwrap();
    let sha = original["sha256"].as_str().unwrap().to_string();
    let err = get_ipc_response(
        &w,
        request(
            "mark_photo",
            InvokeBody::Raw(icon("icons/128x128.png")),
            &[("x-photo-original", "nope".into())],
        ),
    )
    .unwrap_err();
    assert_eq!(err["field"], "x-photo-original", "{err}");
    let marked = get_ipc_response(
        &w,
        request(
            "mark_photo",
            InvokeBody::Raw(icon("icons/128x128.png")),
            &[("x-photo-original", sha.clone())],
        ),
    )
    .unwrap()
    .deserialize::<Value>()
    .unwrap();
    assert_eq!(marked["marked_from"], json!(sha));
    assert_eq!(marked["kind"], "after");
    let detail = call(&w, "finding_detail", json!({"finding_id": finding["id"]})).unwrap();
    assert_eq!(detail["photos"].as_array().unwrap().len(), 2);
    assert_eq!(detail["photo_local"][&sha], "own");

    // The cache's cap is a setting, 100 MB at least.
    let err = call(&w, "set_photo_cache_cap", json!({"megabytes": 10})).unwrap_err();
    assert_eq!(err["field"], "megabytes", "{err}");
    call(&w, "set_photo_cache_cap", json!({"megabytes": 500})).unwrap();
    let storage = call(&w, "storage_info", json!({})).unwrap();
    assert_eq!(storage["cache_cap_bytes"], 500 * 1024 * 1024);
    assert_eq!(storage["cache_bytes"], 0);
    drop(app);
}
