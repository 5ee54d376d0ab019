//! Signing in, the same way through both doors (the tablet API and the dashboard): the input
//! limits first, then the attempt is counted before any password is hashed, then the hash runs
//! in a bounded pool, and an unknown name costs the same hash as a known one.
//!
//! Failures are counted per account *and address*, and per address: a stranger guessing the
//! admin's password locks only the stranger's address out, never the admin everywhere. A
//! second, longer window backs off an address that keeps failing after its first lockout.

use crate::app::AppState;
use crate::auth::{hash_password, login_input_fits, verify_password};
use crate::store::{StoreError, UserRow};
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use tokio::sync::Semaphore;

/// A hash to check against when the account does not exist, so the answer takes as long.
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| hash_password("fieldcheck-no-such-account").unwrap_or_default());

/// How much longer the second backoff window is than the first, and how many more failures it
/// allows.
const BACKOFF_FACTOR: u64 = 16;

/// Argon2 work, bounded: at most `slots` hashes at once (each takes ~19 MiB and a core), and at
/// most `max_waiting` callers waiting for one; past that the caller is told to come back.
pub struct HashPool {
    slots: Semaphore,
    waiting: AtomicUsize,
    max_waiting: usize,
    runs: AtomicU64,
}

/// The pool is full: answer 503 with Retry-After.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolBusy;

impl HashPool {
    /// A pool of `slots` concurrent hashes with room for `max_waiting` waiters.
    pub fn new(slots: usize, max_waiting: usize) -> Self {
        Self {
            slots: Semaphore::new(slots.max(1)),
            waiting: AtomicUsize::new(0),
            max_waiting,
            runs: AtomicU64::new(0),
        }
    }

    /// Hashes run so far: every sign-in that reaches the password check runs exactly one,
    /// whether or not the name exists.
    pub fn runs(&self) -> u64 {
        self.runs.load(Ordering::SeqCst)
    }

    /// Waits for a hash slot, or refuses at once when the waiting room is full.
    pub async fn slot(&self) -> Result<HashSlot<'_>, PoolBusy> {
        if let Ok(permit) = self.slots.try_acquire() {
            return Ok(HashSlot {
                pool: self,
                _permit: permit,
            });
        }
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.max_waiting {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(PoolBusy);
        }
        let permit = self.slots.acquire().await;
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        Ok(HashSlot {
            pool: self,
            _permit: permit.map_err(|_| PoolBusy)?,
        })
    }

    /// Runs `work` (a password hash or check) on a blocking thread once a slot is free.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, PoolBusy> {
        self.slot().await?.run(work).await
    }
}

/// A held hash slot: one hash runs in it.
pub struct HashSlot<'a> {
    pool: &'a HashPool,
    _permit: tokio::sync::SemaphorePermit<'a>,
}

impl HashSlot<'_> {
    /// Runs `work` on a blocking thread in this slot.
    pub async fn run<T: Send + 'static>(
        self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, PoolBusy> {
        self.pool.runs.fetch_add(1, Ordering::SeqCst);
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|_| PoolBusy)
    }
}

/// Why a sign-in was refused. Each door turns it into its own answer.
#[derive(Debug)]
pub enum Refusal {
    /// The name or password is longer than any account's could be.
    TooLong,
    /// Too many failures from this address (for this account, or for all): come back after
    /// this many seconds.
    TooMany {
        /// Seconds to wait.
        retry_after_secs: u64,
    },
    /// The hash pool is full: come back in a moment.
    Busy,
    /// Wrong name or password (which of the two is not said).
    BadCredentials,
    /// The account is disabled.
    Disabled,
    /// The store failed.
    Store(StoreError),
}

impl From<StoreError> for Refusal {
    fn from(e: StoreError) -> Self {
        Refusal::Store(e)
    }
}

/// Checks a name and password from `address` (the caller's IP, when known). On success returns
/// the account (the door decides what the role may open) and forgets this account's failures
/// from this address.
pub async fn sign_in(
    state: &AppState,
    username: &str,
    password: &str,
    address: Option<String>,
) -> Result<UserRow, Refusal> {
    if !login_input_fits(username, password) {
        return Err(Refusal::TooLong);
    }
    let limits = &state.limits;
    let now = crate::clock::now_ms();
    let window = limits.login_window_secs;
    let max = limits.login_max_failures;
    let address = address.unwrap_or_else(|| "unknown".into());
    let account_key = format!("user:{username}@{address}");
    let address_key = format!("addr:{address}");
    // (key, allowed failures, window in seconds): a first lockout, then a longer backoff.
    let rules = [
        (&account_key, max, window),
        (
            &account_key,
            max * BACKOFF_FACTOR / 4,
            window * BACKOFF_FACTOR,
        ),
        (&address_key, max * 10, window),
    ];
    for (key, allowed, secs) in rules {
        let since = now - (secs as i64) * 1000;
        if state.store.login_failures_since(key, since).await? >= allowed {
            return Err(Refusal::TooMany {
                retry_after_secs: secs,
            });
        }
    }
    // A slot first, so that a sign-in told "busy" was not counted against the account; then
    // the attempt counts before the hash: of many parallel guesses, only as many as the limit
    // allows get a password check; the count is taken back when the password is right.
    let slot = state
        .hashes
        .slot()
        .await
        .map_err(|PoolBusy| Refusal::Busy)?;
    state.store.record_login_failure(&account_key, now).await?;
    let since = now - (window as i64) * 1000;
    if state
        .store
        .login_failures_since(&account_key, since)
        .await?
        > max
    {
        return Err(Refusal::TooMany {
            retry_after_secs: window,
        });
    }
    let user = state.store.user(username).await?;
    let hash = user
        .as_ref()
        .map_or_else(|| DUMMY_HASH.clone(), |u| u.password_hash.clone());
    let password = password.to_string();
    let ok = slot
        .run(move || verify_password(&hash, &password))
        .await
        .map_err(|PoolBusy| Refusal::Busy)?;
    let Some(user) = user.filter(|_| ok) else {
        state.store.record_login_failure(&address_key, now).await?;
        return Err(Refusal::BadCredentials);
    };
    state.store.clear_login_failures(&account_key).await?;
    if user.disabled {
        return Err(Refusal::Disabled);
    }
    Ok(user)
}
