//! The one error type of the photo pipeline. Every message is zh-CN first, then English, and
//! says what went wrong and what the inspector can do about it.

use fieldcheck_photo_codec::CodecError;
use std::io;
use std::path::PathBuf;

/// Why a photo could not be taken in, or the device key could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PhotoError {
    /// The bytes are not a photo the codec takes: empty, not JPEG or PNG, too large, or
    /// damaged.
    #[error(transparent)]
    Image(#[from] CodecError),
    /// The photo (as stored: shrunk to 2048 px and upright) is too small to carry its whole
    /// stamp, never cut, at a legible size ([`MIN_FONT_PX`](super::MIN_FONT_PX)) in at most 12 %
    /// of its area. Checked right after decoding, before anything is drawn; `min_width` ×
    /// `min_height` is the smallest size of the same shape that would carry it.
    #[error(
        "照片太小（{width}×{height} 像素），放不下完整的水印：至少需要 {min_width}×{min_height} \
         像素，请用相机拍摄或选择原图 / The photo is too small ({width}×{height} px) to carry \
         the whole stamp: it needs at least {min_width}×{min_height} px; take it with the \
         camera or pick the original image"
    )]
    TooSmall {
        /// Its width.
        width: u32,
        /// Its height.
        height: u32,
        /// The smallest width of the same shape that carries the stamp.
        min_width: u32,
        /// The smallest height of the same shape that carries the stamp.
        min_height: u32,
    },
    /// Too little free space in the photo directory to take a photo safely.
    #[error(
        "存储空间不足（剩余 {available_mb} MB，至少需要 {required_mb} MB），请同步后清理 / \
         Storage low ({available_mb} MB free, {required_mb} MB needed): sync and free space"
    )]
    StorageLow {
        /// Free megabytes.
        available_mb: u64,
        /// Megabytes required.
        required_mb: u64,
    },
    /// A file operation failed; nothing was kept.
    #[error(
        "保存照片失败（{step}），照片未保存 / Saving the photo failed ({step}); nothing was kept: {source}"
    )]
    Io {
        /// Which step, e.g. `write temp file`.
        step: &'static str,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// Bytes fetched for a photo are not that photo (their hash differs): not kept.
    #[error(
        "收到的照片与记录不符，未保存 / The photo received does not match its record; not kept ({sha256})"
    )]
    HashMismatch {
        /// The photo that was asked for.
        sha256: String,
    },
    /// A copy larger than the whole photo cache: not kept.
    #[error("照片缓存上限太小，放不下这张照片 / The photo cache's cap is smaller than this photo")]
    CacheTooSmall,
    /// The database refused the record; the stored files were removed again.
    #[error("登记照片失败，照片未保存 / Recording the photo failed; nothing was kept: {0}")]
    Record(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The device key file exists but cannot be used.
    #[error(
        "设备密钥文件 {} 无效（{detail}），请联系管理员 / The device key file {} is \
         unusable ({detail}): contact the administrator",
        path.display(),
        path.display()
    )]
    DeviceKey {
        /// The key file.
        path: PathBuf,
        /// What is wrong with it.
        detail: String,
    },
}

impl PhotoError {
    /// An I/O error at the named step.
    pub(crate) fn io(step: &'static str) -> impl FnOnce(io::Error) -> PhotoError {
        move |source| PhotoError::Io { step, source }
    }
}
