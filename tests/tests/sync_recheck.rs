//! 回头看 across two tablets and a real server: inspector B's tablet receives inspector A's
//! finding with its before-photo's record and thumbnail after a pull, fetches the whole photo
//! when a re-check opens it, and, when the office confines B to districts, drops its copy and
//! pulls again under the new scope without losing anything of its own.

use fieldcheck_core::store::catalog::SiteQuery;
use fieldcheck_core::store::photo_cache::CacheVariant;
use fieldcheck_core::sync::api::Timeouts;
use fieldcheck_tests::server::{INSPECTOR_PASSWORD, ServerProcess, admin};
use fieldcheck_tests::tablet::Tablet;
use rand::SeedableRng;
use rand::rngs::StdRng;
use sha2::{Digest, Sha256};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recheck_tablet_gets_the_before_photo_and_follows_its_scope() {
    let server_dir = tempfile::tempdir().unwrap();
    ServerProcess::prepare(server_dir.path(), &["inspector_a", "inspector_b"]).unwrap();
    let server = ServerProcess::start(server_dir.path()).unwrap();
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let rng = &mut StdRng::seed_from_u64(11);
    let a = Tablet::open(dir_a.path(), "inspector_a", Timeouts::default(), rng);
    let b = Tablet::open(dir_b.path(), "inspector_b", Timeouts::default(), rng);
    for t in [&a, &b] {
        t.engine
            .login(&server.url, &t.user, INSPECTOR_PASSWORD)
            .await
            .unwrap();
        t.engine.sync_now().await.unwrap();
    }

    // A records a finding with a before-photo and syncs.
    let site = a
        .store
        .lock()
        .unwrap()
        .list_sites(&SiteQuery::default())
        .unwrap()[0]
        .clone();
    let (finding, before) = a.report_finding(&site.name, 3);
    a.engine.sync_now().await.unwrap();

    // B's next sync brings the finding, the photo's record and its thumbnail.
    let report = b.engine.sync_now().await.unwrap();
    assert!(report.photos_fetched >= 1, "{report:?}");
    {
        let store = b.store.lock().unwrap();
        let photos = store.finding_photos(finding.id).unwrap();
        assert_eq!(photos.len(), 1);
        let signed = |p: &fieldcheck_protocol::PhotoRecord| (p.sha256.clone(), p.signature.clone());
        assert_eq!(
            signed(&photos[0]),
            signed(&before),
            "the record as A signed it"
        );
        assert!(store.is_remote_photo(&before.sha256).unwrap());
        assert!(
            store
                .cache_has(&before.sha256, CacheVariant::Thumb)
                .unwrap()
        );
        assert!(!store.cache_has(&before.sha256, CacheVariant::Full).unwrap());
    }
    // Opening it on the re-check screen fetches it whole: A's bytes, exactly.
    let path = b.engine.fetch_photo(&before.sha256).await.unwrap();
    let bytes = std::fs::read(path).unwrap();
    let hash: String = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(hash, before.sha256);

    // Assigned to the site for today, B's tablet fetches the next before-photo there whole
    // while online, before anyone opens it.
    let today =
        fieldcheck_domain::china_time::china_date(fieldcheck_domain::clock::wall_clock_ms());
    admin(
        server_dir.path(),
        &[
            "assign",
            "--inspector",
            "inspector_b",
            "--site",
            &site.id.to_string(),
            "--date",
            &today,
        ],
    )
    .unwrap();
    let (_, second) = a.report_finding(&site.name, 4);
    a.engine.sync_now().await.unwrap();
    b.engine.sync_now().await.unwrap();
    assert!(
        b.store
            .lock()
            .unwrap()
            .cache_has(&second.sha256, CacheVariant::Full)
            .unwrap(),
        "today's re-check photo is prefetched whole"
    );

    // The office confines B to its district: the scope version moves, B's tablet drops what
    // it pulled and pulls again; the finding (in that district) comes back, nothing is lost.
    let out = admin(
        server_dir.path(),
        &["user", "districts", "inspector_b", &site.district],
    )
    .unwrap();
    assert!(out.contains("scope version 1"), "{out}");
    let report = b.engine.sync_now().await.unwrap();
    assert!(report.changes_pulled > 0);
    let store = b.store.lock().unwrap();
    assert_eq!(store.sync_state().unwrap().scope_version, Some(1));
    assert_eq!(store.finding(finding.id).unwrap().id, finding.id);
    assert_eq!(store.finding_photos(finding.id).unwrap().len(), 1);
    drop(store);
    let refused = admin(
        server_dir.path(),
        &["user", "districts", "inspector_b", "没有这个区"],
    );
    assert!(refused.is_err(), "a district no site lies in is refused");
}
