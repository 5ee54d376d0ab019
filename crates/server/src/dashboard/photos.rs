//! Photos for the dashboard: full size and 320-pixel thumbnails (made once, kept beside the
//! blobs), each only for someone who may see the finding the photo belongs to.

use super::error::PageError;
use super::session::Session;
use crate::app::SharedState;
use crate::store::FindingRow;
use crate::store::dashboard::Arg;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::StreamExt;
use uuid::Uuid;

use crate::thumbnails::ThumbError;

/// Loads a finding the session may see: a unit member only its unit's.
pub async fn visible_finding(
    state: &SharedState,
    session: &Session,
    id: Uuid,
) -> Result<FindingRow, PageError> {
    let row = state.store.finding(id).await?.ok_or_else(|| {
        PageError::not_found(format!("没有问题 {id}"), format!("no finding {id}"))
    })?;
    if let Some(unit) = session.unit_scope()
        && row.current_unit.as_deref() != Some(unit)
    {
        return Err(PageError::forbidden(
            format!("问题 {id} 未派遣给本单位，无权查看"),
            format!("finding {id} is not dispatched to your unit"),
        ));
    }
    Ok(row)
}

/// Refuses unless the session may see photo `sha`: admins any photo the server knows, unit
/// members those of their unit's findings.
async fn check_access(state: &SharedState, session: &Session, sha: &str) -> Result<(), PageError> {
    let not_found = || PageError::not_found(format!("没有照片 {sha}"), format!("no photo {sha}"));
    if !fieldcheck_domain::limits::is_sha256(sha) {
        return Err(not_found());
    }
    let rows = state
        .store
        .dash_query(
            "SELECT finding_id FROM photo_findings WHERE sha256 = $1 UNION ALL SELECT finding_id FROM dash_uploads WHERE sha256 = $1",
            vec![Arg::from(sha)],
        )
        .await?;
    if rows.is_empty() {
        return Err(not_found());
    }
    if session.is_admin() {
        return Ok(());
    }
    for r in &rows {
        if let Some(id) = r[0].opt_text().and_then(|t| t.parse::<Uuid>().ok())
            && visible_finding(state, session, id).await.is_ok()
        {
            return Ok(());
        }
    }
    Err(PageError::forbidden(
        "此照片不属于本单位的问题",
        "this photo does not belong to your unit's findings",
    ))
}

/// A photo's answer: its kind sniffed from its first bytes, cached for a year (named by content,
/// it never changes; private because access depends on the session).
fn image_response(first: &[u8], size: u64, body: Body) -> Response {
    let kind = fieldcheck_photo_codec::image_mime(first).unwrap_or("image/jpeg");
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(kind)),
            (header::CONTENT_LENGTH, HeaderValue::from(size)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, max-age=31536000, immutable"),
            ),
        ],
        body,
    )
        .into_response()
}

/// `GET /dashboard/photos/{sha}`: the photo at full size.
pub async fn full(
    State(state): State<SharedState>,
    session: Session,
    Path(sha): Path<String>,
) -> Result<Response, PageError> {
    check_access(&state, &session, &sha).await?;
    let mut blob = state
        .blobs
        .read(&sha)
        .await
        .map_err(internal)?
        .ok_or_else(|| {
            PageError::not_found(
                "照片尚未上传到服务器",
                "the photo has not reached the server yet",
            )
        })?;
    // Streamed from the store; the first chunk (which names the kind) is read ahead.
    let first = match blob.body.next().await {
        Some(chunk) => chunk.map_err(internal)?,
        None => Bytes::new(),
    };
    let rest = futures_util::stream::once(std::future::ready(Ok(first.clone()))).chain(blob.body);
    Ok(image_response(&first, blob.size, Body::from_stream(rest)))
}

/// `GET /dashboard/photos/{sha}/thumb`: a JPEG at most
/// [`THUMB_SIDE`](crate::thumbnails::THUMB_SIDE) pixels a side.
pub async fn thumb(
    State(state): State<SharedState>,
    session: Session,
    Path(sha): Path<String>,
) -> Result<Response, PageError> {
    check_access(&state, &session, &sha).await?;
    match crate::thumbnails::thumbnail(&state, &sha).await {
        Ok(small) => {
            let small = Bytes::from(small);
            Ok(image_response(
                &small,
                small.len() as u64,
                Body::from(small.clone()),
            ))
        }
        Err(ThumbError::NotStored) => Err(PageError::not_found(
            "照片尚未上传到服务器",
            "the photo has not reached the server yet",
        )),
        Err(e) => Err(internal(e)),
    }
}

fn internal(e: impl std::fmt::Display) -> PageError {
    tracing::error!(error = %e, "dashboard photo");
    PageError::new(
        axum::http::StatusCode::INTERNAL_SERVER_ERROR,
        "照片读取失败，请稍后重试",
        "could not read the photo; retry later",
    )
}
