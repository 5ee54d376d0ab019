//! Why bytes are not a photo this codec takes. Every message is zh-CN first, then English, and
//! says what the inspector or office clerk can do about it.

/// Why an image was refused: empty, not JPEG or PNG, too large, or damaged.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
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
    /// The header declares more pixels than the codec accepts (a decompression bomb or a
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
}
