//! A month of demo history, so that a new user sees what the office gets: each demo inspector's
//! tablet visits two or three demo sites a day and answers every checklist item; problems are
//! photographed, dispatched to units with deadlines, fixed with an after-photo, re-checked on
//! site and closed — and some are still waiting, overdue or sent back. Everything goes through
//! the store's own doors (tablet pushes, office steps, stored photos), so the ledger, the scores
//! and the finding numbers are made exactly as for real work. Photos are drawn by code.

use crate::app::AppState;
use crate::store::{Content, NewDevice, StoreError};
use ed25519_dalek::{Signer, SigningKey};
use fieldcheck_domain::china_time::{china_date, china_midnight};
use fieldcheck_protocol::{
    Category, FindingRecord, Hlc, InspectionRecord, ItemKind, ItemResultRecord, ItemValue,
    OutboxEntry, PhotoKind, PhotoRecord, Record, RectificationAction, RectificationEventRecord,
    Severity, Site, Template, TemplateItem, TimeSource,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// Days of history, today included.
pub const DAYS: i64 = 30;

const DAY_MS: i64 = 86_400_000;
const HOUR_MS: i64 = 3_600_000;

/// Why the history could not be made.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// The store refused.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A photo could not be kept.
    #[error("demo photo: {0}")]
    Photo(#[from] std::io::Error),
}

/// What was made.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct History {
    /// Inspections (all finished).
    pub inspections: usize,
    /// Findings.
    pub findings: usize,
    /// Photos stored.
    pub photos: usize,
}

/// One demo tablet: its account, id, key, and next outbox seq.
struct Tablet {
    inspector: String,
    id: Uuid,
    key: SigningKey,
    entries: Vec<OutboxEntry>,
}

impl Tablet {
    fn new(inspector: &str) -> Tablet {
        let seed: [u8; 32] = Sha256::digest(format!("fieldcheck-demo-tablet-{inspector}")).into();
        Tablet {
            inspector: inspector.to_string(),
            id: Uuid::new_v5(&Uuid::NAMESPACE_OID, &seed),
            key: SigningKey::from_bytes(&seed),
            entries: Vec::new(),
        }
    }

    fn queue(&mut self, at: i64, record: Record) {
        let seq = self.entries.len() as u64 + 1;
        self.entries.push(OutboxEntry {
            seq,
            hlc: stamp(at, self.id.as_u128()),
            record,
        });
    }
}

fn stamp(at: i64, node: u128) -> Hlc {
    fieldcheck_domain::clock::stamp_at(at, node)
}

/// Loads [`DAYS`] days of history for the demo inspectors, unless their demo tablets exist
/// already (a second run changes nothing). `units` names the unit accounts that answer (code →
/// account).
pub async fn load(
    state: &AppState,
    content: &Content,
    sites: &[Site],
    inspectors: &[&str],
    units: &[(String, String)],
) -> Result<History, HistoryError> {
    let store = state.store.as_ref();
    let mut tablets: Vec<Tablet> = inspectors.iter().map(|i| Tablet::new(i)).collect();
    let known = store.list_devices().await?;
    if tablets.iter().any(|t| known.iter().any(|d| d.id == t.id)) {
        return Ok(History::default());
    }
    let now = crate::clock::now_ms();
    let today = china_midnight(&china_date(now)).unwrap_or(now);
    let mut rng = StdRng::seed_from_u64(20_261_201);
    let mut made = History::default();
    let mut office = Vec::new();
    let mut photos = Vec::new();
    for day in 0..DAYS {
        let start = today - (DAYS - 1 - day) * DAY_MS;
        for (t, tablet) in tablets.iter_mut().enumerate() {
            for visit in 0..rng.random_range(2..=3) {
                let at = start + 9 * HOUR_MS + (visit * 2 + t as i64) * HOUR_MS;
                if at + HOUR_MS > now {
                    continue;
                }
                let site = &sites[rng.random_range(0..sites.len())];
                let Some(template) = newest_template(content, &site.site_type) else {
                    continue;
                };
                let visit = Visit {
                    site,
                    template,
                    at,
                    now,
                };
                visit.inspect(tablet, &mut rng, &mut office, &mut photos, units, content);
                made.inspections += 1;
            }
        }
    }
    for tablet in &tablets {
        store
            .register_device(&NewDevice {
                id: tablet.id,
                user_name: tablet.inspector.clone(),
                public_key: hex::encode(tablet.key.verifying_key().to_bytes()),
                label: "巡查平板（演示）".into(),
                // A token hash no token hashes to: the demo tablets never sign in.
                token_hash: format!("demo:{}", tablet.id),
                token_expires_at: 0,
                at: now - DAYS * DAY_MS,
            })
            .await?;
        made.findings += tablet
            .entries
            .iter()
            .filter(|e| matches!(e.record, Record::Finding(_)))
            .count();
        let key = hex::encode(tablet.key.verifying_key().to_bytes());
        for batch in tablet.entries.chunks(200) {
            store.apply_push(tablet.id, &key, batch).await?;
        }
    }
    office.sort_by_key(|e: &RectificationEventRecord| e.hlc);
    for event in &office {
        store.append_office_event(event).await?;
    }
    for (sha, bytes, upload) in &photos {
        state
            .blobs
            .put(sha, bytes::Bytes::from(bytes.clone()))
            .await?;
        match upload {
            None => store.mark_photo_stored(sha, now).await?,
            Some(u) => crate::dashboard::finding::keep_office_upload(state, sha, u).await?,
        }
        made.photos += 1;
    }
    Ok(made)
}

/// The newest checklist version for a site type.
fn newest_template<'a>(content: &'a Content, site_type: &str) -> Option<&'a Template> {
    content
        .templates
        .iter()
        .filter(|t| t.site_type == site_type)
        .max_by_key(|t| t.version)
}

/// A photo to store: hash, bytes, and the office upload it is (none: a tablet's photo).
type DemoPhoto = (
    String,
    Vec<u8>,
    Option<crate::dashboard::finding::NewUpload>,
);

/// One inspection of one site.
struct Visit<'a> {
    site: &'a Site,
    template: &'a Template,
    at: i64,
    now: i64,
}

impl Visit<'_> {
    /// Answers every item; a failed item is, most times, a finding with a before-photo whose
    /// rectification goes as far as its age allows.
    fn inspect(
        &self,
        tablet: &mut Tablet,
        rng: &mut StdRng,
        office: &mut Vec<RectificationEventRecord>,
        photos: &mut Vec<DemoPhoto>,
        units: &[(String, String)],
        content: &Content,
    ) {
        let id = Uuid::now_v7();
        let mut inspection = InspectionRecord {
            id,
            site_id: self.site.id,
            template_id: self.template.id.clone(),
            template_version: self.template.version,
            inspector: tablet.inspector.clone(),
            device_id: tablet.id,
            started_at: self.at,
            finished_at: None,
            position: self.site.position,
            discarded_at: None,
        };
        tablet.queue(self.at, Record::Inspection(inspection.clone()));
        let mut minute = self.at;
        for item in &self.template.items {
            minute += 60_000;
            let fails = rng.random_bool(0.12);
            tablet.queue(
                minute,
                Record::ItemResult(ItemResultRecord {
                    inspection_id: id,
                    item_code: item.code.clone(),
                    value: answer(item, fails, rng),
                    note: String::new(),
                    hlc: stamp(minute, tablet.id.as_u128()),
                }),
            );
            if fails && rng.random_bool(0.7) {
                let finding = self.finding(tablet, id, item, minute, rng, content);
                let shot = photo(tablet, &finding, PhotoKind::Before, minute, photos);
                tablet.queue(minute, Record::Finding(finding.clone()));
                tablet.queue(minute, Record::Photo(shot));
                self.rectify(tablet, &finding, rng, office, photos, units);
            }
        }
        inspection.finished_at = Some(minute + 120_000);
        tablet.queue(minute + 120_000, Record::Inspection(inspection));
    }

    /// A finding of failed `item`, found at `at` in inspection `inspection`.
    fn finding(
        &self,
        tablet: &Tablet,
        inspection: Uuid,
        item: &TemplateItem,
        at: i64,
        rng: &mut StdRng,
        content: &Content,
    ) -> FindingRecord {
        let sub = item
            .subcategory
            .as_deref()
            .and_then(|c| content.taxonomy.iter().find(|s| s.code == c))
            .unwrap_or(&content.taxonomy[rng.random_range(0..content.taxonomy.len())]);
        FindingRecord {
            id: Uuid::now_v7(),
            site_id: self.site.id,
            inspection_id: Some(inspection),
            item_code: Some(item.code.clone()),
            category: sub.category,
            subcategory: sub.code.clone(),
            description: format!("{}：不符合要求（{}）", item.text_zh, item.standard_zh),
            severity: [Severity::Minor, Severity::Major, Severity::Critical]
                [rng.random_range(0..3)],
            position: self.site.position,
            unit: item.unit.clone().or_else(|| self.site.unit.clone()),
            deadline: None,
            same_day: sub.category == Category::Event && rng.random_bool(0.1),
            reporter: tablet.inspector.clone(),
            device_id: tablet.id,
            created_at: at,
            hlc: stamp(at, tablet.id.as_u128()),
        }
    }

    /// The steps a finding of this age has had: dispatched within hours (except those found
    /// in the last two days), fixed by its unit within days (most), re-checked on site, closed; some
    /// sent back, some left overdue.
    fn rectify(
        &self,
        tablet: &mut Tablet,
        finding: &FindingRecord,
        rng: &mut StdRng,
        office: &mut Vec<RectificationEventRecord>,
        photos: &mut Vec<DemoPhoto>,
        units: &[(String, String)],
    ) {
        let found = finding.created_at;
        let age_days = (self.now - found) / DAY_MS;
        let step = |action, actor: &str, at: i64| RectificationEventRecord {
            id: Uuid::now_v7(),
            finding_id: finding.id,
            action,
            actor: actor.to_string(),
            note: String::new(),
            unit: None,
            deadline: None,
            photo_sha256: None,
            hlc: stamp(at, 1),
        };
        let dispatched = found + rng.random_range(1..5) * HOUR_MS;
        // Found in the last two days: waiting for the office, whatever the hour the demo is
        // made at (a draw among the last day's few findings left none open at some hours).
        if age_days < 2 || dispatched > self.now {
            return;
        }
        let Some(unit) = finding.unit.clone() else {
            return;
        };
        let deadline = china_date(found + 7 * DAY_MS);
        office.push(RectificationEventRecord {
            unit: Some(unit.clone()),
            deadline: Some(deadline),
            note: "请按期整改并上传整改后照片".into(),
            ..step(RectificationAction::Dispatched, "admin", dispatched)
        });
        let fixed = dispatched + rng.random_range(1..6) * DAY_MS / 2;
        if fixed > self.now || rng.random_bool(0.12) {
            return;
        }
        let answerer = units
            .iter()
            .find(|(code, _)| *code == unit)
            .map_or("admin", |(_, account)| account.as_str());
        let after = after_photo(finding, fixed, answerer, photos);
        office.push(RectificationEventRecord {
            note: "已整改完毕".into(),
            photo_sha256: Some(after),
            ..step(RectificationAction::Rectified, answerer, fixed)
        });
        let checked = fixed + rng.random_range(1..3) * DAY_MS;
        if checked > self.now {
            return;
        }
        if rng.random_bool(0.1) {
            office.push(RectificationEventRecord {
                note: "复查仍有问题，请重新整改".into(),
                ..step(RectificationAction::SentBack, "admin", checked)
            });
            return;
        }
        let shot = photo(tablet, finding, PhotoKind::After, checked, photos);
        let verified = RectificationEventRecord {
            note: "回头看：已整改".into(),
            actor: tablet.inspector.clone(),
            photo_sha256: Some(shot.sha256.clone()),
            hlc: stamp(checked, tablet.id.as_u128()),
            ..step(RectificationAction::Verified, "", checked)
        };
        tablet.queue(checked, Record::Photo(shot));
        tablet.queue(checked, Record::Rectification(verified));
        let closed = checked + DAY_MS;
        if closed <= self.now && rng.random_bool(0.8) {
            office.push(step(RectificationAction::Closed, "admin", closed));
        }
    }
}

/// An answer to `item`: failing or not.
fn answer(item: &TemplateItem, fails: bool, rng: &mut StdRng) -> ItemValue {
    match (item.kind, fails) {
        (ItemKind::Verdict, false) => ItemValue::Compliant,
        (ItemKind::Verdict, true) => ItemValue::NonCompliant,
        (ItemKind::Count { min }, false) => ItemValue::Count(min + rng.random_range(0..4)),
        (ItemKind::Count { min }, true) => ItemValue::Count(min.saturating_sub(1)),
        (ItemKind::Percent { min }, false) => {
            ItemValue::Percent((min + rng.random_range(0.0..=(100.0 - min))).min(100.0))
        }
        (ItemKind::Percent { min }, true) => ItemValue::Percent((min - 8.0).max(0.0)),
    }
}

/// A tablet's photo of `finding`, signed by the tablet; its bytes are queued for storing.
fn photo(
    tablet: &Tablet,
    finding: &FindingRecord,
    kind: PhotoKind,
    at: i64,
    photos: &mut Vec<DemoPhoto>,
) -> PhotoRecord {
    let bytes = picture(finding.id, kind);
    let mut record = PhotoRecord {
        sha256: hex::encode(Sha256::digest(&bytes)),
        finding_id: Some(finding.id),
        inspection_id: None,
        kind,
        width: WIDTH,
        height: HEIGHT,
        size_bytes: bytes.len() as u64,
        captured_at: at,
        time_source: TimeSource::Trusted,
        device_clock_offset_ms: 0,
        position: finding.position,
        device_id: tablet.id,
        signature: String::new(),
        hlc: stamp(at, tablet.id.as_u128()),
        marked_from: None,
    };
    let message = fieldcheck_domain::device_signature::signed_message(&record);
    record.signature = hex::encode(tablet.key.sign(&message).to_bytes());
    photos.push((record.sha256.clone(), bytes, None));
    record
}

/// A unit's after-photo of `finding`, uploaded from the dashboard by `account`; its hash.
fn after_photo(
    finding: &FindingRecord,
    at: i64,
    account: &str,
    photos: &mut Vec<DemoPhoto>,
) -> String {
    let bytes = picture(finding.id, PhotoKind::Evidence);
    let sha = hex::encode(Sha256::digest(&bytes));
    let upload = crate::dashboard::finding::NewUpload {
        finding_id: finding.id,
        uploaded_by: account.to_string(),
        mime: "image/jpeg",
        width: WIDTH,
        height: HEIGHT,
        at,
    };
    photos.push((sha.clone(), bytes, Some(upload)));
    sha
}

const WIDTH: u32 = 640;
const HEIGHT: u32 = 480;

/// A street scene drawn by code: a sky-to-road gradient and, before the fix, a dark hole in
/// the road (a pothole, a missing cover); after it, a fresh grey patch in its place. Each
/// finding's differs (its id is drawn along the bottom edge), and so do the unit's and the
/// inspector's after-photos.
fn picture(finding: Uuid, kind: PhotoKind) -> Vec<u8> {
    let seed = finding.as_u128();
    let (cx, cy) = (160 + (seed % 320) as i64, 300 + ((seed >> 16) % 120) as i64);
    let radius = 40 + ((seed >> 32) % 40) as i64;
    // Before the fix a dark hole; after it, a fresh grey patch in its place.
    let broken = kind == PhotoKind::Before;
    let tint = if kind == PhotoKind::Evidence { 12 } else { 0 };
    let mut rgb = Vec::with_capacity((WIDTH * HEIGHT * 3) as usize);
    for y in 0..i64::from(HEIGHT) {
        for x in 0..i64::from(WIDTH) {
            let (dx, dy) = (x - cx, (y - cy) * 2);
            let inside = dx * dx + dy * dy < radius * radius;
            let (r, g, b) = if inside {
                if broken { (40, 36, 32) } else { (70, 72, 78) }
            } else if y < 200 {
                (150 + (y / 4) as u8, 185 + (y / 8) as u8, 225)
            } else {
                let shade = (110 + (y - 200) / 6) as u8;
                (shade, shade, shade + 8)
            };
            rgb.extend([r.saturating_add(tint), g, b]);
        }
    }
    // The finding's id along the bottom edge, a dark or light 5 × 8 block per bit: the scene's
    // few shapes can repeat among hundreds of findings, the picture cannot.
    let bits = finding.as_u128();
    for y in HEIGHT - 8..HEIGHT {
        for x in 0..WIDTH {
            let bit = (bits >> (x / 5).min(127)) & 1 == 1;
            let at = ((y * WIDTH + x) * 3) as usize;
            let v: u8 = if bit { 20 } else { 235 };
            rgb[at..at + 3].copy_from_slice(&[v.saturating_add(tint), v, v]);
        }
    }
    fieldcheck_photo_codec::encode(&rgb, WIDTH, HEIGHT)
}
