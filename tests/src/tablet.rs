//! A tablet inside a test process: store, photo pipeline, photo cache and sync engine over one
//! directory, and a generator of realistic work (inspections, answers, findings, photos).

use fieldcheck_core::photo::{
    CaptureRequest, DeviceKey, PhotoCache, PhotoDir, PhotoPipeline, TrustedClock,
};
use fieldcheck_core::store::Store;
use fieldcheck_core::store::catalog::SiteQuery;
use fieldcheck_core::store::findings::NewFinding;
use fieldcheck_core::store::inspections::NewInspection;
use fieldcheck_core::sync::SyncEngine;
use fieldcheck_core::sync::api::Timeouts;
use fieldcheck_protocol::{
    Category, FindingRecord, InspectionRecord, ItemKind, ItemValue, PhotoKind, PhotoRecord,
    Severity,
};
use rand::Rng;
use rand::rngs::StdRng;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// A tablet in this process: store, photo pipeline and sync engine over one directory.
pub struct Tablet {
    /// Its store.
    pub store: Arc<Mutex<Store>>,
    /// Its sync engine.
    pub engine: Arc<SyncEngine>,
    /// Its photo pipeline.
    pub photos: PhotoPipeline,
    /// Its cache of other tablets' photos, filled by the engine.
    pub cache: PhotoCache,
    /// The inspector's account name.
    pub user: String,
    sources: Vec<Vec<u8>>,
}

impl Tablet {
    /// Opens (or creates) a tablet in `dir` for inspector `user`.
    pub fn open(dir: &Path, user: &str, timeouts: Timeouts, rng: &mut StdRng) -> Tablet {
        let store = Arc::new(Mutex::new(Store::open(dir.join("tablet.db")).unwrap()));
        let clock = Arc::new(TrustedClock::new());
        let key = DeviceKey::load_or_create(dir).unwrap();
        let cache = PhotoCache::open(dir.join("photo-cache")).unwrap();
        let engine = SyncEngine::new(
            store.clone(),
            PhotoDir::open(dir.join("photos")).unwrap(),
            clock.clone(),
            key.clone(),
        )
        .with_photo_cache(cache.clone())
        .with_timeouts(timeouts);
        let photos = PhotoPipeline::new(PhotoDir::open(dir.join("photos")).unwrap(), clock, key);
        let sources = (0..2)
            .map(|_| crate::photos::noisy_jpeg(1600, 1200, rng.random()))
            .collect();
        Tablet {
            store,
            engine: Arc::new(engine),
            photos,
            cache,
            user: user.to_string(),
            sources,
        }
    }

    /// Reports a finding at the site named `site_name` (a broken manhole cover, outside any
    /// inspection) with one before-photo made from `seed`; returns both records.
    pub fn report_finding(&self, site_name: &str, seed: u64) -> (FindingRecord, PhotoRecord) {
        let mut store = self.store.lock().unwrap();
        let site = store
            .list_sites(&SiteQuery::default())
            .unwrap()
            .into_iter()
            .find(|s| s.name == site_name)
            .expect("the site was pulled");
        let finding = store
            .add_finding(NewFinding {
                site_id: site.id,
                inspection_id: None,
                item_code: None,
                category: Category::Component,
                subcategory: "manhole_cover".into(),
                description: "井盖缺失，需复查".into(),
                severity: Severity::Critical,
                position: None,
                unit: None,
                deadline: None,
                same_day: false,
                reporter: self.user.clone(),
            })
            .unwrap();
        let jpeg = crate::photos::noisy_jpeg(1600, 1200, seed);
        let photo = self
            .photos
            .capture(
                &mut store,
                &CaptureRequest {
                    bytes: &jpeg,
                    kind: PhotoKind::Before,
                    finding_id: Some(finding.id),
                    inspection_id: None,
                    position: None,
                    site_name: &site.name,
                    inspector: &self.user,
                },
            )
            .unwrap();
        (finding, photo)
    }

    /// Records one more piece of work: a new inspection with every item answered when none is
    /// open (finishing the open one now and then), a second answer, a finding, maybe a photo.
    pub fn record(&self, rng: &mut StdRng, photo: bool) {
        let mut store = self.store.lock().unwrap();
        let open: Vec<InspectionRecord> = store.unfinished_inspections().unwrap();
        let inspection = match open.into_iter().next() {
            Some(i) if rng.random_bool(0.85) => i,
            other => {
                if let Some(i) = other {
                    store.finish_inspection(i.id).unwrap();
                }
                let sites = store.list_sites(&SiteQuery::default()).unwrap();
                let site = &sites[rng.random_range(0..sites.len())];
                let t = store.latest_template_for(&site.site_type).unwrap().unwrap();
                let i = store
                    .start_inspection(NewInspection {
                        site_id: site.id,
                        template_id: t.id.clone(),
                        template_version: t.version,
                        inspector: self.user.clone(),
                        position: None,
                    })
                    .unwrap();
                for item in &t.items {
                    store
                        .record_result(i.id, &item.code, answer(item.kind, false), "")
                        .unwrap();
                }
                i
            }
        };
        let site = store.site(inspection.site_id).unwrap();
        let t = store
            .template(&inspection.template_id, inspection.template_version)
            .unwrap();
        let item = &t.items[rng.random_range(0..t.items.len())];
        store
            .record_result(inspection.id, &item.code, answer(item.kind, true), "复查")
            .unwrap();
        let taxonomy = store.taxonomy().unwrap();
        let sub = &taxonomy[rng.random_range(0..taxonomy.len())];
        let finding = store
            .add_finding(NewFinding {
                site_id: site.id,
                inspection_id: Some(inspection.id),
                item_code: Some(item.code.clone()),
                category: sub.category,
                subcategory: sub.code.clone(),
                description: format!("{}问题 #{}", sub.name_zh, rng.random::<u16>()),
                severity: Severity::Minor,
                position: None,
                unit: None,
                deadline: None,
                same_day: false,
                reporter: self.user.clone(),
            })
            .unwrap();
        if photo {
            let bytes = &self.sources[rng.random_range(0..self.sources.len())];
            self.photos
                .capture(
                    &mut store,
                    &CaptureRequest {
                        bytes,
                        kind: PhotoKind::Before,
                        finding_id: Some(finding.id),
                        inspection_id: Some(inspection.id),
                        position: None,
                        site_name: &site.name,
                        inspector: &self.user,
                    },
                )
                .unwrap();
        }
    }
}

/// A compliant answer of the item's kind, or a non-compliant one when `bad`.
pub fn answer(kind: ItemKind, bad: bool) -> ItemValue {
    match kind {
        ItemKind::Verdict if bad => ItemValue::NonCompliant,
        ItemKind::Verdict => ItemValue::Compliant,
        ItemKind::Count { min } => {
            ItemValue::Count(if bad { min.saturating_sub(1) } else { min + 1 })
        }
        ItemKind::Percent { min } => {
            ItemValue::Percent(if bad { (min - 5.0).max(0.0) } else { 99.0 })
        }
    }
}
