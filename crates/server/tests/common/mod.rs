//! Shared test fixtures: stores (SQLite in a temp dir, PostgreSQL in a fresh database),
//! reference content, devices with signing keys, record builders and images.
#![allow(dead_code)]

use ed25519_dalek::{Signer, SigningKey};
use fieldcheck_protocol::*;
use fieldcheck_server::store::{self, Content, DynStore, NewDevice, StoreError, UserRow};
use sha2::{Digest, Sha256};
use sqlx::Connection;
use std::sync::atomic::{AtomicU64, Ordering};
use uuid::Uuid;

/// A store and whatever keeps it alive.
pub struct TestStore {
    pub store: DynStore,
    _dir: Option<tempfile::TempDir>,
}

pub async fn sqlite_store() -> Option<TestStore> {
    let dir = tempfile::tempdir().unwrap();
    let store = store::open(dir.path().join("t.sqlite3").to_str().unwrap())
        .await
        .unwrap();
    Some(TestStore {
        store,
        _dir: Some(dir),
    })
}

/// A PostgreSQL store in a new database. Without FIELDCHECK_TEST_PG_URL the test fails,
/// unless FIELDCHECK_SKIP_PG=1 says to skip on purpose.
pub async fn pg_store() -> Option<TestStore> {
    let url = pg_database_url().await?;
    Some(TestStore {
        store: store::open(&url).await.unwrap(),
        _dir: None,
    })
}

/// URL of a fresh, empty PostgreSQL database (None when skipping on purpose).
pub async fn pg_database_url() -> Option<String> {
    let base = match std::env::var("FIELDCHECK_TEST_PG_URL") {
        Ok(u) if !u.is_empty() => u,
        _ if std::env::var("FIELDCHECK_SKIP_PG").as_deref() == Ok("1") => {
            eprintln!("PostgreSQL test skipped: FIELDCHECK_SKIP_PG=1");
            return None;
        }
        _ => panic!(
            "FIELDCHECK_TEST_PG_URL is not set: run `scripts/start-postgres.sh` and export the URL it prints \
             (or set FIELDCHECK_SKIP_PG=1 to skip the PostgreSQL half on purpose)"
        ),
    };
    let name = format!("fc_test_{}", Uuid::now_v7().simple());
    let mut conn = sqlx::PgConnection::connect(&base).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    let (prefix, _) = base.rsplit_once('/').unwrap();
    Some(format!("{prefix}/{name}"))
}

pub fn unit(code: &str) -> Unit {
    Unit {
        code: code.into(),
        name_zh: format!("{code}单位"),
        name_en: code.into(),
    }
}

pub fn template(version: u32) -> Template {
    let item = |code: &str, kind: ItemKind| TemplateItem {
        code: code.into(),
        index_code: "II-26".into(),
        index_name_zh: "城市规划建设".into(),
        index_name_en: "Urban planning".into(),
        text_zh: "路面平整".into(),
        title_en: "Road".into(),
        standard_zh: "无坑槽".into(),
        standard_en: None,
        subcategory: None,
        unit: None,
        kind,
        weight: 1.0,
        photo_required: true,
    };
    Template {
        id: "back_alley".into(),
        version,
        site_type: "back_alley".into(),
        name_zh: "背街小巷检查表".into(),
        name_en: "Back alley".into(),
        items: vec![
            item("BA-01", ItemKind::Verdict),
            item("BA-02", ItemKind::Count { min: 5 }),
            item("BA-03", ItemKind::Percent { min: 95.0 }),
        ],
    }
}

pub fn content() -> Content {
    Content {
        site_types: vec![SiteType {
            code: "back_alley".into(),
            name_zh: "背街小巷".into(),
            name_en: "Back alley".into(),
        }],
        templates: vec![template(1)],
        taxonomy: vec![Subcategory {
            code: "manhole_cover".into(),
            category: Category::Component,
            name_zh: "井盖".into(),
            name_en: "Manhole cover".into(),
        }],
        units: vec![unit("urban_mgmt"), unit("housing")],
    }
}

pub fn site(n: u32) -> Site {
    Site {
        id: Uuid::from_u128(0x5173_0000 + u128::from(n)),
        name: format!("文庙后巷{n}号"),
        site_type: "back_alley".into(),
        district: "示范县".into(),
        street: "城关街道".into(),
        address: "文庙后巷".into(),
        position: None,
        unit: Some("urban_mgmt".into()),
        qr_code: None,
    }
}

/// Imports the fixture content and site 1.
pub async fn seed(store: &DynStore) {
    store.import_content(&content()).await.unwrap();
    store.put_site(&site(1)).await.unwrap();
}

pub async fn add_user(
    store: &DynStore,
    name: &str,
    role: Role,
    unit: Option<&str>,
    password: &str,
) {
    store
        .create_user(&UserRow {
            name: name.into(),
            role,
            unit: unit.map(Into::into),
            password_hash: fieldcheck_server::auth::hash_password(password).unwrap(),
            disabled: false,
            created_at: 1,
            display_name: String::new(),
        })
        .await
        .unwrap();
}

/// A tablet: id and signing key.
#[derive(Clone)]
pub struct Device {
    pub id: Uuid,
    pub key: SigningKey,
}

impl Device {
    pub fn new(n: u8) -> Self {
        Self {
            id: Uuid::now_v7(),
            key: SigningKey::from_bytes(&[n.max(1); 32]),
        }
    }
    pub fn public_hex(&self) -> String {
        hex::encode(self.key.verifying_key().to_bytes())
    }
    /// Registers the device for `user` with a token; returns the token.
    pub async fn register(&self, store: &DynStore, user: &str) -> String {
        self.register_result(store, user).await.unwrap()
    }
    /// Registers the device, returning the store's answer.
    pub async fn register_result(
        &self,
        store: &DynStore,
        user: &str,
    ) -> Result<String, StoreError> {
        let (token, hash) = fieldcheck_server::auth::new_token();
        store
            .register_device(&NewDevice {
                id: self.id,
                user_name: user.into(),
                public_key: self.public_hex(),
                label: "测试平板".into(),
                token_hash: hash,
                token_expires_at: i64::MAX,
                at: 1,
            })
            .await?;
        Ok(token)
    }
}

static TICK: AtomicU64 = AtomicU64::new(1);

/// A fresh HLC stamp near now, increasing across the test binary.
pub fn hlc() -> Hlc {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    Hlc {
        time: (now << 32) + TICK.fetch_add(1, Ordering::SeqCst),
        node: 7,
    }
}

pub fn inspection(dev: &Device, id: Uuid, site: Uuid) -> Record {
    Record::Inspection(InspectionRecord {
        id,
        site_id: site,
        template_id: "back_alley".into(),
        template_version: 1,
        inspector: "inspector1".into(),
        device_id: dev.id,
        started_at: 1_700_000_000_000,
        finished_at: None,
        position: None,
        discarded_at: None,
    })
}

pub fn item(inspection: Uuid, code: &str, value: ItemValue) -> Record {
    Record::ItemResult(ItemResultRecord {
        inspection_id: inspection,
        item_code: code.into(),
        value,
        note: String::new(),
        hlc: hlc(),
    })
}

pub fn finding(
    dev: &Device,
    id: Uuid,
    site: Uuid,
    inspection: Option<Uuid>,
    unit: Option<&str>,
) -> Record {
    Record::Finding(FindingRecord {
        id,
        site_id: site,
        inspection_id: inspection,
        item_code: inspection.map(|_| "BA-01".to_string()),
        category: Category::Component,
        subcategory: "manhole_cover".into(),
        description: "井盖缺失".into(),
        severity: Severity::Critical,
        position: None,
        unit: unit.map(Into::into),
        deadline: Some("2099-12-31".into()),
        same_day: false,
        reporter: "inspector1".into(),
        device_id: dev.id,
        created_at: 1_700_000_000_000,
        hlc: hlc(),
    })
}

pub fn sha_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A signed photo record for these bytes.
pub fn photo_record(
    dev: &Device,
    bytes: &[u8],
    finding: Option<Uuid>,
    width: u32,
    height: u32,
) -> PhotoRecord {
    let mut r = PhotoRecord {
        sha256: sha_hex(bytes),
        finding_id: finding,
        inspection_id: None,
        kind: PhotoKind::Before,
        width,
        height,
        size_bytes: bytes.len() as u64,
        captured_at: 1_700_000_000_123,
        time_source: TimeSource::Trusted,
        device_clock_offset_ms: 0,
        position: Some(Position {
            lat: 30.5,
            lon: 120.0,
            accuracy_m: 8.0,
            source: PositionSource::Gps,
        }),
        device_id: dev.id,
        signature: String::new(),
        hlc: hlc(),
        marked_from: None,
    };
    r.signature = hex::encode(
        dev.key
            .sign(&fieldcheck_domain::device_signature::signed_message(&r))
            .to_bytes(),
    );
    r
}

/// A check-in at `site` signed by `dev`, with a label of county `county`.
pub fn check_in(dev: &Device, site: Uuid, county: Uuid) -> CheckInRecord {
    let mut r = CheckInRecord {
        id: Uuid::now_v7(),
        site_id: site,
        label: fieldcheck_domain::site_label::SiteLabel { county, site }.text(),
        inspector: "inspector1".into(),
        device_id: dev.id,
        at: 1_700_000_000_000,
        time_source: TimeSource::Trusted,
        device_clock_offset_ms: 0,
        position: None,
        signature: String::new(),
        hlc: hlc(),
    };
    r.signature = hex::encode(
        dev.key
            .sign(&fieldcheck_domain::device_signature::check_in_message(&r))
            .to_bytes(),
    );
    r
}

/// A rectification step; a 处置 or 核查 names an after-photo, as the policy asks.
pub fn event(
    finding: Uuid,
    action: RectificationAction,
    unit: Option<&str>,
    actor: &str,
) -> RectificationEventRecord {
    let evidence = matches!(
        action,
        RectificationAction::Rectified | RectificationAction::Verified
    );
    RectificationEventRecord {
        id: Uuid::now_v7(),
        finding_id: finding,
        action,
        actor: actor.into(),
        note: "处理".into(),
        unit: unit.map(Into::into),
        deadline: None,
        photo_sha256: evidence.then(|| sha_hex(b"after photo")),
        hlc: hlc(),
    }
}

/// Numbers records into outbox entries from `first`.
pub fn entries(first: u64, records: Vec<Record>) -> Vec<OutboxEntry> {
    records
        .into_iter()
        .enumerate()
        .map(|(i, record)| OutboxEntry {
            seq: first + i as u64,
            hlc: hlc(),
            record,
        })
        .collect()
}

/// A device's realistic outbox: inspections with answers (some answered twice), findings,
/// photos and rectification steps; `n` inspections.
pub fn outbox(dev: &Device, site: Uuid, n: usize) -> Vec<OutboxEntry> {
    let mut records = Vec::new();
    for i in 0..n {
        let ins = Uuid::now_v7();
        records.push(inspection(dev, ins, site));
        records.push(item(ins, "BA-01", ItemValue::NonCompliant));
        records.push(item(ins, "BA-02", ItemValue::Count(3)));
        records.push(item(ins, "BA-03", ItemValue::Percent(90.0)));
        records.push(item(ins, "BA-01", ItemValue::Compliant));
        let f = Uuid::now_v7();
        records.push(finding(dev, f, site, Some(ins), Some("urban_mgmt")));
        let bytes = format!("photo {i} of {}", dev.id).into_bytes();
        records.push(Record::Photo(photo_record(dev, &bytes, Some(f), 640, 480)));
        records.push(Record::Rectification(event(
            f,
            RectificationAction::Rectified,
            None,
            "inspector1",
        )));
        if let Some(Record::Inspection(mut r)) = records
            .iter()
            .find(|r| matches!(r, Record::Inspection(x) if x.id == ins))
            .cloned()
        {
            r.finished_at = Some(r.started_at + 60_000);
            records.push(Record::Inspection(r));
        }
    }
    entries(1, records)
}

/// What one in-order delivery of an outbox leaves: for each key, the record with the
/// highest entry stamp, in the store's export order.
pub fn expected_export(entries: &[OutboxEntry]) -> fieldcheck_server::store::Export {
    use std::collections::BTreeMap;
    let mut ins = BTreeMap::new();
    let mut items = BTreeMap::new();
    let mut finds = BTreeMap::new();
    let mut photos = BTreeMap::new();
    let mut events = BTreeMap::new();
    let mut check_ins = BTreeMap::new();
    for e in entries {
        match &e.record {
            Record::Inspection(r) => {
                ins.insert(r.id.to_string(), r.clone());
            }
            Record::ItemResult(r) => {
                items.insert(
                    (r.inspection_id.to_string(), r.item_code.clone()),
                    r.clone(),
                );
            }
            Record::Finding(r) => {
                finds.insert(r.id.to_string(), r.clone());
            }
            Record::Photo(r) => {
                photos.entry(r.sha256.clone()).or_insert_with(|| r.clone());
            }
            Record::Rectification(r) => {
                events.entry(r.id.to_string()).or_insert_with(|| r.clone());
            }
            Record::CheckIn(r) => {
                check_ins
                    .entry(r.id.to_string())
                    .or_insert_with(|| r.clone());
            }
        }
    }
    fieldcheck_server::store::Export {
        inspections: ins.into_values().collect(),
        item_results: items.into_values().collect(),
        findings: finds.into_values().collect(),
        photos: photos.into_values().collect(),
        events: events.into_values().collect(),
        check_ins: check_ins.into_values().collect(),
    }
}

/// A real JPEG of the given size.
pub fn jpeg(width: u32, height: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 128])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

/// A PNG whose header claims `side`×`side` pixels, with a tiny (broken) pixel stream: a
/// decompression bomb must be refused from its header alone.
pub fn png_bomb_header(side: u32) -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut c = crc32fast::Hasher::new();
        c.update(kind);
        c.update(data);
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        out.extend_from_slice(&c.finalize().to_be_bytes());
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&side.to_be_bytes());
    ihdr.extend_from_slice(&side.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &[0x78, 0x9c, 0x63, 0x00, 0x00]);
    chunk(&mut out, b"IEND", &[]);
    out
}
