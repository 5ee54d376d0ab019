//! Resampling with `fast_image_resize` (SIMD convolution, rows split over the cores).

use fast_image_resize::images::{TypedImage, TypedImageRef};
use fast_image_resize::pixels::U8x3;
use fast_image_resize::{FilterType, ResizeAlg, ResizeOptions, Resizer};

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
    // Typed for RGB, not through `Resizer::resize`, whose match over every pixel type links
    // all thirteen of them with their SIMD variants: 5.6 MB of the app's 24.5 (BENCHMARKS.md,
    // "Footprint"); this is the path `resize` takes for RGB.
    let src = TypedImageRef::<U8x3>::from_buffer(width, height, rgb)
        .expect("buffer length matches width × height × 3");
    let mut out = vec![0u8; to_w as usize * to_h as usize * 3];
    let mut dst = TypedImage::<U8x3>::from_buffer(to_w, to_h, &mut out)
        .expect("the buffer is to_w × to_h × 3 bytes");
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Bilinear));
    Resizer::new()
        .resize_typed(&src, &mut dst, &options)
        .expect("source and destination are both RGB");
    out
}
