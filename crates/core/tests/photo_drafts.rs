//! Photos taken in the finding form before 保存 (草稿照片), on real SQLite files: a draft
//! survives the store being closed and opened again and is found by its form; saving the
//! finding records and queues the finding, then its photos, in one transaction; 取消 removes
//! rows and files; a draft left for more than a week is removed at start; nothing of a finding
//! never saved is queued.

use crate::photo_support::{jpeg, pattern};
use fieldcheck_core::photo::{
    CaptureRequest, DRAFT_MAX_AGE_MS, DeviceKey, PhotoDir, PhotoPipeline, TrustedClock,
    tidy_at_start,
};
use fieldcheck_core::store::Store;
use fieldcheck_core::store::drafts::DraftForm;
use fieldcheck_core::store::findings::NewFinding;
use fieldcheck_core::store::inspections::NewInspection;
use fieldcheck_core::store::sync_state::PulledPage;
use fieldcheck_domain::clock::wall_clock_ms;
use fieldcheck_domain::device_signature::verify_record;
use fieldcheck_domain::pack_folder::load_pack;
use fieldcheck_protocol::{
    Category, Change, ChangeItem, PhotoKind, PhotoRecord, Record, Severity, Site,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tempfile::TempDir;
use uuid::Uuid;

const SITE: Uuid = Uuid::from_u128(0x51_7e);

/// A tablet's data directory with the real pack, one back alley and an inspection started.
struct Tablet {
    tmp: TempDir,
    inspection: Uuid,
}

impl Tablet {
    fn new() -> Tablet {
        let tmp = tempfile::tempdir().unwrap();
        let mut store = Store::open(db(tmp.path())).unwrap();
        let pack =
            load_pack(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../content/civilized-city"))
                .unwrap();
        store.import_pack(&pack).unwrap();
        let site = Site {
            id: SITE,
            name: "文庙后巷".into(),
            site_type: "back_alley".into(),
            district: "示范县".into(),
            street: "城关街道".into(),
            address: "文庙后巷 1 号".into(),
            position: None,
            unit: None,
            qr_code: None,
        };
        let changes = [Change {
            seq: 1,
            item: ChangeItem::Site(site),
        }];
        store
            .apply_pull(&PulledPage {
                changes: &changes,
                cursor: 1,
                scope_version: 0,
                reset: false,
            })
            .unwrap();
        let template = store.latest_template_for("back_alley").unwrap().unwrap();
        let inspection = store
            .start_inspection(NewInspection {
                site_id: SITE,
                template_id: template.id.clone(),
                template_version: template.version,
                inspector: "xiaozhang".into(),
                position: None,
            })
            .unwrap()
            .id;
        Tablet { tmp, inspection }
    }

    /// Opens the store as the app does at start: the database, then the photo directory tidied.
    fn open(&self) -> Store {
        let mut store = Store::open(db(self.tmp.path())).unwrap();
        tidy_at_start(&mut store, &self.dir(), wall_clock_ms()).unwrap();
        store
    }

    fn dir(&self) -> PhotoDir {
        PhotoDir::open(self.tmp.path().join("photos"))
            .unwrap()
            .with_min_free_bytes(0)
    }

    /// The photo pipeline, its trusted clock at `now_ms`.
    fn pipeline(&self, now_ms: i64) -> PhotoPipeline {
        let clock = Arc::new(TrustedClock::new());
        clock.observe_server_time(now_ms);
        PhotoPipeline::new(self.dir(), clock, self.key())
    }

    fn key(&self) -> DeviceKey {
        DeviceKey::load_or_create(self.tmp.path()).unwrap()
    }

    /// The form of a finding recorded from BA-03 (井盖完好) in the inspection.
    fn form(&self) -> DraftForm {
        DraftForm {
            site_id: SITE,
            inspection_id: Some(self.inspection),
            item_code: Some("BA-03".into()),
        }
    }

    fn files(&self, sha: &str) -> [PathBuf; 2] {
        let dir = self.dir();
        [dir.photo_path(sha), dir.thumb_path(sha)]
    }
}

fn db(dir: &Path) -> PathBuf {
    dir.join("fieldcheck.db")
}

/// Takes one draft photo for `finding` in `form`.
fn take(
    pipeline: &PhotoPipeline,
    store: &mut Store,
    form: &DraftForm,
    finding: Uuid,
    seed: u64,
) -> PhotoRecord {
    let bytes = jpeg(&pattern(800, 600, 20, seed), 800, 600, 85, None);
    let request = CaptureRequest {
        bytes: &bytes,
        kind: PhotoKind::Before,
        finding_id: Some(finding),
        inspection_id: form.inspection_id,
        position: None,
        site_name: "文庙后巷",
        inspector: "小张",
    };
    pipeline.capture_draft(store, form, &request).unwrap()
}

fn manhole(inspection: Uuid) -> NewFinding {
    NewFinding {
        site_id: SITE,
        inspection_id: Some(inspection),
        item_code: Some("BA-03".into()),
        category: Category::Component,
        subcategory: "manhole_cover".into(),
        description: "井盖完好：不符合要求".into(),
        severity: Severity::Major,
        position: None,
        unit: Some("housing".into()),
        deadline: None,
        same_day: false,
        reporter: "xiaozhang".into(),
    }
}

/// What the outbox holds, as kinds in sequence order.
fn queued(store: &Store) -> Vec<&'static str> {
    store
        .outbox_pending(100)
        .unwrap()
        .into_iter()
        .map(|e| match e.record {
            Record::Inspection(_) => "inspection",
            Record::Finding(_) => "finding",
            Record::Photo(_) => "photo",
            _ => "other",
        })
        .collect()
}

#[test]
fn a_photo_taken_before_saving_survives_a_restart_and_is_queued_after_its_finding() {
    let t = Tablet::new();
    let form = t.form();
    let (finding, first, second) = {
        let mut store = t.open();
        let draft = store.finding_draft(&form).unwrap();
        assert!(draft.photos.is_empty(), "a new form has no photos");
        let p = t.pipeline(wall_clock_ms());
        let first = take(&p, &mut store, &form, draft.finding_id, 1);
        let second = take(&p, &mut store, &form, draft.finding_id, 2);
        assert_eq!(queued(&store), ["inspection"], "a draft is never queued");
        (draft.finding_id, first, second)
        // The store and the pipeline are dropped here: the app is gone.
    };

    let mut store = t.open();
    for sha in [&first.sha256, &second.sha256] {
        for file in t.files(sha) {
            assert!(file.is_file(), "{} was removed at start", file.display());
        }
    }
    let draft = store.finding_draft(&form).unwrap();
    assert_eq!(
        draft.finding_id, finding,
        "the form finds its finding again"
    );
    let shas: Vec<_> = draft.photos.iter().map(|p| p.sha256.as_str()).collect();
    assert_eq!(shas, [first.sha256.as_str(), second.sha256.as_str()]);
    // Another form (another item) does not see them.
    let other = DraftForm {
        item_code: Some("BA-01".into()),
        ..form.clone()
    };
    let fresh = store.finding_draft(&other).unwrap();
    assert_ne!(fresh.finding_id, finding);
    assert!(fresh.photos.is_empty());
    assert_eq!(queued(&store), ["inspection"]);

    let saved = store
        .add_finding_as(finding, manhole(t.inspection))
        .unwrap();
    assert_eq!(saved.id, finding);
    let outbox = store.outbox_pending(100).unwrap();
    assert_eq!(
        queued(&store),
        ["inspection", "finding", "photo", "photo"],
        "the finding first, then its photos"
    );
    let Record::Photo(sent) = &outbox[2].record else {
        unreachable!()
    };
    assert_eq!(sent.sha256, first.sha256);
    assert_eq!(sent.finding_id, Some(finding));
    assert!(outbox[1].hlc < outbox[2].hlc && outbox[2].hlc < outbox[3].hlc);
    assert!(
        verify_record(&t.key().public_key_hex(), sent),
        "signed for the finding's id as taken"
    );
    let recorded: Vec<_> = store
        .finding_photos(finding)
        .unwrap()
        .into_iter()
        .map(|p| p.sha256)
        .collect();
    assert_eq!(recorded, [first.sha256.clone(), second.sha256.clone()]);
    assert!(store.draft_photos(finding).unwrap().is_empty());
    // The form for that item starts afresh, and the photos stay after the next start.
    assert_ne!(store.finding_draft(&form).unwrap().finding_id, finding);
    drop(store);
    let mut store = t.open();
    assert!(t.files(&first.sha256)[0].is_file());
    assert_eq!(store.finding_photos(finding).unwrap().len(), 2);
    assert!(
        store
            .add_finding_as(finding, manhole(t.inspection))
            .is_err(),
        "saved once"
    );
}

#[test]
fn discarding_a_draft_removes_its_records_and_files_and_queues_nothing() {
    let t = Tablet::new();
    let form = t.form();
    let mut store = t.open();
    let finding = store.finding_draft(&form).unwrap().finding_id;
    let p = t.pipeline(wall_clock_ms());
    let photos = [
        take(&p, &mut store, &form, finding, 3),
        take(&p, &mut store, &form, finding, 4),
    ];

    assert_eq!(p.discard_draft(&mut store, finding).unwrap(), 2);
    for photo in &photos {
        for file in t.files(&photo.sha256) {
            assert!(!file.exists(), "{} is still there", file.display());
        }
        assert!(!store.keeps_photo_file(&photo.sha256).unwrap());
    }
    assert!(store.draft_photos(finding).unwrap().is_empty());
    assert_ne!(store.finding_draft(&form).unwrap().finding_id, finding);
    assert_eq!(queued(&store), ["inspection"]);
    drop(store);
    let store = t.open();
    assert!(store.draft_photos(finding).unwrap().is_empty());
    assert_eq!(queued(&store), ["inspection"]);
}

#[test]
fn a_draft_left_for_more_than_a_week_is_removed_at_start() {
    let t = Tablet::new();
    let form = t.form();
    let now = wall_clock_ms();
    let (old, recent) = {
        let mut store = t.open();
        let old_finding = Uuid::now_v7();
        let old = take(
            &t.pipeline(now - DRAFT_MAX_AGE_MS - 3_600_000),
            &mut store,
            &form,
            old_finding,
            5,
        );
        let other_form = DraftForm {
            item_code: Some("BA-01".into()),
            ..form.clone()
        };
        let recent = take(&t.pipeline(now), &mut store, &other_form, Uuid::now_v7(), 6);
        (old, recent)
    };

    let store = t.open();
    assert!(
        store.finding_draft(&form).unwrap().photos.is_empty(),
        "the week-old draft is gone"
    );
    for file in t.files(&old.sha256) {
        assert!(!file.exists(), "{} is still there", file.display());
    }
    assert!(store.keeps_photo_file(&recent.sha256).unwrap());
    for file in t.files(&recent.sha256) {
        assert!(
            file.is_file(),
            "the recent draft's {} is gone",
            file.display()
        );
    }
    assert_eq!(queued(&store), ["inspection"]);
}

#[test]
fn a_draft_belongs_to_one_form_and_one_unsaved_finding() {
    let t = Tablet::new();
    let form = t.form();
    let mut store = t.open();
    let p = t.pipeline(wall_clock_ms());
    let finding = store.finding_draft(&form).unwrap().finding_id;
    take(&p, &mut store, &form, finding, 7);

    // The same finding's photo from another form is refused.
    let bytes = jpeg(&pattern(800, 600, 20, 8), 800, 600, 85, None);
    let request = CaptureRequest {
        bytes: &bytes,
        kind: PhotoKind::Before,
        finding_id: Some(finding),
        inspection_id: None,
        position: None,
        site_name: "文庙后巷",
        inspector: "小张",
    };
    let elsewhere = DraftForm {
        site_id: SITE,
        inspection_id: None,
        item_code: None,
    };
    assert!(p.capture_draft(&mut store, &elsewhere, &request).is_err());
    // A photo of an unsaved finding is not recorded as an ordinary one.
    assert!(p.capture(&mut store, &request).is_err());
    // Once saved, a draft photo for it is refused: it is recorded as an ordinary photo.
    store
        .add_finding_as(finding, manhole(t.inspection))
        .unwrap();
    let request = CaptureRequest {
        inspection_id: Some(t.inspection),
        ..request
    };
    assert!(p.capture_draft(&mut store, &form, &request).is_err());
    p.capture(&mut store, &request).unwrap();
    assert_eq!(queued(&store), ["inspection", "finding", "photo", "photo"]);
    // No file is left that no record keeps.
    let dir = t.dir();
    assert_eq!(
        dir.remove_unrecorded(|sha| store.keeps_photo_file(sha))
            .unwrap(),
        0
    );
}
