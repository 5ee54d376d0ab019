//! Export jobs where every server process sees them: a row in `dash_export_jobs` (owner,
//! progress, outcome) and the finished file in the photo store (`export-<id>.xlsx`, a derived
//! file). Behind a load balancer without sticky sessions, the progress page and the download
//! may reach any replica, not only the one running the job.
//!
//! The running process renews the row's heartbeat with its progress every
//! [`HEARTBEAT`]; a job whose heartbeat is older than [`GIVEN_UP`] (its process died or was
//! restarted) is shown as failed, so nobody waits for it forever. Jobs and files older than
//! [`KEEP_MS`] are removed when the next export starts.

use crate::app::AppState;
use crate::store::StoreResult;
use crate::store::dashboard::Arg;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use uuid::Uuid;

/// How long a finished export is kept for download.
pub const KEEP_MS: i64 = 3_600_000;
/// How often a running job writes its progress.
pub const HEARTBEAT: Duration = Duration::from_millis(500);
/// A running job silent for this long is given up.
pub const GIVEN_UP: Duration = Duration::from_secs(30);

/// Where a job stands, as any replica reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JobState {
    /// Running: rows written of rows to write (0 while the query runs).
    Running {
        /// Rows written so far.
        done: u64,
        /// Rows to write.
        total: u64,
    },
    /// Finished: the file is in the photo store.
    Ready {
        /// Rows written.
        total: u64,
    },
    /// It failed, or its process stopped before it finished.
    Failed,
}

/// Progress counters a running job's writer updates, and its heartbeat writes out.
#[derive(Default)]
pub struct Progress {
    /// Rows to write.
    pub total: AtomicUsize,
    /// Rows written so far.
    pub done: AtomicUsize,
}

fn file_name(id: Uuid) -> String {
    format!("export-{id}.xlsx")
}

/// Records a new job of `owner`, removing jobs (and files) past [`KEEP_MS`].
pub async fn create(state: &AppState, owner: &str) -> StoreResult<Uuid> {
    let now = crate::clock::now_ms();
    let old = state
        .store
        .dash_query(
            "SELECT id FROM dash_export_jobs WHERE started_at < $1",
            vec![Arg::Int(now - KEEP_MS)],
        )
        .await?;
    for row in old {
        let id = row[0].text();
        if let Err(e) = state
            .blobs
            .remove_derived(&format!("export-{id}.xlsx"))
            .await
        {
            tracing::warn!(error = %e, id, "old export file not removed");
        }
    }
    let id = Uuid::now_v7();
    state
        .store
        .dash_exec(vec![
            (
                "DELETE FROM dash_export_jobs WHERE started_at < $1".into(),
                vec![Arg::Int(now - KEEP_MS)],
            ),
            (
                "INSERT INTO dash_export_jobs (id, owner, started_at, heartbeat_at) VALUES ($1, $2, $3, $3)".into(),
                vec![id.to_string().into(), owner.into(), Arg::Int(now)],
            ),
        ])
        .await?;
    Ok(id)
}

/// Writes the job's progress and renews its heartbeat every [`HEARTBEAT`], until dropped.
pub fn heartbeat(
    state: Arc<AppState>,
    id: Uuid,
    progress: Arc<Progress>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(HEARTBEAT);
        loop {
            every.tick().await;
            let (done, total) = (
                progress.done.load(Ordering::Relaxed) as i64,
                progress.total.load(Ordering::Relaxed) as i64,
            );
            let write = state
                .store
                .dash_exec(vec![(
                    "UPDATE dash_export_jobs SET done = $1, total = $2, heartbeat_at = $3 WHERE id = $4 AND finished_at IS NULL".into(),
                    vec![Arg::Int(done), Arg::Int(total), Arg::Int(crate::clock::now_ms()), id.to_string().into()],
                )])
                .await;
            if let Err(e) = write {
                tracing::warn!(error = %e, %id, "export progress not written");
            }
        }
    })
}

/// Records how the job ended: the file put in the photo store first, then the row marked
/// finished (a reader never sees a finished job without its file).
pub async fn finish(state: &AppState, id: Uuid, outcome: Result<(Vec<u8>, u64), String>) {
    let now = crate::clock::now_ms();
    let outcome = match outcome {
        Ok((bytes, total)) => state
            .blobs
            .put_derived(&file_name(id), bytes.into())
            .await
            .map(|()| total)
            .map_err(|e| format!("photo store: {e}")),
        Err(e) => Err(e),
    };
    let statement = match outcome {
        Ok(total) => (
            "UPDATE dash_export_jobs SET finished_at = $1, heartbeat_at = $1, total = $2, done = $2 WHERE id = $3".into(),
            vec![Arg::Int(now), Arg::Int(total as i64), id.to_string().into()],
        ),
        Err(e) => {
            tracing::error!(error = %e, %id, "export failed");
            (
                "UPDATE dash_export_jobs SET finished_at = $1, heartbeat_at = $1, failed = $2 WHERE id = $3".into(),
                vec![Arg::Int(now), e.into(), id.to_string().into()],
            )
        }
    };
    let write = state.store.dash_exec(vec![statement]).await;
    if let Err(e) = write {
        tracing::error!(error = %e, %id, "export outcome not recorded");
    }
}

/// The job `id` if `owner` started it (others see no such job).
pub async fn get(state: &AppState, id: Uuid, owner: &str) -> StoreResult<Option<JobState>> {
    let rows = state
        .store
        .dash_query(
            "SELECT done, total, finished_at, failed, heartbeat_at FROM dash_export_jobs WHERE id = $1 AND owner = $2",
            vec![id.to_string().into(), owner.into()],
        )
        .await?;
    let Some(r) = rows.first() else {
        return Ok(None);
    };
    let (done, total) = (r[0].int().max(0) as u64, r[1].int().max(0) as u64);
    let finished = !matches!(r[2], crate::store::dashboard::Cell::Null);
    let failed = r[3].opt_text().is_some();
    let silent_ms = crate::clock::now_ms() - r[4].int();
    Ok(Some(if failed {
        JobState::Failed
    } else if finished {
        JobState::Ready { total }
    } else if silent_ms > GIVEN_UP.as_millis() as i64 {
        JobState::Failed
    } else {
        JobState::Running { done, total }
    }))
}

/// The finished file of job `id` (the caller checked the owner).
pub async fn file(state: &AppState, id: Uuid) -> std::io::Result<Option<Vec<u8>>> {
    state.blobs.read_derived(&file_name(id)).await
}
