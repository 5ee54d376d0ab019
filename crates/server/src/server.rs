//! Running the HTTP server: opening storage from the configuration, serving HTTP/1.1 with
//! connection info (the client's address, through trusted load balancers, for per-address
//! login limits) and a header read timeout (a client that trickles its headers is cut off),
//! and shutting down gracefully on Ctrl-C or SIGTERM (in-flight requests finish; new
//! connections are refused).

use crate::app::{AppState, SharedState, router};
use crate::blobs::{BlobStore, LocalBlobs, ObjectBlobs};
use crate::config::{Config, client_address};
use crate::store::{self, StoreError};
use axum::extract::ConnectInfo;
use axum::http::Request;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt;

/// The server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The data directory or listener failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// Why it failed.
        source: std::io::Error,
    },
    /// The database could not be opened.
    #[error("database: {0}")]
    Store(#[from] StoreError),
    /// A setting cannot be used (the map's tile source).
    #[error("configuration: {0}")]
    Config(String),
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> ServeError {
    let what = what.into();
    move |source| ServeError::Io { what, source }
}

/// Opens the store and photo directories the configuration names.
pub async fn open_state(config: &Config) -> Result<SharedState, ServeError> {
    std::fs::create_dir_all(&config.data_dir).map_err(io(format!(
        "cannot create data dir {}",
        config.data_dir.display()
    )))?;
    let map = config.map.source().map_err(ServeError::Config)?;
    let store = store::open(&config.database()).await?;
    let blobs = photo_store(config).map_err(io("photo store"))?;
    let mut limits = config.limits.clone();
    limits.push_wait_target_ms = Some(config.push_wait_target().as_millis() as u64);
    let mut state = AppState::new(store, blobs, limits);
    if config.database_url.is_some() {
        // Replicas may serve this database: a turn given here holds no place, and only the
        // tablets waiting here come before a push.
        state.push_line = crate::push_line::PushLine::new(
            config.push_wait_target(),
            crate::push_line::Turns::Pushed,
        );
    }
    state.map = map;
    Ok(Arc::new(state))
}

/// The photo store the configuration names: its S3 bucket, or `<data_dir>/photos`.
pub fn photo_store(config: &Config) -> std::io::Result<Arc<dyn BlobStore>> {
    Ok(match &config.s3 {
        Some(s3) => Arc::new(ObjectBlobs::s3(s3)?),
        None => Arc::new(LocalBlobs::new(config.photos_dir())),
    })
}

/// Serves until Ctrl-C or SIGTERM. Prints `listening on http://ADDR` once bound (port 0
/// picks a free port; tests and benchmarks read the line).
pub async fn serve(config: Config) -> Result<(), ServeError> {
    let state = open_state(&config).await?;
    if crate::content_pack::import_if_empty(&state)
        .await
        .map_err(|e| ServeError::Io {
            what: "importing the built-in checklist".into(),
            source: std::io::Error::other(e.to_string()),
        })?
    {
        tracing::info!("an empty database: the built-in checklist was imported");
    }
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(io(format!("cannot listen on {}", config.listen)))?;
    let addr = listener.local_addr().map_err(io("local address"))?;
    tracing::info!(%addr, database = %redact(&config.database()), photos = %state.blobs.describe(), "fieldcheck-server started");
    println!("listening on http://{addr}");
    tokio::spawn(crate::blobs::sweep_now_and_hourly(state.blobs.clone()));
    tokio::spawn(crate::office::auto_dispatch::run_forever(state.clone()));
    tokio::spawn(crate::notify::run_forever(state.clone()));
    let header_timeout = Duration::from_secs(config.limits.header_read_timeout_secs.max(1));
    let app = router(state);
    let trusted: Arc<[std::net::IpAddr]> = config.trusted_proxies.clone().into();
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown_signal());
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment, keep serving.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let trusted = trusted.clone();
        let service = app.clone().map_request(move |mut req: Request<Incoming>| {
            // The client's address, through the trusted load balancers (for the per-address
            // sign-in limits); the port stays the connection's.
            let forwarded: Vec<&str> = req
                .headers()
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect();
            let client = client_address(peer.ip(), &forwarded, &trusted);
            req.extensions_mut()
                .insert(ConnectInfo(std::net::SocketAddr::new(client, peer.port())));
            req.map(axum::body::Body::new)
        });
        let conn = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(header_timeout)
            .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, %peer, "connection ended with an error");
            }
        });
    }
    tracing::info!("shutting down: finishing in-flight requests");
    graceful.shutdown().await;
    tracing::info!("fieldcheck-server stopped");
    Ok(())
}

/// A database URL without its password, for logs and `check-config`.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://***{}", &url[..s], &url[at..]),
        _ => url.to_string(),
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn redacts_passwords() {
        assert_eq!(
            super::redact("postgres://fc:secret@127.0.0.1/fc"),
            "postgres://***@127.0.0.1/fc"
        );
        assert_eq!(super::redact("data/x.sqlite3"), "data/x.sqlite3");
    }
}
