//! Test photos made by code, for tests and benchmarks only.
//!
//! - [`street_scene`]: a street as a tablet camera sees it (sky with clouds, facades with tiles
//!   and windows, overhead wires, trees, a pavement, an asphalt road with a manhole cover and
//!   cracks, shop signs, a street lamp, shadow and vignetting), through a camera's optics and
//!   sensor noise. Reproducible from a seed, at any size.
//! - [`camera_jpeg`] and [`corpus`]: the JPEG a phone writes of it (quality 92, 4:2:0, 12 MP,
//!   with an EXIF orientation when the tablet was held upright).
//! - [`ssim`]: the structural similarity of two pictures, to judge what an encoder kept, and
//!   [`reference_jpeg`], the encoder before issue #18 to judge against.
//!
//! The camera JPEGs weigh 3.5-3.6 MB like a phone's; quality 80 makes 350-410 KB of them at
//! 2048 px, a little less than of real camera photos (441-470 KB), which have finer detail.

mod camera;
mod scene;
mod ssim;

pub use camera::{CameraPhoto, camera_jpeg, corpus, exif_app1, reference_jpeg};
pub use scene::street_scene;
pub use ssim::{Ssim, ssim};
