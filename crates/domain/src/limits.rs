//! The limits every writer applies, on the tablet and on the server (push, office API,
//! dashboard, CLI, CSV import): how long a name or a note may be, which characters no text
//! may hold, what a position may be, and what names a photo. A tablet that refuses what the server refuses never queues a record that would
//! stick in its outbox.

/// Longest free text (descriptions, notes), in characters.
pub const MAX_TEXT: usize = 2000;
/// The longest person's name (姓名) an account may carry, in characters: it is printed on
/// every photo the person takes.
pub const MAX_PERSON_NAME_CHARS: usize = 32;
/// Longest name or code (accounts, sites, units, labels, addresses), in characters.
pub const MAX_NAME: usize = 100;

/// What kind of text a field holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextKind {
    /// One line: a name, a code, a label ([`MAX_NAME`] characters, no line breaks or tabs).
    Line,
    /// Free text over several lines ([`MAX_TEXT`] characters; line breaks and tabs allowed).
    Free,
}

impl TextKind {
    /// The longest text of this kind, in characters.
    pub fn max_chars(self) -> usize {
        match self {
            TextKind::Line => MAX_NAME,
            TextKind::Free => MAX_TEXT,
        }
    }
}

/// Why a text was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TextFault {
    /// Empty or only spaces where a value is required.
    #[error("must not be empty")]
    Empty,
    /// More characters than the kind allows.
    #[error("longer than {max} characters")]
    TooLong {
        /// The limit in characters.
        max: usize,
    },
    /// A control character (or a line break in a one-line field).
    #[error("holds a control character")]
    Control,
    /// A bidirectional embedding, override or isolate mark, which can make text read
    /// differently from what it says (U+202A–U+202E, U+2066–U+2069).
    #[error("holds a bidirectional control character")]
    Bidi,
}

impl TextFault {
    /// The reason in plain Chinese, for the person who typed it.
    pub fn zh(self) -> String {
        match self {
            TextFault::Empty => "不能为空".into(),
            TextFault::TooLong { max } => format!("不能超过 {max} 字"),
            TextFault::Control => "含有不可见的控制字符".into(),
            TextFault::Bidi => "含有改变文字方向的控制字符".into(),
        }
    }

    /// The reason in English.
    pub fn en(self) -> String {
        self.to_string()
    }
}

/// Whether a character may appear in text of this kind.
fn allowed(c: char, kind: TextKind) -> Result<(), TextFault> {
    if matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}') {
        return Err(TextFault::Bidi);
    }
    let line_break = matches!(c, '\n' | '\r' | '\t');
    if c.is_control() && !(line_break && kind == TextKind::Free) {
        return Err(TextFault::Control);
    }
    if matches!(c, '\u{2028}' | '\u{2029}') && kind == TextKind::Line {
        return Err(TextFault::Control);
    }
    Ok(())
}

/// Checks a text: not blank when `required`, within the kind's length, and free of control
/// and bidirectional-control characters. Length is checked first, so an oversized text is
/// refused without scanning it all.
pub fn check_text(value: &str, kind: TextKind, required: bool) -> Result<(), TextFault> {
    let max = kind.max_chars();
    if value.len() > max * 4 || value.chars().count() > max {
        return Err(TextFault::TooLong { max });
    }
    if required && value.trim().is_empty() {
        return Err(TextFault::Empty);
    }
    value.chars().try_for_each(|c| allowed(c, kind))
}

/// Whether `s` names a photo: its SHA-256 as 64 lower-case hex digits (the only form photos are
/// stored, fetched and referred to by).
pub fn is_sha256(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Whether a position is on the globe with a finite, non-negative accuracy in metres.
pub fn position_ok(p: &fieldcheck_protocol::Position) -> bool {
    p.lat.is_finite()
        && p.lon.is_finite()
        && p.accuracy_m.is_finite()
        && (-90.0..=90.0).contains(&p.lat)
        && (-180.0..=180.0).contains(&p.lon)
        && p.accuracy_m >= 0.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_notes() {
        assert_eq!(check_text("南门菜市场", TextKind::Line, true), Ok(()));
        assert_eq!(check_text("", TextKind::Line, false), Ok(()));
        assert_eq!(
            check_text("  ", TextKind::Line, true),
            Err(TextFault::Empty)
        );
        assert_eq!(
            check_text("井盖缺失\r\n第二行\t完", TextKind::Free, true),
            Ok(())
        );
        assert_eq!(
            check_text("a\nb", TextKind::Line, true),
            Err(TextFault::Control)
        );
        assert_eq!(
            check_text("a\u{0}b", TextKind::Free, true),
            Err(TextFault::Control)
        );
        assert_eq!(
            check_text("a\u{85}b", TextKind::Free, true),
            Err(TextFault::Control)
        );
        assert_eq!(
            check_text("invoice\u{202E}fdp.exe", TextKind::Line, true),
            Err(TextFault::Bidi)
        );
        assert_eq!(
            check_text("\u{2067}x", TextKind::Free, true),
            Err(TextFault::Bidi)
        );
        // Right-to-left letters themselves are text, not controls.
        assert_eq!(check_text("مرحبا", TextKind::Line, true), Ok(()));
    }

    #[test]
    fn lengths_count_characters() {
        let name = "巷".repeat(MAX_NAME);
        assert_eq!(check_text(&name, TextKind::Line, true), Ok(()));
        let over = "巷".repeat(MAX_NAME + 1);
        assert_eq!(
            check_text(&over, TextKind::Line, true),
            Err(TextFault::TooLong { max: MAX_NAME })
        );
        assert_eq!(
            check_text(&"x".repeat(MAX_TEXT + 1), TextKind::Free, false),
            Err(TextFault::TooLong { max: MAX_TEXT })
        );
    }
}
