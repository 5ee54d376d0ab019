//! From the bytes a camera or file picker gives to upright-able RGB pixels: format sniffing,
//! header limits checked before any pixel is decoded, EXIF orientation, and JPEG decoding at
//! the smallest DCT scale whose long edge still reaches a given minimum.

use crate::CodecError;
use crate::Orientation;
use std::io::Cursor;

/// Longest side accepted, in pixels.
pub const MAX_SIDE: u32 = 16_384;
/// Most pixels accepted (64 megapixels: above any phone's default resolution).
pub const MAX_PIXELS: u64 = 64_000_000;

/// Decoded pixels, still as stored (not yet turned upright).
pub struct Decoded {
    /// Packed 8-bit RGB.
    pub rgb: Vec<u8>,
    /// Width of `rgb`.
    pub width: u32,
    /// Height of `rgb`.
    pub height: u32,
    /// The image's own width, as stored (`width` is smaller when a JPEG was decoded at a DCT
    /// scale).
    pub full_width: u32,
    /// The image's own height, as stored.
    pub full_height: u32,
    /// How to turn it upright.
    pub orientation: Orientation,
}

/// Decodes `bytes` (JPEG or PNG). A JPEG is decoded at the smallest DCT scale whose long edge
/// is still at least `min_long_edge` (or at full size, if the image's own is smaller); a PNG is
/// always decoded at full size.
pub fn decode(bytes: &[u8], min_long_edge: u32) -> Result<Decoded, CodecError> {
    match sniff(bytes)? {
        Format::Jpeg => decode_jpeg(bytes, min_long_edge),
        Format::Png => decode_png(bytes),
    }
}

enum Format {
    Jpeg,
    Png,
}

/// What [`check_image`] found in an image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImageInfo {
    /// `image/jpeg` or `image/png`.
    pub mime: &'static str,
    /// Width in the header.
    pub width: u32,
    /// Height in the header.
    pub height: u32,
}

/// The MIME type of a JPEG or PNG, from its first bytes; `None` for anything else.
pub fn image_mime(bytes: &[u8]) -> Option<&'static str> {
    match sniff(bytes).ok()? {
        Format::Jpeg => Some("image/jpeg"),
        Format::Png => Some("image/png"),
    }
}

/// Checks that `bytes` are a whole JPEG or PNG image of at most `max_side` pixels a side (and
/// within [`MAX_SIDE`] and [`MAX_PIXELS`]): the size is read from the header and checked before
/// any pixel is decoded, then every pixel is decoded (a JPEG at its smallest DCT scale, which
/// still reads all of its compressed data), so a damaged or cut-short file is refused. What a
/// server checks before it accepts a photo.
pub fn check_image(bytes: &[u8], max_side: u32) -> Result<ImageInfo, CodecError> {
    let (mime, width, height) = match sniff(bytes)? {
        Format::Jpeg => {
            let mut decoder = jpeg_decoder::Decoder::new(bytes);
            decoder.read_info().map_err(jpeg_error)?;
            let info = decoder
                .info()
                .ok_or_else(|| corrupt("JPEG")("no frame header".into()))?;
            ("image/jpeg", u32::from(info.width), u32::from(info.height))
        }
        Format::Png => {
            let mut decoder = png::Decoder::new(Cursor::new(bytes));
            let header = decoder
                .read_header_info()
                .map_err(|e| corrupt("PNG")(e.to_string()))?;
            ("image/png", header.width, header.height)
        }
    };
    if width > max_side || height > max_side {
        return Err(CodecError::TooLarge {
            width,
            height,
            max_side: max_side.min(MAX_SIDE),
            max_megapixels: (MAX_PIXELS / 1_000_000) as u32,
        });
    }
    decode(bytes, 1)?;
    Ok(ImageInfo {
        mime,
        width,
        height,
    })
}

/// Tells the format from the first bytes, naming the common formats that are refused.
fn sniff(bytes: &[u8]) -> Result<Format, CodecError> {
    let refuse = |found| Err(CodecError::UnsupportedFormat { found });
    match bytes {
        [] => Err(CodecError::Empty),
        [0xFF, 0xD8, 0xFF, ..] => Ok(Format::Jpeg),
        [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1A, b'\n', ..] => Ok(Format::Png),
        [_, _, _, _, b'f', b't', b'y', b'p', brand @ ..] if brand.starts_with(b"avi") => {
            refuse("AVIF")
        }
        [_, _, _, _, b'f', b't', b'y', b'p', ..] => refuse("HEIC/HEIF"),
        [b'G', b'I', b'F', b'8', ..] => refuse("GIF"),
        [
            b'R',
            b'I',
            b'F',
            b'F',
            _,
            _,
            _,
            _,
            b'W',
            b'E',
            b'B',
            b'P',
            ..,
        ] => refuse("WebP"),
        [b'B', b'M', ..] => refuse("BMP"),
        [b'I', b'I', 0x2A, 0x00, ..] | [b'M', b'M', 0x00, 0x2A, ..] => refuse("TIFF/RAW"),
        _ => refuse("不是图片 / not an image"),
    }
}

fn check_size(format: &'static str, width: u32, height: u32) -> Result<(), CodecError> {
    if width == 0 || height == 0 {
        return Err(corrupt(format)(format!("declared size {width}×{height}")));
    }
    if width > MAX_SIDE || height > MAX_SIDE || u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(CodecError::TooLarge {
            width,
            height,
            max_side: MAX_SIDE,
            max_megapixels: (MAX_PIXELS / 1_000_000) as u32,
        });
    }
    Ok(())
}

fn corrupt(format: &'static str) -> impl Fn(String) -> CodecError {
    move |detail| CodecError::Corrupt { format, detail }
}

fn decode_jpeg(bytes: &[u8], min_long_edge: u32) -> Result<Decoded, CodecError> {
    let mut decoder = jpeg_decoder::Decoder::new(bytes);
    decoder.read_info().map_err(jpeg_error)?;
    let info = decoder
        .info()
        .ok_or_else(|| corrupt("JPEG")("no frame header".into()))?;
    check_size("JPEG", u32::from(info.width), u32::from(info.height))?;
    if matches!(
        info.pixel_format,
        jpeg_decoder::PixelFormat::L16 | jpeg_decoder::PixelFormat::CMYK32
    ) {
        return Err(CodecError::UnsupportedFormat {
            found: "CMYK 或 16 位 JPEG / CMYK or 16-bit JPEG",
        });
    }
    let orientation = decoder
        .exif_data()
        .map_or(Orientation::Normal, Orientation::from_exif);
    #[cfg(feature = "turbojpeg")]
    let (rgb, width, height) = crate::turbo::decode(bytes, min_long_edge)?;
    #[cfg(not(feature = "turbojpeg"))]
    let (rgb, width, height) = {
        // `scale` picks the smallest of 1/8, 1/4, 1/2 and 1/1 at which either side reaches the
        // requested one; asking `need` of both sides means the long side decides. `need` fits
        // in u16: it is at most the JPEG's own long edge.
        let need = u32::from(info.width.max(info.height)).min(min_long_edge) as u16;
        let (width, height) = decoder.scale(need, need).map_err(jpeg_error)?;
        let pixels = decoder.decode().map_err(jpeg_error)?;
        let rgb = match info.pixel_format {
            jpeg_decoder::PixelFormat::L8 => pixels.iter().flat_map(|&l| [l, l, l]).collect(),
            _ => pixels,
        };
        (rgb, u32::from(width), u32::from(height))
    };
    Ok(Decoded {
        rgb,
        width,
        height,
        full_width: u32::from(info.width),
        full_height: u32::from(info.height),
        orientation,
    })
}

fn jpeg_error(e: jpeg_decoder::Error) -> CodecError {
    match e {
        jpeg_decoder::Error::Unsupported(_) => CodecError::UnsupportedFormat {
            found: "JPEG 特殊编码（算术编码或 12 位）/ JPEG with arithmetic coding or 12-bit samples",
        },
        other => corrupt("JPEG")(other.to_string()),
    }
}

fn decode_png(bytes: &[u8]) -> Result<Decoded, CodecError> {
    let png_err = |e: png::DecodingError| corrupt("PNG")(e.to_string());
    let limits = png::Limits {
        bytes: usize::try_from(MAX_PIXELS * 8).unwrap_or(usize::MAX),
    };
    let mut decoder = png::Decoder::new_with_limits(Cursor::new(bytes), limits);
    let header = decoder.read_header_info().map_err(png_err)?;
    check_size("PNG", header.width, header.height)?;
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().map_err(png_err)?;
    let orientation = reader
        .info()
        .exif_metadata
        .as_deref()
        .map_or(Orientation::Normal, Orientation::from_exif);
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| corrupt("PNG")("image too large for this device".into()))?;
    let mut buf = vec![0; size];
    let frame = reader.next_frame(&mut buf).map_err(png_err)?;
    buf.truncate(frame.buffer_size());
    let rgb = match frame.color_type {
        png::ColorType::Rgb => buf,
        png::ColorType::Grayscale => buf.iter().flat_map(|&l| [l, l, l]).collect(),
        png::ColorType::GrayscaleAlpha => buf
            .chunks_exact(2)
            .flat_map(|p| [on_white(p[0], p[1]); 3])
            .collect(),
        png::ColorType::Rgba => buf
            .chunks_exact(4)
            .flat_map(|p| {
                [
                    on_white(p[0], p[3]),
                    on_white(p[1], p[3]),
                    on_white(p[2], p[3]),
                ]
            })
            .collect(),
        png::ColorType::Indexed => {
            return Err(corrupt("PNG")("palette not expanded".into()));
        }
    };
    Ok(Decoded {
        rgb,
        width: frame.width,
        height: frame.height,
        full_width: frame.width,
        full_height: frame.height,
        orientation,
    })
}

/// A channel value with `alpha` composited over white (transparent screenshots stay readable).
fn on_white(value: u8, alpha: u8) -> u8 {
    let (v, a) = (u32::from(value), u32::from(alpha));
    ((v * a + 255 * (255 - a) + 127) / 255) as u8
}
