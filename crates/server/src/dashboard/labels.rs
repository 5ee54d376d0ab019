//! 点位二维码: the sites' QR labels on A4 sheets, ready to print and laminate. Each label holds
//! the county's id and the site's ([`fieldcheck_domain::site_label`]), with the site's name and
//! place in Chinese beside the code, so a tablet that scans it opens that site, and knows a
//! label of another county for what it is.

use super::error::PageError;
use super::layout::page;
use super::reference::Reference;
use super::session::Session;
use crate::app::SharedState;
use axum::extract::{Query, State};
use fieldcheck_domain::site_label::SiteLabel;
use maud::{Markup, PreEscaped, html};
use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};
use serde::Deserialize;

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

/// Labels on one page of the sheet: four A4 sheets. A label's SVG is about 19 KB, so a county
/// of thousands of sites is printed page by page, not as one page of tens of megabytes.
pub const LABELS_PER_PAGE: usize = 48;

/// `?page=` of the label sheet (from 1; anything else is the first page).
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct LabelsQuery {
    page: String,
}

/// `GET /dashboard/manage/labels` (admins): the sites' labels, 12 to an A4 sheet,
/// [`LABELS_PER_PAGE`] a page.
pub async fn labels_page(
    State(state): State<SharedState>,
    session: Session,
    Query(query): Query<LabelsQuery>,
) -> Result<Markup, PageError> {
    let l = session.lang;
    let county = state.county_id().await?;
    let reference = Reference::load(state.store.as_ref()).await?;
    let pages = reference.sites.len().div_ceil(LABELS_PER_PAGE).max(1);
    let page_no = query.page.parse().unwrap_or(1).clamp(1, pages);
    let sites = reference
        .sites
        .iter()
        .skip((page_no - 1) * LABELS_PER_PAGE)
        .take(LABELS_PER_PAGE);
    let body = html! {
        p class="no-print" {
            (l.t("每张 A4 纸 12 个标签，打印后过塑，贴在点位显眼处。巡查员用平板扫码即可打开该点位并记录到场。",
                "Twelve labels to an A4 page: print, laminate and put each where it is seen at its site. An inspector scans it with the tablet to open the site and record the visit."))
            " "
            button type="button" data-print id="print-labels" { (l.t("打印", "Print")) }
        }
        div class="labels" id="labels" {
            @for site in sites {
                @let text = SiteLabel { county, site: site.id }.text();
                div class="label" data-site=(site.id) data-label=(text) {
                    (PreEscaped(qr_svg(&text)))
                    div class="label-name" { (site.name) }
                    div class="label-place" { (site.district) " " (site.street) }
                    small { (reference.site_type_name(l, &site.site_type)) }
                }
            }
        }
        div class="pager no-print" {
            @if page_no > 1 {
                a href={ "?page=" (page_no - 1) } id="prev-page" { "‹ " (l.t("上一页", "Previous")) }
            }
            span id="labels-page" { (page_no) " / " (pages) }
            @if page_no < pages {
                a href={ "?page=" (page_no + 1) } id="next-page" { (l.t("下一页", "Next")) " ›" }
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
