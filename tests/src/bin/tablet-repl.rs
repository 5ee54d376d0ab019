//! A tablet process driven line by line from stdin, for tests that need a tablet with its own
//! system clock: the skewed-clocks test runs it under `faketime`, so its wall clock really is a
//! day off while the test and the server keep the right time.
//!
//! Usage: `tablet-repl DIR`, then one command per line, each answered by one line:
//! - `login URL USER` (password [`INSPECTOR_PASSWORD`]) → `ok`;
//! - `sync` → `ok` or `err MESSAGE`;
//! - `finding` → records a finding with a before photo at the first back alley → `finding ID`;
//! - `step ID ACTION [UNIT]` → appends a rectification step (an after photo goes with 处置;
//!   `UNIT` and a deadline with 派遣) → `ok STATUS` or `err MESSAGE`;
//! - `show ID` → `{"status", "events": [{"id", "action", "hlc"}], "photos": [PhotoRecord]}` in
//!   HLC order, plus `device_now_ms` (this process's wall clock);
//! - `quit`.

use anyhow::{Context, Result, bail};
use fieldcheck_core::photo::{CaptureRequest, DeviceKey, PhotoDir, PhotoPipeline, TrustedClock};
use fieldcheck_core::store::Store;
use fieldcheck_core::store::catalog::SiteQuery;
use fieldcheck_core::store::findings::{NewFinding, NewRectification};
use fieldcheck_core::sync::SyncEngine;
use fieldcheck_protocol::{PhotoKind, RectificationAction, Severity};
use fieldcheck_tests::photos::noisy_jpeg;
use fieldcheck_tests::server::INSPECTOR_PASSWORD;
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};
use uuid::Uuid;

/// The tablet: its store, engine, photo pipeline and key, and the signed-in inspector.
struct Repl {
    store: Arc<Mutex<Store>>,
    engine: SyncEngine,
    pipeline: PhotoPipeline,
    user: String,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let dir = PathBuf::from(std::env::args().nth(1).context("DIR")?);
    let store = Arc::new(Mutex::new(Store::open(dir.join("tablet.db"))?));
    let clock = Arc::new(TrustedClock::persistent(dir.join("trusted-time")));
    let key = DeviceKey::load_or_create(&dir)?;
    let engine = SyncEngine::new(
        store.clone(),
        PhotoDir::open(dir.join("photos"))?,
        clock.clone(),
        key.clone(),
    );
    let pipeline = PhotoPipeline::new(PhotoDir::open(dir.join("photos"))?, clock, key);
    let mut repl = Repl {
        store,
        engine,
        pipeline,
        user: String::new(),
    };
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.first() == Some(&"quit") {
            break;
        }
        let answer = match repl.run(&words).await {
            Ok(a) => a,
            Err(e) => format!("err {}", e.to_string().replace('\n', " ")),
        };
        let mut out = std::io::stdout().lock();
        writeln!(out, "{answer}")?;
        out.flush()?;
    }
    Ok(())
}

impl Repl {
    async fn run(&mut self, words: &[&str]) -> Result<String> {
        match words {
            ["login", url, user] => {
                self.engine.login(url, user, INSPECTOR_PASSWORD).await?;
                self.user = user.to_string();
                Ok("ok".into())
            }
            ["sync"] => {
                self.engine.sync_now().await?;
                Ok("ok".into())
            }
            ["finding"] => self.finding(),
            ["step", id, action, rest @ ..] => self.step(id.parse()?, action, rest.first()),
            ["show", id] => self.show(id.parse()?),
            _ => bail!("unknown command {words:?}"),
        }
    }

    fn finding(&self) -> Result<String> {
        let mut store = self.store.lock().unwrap();
        let site = store
            .list_sites(&SiteQuery {
                site_type: Some("back_alley".into()),
                text: None,
            })?
            .into_iter()
            .next()
            .context("no back alley pulled")?;
        let sub = store
            .taxonomy()?
            .into_iter()
            .next()
            .context("no taxonomy pulled")?;
        let finding = store.add_finding(NewFinding {
            site_id: site.id,
            inspection_id: None,
            item_code: None,
            category: sub.category,
            subcategory: sub.code.clone(),
            description: "井盖破损".into(),
            severity: Severity::Major,
            position: None,
            unit: None,
            deadline: None,
            same_day: false,
            reporter: self.user.clone(),
        })?;
        self.photo(&mut store, finding.id, PhotoKind::Before, &site.name)?;
        Ok(format!("finding {}", finding.id))
    }

    fn step(&self, finding_id: Uuid, action: &str, unit: Option<&&str>) -> Result<String> {
        let action = RectificationAction::parse(action).context("unknown action")?;
        let mut store = self.store.lock().unwrap();
        // A 处置 or an on-site 核查 names its after-photo, as the step policy asks.
        let evidence = fieldcheck_domain::rectification::needs_evidence(
            fieldcheck_protocol::Role::Inspector,
            action,
        );
        let photo = if evidence {
            let site = store.site(store.finding(finding_id)?.site_id)?;
            Some(self.photo(&mut store, finding_id, PhotoKind::After, &site.name)?)
        } else {
            None
        };
        let status = store.append_rectification(NewRectification {
            finding_id,
            action,
            actor: self.user.clone(),
            note: if action == RectificationAction::SentBack {
                "未整改到位".into()
            } else {
                String::new()
            },
            unit: unit.map(|u| u.to_string()),
            deadline: unit.map(|_| "2099-12-31".to_string()),
            photo_sha256: photo,
        })?;
        Ok(format!("ok {}", status.as_str()))
    }

    fn show(&self, finding_id: Uuid) -> Result<String> {
        let store = self.store.lock().unwrap();
        let events: Vec<_> = store
            .rectification_log(finding_id)?
            .into_iter()
            .map(|e| serde_json::json!({"id": e.id, "action": e.action.as_str(), "hlc": e.hlc.to_string()}))
            .collect();
        let device_now_ms = SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis() as i64;
        Ok(serde_json::json!({
            "status": store.finding_status(finding_id)?.as_str(),
            "events": events,
            "photos": store.finding_photos(finding_id)?,
            "device_now_ms": device_now_ms,
        })
        .to_string())
    }

    /// Captures a generated photo for the finding; returns its hash.
    fn photo(
        &self,
        store: &mut Store,
        finding_id: Uuid,
        kind: PhotoKind,
        site_name: &str,
    ) -> Result<String> {
        let bytes = noisy_jpeg(1600, 1200, finding_id.as_u128() as u64 ^ kind as u64);
        let record = self.pipeline.capture(
            store,
            &CaptureRequest {
                bytes: &bytes,
                kind,
                finding_id: Some(finding_id),
                inspection_id: None,
                position: None,
                site_name,
                inspector: &self.user,
            },
        )?;
        Ok(record.sha256)
    }
}
