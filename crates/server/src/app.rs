//! The router: every route, its middleware (path guard, body limit, sync cap, tracing) and the
//! shared state. [`ROUTES`] lists every route once, for the OpenAPI and authorization tests.

use crate::api;
use crate::auth::Caller;
use crate::blobs::BlobStore;
use crate::config::Limits;
use crate::error::ApiError;
use crate::push_line::Turn;
use crate::store::DynStore;
use axum::Router;
use axum::extract::FromRequestParts;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::StatusCode;
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, patch, post, put};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, SemaphorePermit};
use tower_http::classify::ServerErrorsFailureClass;
use tower_http::compression::CompressionLayer;
use tower_http::decompression::RequestDecompressionLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::RequestBodyTimeoutLayer;
use tower_http::trace::TraceLayer;

/// Everything a handler needs; holds no state a second replica would need.
pub struct AppState {
    /// The database.
    pub store: DynStore,
    /// Photos: uploads in progress and verified photos.
    pub blobs: Arc<dyn BlobStore>,
    /// The server's hybrid logical clock.
    pub clock: fieldcheck_domain::clock::Clock,
    /// Limits.
    pub limits: Limits,
    /// Slots for concurrent sync requests.
    pub sync_slots: Arc<Semaphore>,
    /// Slots for concurrent pushes (a subset of the sync slots).
    pub push_slots: Arc<Semaphore>,
    /// The numbered line pushes are taken from ([`crate::push_line`]), at the limits'
    /// `push_wait_target_ms` (unset: off; the server sets it from its configuration,
    /// [`crate::config::Config::push_wait_target`], and holds no place for a turn given on
    /// PostgreSQL, where replicas may serve the database: [`crate::push_line::Turns`]).
    pub push_line: Arc<crate::push_line::PushLine>,
    /// Slots for concurrent photo verifications.
    pub verify_slots: Arc<Semaphore>,
    /// The bounded pool every password hash runs in.
    pub hashes: crate::sign_in::HashPool,
    /// Sync requests each device has in flight right now.
    pub device_slots: crate::device_slots::DeviceSlots,
    /// The county id, read from the store once (it never changes).
    county: tokio::sync::OnceCell<uuid::Uuid>,
    /// Wakes the task division's dispatcher ([`crate::office::auto_dispatch`]).
    pub dispatcher: tokio::sync::Notify,
    /// Wakes the units' notifier ([`crate::notify`]).
    pub notifier: tokio::sync::Notify,
    /// The dashboard map's tiles ([`crate::dashboard::map::tiles`]); `None`: the street plan.
    pub map: Option<crate::dashboard::map::tiles::TileSource>,
}

impl AppState {
    /// State over a store and a blob store.
    pub fn new(store: DynStore, blobs: Arc<dyn BlobStore>, limits: Limits) -> Self {
        Self {
            store,
            blobs,
            clock: fieldcheck_domain::clock::Clock::new(uuid::Uuid::now_v7()),
            sync_slots: Arc::new(Semaphore::new(limits.max_concurrent_syncs)),
            push_slots: Arc::new(Semaphore::new(limits.max_concurrent_pushes)),
            push_line: crate::push_line::PushLine::new(
                Duration::from_millis(limits.push_wait_target_ms.unwrap_or(0)),
                crate::push_line::Turns::Held,
            ),
            verify_slots: Arc::new(Semaphore::new(limits.max_concurrent_verifications.max(1))),
            hashes: crate::sign_in::HashPool::new(
                limits.max_concurrent_hashes,
                limits.max_waiting_hashes,
            ),
            device_slots: crate::device_slots::DeviceSlots::default(),
            county: tokio::sync::OnceCell::new(),
            dispatcher: tokio::sync::Notify::new(),
            notifier: tokio::sync::Notify::new(),
            map: None,
            limits,
        }
    }
}

impl AppState {
    /// This server's county id ([`crate::store::OfficeStore::county_id`]), from the store on
    /// first use and from memory after: sign-ins and the label sheet ask for it.
    pub async fn county_id(&self) -> Result<uuid::Uuid, crate::store::StoreError> {
        self.county
            .get_or_try_init(|| self.store.county_id())
            .await
            .copied()
    }

    /// Asks the task division's dispatcher for a pass soon (after a push that brought
    /// findings, after an import): passes asked for while one runs make one more.
    pub fn wake_dispatcher(&self) {
        self.dispatcher.notify_one();
    }

    /// Asks the notifier for a pass soon (after a rectification step is recorded), so a unit
    /// is told at once rather than at the next regular pass.
    pub fn wake_notifier(&self) {
        self.notifier.notify_one();
    }

    /// One of the `max_concurrent_verifications` slots, for work that holds a whole image in
    /// memory before decoding it (a staged photo read back for verification).
    pub async fn decode_slot(&self) -> Result<SemaphorePermit<'_>, ApiError> {
        self.verify_slots
            .acquire()
            .await
            .map_err(ApiError::internal)
    }

    /// Runs image work (a photo check, a thumbnail) on a blocking thread once one of the
    /// `max_concurrent_verifications` slots is free: every image decode on the server goes
    /// through here, so their memory is bounded however many requests ask at once.
    pub async fn decode_bounded<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let _slot = self.decode_slot().await?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(ApiError::internal)
    }
}

/// The state as handlers receive it.
pub type SharedState = Arc<AppState>;

/// Who may call a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone, without a token.
    Public,
    /// Inspectors and admins (device-bound sync work).
    Device,
    /// Every signed-in role.
    AnyRole,
    /// Admins and unit members (office answers to findings).
    Office,
    /// Admins only.
    Admin,
    /// Any token the server issued, even a revoked or expired one.
    AnyToken,
}

/// Every route: method, path (as in the OpenAPI document) and who may call it.
pub const ROUTES: &[(&str, &str, Access)] = &[
    ("GET", "/healthz", Access::Public),
    ("GET", "/api/v1/openapi.json", Access::Public),
    ("POST", "/api/v1/login", Access::Public),
    ("GET", "/api/v1/device/revocation", Access::AnyToken),
    ("POST", "/api/v1/sync/push", Access::Device),
    ("POST", "/api/v1/sync/turn", Access::Device),
    ("POST", "/api/v1/sync/pull", Access::AnyRole),
    ("POST", "/api/v1/photos/missing", Access::Device),
    ("GET", "/api/v1/photos/{sha256}/offset", Access::Device),
    ("PATCH", "/api/v1/photos/{sha256}", Access::Device),
    ("GET", "/api/v1/photos/{sha256}", Access::AnyRole),
    ("POST", "/api/v1/photos/thumbnails", Access::AnyRole),
    ("GET", "/api/v1/findings", Access::AnyRole),
    ("GET", "/api/v1/findings/{id}", Access::AnyRole),
    ("POST", "/api/v1/findings/{id}/events", Access::Office),
    ("PUT", "/api/v1/sites/{id}", Access::Admin),
    ("PUT", "/api/v1/assignments/{id}", Access::Admin),
    ("PUT", "/api/v1/users/{name}/districts", Access::Admin),
    ("GET", "/api/v1/devices", Access::Admin),
    ("POST", "/api/v1/devices/{id}/revoke", Access::Admin),
    ("GET", "/api/v1/audit", Access::Admin),
];

/// Refuses a path with a `..` segment (also percent-encoded) before routing.
async fn path_guard(req: Request, next: Next) -> Result<Response, ApiError> {
    let path = req.uri().path().to_ascii_lowercase().replace("%2e", ".");
    if path.split('/').any(|seg| seg == "..") {
        return Err(ApiError::bad_request(
            "bad_path",
            "路径不能包含 “..” / the path must not contain '..'",
        ));
    }
    Ok(next.run(req).await)
}

/// Authenticates a sync request, then caps it: `max_concurrent_syncs` in all (beyond, it waits
/// its turn for up to `sync_queue_wait_ms`, then 503 with Retry-After) and
/// `max_syncs_per_device` per device ([`device_cap`]). An unauthenticated request is refused
/// before it takes any slot, so nobody without a token can starve the tablets, and one device
/// cannot take every slot.
async fn sync_cap(
    State(state): State<SharedState>,
    req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let (caller, req) = authenticate(&state, req).await?;
    let wait = Duration::from_millis(state.limits.sync_queue_wait_ms);
    let Some(_slot) = queue(&state.sync_slots, wait).await else {
        return Err(ApiError::busy(state.limits.retry_after_secs));
    };
    device_cap(&state, caller, req, next).await
}

/// Authenticates a request for a turn in the push line and caps it per device only: it waits
/// on the server without work ([`crate::push_line::PushLine::wait_turn`]), so a line of
/// hundreds must not hold the sync slots the pushes whose turn has come need.
async fn turn_cap(
    State(state): State<SharedState>,
    req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let (caller, req) = authenticate(&state, req).await?;
    device_cap(&state, caller, req, next).await
}

/// The caller of `req` from its bearer token, and the request given back.
async fn authenticate(state: &SharedState, req: Request) -> Result<(Caller, Request), ApiError> {
    let (mut parts, body) = req.into_parts();
    let caller = Caller::from_request_parts(&mut parts, state).await?;
    Ok((caller, Request::from_parts(parts, body)))
}

/// Runs `caller`'s request within `max_syncs_per_device` of its device: beyond, the device's
/// oldest request is given up (see [`crate::device_slots`]).
async fn device_cap(
    state: &SharedState,
    caller: Caller,
    mut req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let (_device_slot, give_up) = state
        .device_slots
        .take(caller.device.id, state.limits.max_syncs_per_device);
    req.extensions_mut().insert(caller);
    tokio::select! {
        response = next.run(req) => Ok(response),
        _ = give_up => Err(ApiError::busy(state.limits.push_retry_after_secs)),
    }
}

/// Lines pushes up before their bodies are read. A push is taken while the work ahead of it
/// fits in `push_wait_target_ms`; otherwise its device is given a number and the time to come
/// back ([`crate::push_line`]: 503 `queued`). A push taken then waits for one of
/// `max_concurrent_pushes` (bodies read at once), in arrival order, for up to
/// `push_queue_wait_ms`, then is answered 503 with Retry-After; once it has one, the store is
/// told it is coming ([`fieldcheck_store::SyncStore::push_coming`]).
async fn push_cap(
    State(state): State<SharedState>,
    req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let device = req
        .extensions()
        .get::<Caller>()
        .map(|c| c.device.id)
        .ok_or_else(|| ApiError::internal("push without an authenticated caller"))?;
    let _place = match state.push_line.arrive(device, std::time::Instant::now()) {
        Turn::Go(place) => place,
        Turn::Wait { retry_after, ahead } => {
            // Read and drop what the tablet is sending first (raw, at most `max_json_bytes`,
            // for at most 2 s, never held): a connection closed under a body still being sent
            // can reach the tablet as a reset instead of this answer, and it would take that
            // for no signal and back off.
            let drain = discard(req.into_body(), state.limits.max_json_bytes);
            let _ = tokio::time::timeout(Duration::from_secs(2), drain).await;
            return Err(ApiError::queued(retry_after, ahead));
        }
    };
    let wait = Duration::from_millis(state.limits.push_queue_wait_ms);
    let Some(_slot) = queue(&state.push_slots, wait).await else {
        return Err(ApiError::busy(state.limits.push_retry_after_secs));
    };
    // Taken: the store may wait a little for it before writing its next group.
    let mut req = req;
    req.extensions_mut()
        .insert(Arc::new(state.store.push_coming()));
    Ok(next.run(req).await)
}

/// Reads `body` chunk by chunk and drops each, until it ends, fails or passes `limit` bytes.
async fn discard(body: axum::body::Body, limit: usize) {
    use futures_util::StreamExt;
    let mut chunks = body.into_data_stream();
    let mut read = 0;
    while let Some(Ok(chunk)) = chunks.next().await {
        read += chunk.len();
        if read > limit {
            return;
        }
    }
}

/// A slot of `slots`, waited for in arrival order (tokio's semaphore is fair) for at most
/// `wait`; `None` when none came free in time. A free slot is taken even with no wait.
async fn queue(slots: &Arc<Semaphore>, wait: Duration) -> Option<OwnedSemaphorePermit> {
    match tokio::time::timeout(wait, slots.clone().acquire_owned()).await {
        Ok(Ok(slot)) => Some(slot),
        // Timed out, or the semaphore closed (it never is).
        _ => None,
    }
}

/// Headers on every answer: no framing by other sites (clickjacking an office button), no
/// content sniffing (a photo read as HTML), no address sent on to other sites (the server's own
/// pages still see it: the language switch returns to the page it was on), and a content
/// policy that lets a page load only the server's own stylesheet, images and script files
/// (the overview's charts), post forms only to the server, and run no inline script. The
/// content policy is set only where a page set none: the map's adds its tile source's origins
/// to the images' ([`crate::dashboard::map::tiles::content_policy`]).
pub const SECURITY_HEADERS: [(HeaderName, &str); 4] = [
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::REFERRER_POLICY, "same-origin"),
    (header::CONTENT_SECURITY_POLICY, CONTENT_POLICY),
];

/// The content policy of every answer (but the map page's, which only adds to it).
pub const CONTENT_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Logs a failed answer: a 503 is the server saying "come back" under load, by design, so it
/// is logged at debug level (a storm would otherwise fill the log with errors); any other
/// server error is an error.
fn log_failure(class: ServerErrorsFailureClass, latency: Duration, _span: &tracing::Span) {
    match class {
        ServerErrorsFailureClass::StatusCode(StatusCode::SERVICE_UNAVAILABLE) => {
            tracing::debug!(?latency, "answered 503: busy, Retry-After sent");
        }
        class => tracing::error!(%class, ?latency, "request failed"),
    }
}

/// The whole HTTP API.
pub fn router(state: SharedState) -> Router {
    let sync = Router::new()
        // Tablets send push batches gzip-compressed (Content-Encoding: gzip); the body limit
        // below applies to the decompressed bytes, so a gzip bomb is cut off at the limit.
        .route(
            "/api/v1/sync/push",
            post(api::push::push)
                .layer(RequestDecompressionLayer::new())
                .layer(middleware::from_fn_with_state(state.clone(), push_cap)),
        )
        // Pull pages are JSON that compresses several times over; tablets ask for gzip.
        .route(
            "/api/v1/sync/pull",
            post(api::pull::pull).layer(CompressionLayer::new().gzip(true)),
        )
        .route("/api/v1/photos/missing", post(api::photos::missing))
        .route("/api/v1/photos/{sha256}/offset", get(api::photos::offset))
        .route(
            "/api/v1/photos/{sha256}",
            patch(api::photos::upload).get(api::photos::download),
        )
        .route("/api/v1/photos/thumbnails", post(api::photos::thumbnails))
        .route_layer(middleware::from_fn_with_state(state.clone(), sync_cap))
        .route(
            "/api/v1/sync/turn",
            post(api::push::turn).layer(middleware::from_fn_with_state(state.clone(), turn_cap)),
        );
    let router = Router::new()
        .route("/healthz", get(api::meta::healthz))
        .route("/api/v1/openapi.json", get(api::meta::openapi))
        .route("/api/v1/login", post(api::auth::login))
        .route("/api/v1/device/revocation", get(api::auth::revocation))
        .route("/api/v1/findings", get(api::findings::list))
        .route("/api/v1/findings/{id}", get(api::findings::get_one))
        .route(
            "/api/v1/findings/{id}/events",
            post(api::findings::add_event),
        )
        .route("/api/v1/sites/{id}", put(api::admin::put_site))
        .route("/api/v1/assignments/{id}", put(api::admin::put_assignment))
        .route(
            "/api/v1/users/{name}/districts",
            put(api::admin::put_districts),
        )
        .route("/api/v1/devices", get(api::admin::devices))
        .route("/api/v1/devices/{id}/revoke", post(api::admin::revoke))
        .route("/api/v1/audit", get(api::admin::audit))
        .merge(sync)
        .merge(crate::dashboard::router(&state))
        .fallback(api::meta::not_found)
        .layer(DefaultBodyLimit::max(state.limits.max_json_bytes))
        .layer(RequestBodyTimeoutLayer::new(Duration::from_secs(
            state.limits.body_read_timeout_secs.max(1),
        )))
        .layer(TraceLayer::new_for_http().on_failure(log_failure))
        .layer(middleware::from_fn(path_guard));
    SECURITY_HEADERS
        .into_iter()
        .fold(router, |router, (name, value)| {
            let value = HeaderValue::from_static(value);
            router.layer(if name == header::CONTENT_SECURITY_POLICY {
                SetResponseHeaderLayer::if_not_present(name, value)
            } else {
                SetResponseHeaderLayer::overriding(name, value)
            })
        })
        .with_state(state)
}
