//! A tablet process for the tablet-crash test: a real store, photo directory and sync engine in
//! their own process, so that the test can SIGKILL it at any moment of a sync session.
//!
//! Usage: `tablet-sync DIR SERVER_URL MODE SEED [photo]`, with MODE one of
//! - `setup`: signs in as `crash` (password [`INSPECTOR_PASSWORD`]), pulls, records a day's
//!   chunk of work (6 inspections with every item answered, 20 findings, 20 photos), prints
//!   `recorded <records> <photos>` and exits;
//! - `loop`: records a little more work (an answer and a finding, with a photo when `photo`
//!   is given), prints `ready`, then runs sync sessions one after another until killed (at
//!   most 600 sessions or 60 s), printing `step <pushing|photos|pulling|idle>` as the engine
//!   moves and `ok ...` or `err ...` after each session;
//! - `final`: syncs until one session succeeds (at most 100 tries or 60 s), prints `synced`.

use anyhow::{Context, Result, bail};
use fieldcheck_core::photo::{CaptureRequest, DeviceKey, PhotoDir, PhotoPipeline, TrustedClock};
use fieldcheck_core::store::Store;
use fieldcheck_core::store::catalog::SiteQuery;
use fieldcheck_core::store::findings::NewFinding;
use fieldcheck_core::store::inspections::NewInspection;
use fieldcheck_core::sync::api::Timeouts;
use fieldcheck_core::sync::{SyncEngine, SyncStep};
use fieldcheck_protocol::{ItemKind, ItemValue, PhotoKind, Severity};
use fieldcheck_tests::server::INSPECTOR_PASSWORD;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const USER: &str = "crash";

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().context("DIR")?);
    let url = args.next().context("SERVER_URL")?;
    let mode = args.next().context("MODE")?;
    let seed: u64 = args.next().context("SEED")?.parse()?;
    let with_photo = args.next().as_deref() == Some("photo");
    let mut rng = StdRng::seed_from_u64(seed);

    let store = Arc::new(Mutex::new(Store::open(dir.join("tablet.db"))?));
    let clock = Arc::new(TrustedClock::new());
    let key = DeviceKey::load_or_create(&dir)?;
    let engine = SyncEngine::new(
        store.clone(),
        PhotoDir::open(dir.join("photos"))?,
        clock.clone(),
        key.clone(),
    )
    .with_timeouts(Timeouts {
        connect: Duration::from_secs(2),
        request: Duration::from_secs(10),
    });
    let pipeline = PhotoPipeline::new(PhotoDir::open(dir.join("photos"))?, clock, key);

    match mode.as_str() {
        "setup" => {
            engine.login(&url, USER, INSPECTOR_PASSWORD).await?;
            engine.sync_now().await?;
            let sources = source_jpegs(&dir, &mut rng)?;
            let mut s = store.lock().unwrap();
            let (records, photos) =
                record_work(&mut s, &pipeline, &sources, &mut rng, 6, 20, true)?;
            say(&format!("recorded {records} {photos}"));
        }
        "loop" => {
            let sources = source_jpegs(&dir, &mut rng)?;
            {
                let mut s = store.lock().unwrap();
                record_work(&mut s, &pipeline, &sources, &mut rng, 0, 1, with_photo)?;
            }
            let mut steps = engine.subscribe();
            tokio::spawn(async move {
                let mut last = SyncStep::Idle;
                while steps.changed().await.is_ok() {
                    let step = steps.borrow_and_update().step;
                    if step != last {
                        last = step;
                        say(&format!("step {}", step_name(step)));
                    }
                }
            });
            say("ready");
            let start = Instant::now();
            for _ in 0..600 {
                if start.elapsed() > Duration::from_secs(60) {
                    break;
                }
                match engine.sync_now().await {
                    Ok(r) => say(&format!(
                        "ok {} {} {}",
                        r.records_pushed, r.photos_uploaded, r.changes_pulled
                    )),
                    Err(e) => {
                        say(&format!(
                            "err {} {}",
                            e.is_transient(),
                            e.to_string().replace('\n', " ")
                        ));
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            }
        }
        "final" => {
            let start = Instant::now();
            let mut last = None;
            for _ in 0..100 {
                if start.elapsed() > Duration::from_secs(60) {
                    break;
                }
                match engine.sync_now().await {
                    Ok(_) => {
                        say("synced");
                        return Ok(());
                    }
                    Err(e) => {
                        say(&format!(
                            "err {} {}",
                            e.is_transient(),
                            e.to_string().replace('\n', " ")
                        ));
                        last = Some(e);
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            }
            bail!("no session succeeded: {last:?}");
        }
        other => bail!("unknown mode {other:?}"),
    }
    Ok(())
}

fn step_name(step: SyncStep) -> &'static str {
    match step {
        SyncStep::Idle => "idle",
        SyncStep::Pushing => "pushing",
        SyncStep::Photos => "photos",
        SyncStep::Pulling => "pulling",
    }
}

/// Camera-like source JPEGs, made once per tablet directory and reused (the pipeline's
/// watermark, stamped with the capture time, makes every stored photo different).
fn source_jpegs(dir: &Path, rng: &mut StdRng) -> Result<Vec<Vec<u8>>> {
    let src = dir.join("camera");
    std::fs::create_dir_all(&src)?;
    let mut out = Vec::new();
    for n in 0..4 {
        let path = src.join(format!("{n}.jpg"));
        if !path.exists() {
            let tmp = src.join(format!("{n}.tmp"));
            std::fs::write(
                &tmp,
                fieldcheck_tests::photos::noisy_jpeg(1600, 1200, rng.random()),
            )?;
            std::fs::rename(&tmp, &path)?;
        }
        out.push(std::fs::read(&path)?);
    }
    Ok(out)
}

/// An answer of the item's kind, compliant or not.
fn answer(kind: ItemKind, bad: bool, rng: &mut StdRng) -> ItemValue {
    match kind {
        ItemKind::Verdict if bad => ItemValue::NonCompliant,
        ItemKind::Verdict => ItemValue::Compliant,
        ItemKind::Count { min } if bad => ItemValue::Count(min.saturating_sub(1)),
        ItemKind::Count { min } => ItemValue::Count(min + rng.random_range(0..3)),
        ItemKind::Percent { min } if bad => ItemValue::Percent((min - 5.0).max(0.0)),
        ItemKind::Percent { .. } => ItemValue::Percent(rng.random_range(950..=1000) as f64 / 10.0),
    }
}

/// Records `inspections` new inspections with every item answered (then finished), and
/// `findings` findings (with one photo each when `with_photos`), on new or open inspections.
/// Returns the number of records written and of photos taken.
fn record_work(
    store: &mut Store,
    pipeline: &PhotoPipeline,
    sources: &[Vec<u8>],
    rng: &mut StdRng,
    inspections: usize,
    findings: usize,
    with_photos: bool,
) -> Result<(usize, usize)> {
    let sites = store.list_sites(&SiteQuery::default())?;
    if sites.is_empty() {
        bail!("no sites pulled");
    }
    let mut records = 0;
    let mut open = Vec::new();
    for n in 0..inspections.max(usize::from(
        findings > 0 && store.unfinished_inspections()?.is_empty(),
    )) {
        let site = &sites[(n + rng.random_range(0..sites.len())) % sites.len()];
        let template = store
            .latest_template_for(&site.site_type)?
            .context("template")?;
        let i = store.start_inspection(NewInspection {
            site_id: site.id,
            template_id: template.id.clone(),
            template_version: template.version,
            inspector: USER.into(),
            position: None,
        })?;
        records += 1;
        for item in &template.items {
            let bad = rng.random_bool(0.2);
            store.record_result(i.id, &item.code, answer(item.kind, bad, rng), "")?;
            records += 1;
        }
        open.push((i, site.clone(), template));
    }
    if open.is_empty() {
        for i in store.unfinished_inspections()? {
            let site = store.site(i.site_id)?;
            let template = store.template(&i.template_id, i.template_version)?;
            open.push((i, site, template));
        }
    }
    let taxonomy = store.taxonomy()?;
    let mut photos = 0;
    for n in 0..findings {
        let (inspection, site, template) = &open[n % open.len()];
        let item = &template.items[rng.random_range(0..template.items.len())];
        // A second look at the item: answered again, as inspectors do.
        store.record_result(
            inspection.id,
            &item.code,
            answer(item.kind, true, rng),
            "复查不合格",
        )?;
        let sub = &taxonomy[rng.random_range(0..taxonomy.len())];
        let finding = store.add_finding(NewFinding {
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
            reporter: USER.into(),
        })?;
        records += 2;
        if !with_photos {
            continue;
        }
        pipeline.capture(
            store,
            &CaptureRequest {
                bytes: &sources[rng.random_range(0..sources.len())],
                kind: PhotoKind::Before,
                finding_id: Some(finding.id),
                inspection_id: Some(inspection.id),
                position: None,
                site_name: &site.name,
                inspector: USER,
            },
        )?;
        records += 1;
        photos += 1;
    }
    if inspections > 0 {
        for (i, _, _) in &open {
            store.finish_inspection(i.id)?;
            records += 1;
        }
    }
    Ok((records, photos))
}
