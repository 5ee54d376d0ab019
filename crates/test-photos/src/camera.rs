//! The camera's JPEG of a scene, as a phone writes it.

use crate::scene::street_scene;
use jpeg_encoder::{ColorType, Encoder, SamplingFactor};

/// A test photo as the camera hands it over, and the scene it shows.
pub struct CameraPhoto {
    /// The camera's JPEG: quality 92, 4:2:0; 4000 × 3000 stored, with EXIF orientation 6
    /// when the scene is upright (portrait).
    pub jpeg: Vec<u8>,
    /// The scene as seen, upright, packed RGB.
    pub scene: Vec<u8>,
    /// Width of `scene` (as seen).
    pub width: u32,
    /// Height of `scene` (as seen).
    pub height: u32,
}

/// `n` 12 MP street photos from seeds `1..=n`: the even ones taken landscape (4000 × 3000,
/// no orientation tag), the odd ones with the tablet held upright (a 3000 × 4000 scene, stored
/// sideways as the sensor reads it, with EXIF orientation 6).
pub fn corpus(n: u64) -> Vec<CameraPhoto> {
    (1..=n)
        .map(|seed| {
            let upright = seed % 2 == 1;
            let (w, h) = if upright { (3000, 4000) } else { (4000, 3000) };
            let scene = street_scene(seed, w, h);
            let jpeg = camera_jpeg(&scene, w, h, upright);
            CameraPhoto {
                jpeg,
                scene,
                width: w,
                height: h,
            }
        })
        .collect()
}

/// The camera's JPEG (quality 92, 4:2:0) of `rgb` (`width` × `height`, as seen). When
/// `upright`, the pixels are stored turned a quarter anticlockwise, as a sensor held upright
/// reads them, and tagged EXIF orientation 6 ("turn clockwise to view").
pub fn camera_jpeg(rgb: &[u8], width: u32, height: u32, upright: bool) -> Vec<u8> {
    let (stored, sw, sh) = if upright {
        // Stored row r, column c shows the seen row c, column (width - 1 - r).
        let (w, h) = (width as usize, height as usize);
        let mut out = vec![0u8; rgb.len()];
        for r in 0..w {
            for c in 0..h {
                let from = (c * w + (w - 1 - r)) * 3;
                let to = (r * h + c) * 3;
                out[to..to + 3].copy_from_slice(&rgb[from..from + 3]);
            }
        }
        (out, height, width)
    } else {
        (rgb.to_vec(), width, height)
    };
    let mut plain = Vec::with_capacity(stored.len() / 4);
    let mut encoder = Encoder::new(&mut plain, 92);
    encoder.set_sampling_factor(SamplingFactor::F_2_2);
    encoder
        .encode(&stored, sw as u16, sh as u16, ColorType::Rgb)
        .expect("encoding a test photo into memory");
    if !upright {
        return plain;
    }
    let mut out = plain[..2].to_vec(); // SOI
    out.extend_from_slice(&exif_app1(6));
    out.extend_from_slice(&plain[2..]);
    out
}

/// An APP1 segment holding a big-endian TIFF with one IFD entry: Orientation (0x0112).
pub fn exif_app1(orientation: u16) -> Vec<u8> {
    let mut tiff = b"MM\0\x2a\0\0\0\x08".to_vec(); // header, IFD0 at offset 8
    tiff.extend_from_slice(&1u16.to_be_bytes()); // one entry
    tiff.extend_from_slice(&0x0112u16.to_be_bytes()); // Orientation
    tiff.extend_from_slice(&3u16.to_be_bytes()); // SHORT
    tiff.extend_from_slice(&1u32.to_be_bytes()); // count
    tiff.extend_from_slice(&orientation.to_be_bytes());
    tiff.extend_from_slice(&[0, 0]); // value padding
    tiff.extend_from_slice(&0u32.to_be_bytes()); // no next IFD
    let mut body = b"Exif\0\0".to_vec();
    body.extend_from_slice(&tiff);
    let mut seg = vec![0xFF, 0xE1];
    seg.extend_from_slice(&((body.len() + 2) as u16).to_be_bytes());
    seg.extend_from_slice(&body);
    seg
}

/// The photo encoder before issue #18, the reference the shipped one is judged against:
/// quality 80, 4:2:0, the standard Huffman tables (libjpeg-turbo's output at these settings
/// has the same SSIM within 0.00001 and the same size within 0.3 %).
pub fn reference_jpeg(rgb: &[u8], width: u32, height: u32) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = Encoder::new(&mut out, 80);
    encoder.set_sampling_factor(SamplingFactor::F_2_2);
    encoder
        .encode(rgb, width as u16, height as u16, ColorType::Rgb)
        .expect("encoding a photo into memory");
    out
}
