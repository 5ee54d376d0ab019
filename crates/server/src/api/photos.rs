//! Photos: which are missing, where an upload stands, and the resumable upload itself
//! (`PATCH` with `Upload-Offset`, tus-like). The body is streamed to a staged file; when the
//! declared size is reached the photo is verified and only then stored. Tablets fetch the
//! photos of findings they may see (a re-check's before-photo): whole, or thumbnails in batches.

use super::ApiJson;
use crate::app::{AppState, SharedState};
use crate::audit;
use crate::auth::{Caller, DeviceUser};
use crate::blobs::AppendOutcome;
use crate::error::{ApiError, ApiResult};
use crate::photo_check::verify_photo;
use crate::store::PhotoRow;
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use fieldcheck_domain::limits::is_sha256;
use fieldcheck_protocol::{
    MAX_THUMBNAILS_PER_REQUEST, PhotoMissingRequest, PhotoMissingResponse, Role, Thumbnail,
    ThumbnailsRequest, ThumbnailsResponse, UPLOAD_OFFSET_HEADER, UploadStatus,
};
use futures_util::{StreamExt, TryStreamExt};

/// 503 when the photo store fails (unreachable, refusing, slow past its retries): the details
/// go to the log; the tablet keeps its photo and resumes at its next sync.
fn store_down(e: std::io::Error) -> ApiError {
    tracing::error!(error = %e, "photo store");
    let mut err = ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "photo_store_unavailable",
        "照片存储暂时不可用，照片保留在平板上，稍后会自动续传 / the photo store is unavailable right now; the photo stays on the tablet and its upload resumes later",
    );
    err.retry_after = Some(10);
    err
}

/// Most hashes per missing-query.
const MAX_HASHES: usize = 1000;

fn check_sha(sha: &str) -> ApiResult<()> {
    if is_sha256(sha) {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            "bad_hash",
            format!(
                "“{sha}” 不是 64 位小写十六进制 SHA-256 / {sha:?} is not 64 lower-case hex digits"
            ),
        ))
    }
}

/// The photo's record, if the caller's device took it (admins may look at any).
async fn own_photo(state: &AppState, caller: &Caller, sha: &str) -> ApiResult<PhotoRow> {
    check_sha(sha)?;
    let row = state.store.photo(sha).await?.ok_or_else(|| {
        ApiError::not_found(format!(
            "服务器没有照片 {sha} 的记录，请先推送记录 / no record for photo {sha}; push its record first"
        ))
    })?;
    if row.record.device_id != caller.device.id && caller.user.role != Role::Admin {
        return Err(ApiError::forbidden(
            "只能上传本设备拍摄的照片 / a device uploads only its own photos",
        ));
    }
    Ok(row)
}

fn status(sha: &str, offset: u64, size: u64, complete: bool) -> UploadStatus {
    let message = if complete {
        "照片已接收并校验 / photo received and verified".to_string()
    } else {
        format!(
            "已收到 {offset}/{size} 字节，请从偏移 {offset} 续传 / holding {offset} of {size} bytes; resume at offset {offset}"
        )
    };
    UploadStatus {
        sha256: sha.to_string(),
        offset,
        size,
        complete,
        message,
    }
}

fn with_offset(code: StatusCode, s: UploadStatus) -> Response {
    let offset = s.offset;
    let mut resp = (code, Json(s)).into_response();
    resp.headers_mut()
        .insert(UPLOAD_OFFSET_HEADER, HeaderValue::from(offset));
    resp
}

/// Lists which of the given hashes the server still needs.
#[utoipa::path(post, path = "/api/v1/photos/missing", tag = "photos",
    request_body(content = serde_json::Value, description = "PhotoMissingRequest: hashes", content_type = "application/json"),
    responses((status = 200, description = "PhotoMissingResponse: missing"), (status = 400, description = "a hash is malformed"),
        (status = 401, description = "no valid token"), (status = 403, description = "not a device role")),
    security(("bearer" = [])))]
pub async fn missing(
    State(state): State<SharedState>,
    _device: DeviceUser,
    ApiJson(req): ApiJson<PhotoMissingRequest>,
) -> ApiResult<Json<PhotoMissingResponse>> {
    if req.hashes.len() > MAX_HASHES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_many_hashes",
            format!("一次最多查询 {MAX_HASHES} 个 / at most {MAX_HASHES} hashes per query"),
        ));
    }
    for h in &req.hashes {
        check_sha(h)?;
    }
    Ok(Json(PhotoMissingResponse {
        missing: state.store.missing_photos(&req.hashes).await?,
    }))
}

/// Where an upload stands: the offset to resume from.
#[utoipa::path(get, path = "/api/v1/photos/{sha256}/offset", tag = "photos",
    params(("sha256" = String, Path, description = "the photo's SHA-256")),
    responses((status = 200, description = "UploadStatus; also header Upload-Offset"),
        (status = 401, description = "no valid token"), (status = 403, description = "another device's photo"),
        (status = 404, description = "no record for this photo yet")),
    security(("bearer" = [])))]
pub async fn offset(
    State(state): State<SharedState>,
    DeviceUser(caller): DeviceUser,
    Path(sha): Path<String>,
) -> ApiResult<Response> {
    let row = own_photo(&state, &caller, &sha).await?;
    let size = row.record.size_bytes;
    let s = if row.stored {
        forget_pieces(&state, &sha).await;
        status(&sha, size, size, true)
    } else {
        let held = state.blobs.held(&sha).await.map_err(store_down)?;
        status(&sha, held, size, false)
    };
    Ok(with_offset(StatusCode::OK, s))
}

/// Appends bytes at `Upload-Offset`; verifies and stores the photo once complete.
#[utoipa::path(patch, path = "/api/v1/photos/{sha256}", tag = "photos",
    params(("sha256" = String, Path, description = "the photo's SHA-256"),
        ("Upload-Offset" = u64, Header, description = "byte offset this body starts at")),
    request_body(content = Vec<u8>, description = "the photo's bytes from Upload-Offset on", content_type = "application/offset+octet-stream"),
    responses((status = 200, description = "UploadStatus: complete and verified"),
        (status = 202, description = "UploadStatus: bytes held so far; resume at offset"),
        (status = 400, description = "missing Upload-Offset"), (status = 401, description = "no valid token"),
        (status = 403, description = "another device's photo"), (status = 404, description = "no record for this photo yet"),
        (status = 409, description = "offset differs from the bytes held"),
        (status = 413, description = "more bytes than the record declares"),
        (status = 422, description = "hash mismatch, not an image, too large, or bad signature")),
    security(("bearer" = [])))]
pub async fn upload(
    State(state): State<SharedState>,
    DeviceUser(caller): DeviceUser,
    Path(sha): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let row = own_photo(&state, &caller, &sha).await?;
    let size = row.record.size_bytes;
    if row.stored {
        forget_pieces(&state, &sha).await;
        return Ok(with_offset(StatusCode::OK, status(&sha, size, size, true)));
    }
    let offset: u64 = headers
        .get(UPLOAD_OFFSET_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| {
            ApiError::bad_request(
                "upload_offset",
                "缺少 Upload-Offset 请求头（先查询偏移）/ missing Upload-Offset header; ask for the offset first",
            )
        })?;
    let held = state.blobs.held(&sha).await.map_err(store_down)?;
    if offset != held {
        let mut resp = ApiError::new(
            StatusCode::CONFLICT,
            "offset_mismatch",
            format!("服务器已有 {held} 字节，请从 {held} 续传 / the server holds {held} bytes; resume at offset {held}"),
        )
        .into_response();
        resp.headers_mut()
            .insert(UPLOAD_OFFSET_HEADER, HeaderValue::from(held));
        return Ok(resp);
    }
    let stream = body
        .into_data_stream()
        .map_err(std::io::Error::other)
        .boxed();
    // In a task of its own, to its end: when the tablet's connection breaks, hyper drops this
    // handler, and the bytes that arrived must still reach the store (a bucket gets them only
    // after the body ends), so that the upload resumes from them; and a photo whose last bytes
    // are in must be checked, stored and its pieces removed in one go (cut off between being
    // marked stored and its pieces' removal, it left them for good: a tablet never asks about
    // a stored photo again).
    let task_state = state.clone();
    tokio::spawn(async move { append_and_finish(&task_state, &caller, row, offset, stream).await })
        .await
        .map_err(ApiError::internal)?
}

/// Appends a request's bytes to the upload and, once they complete the photo, finishes it.
/// A stale request (its tablet killed, another request having stored the photo since this
/// one looked) leaves no pieces behind, whether its bytes completed the photo or not: once
/// its bytes are in, it checks again whether the photo is stored now, and if so drops them.
async fn append_and_finish(
    state: &AppState,
    caller: &Caller,
    row: PhotoRow,
    offset: u64,
    stream: crate::blobs::ByteStream,
) -> ApiResult<Response> {
    let (sha, size) = (row.record.sha256.clone(), row.record.size_bytes);
    // Asked of the database, a busy moment retried: a wrong "not stored" would leave pieces
    // behind for good.
    let is_stored = async || -> std::io::Result<bool> {
        let mut tries = 0;
        loop {
            match state.store.photo(&sha).await {
                Ok(row) => return Ok(row.is_some_and(|p| p.stored)),
                Err(e) if tries < 5 => {
                    tracing::info!(sha, error = %e, "photo state unreadable; asking again");
                    tries += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                }
                Err(e) => return Err(std::io::Error::other(e)),
            }
        }
    };
    let stored_already = || Ok(with_offset(StatusCode::OK, status(&sha, size, size, true)));
    // A request that waited (for a slot, or in the socket's buffer after its tablet died) may
    // run long after the photo was stored: it writes nothing then.
    if is_stored().await.map_err(store_down)? {
        return stored_already();
    }
    let appended = state.blobs.append(&sha, offset, size, stream).await;
    if is_stored().await.map_err(store_down)? {
        state.blobs.discard(&sha).await.map_err(store_down)?;
        return stored_already();
    }
    match appended.map_err(store_down)? {
        AppendOutcome::Busy => Err(ApiError::new(
            StatusCode::CONFLICT,
            "upload_in_progress",
            "此照片正在上传中，请稍后查询偏移再续传 / this photo is being uploaded right now; ask for the offset later and resume",
        )),
        AppendOutcome::TooLong => Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "photo_too_long",
            format!(
                "数据超过记录声明的 {size} 字节 / more bytes than the {size} the photo's record declares"
            ),
        )),
        AppendOutcome::Written(n) if n < size => Ok(with_offset(
            StatusCode::ACCEPTED,
            status(&sha, n, size, false),
        )),
        AppendOutcome::Written(_) => finish(state, caller, row).await,
    }
}

/// Removes what is left of uploads of a photo that is stored (a request cut off between its
/// last bytes and their check, a stale one that wrote after the photo was stored): whoever
/// asks about a stored photo clears them. A failure only leaves them for the sweep of uploads
/// untouched for a week.
async fn forget_pieces(state: &AppState, sha: &str) {
    if let Err(e) = state.blobs.discard(sha).await {
        tracing::warn!(sha, error = %e, "pieces of a stored photo not removed");
    }
}

/// Verifies a complete staged photo and stores it, or discards it with the reason.
async fn finish(state: &AppState, caller: &Caller, row: PhotoRow) -> ApiResult<Response> {
    let sha = row.record.sha256.clone();
    let size = row.record.size_bytes;
    let (rec, key, max) = (
        row.record.clone(),
        row.signer_key.clone(),
        state.limits.max_image_side,
    );
    // Read whole only once a decoding slot is free: staged photos in memory are bounded like
    // every decode.
    let _slot = state.decode_slot().await?;
    let bytes = bytes::Bytes::from(state.blobs.staged(&sha).await.map_err(store_down)?);
    let checked = bytes.clone();
    let verdict = tokio::task::spawn_blocking(move || verify_photo(&checked, &rec, &key, max))
        .await
        .map_err(ApiError::internal)?;
    if let Err(rejection) = verdict {
        // Two requests can both have brought the last bytes; the one that stored the photo
        // first removed the pieces the other then read. The photo is stored: say so.
        if state.store.photo(&sha).await?.is_some_and(|p| p.stored) {
            forget_pieces(state, &sha).await;
            return Ok(with_offset(StatusCode::OK, status(&sha, size, size, true)));
        }
        state.blobs.discard(&sha).await.map_err(store_down)?;
        audit::record(
            state,
            Some(caller),
            "photo_rejected",
            &sha,
            rejection.code(),
        )
        .await?;
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            rejection.code(),
            format!("{rejection}；已丢弃，请重新上传 / discarded: upload it again from offset 0"),
        ));
    }
    state.blobs.put(&sha, bytes).await.map_err(store_down)?;
    state
        .store
        .mark_photo_stored(&sha, crate::clock::now_ms())
        .await?;
    // Only now that the photo is stored and recorded: a failure here leaves pieces that the
    // next upload of this hash would find complete, never a record without its photo.
    if let Err(e) = state.blobs.discard(&sha).await {
        tracing::warn!(sha, error = %e, "staged pieces of a stored photo not removed");
    }
    audit::record(
        state,
        Some(caller),
        "photo_stored",
        &sha,
        format!("{size} bytes"),
    )
    .await?;
    Ok(with_offset(StatusCode::OK, status(&sha, size, size, true)))
}

/// Refuses unless the caller may see photo `sha` (see [`crate::store::SyncStore::photo_visible`]).
async fn check_visible(state: &AppState, caller: &Caller, sha: &str) -> ApiResult<()> {
    check_sha(sha)?;
    let scope = caller.pull_scope();
    match state
        .store
        .photo_visible(sha, &scope, Some(caller.device.id))
        .await?
    {
        Some(true) => Ok(()),
        Some(false) => Err(ApiError::forbidden(
            "此照片不在本账号的巡查范围内 / this photo is outside your account's scope",
        )),
        None => Err(ApiError::not_found(format!(
            "服务器没有照片 {sha} / the server has no photo {sha}"
        ))),
    }
}

/// A photo's bytes, for a re-check on a tablet that did not take it.
#[utoipa::path(get, path = "/api/v1/photos/{sha256}", tag = "photos",
    params(("sha256" = String, Path, description = "the photo's SHA-256")),
    responses((status = 200, description = "the JPEG bytes"), (status = 401, description = "no valid token"),
        (status = 403, description = "outside the caller's scope"),
        (status = 404, description = "unknown photo, or its bytes have not reached the server")),
    security(("bearer" = [])))]
pub async fn download(
    State(state): State<SharedState>,
    caller: Caller,
    Path(sha): Path<String>,
) -> ApiResult<Response> {
    check_visible(&state, &caller, &sha).await?;
    let blob = state
        .blobs
        .read(&sha)
        .await
        .map_err(store_down)?
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "照片 {sha} 尚未上传到服务器 / photo {sha} has not reached the server yet"
            ))
        })?;
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                HeaderValue::from_static("image/jpeg"),
            ),
            (
                axum::http::header::CONTENT_LENGTH,
                HeaderValue::from(blob.size),
            ),
        ],
        Body::from_stream(blob.body),
    )
        .into_response())
}

/// The thumbnails of up to [`MAX_THUMBNAILS_PER_REQUEST`] photos in one answer; photos the
/// server does not hold yet are left out, and a photo outside the caller's scope refuses the
/// whole request.
#[utoipa::path(post, path = "/api/v1/photos/thumbnails", tag = "photos",
    request_body(content = serde_json::Value, description = "ThumbnailsRequest: hashes", content_type = "application/json"),
    responses((status = 200, description = "ThumbnailsResponse: thumbnails (base64 JPEG)"),
        (status = 400, description = "a hash is malformed"), (status = 401, description = "no valid token"),
        (status = 403, description = "a photo outside the caller's scope"),
        (status = 404, description = "a photo the server has no record of"),
        (status = 413, description = "too many hashes")),
    security(("bearer" = [])))]
pub async fn thumbnails(
    State(state): State<SharedState>,
    caller: Caller,
    ApiJson(req): ApiJson<ThumbnailsRequest>,
) -> ApiResult<Json<ThumbnailsResponse>> {
    if req.hashes.len() > MAX_THUMBNAILS_PER_REQUEST {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_many_hashes",
            format!(
                "一次最多请求 {MAX_THUMBNAILS_PER_REQUEST} 张缩略图 / at most {MAX_THUMBNAILS_PER_REQUEST} thumbnails per request"
            ),
        ));
    }
    let mut out = Vec::with_capacity(req.hashes.len());
    for sha in &req.hashes {
        check_visible(&state, &caller, sha).await?;
        match crate::thumbnails::thumbnail(&state, sha).await {
            Ok(jpeg) => out.push(Thumbnail {
                sha256: sha.clone(),
                jpeg_base64: base64::engine::general_purpose::STANDARD.encode(jpeg),
            }),
            Err(crate::thumbnails::ThumbError::NotStored) => {}
            Err(e) => return Err(ApiError::internal(e)),
        }
    }
    Ok(Json(ThumbnailsResponse { thumbnails: out }))
}
