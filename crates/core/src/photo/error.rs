//! The one error type of the photo pipeline. Every message is zh-CN first, then English, and
//! says what went wrong and what the inspector can do about it.

use std::io;
use std::path::PathBuf;

/// Why a photo could not be taken in, or the device key could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PhotoError {
    /// Zero bytes arrived.
    #[error("照片是空的（0 字节），请重新拍摄 / The photo is empty (0 bytes): take it again")]
    Empty,
    /// Not JPEG or PNG; `found` names what it looks like.
    #[error(
        "不支持的图片格式（{found}）：只接受 JPEG 或 PNG，请用相机拍摄或选择 JPEG/PNG 文件 / \
         Unsupported image format ({found}): only JPEG and PNG are accepted; take the photo with \
         the camera or pick a JPEG or PNG file"
    )]
    UnsupportedFormat {
        /// What the bytes look like, e.g. `HEIC/HEIF`.
        found: &'static str,
    },
    /// The header declares more pixels than the pipeline accepts (a decompression bomb or a
    /// panorama); refused before any pixel is decoded.
    #[error(
        "图片尺寸 {width}×{height} 超出上限（每边最多 {max_side} 像素，共最多 {max_megapixels} \
         百万像素），请用相机的默认分辨率拍摄 / Image of {width}×{height} is over the limit (at most \
         {max_side} px a side and {max_megapixels} megapixels): use the camera's default resolution"
    )]
    TooLarge {
        /// Declared width.
        width: u32,
        /// Declared height.
        height: u32,
        /// Longest side accepted.
        max_side: u32,
        /// Most megapixels accepted.
        max_megapixels: u32,
    },
    /// The file is damaged or cut short.
    #[error(
        "{format} 文件已损坏或不完整（{detail}），请重新拍摄或重新选择文件 / The {format} file is \
         damaged or incomplete ({detail}): take the photo again or pick the file again"
    )]
    Corrupt {
        /// `JPEG` or `PNG`.
        format: &'static str,
        /// The decoder's own words.
        detail: String,
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
