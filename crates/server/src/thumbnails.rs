//! Photos' 320-pixel thumbnails, made once from the stored photo and kept beside the blobs.
//! The dashboard and the tablets' batched thumbnail request share them.

use crate::app::AppState;

/// Long side of a thumbnail, in pixels.
pub const THUMB_SIDE: u32 = 320;

/// Why there is no thumbnail.
#[derive(Debug, thiserror::Error)]
pub enum ThumbError {
    /// The photo's bytes have not reached the server.
    #[error("照片尚未上传到服务器 / the photo has not reached the server yet")]
    NotStored,
    /// Reading, decoding or storing failed (logged).
    #[error("缩略图生成失败 / the thumbnail could not be made: {0}")]
    Failed(String),
}

/// The thumbnail of stored photo `sha` (64 hex digits, checked by the caller): the kept one, or
/// one made now (on a bounded decoding slot) and kept.
pub async fn thumbnail(state: &AppState, sha: &str) -> Result<Vec<u8>, ThumbError> {
    let failed = |e: &dyn std::fmt::Display| {
        tracing::error!(error = %e, sha, "thumbnail");
        ThumbError::Failed(e.to_string())
    };
    let name = format!("{sha}-thumb{THUMB_SIDE}.jpg");
    if let Some(b) = state
        .blobs
        .read_derived(&name)
        .await
        .map_err(|e| failed(&e))?
    {
        return Ok(b);
    }
    let bytes = state
        .blobs
        .read(sha)
        .await
        .map_err(|e| failed(&e))?
        .ok_or(ThumbError::NotStored)?
        .bytes(state.limits.max_photo_bytes)
        .await
        .map_err(|e| failed(&e))?;
    let small = state
        .decode_bounded(move || fieldcheck_photo_codec::thumbnail(&bytes, THUMB_SIDE))
        .await
        .map_err(|e| failed(&e))?
        .map_err(|e| failed(&e))?;
    state
        .blobs
        .put_derived(&name, bytes::Bytes::from(small.clone()))
        .await
        .map_err(|e| failed(&e))?;
    Ok(small)
}
