//! 回头看 in the field: the photo cache stays under its cap (least recently used out first,
//! never the tablet's own photos), a page pulled under a new scope retires other tablets'
//! findings but never unsent work, check-ins are signed and vouch for their day, and a marked
//! copy is a second signed photo linked to an untouched original.

use crate::photo_support::{jpeg, pattern};
use fieldcheck_core::photo::{
    CaptureRequest, DeviceKey, PhotoCache, PhotoDir, PhotoError, PhotoPipeline, TrustedClock,
};
use fieldcheck_core::store::Store;
use fieldcheck_core::store::photo_cache::CacheVariant;
use fieldcheck_core::store::sync_state::PulledPage;
use fieldcheck_domain::device_signature::{verify_check_in, verify_record};
use fieldcheck_protocol::{
    Category, Change, ChangeItem, FindingRecord, Hlc, PhotoKind, PhotoRecord, Record, Severity,
    Site, SiteType, TimeSource,
};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use tempfile::TempDir;
use uuid::Uuid;

fn site() -> Site {
    Site {
        id: Uuid::from_u128(0x51_7e),
        name: "文庙后巷".into(),
        site_type: "back_alley".into(),
        district: "示范县".into(),
        street: "城关街道".into(),
        address: "文庙后巷 1 号".into(),
        position: None,
        unit: None,
        qr_code: None,
    }
}

fn remote_finding(site: Uuid) -> FindingRecord {
    FindingRecord {
        id: Uuid::now_v7(),
        site_id: site,
        inspection_id: None,
        item_code: None,
        category: Category::Component,
        subcategory: "manhole_cover".into(),
        description: "井盖破损".into(),
        severity: Severity::Major,
        position: None,
        unit: None,
        deadline: None,
        same_day: false,
        reporter: "inspector_a".into(),
        device_id: Uuid::now_v7(),
        created_at: 1_764_028_800_000,
        hlc: Hlc::ZERO,
    }
}

fn remote_photo(finding: Uuid, seed: u8) -> PhotoRecord {
    PhotoRecord {
        sha256: hex::encode(Sha256::digest([seed])),
        finding_id: Some(finding),
        inspection_id: None,
        kind: PhotoKind::Before,
        width: 640,
        height: 480,
        size_bytes: 1000,
        captured_at: 1_764_028_800_000,
        time_source: TimeSource::Trusted,
        device_clock_offset_ms: 0,
        position: None,
        device_id: Uuid::now_v7(),
        signature: String::new(),
        hlc: Hlc::ZERO,
        marked_from: None,
    }
}

fn page(changes: &[Change], cursor: u64, scope_version: u64, reset: bool) -> PulledPage<'_> {
    PulledPage {
        changes,
        cursor,
        scope_version,
        reset,
    }
}

fn changes(items: Vec<ChangeItem>) -> Vec<Change> {
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| Change {
            seq: i as u64 + 1,
            item,
        })
        .collect()
}

struct Tablet {
    tmp: TempDir,
    store: Store,
    pipeline: PhotoPipeline,
}

fn tablet() -> Tablet {
    let tmp = tempfile::tempdir().unwrap();
    let mut store = Store::open(tmp.path().join("fieldcheck.db")).unwrap();
    let catalog = changes(vec![
        ChangeItem::SiteType(SiteType {
            code: "back_alley".into(),
            name_zh: "背街小巷".into(),
            name_en: "Back alley".into(),
        }),
        ChangeItem::Site(site()),
    ]);
    store.apply_pull(&page(&catalog, 2, 0, false)).unwrap();
    let clock = Arc::new(TrustedClock::new());
    clock.observe_server_time(1_764_028_800_000);
    let pipeline = PhotoPipeline::new(
        PhotoDir::open(tmp.path().join("photos"))
            .unwrap()
            .with_min_free_bytes(0),
        clock,
        DeviceKey::load_or_create(tmp.path()).unwrap(),
    );
    Tablet {
        tmp,
        store,
        pipeline,
    }
}

fn capture(t: &mut Tablet, finding: Uuid, kind: PhotoKind, seed: u64) -> PhotoRecord {
    let bytes = jpeg(&pattern(800, 600, 20, seed), 800, 600, 85, None);
    let request = CaptureRequest {
        bytes: &bytes,
        kind,
        finding_id: Some(finding),
        inspection_id: None,
        position: None,
        site_name: "文庙后巷",
        inspector: "inspector_b",
    };
    t.pipeline.capture(&mut t.store, &request).unwrap()
}

#[test]
fn the_photo_cache_never_exceeds_its_cap_and_evicts_the_least_recently_used() {
    let mut t = tablet();
    let finding = remote_finding(site().id);
    t.store
        .apply_pull(&page(
            &changes(vec![ChangeItem::Finding(finding.clone())]),
            1,
            0,
            false,
        ))
        .unwrap();
    let own = capture(&mut t, finding.id, PhotoKind::After, 99);
    let cache = PhotoCache::open(t.tmp.path().join("photo-cache")).unwrap();
    assert_eq!(
        t.store.photo_cache_cap().unwrap(),
        1 << 30,
        "1 GiB by default"
    );
    let photos: Vec<(String, Vec<u8>)> = (0..40)
        .map(|seed| {
            let bytes = jpeg(&pattern(240, 180, 30, 2 * seed + 2), 240, 180, 80, None);
            assert!(bytes.len() < 40_000, "{} bytes", bytes.len());
            (hex::encode(Sha256::digest(&bytes)), bytes)
        })
        .collect();
    // Room for about five of the forty.
    let cap: u64 = photos.iter().take(5).map(|p| p.1.len() as u64).sum();
    t.store.set_photo_cache_cap(cap).unwrap();
    let mut now = 1_000;
    for (i, (sha, bytes)) in photos.iter().enumerate() {
        now += 10;
        cache
            .put(&mut t.store, sha, CacheVariant::Full, bytes, now)
            .unwrap();
        // The first photo is looked at after every put: the least recently used go first.
        now += 1;
        let first = cache
            .get(&mut t.store, &photos[0].0, CacheVariant::Full, now)
            .unwrap();
        assert!(first.is_some(), "the photo in use stays (after put {i})");
        assert!(
            t.store.cache_total().unwrap() <= cap,
            "index within the cap"
        );
        assert!(cache.bytes_on_disk().unwrap() <= cap, "disk within the cap");
    }
    assert!(
        cache
            .get(&mut t.store, &photos[1].0, CacheVariant::Full, now)
            .unwrap()
            .is_none(),
        "an old photo nobody looked at was evicted"
    );
    let newest = &photos[39];
    assert_eq!(
        std::fs::read(
            cache
                .get(&mut t.store, &newest.0, CacheVariant::Full, now)
                .unwrap()
                .unwrap()
        )
        .unwrap(),
        newest.1
    );
    // The tablet's own photo lives in the photo directory: the cache never touches it.
    assert!(t.pipeline.dir().photo_path(&own.sha256).is_file());

    // What the server sends is checked before it is kept.
    let thumb = jpeg(&pattern(160, 120, 10, 9), 160, 120, 80, None);
    let escape = cache.put(
        &mut t.store,
        "../../photos/evil",
        CacheVariant::Thumb,
        &thumb,
        now,
    );
    assert!(
        matches!(escape, Err(PhotoError::HashMismatch { .. })),
        "a name that is not a hash"
    );
    assert!(!t.tmp.path().join("photos/evil.jpg").exists());
    let wrong = cache.put(
        &mut t.store,
        &"0".repeat(64),
        CacheVariant::Full,
        &photos[2].1,
        now,
    );
    assert!(matches!(wrong, Err(PhotoError::HashMismatch { .. })));
    let huge = jpeg(&pattern(800, 600, 120, 7), 800, 600, 100, None);
    assert!(huge.len() as u64 > cap);
    let sha = hex::encode(Sha256::digest(&huge));
    let refused = cache.put(&mut t.store, &sha, CacheVariant::Full, &huge, now);
    assert!(matches!(refused, Err(PhotoError::CacheTooSmall)));
    assert!(cache.bytes_on_disk().unwrap() <= cap);
}

#[test]
fn a_reset_page_retires_other_tablets_findings_but_keeps_unsent_work() {
    let mut t = tablet();
    let (gone, kept) = (remote_finding(site().id), remote_finding(site().id));
    let items = vec![
        ChangeItem::Finding(gone.clone()),
        ChangeItem::Photo(remote_photo(gone.id, 1)),
        ChangeItem::Finding(kept.clone()),
        // A photo record of a finding this tablet does not hold is skipped.
        ChangeItem::Photo(remote_photo(Uuid::now_v7(), 2)),
    ];
    t.store
        .apply_pull(&page(&changes(items), 4, 0, false))
        .unwrap();
    assert_eq!(t.store.finding_photos(gone.id).unwrap().len(), 1);
    assert!(
        t.store
            .is_remote_photo(&remote_photo(gone.id, 1).sha256)
            .unwrap()
    );
    assert!(
        !t.store
            .has_photo(&remote_photo(Uuid::nil(), 2).sha256)
            .unwrap()
    );
    assert_eq!(
        t.store.photos_not_uploaded().unwrap(),
        [],
        "pulled photos are the server's already"
    );
    // This tablet's after-photo of `kept`, not sent yet.
    let after = capture(&mut t, kept.id, PhotoKind::After, 5);

    let newcomer = remote_finding(site().id);
    let next = changes(vec![ChangeItem::Finding(newcomer.clone())]);
    t.store.apply_pull(&page(&next, 9, 3, true)).unwrap();
    assert!(t.store.finding(gone.id).is_err(), "left the scope");
    assert!(!t.store.has_photo(&remote_photo(gone.id, 1).sha256).unwrap());
    assert!(t.store.finding(kept.id).is_ok(), "unsent work refers to it");
    assert!(t.store.has_photo(&after.sha256).unwrap());
    assert!(t.store.finding(newcomer.id).is_ok());
    let state = t.store.sync_state().unwrap();
    assert_eq!((state.pull_cursor, state.scope_version), (9, Some(3)));
    assert_eq!(t.store.integrity_check().unwrap(), ["ok"]);
}

#[test]
fn a_check_in_is_signed_queued_and_vouches_for_its_day_only() {
    let mut t = tablet();
    let label = fieldcheck_domain::site_label::SiteLabel {
        county: Uuid::now_v7(),
        site: site().id,
    }
    .text();
    let record = t
        .pipeline
        .check_in(&mut t.store, site().id, &label, "inspector_b", None)
        .unwrap();
    let key = DeviceKey::load_or_create(t.tmp.path()).unwrap();
    assert!(verify_check_in(&key.public_key_hex(), &record));
    let mut moved = record.clone();
    moved.at += 3_600_000;
    assert!(
        !verify_check_in(&key.public_key_hex(), &moved),
        "the time is signed"
    );
    let queued = t.store.outbox_pending(10).unwrap();
    assert!(matches!(&queued[0].record, Record::CheckIn(c) if c.id == record.id));
    assert_eq!(
        t.store
            .check_in_on_day(site().id, record.at + 60_000)
            .unwrap()
            .map(|c| c.id),
        Some(record.id)
    );
    assert_eq!(
        t.store
            .check_in_on_day(site().id, record.at + 86_400_000)
            .unwrap(),
        None
    );
    let unknown = t
        .pipeline
        .check_in(&mut t.store, Uuid::now_v7(), &label, "inspector_b", None);
    assert!(unknown.is_err(), "a site the tablet does not hold");
    assert_eq!(t.store.outbox_pending(10).unwrap().len(), 1);
}

#[test]
fn a_marked_copy_is_a_second_signed_photo_and_the_original_stays_as_captured() {
    let mut t = tablet();
    let finding = remote_finding(site().id);
    t.store
        .apply_pull(&page(
            &changes(vec![ChangeItem::Finding(finding.clone())]),
            1,
            0,
            false,
        ))
        .unwrap();
    let original = capture(&mut t, finding.id, PhotoKind::After, 11);
    let original_bytes = std::fs::read(t.pipeline.dir().photo_path(&original.sha256)).unwrap();
    // What the marking screen exports: the photo with red strokes, as a JPEG.
    let mut rgb = pattern(320, 240, 20, 11);
    for px in rgb.chunks_mut(3).skip(320 * 100).take(320 * 6) {
        px.copy_from_slice(&[230, 20, 20]);
    }
    let drawn = jpeg(&rgb, 320, 240, 90, None);
    let marked = t
        .pipeline
        .mark(&mut t.store, &original.sha256, &drawn)
        .unwrap();
    assert_eq!(
        marked.marked_from.as_deref(),
        Some(original.sha256.as_str())
    );
    assert_eq!(
        (marked.finding_id, marked.kind),
        (Some(finding.id), PhotoKind::After)
    );
    assert_ne!(marked.sha256, original.sha256);
    let key = DeviceKey::load_or_create(t.tmp.path()).unwrap();
    assert!(verify_record(&key.public_key_hex(), &marked));
    let mut unlinked = marked.clone();
    unlinked.marked_from = None;
    assert!(
        !verify_record(&key.public_key_hex(), &unlinked),
        "the link is signed"
    );
    assert_eq!(
        std::fs::read(t.pipeline.dir().photo_path(&original.sha256)).unwrap(),
        original_bytes,
        "the original is untouched"
    );
    let stored = std::fs::read(t.pipeline.dir().photo_path(&marked.sha256)).unwrap();
    assert_eq!(hex::encode(Sha256::digest(&stored)), marked.sha256);
    assert_eq!(t.store.finding_photos(finding.id).unwrap().len(), 2);

    let before = t.store.outbox_pending(100).unwrap().len();
    let orphan = t.pipeline.mark(&mut t.store, &"a".repeat(64), &drawn);
    assert!(orphan.is_err(), "no original");
    let garbage = t
        .pipeline
        .mark(&mut t.store, &original.sha256, b"not an image");
    assert!(garbage.is_err());
    assert_eq!(
        t.store.outbox_pending(100).unwrap().len(),
        before,
        "nothing queued"
    );
}
