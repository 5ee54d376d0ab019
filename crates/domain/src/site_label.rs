//! What a site's QR label says: which county server it belongs to and which site it is, as
//! `FCSITE1:<county id>:<site id>` (both UUIDs, lower-case). The office prints the labels; a
//! tablet that scans one reads it back with [`parse`], and a label of another county, or
//! something that is not a Fieldcheck label, is told apart from a damaged one.

use uuid::Uuid;

/// The label format's prefix and version.
const PREFIX: &str = "FCSITE1";

/// A site's label, read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SiteLabel {
    /// The county server that printed it (its instance id).
    pub county: Uuid,
    /// The site.
    pub site: Uuid,
}

impl SiteLabel {
    /// The text the QR code holds.
    pub fn text(&self) -> String {
        format!(
            "{PREFIX}:{}:{}",
            self.county.as_hyphenated(),
            self.site.as_hyphenated()
        )
    }
}

/// Why scanned text is not a site of this county.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{} / {}", self.zh(), self.en())]
pub enum LabelFault {
    /// Some other QR code (a payment code, a web address).
    NotALabel,
    /// A Fieldcheck label whose text is cut or garbled.
    Damaged,
    /// A label printed by another county's server.
    OtherCounty,
}

impl LabelFault {
    /// The reason in plain Chinese, with what to do.
    pub fn zh(self) -> &'static str {
        match self {
            LabelFault::NotALabel => "这不是创城巡查的点位二维码",
            LabelFault::Damaged => "点位二维码已损坏，无法读取，请手动选择点位",
            LabelFault::OtherCounty => "这是其他区县的点位二维码，不属于本系统",
        }
    }

    /// The reason in English.
    pub fn en(self) -> &'static str {
        match self {
            LabelFault::NotALabel => "this is not a Fieldcheck site label",
            LabelFault::Damaged => "the site label is damaged: pick the site by hand",
            LabelFault::OtherCounty => "this label belongs to another county's system",
        }
    }
}

/// Reads scanned text as a label of the county `ours`.
pub fn parse(text: &str, ours: Uuid) -> Result<SiteLabel, LabelFault> {
    let mut parts = text.trim().split(':');
    if parts.next() != Some(PREFIX) {
        return Err(LabelFault::NotALabel);
    }
    let mut id = || {
        parts
            .next()
            .and_then(|p| Uuid::try_parse(p).ok())
            .ok_or(LabelFault::Damaged)
    };
    let (county, site) = (id()?, id()?);
    if parts.next().is_some() {
        return Err(LabelFault::Damaged);
    }
    if county != ours {
        return Err(LabelFault::OtherCounty);
    }
    Ok(SiteLabel { county, site })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_label_reads_back_and_strangers_are_told_apart() {
        let (ours, site) = (Uuid::now_v7(), Uuid::now_v7());
        let label = SiteLabel { county: ours, site };
        assert_eq!(parse(&label.text(), ours), Ok(label));
        assert_eq!(parse(&format!(" {}\n", label.text()), ours), Ok(label));
        let theirs = SiteLabel {
            county: Uuid::now_v7(),
            site,
        };
        assert_eq!(parse(&theirs.text(), ours), Err(LabelFault::OtherCounty));
        let text = label.text();
        assert_eq!(
            parse(&text[..text.len() - 5], ours),
            Err(LabelFault::Damaged)
        );
        assert_eq!(parse(&format!("{text}:x"), ours), Err(LabelFault::Damaged));
        assert_eq!(
            parse("https://example.com/pay?id=1", ours),
            Err(LabelFault::NotALabel)
        );
        assert!(
            LabelFault::OtherCounty
                .to_string()
                .starts_with("这是其他区县"),
            "Chinese first"
        );
    }
}
