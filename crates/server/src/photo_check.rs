//! Verification of a complete staged photo before it is accepted: its SHA-256, that it decodes
//! as an image within the dimension limits (header first, so a decompression bomb is refused
//! before any pixel is allocated; decoded by core's photo codec, libjpeg-turbo in the server),
//! and the device's Ed25519 signature over its capture record.

use fieldcheck_photo_codec::{CodecError, check_image};
use fieldcheck_protocol::PhotoRecord;
use sha2::{Digest, Sha256};

/// Why a photo was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PhotoRejection {
    /// The bytes hash to something else.
    #[error(
        "照片内容与哈希不符（收到 {actual}）/ the bytes hash to {actual}, not to the photo's name"
    )]
    HashMismatch {
        /// SHA-256 of the received bytes.
        actual: String,
    },
    /// The bytes are not a JPEG or PNG image.
    #[error("文件不是可识别的图片 / the file is not a readable image: {0}")]
    NotAnImage(String),
    /// Wider or higher than allowed.
    #[error(
        "图片尺寸 {width}×{height} 超过上限 {max} 像素 / image of {width}×{height} exceeds the {max}-pixel limit"
    )]
    TooLarge {
        /// Width in the header.
        width: u32,
        /// Height in the header.
        height: u32,
        /// The limit per side.
        max: u32,
    },
    /// The image's size differs from its record's.
    #[error(
        "图片尺寸 {width}×{height} 与记录不符 / image is {width}×{height}, its record says otherwise"
    )]
    DimensionsMismatch {
        /// Actual width.
        width: u32,
        /// Actual height.
        height: u32,
    },
    /// The signature does not verify with the device's key.
    #[error("设备签名无效 / the device's signature over the capture record does not verify")]
    BadSignature,
}

impl PhotoRejection {
    /// Stable error code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::HashMismatch { .. } => "hash_mismatch",
            Self::NotAnImage(_) => "not_an_image",
            Self::TooLarge { .. } => "image_too_large",
            Self::DimensionsMismatch { .. } => "dimensions_mismatch",
            Self::BadSignature => "bad_signature",
        }
    }
}

/// Verifies a record's signature with a hex Ed25519 public key, over the message the tablet
/// signs ([`fieldcheck_domain::device_signature::signed_message`]).
pub fn verify_signature(record: &PhotoRecord, public_key_hex: &str) -> Result<(), PhotoRejection> {
    if fieldcheck_domain::device_signature::verify_record(public_key_hex, record) {
        Ok(())
    } else {
        Err(PhotoRejection::BadSignature)
    }
}

/// Checks a complete staged photo against its record (blocking: run it off the async threads).
pub fn verify_photo(
    bytes: &[u8],
    record: &PhotoRecord,
    signer_key: &str,
    max_side: u32,
) -> Result<(), PhotoRejection> {
    let actual = hex::encode(Sha256::digest(bytes));
    if actual != record.sha256 {
        return Err(PhotoRejection::HashMismatch { actual });
    }
    let info = check_image(bytes, max_side).map_err(|e| match e {
        CodecError::TooLarge { width, height, .. } => PhotoRejection::TooLarge {
            width,
            height,
            max: max_side,
        },
        other => PhotoRejection::NotAnImage(other.to_string()),
    })?;
    if (info.width, info.height) != (record.width, record.height) {
        return Err(PhotoRejection::DimensionsMismatch {
            width: info.width,
            height: info.height,
        });
    }
    verify_signature(record, signer_key)
}
