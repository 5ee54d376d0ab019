//! Resampling with `fast_image_resize` (SIMD convolution, rows split over the cores).

use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};

/// The size of a `width` × `height` image shrunk so that its long edge is at most `long_edge`,
/// keeping the aspect ratio; never enlarged.
pub fn fit(width: u32, height: u32, long_edge: u32) -> (u32, u32) {
    let long = width.max(height);
    if long <= long_edge {
        return (width, height);
    }
    let scale = |side: u32| {
        ((u64::from(side) * u64::from(long_edge) + u64::from(long) / 2) / u64::from(long)).max(1)
            as u32
    };
    (scale(width), scale(height))
}

/// Resizes packed RGB pixels to `to_w` × `to_h`, smaller or larger (same size: copied).
pub fn resize(rgb: &[u8], width: u32, height: u32, to_w: u32, to_h: u32) -> Vec<u8> {
    if (width, height) == (to_w, to_h) {
        return rgb.to_vec();
    }
    let src = ImageRef::new(width, height, rgb, PixelType::U8x3)
        .expect("buffer length matches width × height × 3");
    let mut dst = Image::new(to_w, to_h, PixelType::U8x3);
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Bilinear));
    Resizer::new()
        .resize(&src, &mut dst, &options)
        .expect("source and destination are both U8x3");
    dst.into_vec()
}
