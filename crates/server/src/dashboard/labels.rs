//! 点位二维码: the sites' QR labels on A4 sheets, ready to print and laminate. Each label holds
//! the county's id and the site's ([`fieldcheck_domain::site_label`]), with the site's name and
//! place in Chinese beside the code, so a tablet that scans it opens that site, and knows a
//! label of another county for what it is.

use super::error::PageError;
use super::layout::page;
use super::reference::Reference;
use super::session::Session;
use crate::app::SharedState;
use axum::extract::State;
use fieldcheck_domain::site_label::SiteLabel;
use maud::{Markup, PreEscaped, html};
use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};

/// The QR code of `text` as an SVG element, with its quiet zone. Error correction level Q
/// (25 %): a label that is scratched or partly covered still reads.
pub fn qr_svg(text: &str) -> String {
    let code = QrCode::with_error_correction_level(text, EcLevel::Q)
        .expect("a label's text fits in a QR code");
    let image = code
        .render::<svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    // Inline in HTML: the element alone, without its XML declaration.
    image
        .find("<svg")
        .map_or(image.clone(), |at| image[at..].to_string())
}

/// `GET /dashboard/manage/labels` (admins): every site's label, 12 to an A4 page.
pub async fn labels_page(
    State(state): State<SharedState>,
    session: Session,
) -> Result<Markup, PageError> {
    let l = session.lang;
    let county = state.county_id().await?;
    let reference = Reference::load(state.store.as_ref()).await?;
    let body = html! {
        p class="no-print" {
            (l.t("每张 A4 纸 12 个标签，打印后过塑，贴在点位显眼处。巡查员用平板扫码即可打开该点位并记录到场。",
                "Twelve labels to an A4 page: print, laminate and put each where it is seen at its site. An inspector scans it with the tablet to open the site and record the visit."))
            " "
            button type="button" onclick="window.print()" id="print-labels" { (l.t("打印", "Print")) }
        }
        div class="labels" id="labels" {
            @for site in &reference.sites {
                @let text = SiteLabel { county, site: site.id }.text();
                div class="label" data-site=(site.id) data-label=(text) {
                    (PreEscaped(qr_svg(&text)))
                    div class="label-name" { (site.name) }
                    div class="label-place" { (site.district) " " (site.street) }
                    small { (reference.site_type_name(l, &site.site_type)) }
                }
            }
        }
    };
    Ok(page(&session, l.t("点位二维码", "Site QR labels"), body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    /// The QR code the label shows reads back, through an independent decoder, as the label's
    /// text: drawn from the same modules the SVG draws, 8 pixels a module.
    #[test]
    fn a_label_reads_back_as_its_text() {
        let text = SiteLabel {
            county: Uuid::now_v7(),
            site: Uuid::now_v7(),
        }
        .text();
        let code = QrCode::with_error_correction_level(&text, EcLevel::Q).unwrap();
        let (modules, width) = (code.to_colors(), code.width());
        let scale = 8;
        let side = (width + 8) * scale;
        let dark = |x: usize, y: usize| {
            let (mx, my) = ((x / scale).wrapping_sub(4), (y / scale).wrapping_sub(4));
            mx < width && my < width && modules[my * width + mx] == qrcode::Color::Dark
        };
        let mut image = rqrr::PreparedImage::prepare_from_greyscale(side, side, |x, y| {
            if dark(x, y) { 0 } else { 255 }
        });
        let grids = image.detect_grids();
        assert_eq!(grids.len(), 1);
        let (_, content) = grids[0].decode().unwrap();
        assert_eq!(content, text);
        assert!(qr_svg(&text).starts_with("<svg"));
    }
}
