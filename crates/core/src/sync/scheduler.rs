//! When to sync: at start, on resume, when the app asks (同步 button), on a timer while the app
//! is in use, and — after a failure that may pass (no signal, server busy) — again and again
//! with backoff and full jitter, so work reaches the server as soon as there is signal.

use super::SyncError;
use super::backoff::Backoff;
use super::engine::SyncEngine;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Why a session is asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// The app came to the foreground again.
    Resumed,
    /// The network came back (as the platform reports it).
    NetworkBack,
    /// The inspector tapped 同步, or signed in.
    Manual,
}

/// How the scheduler paces itself.
#[derive(Clone, Copy, Debug)]
pub struct Pacing {
    /// Time between sessions while all is well.
    pub every: Duration,
    /// First wait after a failure that may pass.
    pub retry_base: Duration,
    /// Longest wait after failures.
    pub retry_cap: Duration,
}

impl Default for Pacing {
    fn default() -> Pacing {
        Pacing {
            every: Duration::from_secs(300),
            retry_base: Duration::from_secs(2),
            retry_cap: Duration::from_secs(300),
        }
    }
}

/// Handle to a running scheduler: send it triggers; drop it to stop the scheduler.
pub struct Scheduler {
    triggers: mpsc::Sender<Trigger>,
    task: JoinHandle<()>,
}

impl Scheduler {
    /// Starts the scheduler on the current tokio runtime; it syncs at once.
    pub fn start(engine: Arc<SyncEngine>, pacing: Pacing) -> Scheduler {
        let (triggers, rx) = mpsc::channel(8);
        let task = tokio::spawn(run(engine, rx, pacing));
        Scheduler { triggers, task }
    }

    /// Asks for a session soon. Never blocks; triggers that arrive while one is pending merge.
    pub fn trigger(&self, why: Trigger) {
        let _ = self.triggers.try_send(why);
    }
}

impl Drop for Scheduler {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn run(engine: Arc<SyncEngine>, mut triggers: mpsc::Receiver<Trigger>, pacing: Pacing) {
    let mut backoff = Backoff::new(pacing.retry_base, pacing.retry_cap);
    // `None`: wait for a trigger only (after an error a person must act on).
    let mut wait = Some(Duration::ZERO);
    loop {
        let triggered = match wait {
            Some(d) => tokio::select! {
                t = triggers.recv() => t,
                () = tokio::time::sleep(d) => Some(Trigger::Manual),
            },
            None => triggers.recv().await,
        };
        if triggered.is_none() {
            return;
        }
        wait = match engine.sync_now().await {
            Ok(_) => {
                backoff.succeed();
                Some(pacing.every)
            }
            Err(SyncError::Busy { retry_after }) => Some(backoff.fail(Some(retry_after))),
            // A number in the server's line: its time is already spread; no jitter, no backoff.
            Err(SyncError::Queued { retry_after, .. }) => Some(retry_after),
            Err(e) if e.is_transient() => Some(backoff.fail(None)),
            Err(_) => None,
        };
    }
}
