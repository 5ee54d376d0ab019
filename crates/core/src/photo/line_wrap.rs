//! Breaking one stamp line into lines that fit a width, as Chinese text is set: a line may
//! wrap at a space or on either side of a Chinese character; words, numbers and coordinates
//! such as `N30.274150°` stay whole unless one alone is wider than the line; closing
//! punctuation stays with the character before it, opening punctuation with the one after.

/// Punctuation that must not start a line: it stays with the character before it.
fn closes(c: char) -> bool {
    "，。、：；！？）」』》】〕〉…,.:;!?)]}%°".contains(c)
}

/// Punctuation that must not end a line: it stays with the character after it.
fn opens(c: char) -> bool {
    "（「『《【〔〈([{".contains(c)
}

/// Whether `c` is a character a line may wrap before and after (a Chinese character or
/// full-width sign), rather than part of a word, number or coordinate.
fn breaks_around(c: char) -> bool {
    matches!(u32::from(c),
        0x2E80..=0x9FFF | 0xAC00..=0xD7AF | 0xF900..=0xFAFF | 0xFE30..=0xFE4F | 0xFF00..=0xFFEF
        | 0x20000..=0x3FFFF)
        || unicode_wide_symbol(c)
}

/// Symbols drawn as wide as a Chinese character that may stand on their own.
fn unicode_wide_symbol(c: char) -> bool {
    (0x1F000..=0x1FAFF).contains(&u32::from(c))
}

/// `line` split into lines of at most `max_width`, each character as wide as `advance` says:
/// greedy, wrapping at a space (dropped there) or around a Chinese character, keeping words,
/// numbers and coordinates whole unless one alone is wider than `max_width`, which then wraps
/// between characters (starting on the line it comes to).
pub(super) fn wrap(line: &str, max_width: f32, advance: impl Fn(char) -> f32) -> Vec<String> {
    // Units that are never split: runs of spaces, words, single Chinese characters (with the
    // punctuation glued to them).
    let mut units: Vec<String> = Vec::new();
    let mut glue_next = false;
    for c in line.chars() {
        let space = c.is_whitespace();
        let joins = match units.last() {
            None => false,
            Some(_) if glue_next => !space,
            Some(last) => {
                let prev = last.chars().last().expect("units are not empty");
                if space {
                    prev.is_whitespace()
                } else if prev.is_whitespace() {
                    false
                } else {
                    closes(c) || (!breaks_around(c) && !breaks_around(prev) && !opens(prev))
                }
            }
        };
        if joins {
            units.last_mut().expect("joins only onto a unit").push(c);
        } else {
            units.push(c.to_string());
        }
        glue_next = opens(c);
    }
    let width = |s: &str| -> f32 { s.chars().map(&advance).sum() };
    let mut out = Vec::new();
    let (mut current, mut current_width) = (String::new(), 0.0);
    let mut spaces = String::new();
    for unit in units {
        if unit.starts_with(char::is_whitespace) {
            spaces.push_str(&unit);
            continue;
        }
        let added = width(&spaces) + width(&unit);
        if current_width + added <= max_width {
            current.push_str(&spaces);
            current.push_str(&unit);
            current_width += added;
            spaces.clear();
            continue;
        }
        if width(&unit) > max_width {
            // Wider than a whole line: wraps between its characters anyway, so it starts
            // right here rather than leaving the rest of this line empty.
            if current_width + width(&spaces) < max_width {
                current.push_str(&spaces);
                current_width += width(&spaces);
            }
        } else if !current.is_empty() {
            out.push(std::mem::take(&mut current));
            current_width = 0.0;
        }
        spaces.clear();
        for c in unit.chars() {
            let step = advance(c);
            if !current.is_empty() && current_width + step > max_width {
                out.push(std::mem::take(&mut current));
                current_width = 0.0;
            }
            current.push(c);
            current_width += step;
        }
    }
    // Spaces ending the line are not drawn.
    if !current.is_empty() || out.is_empty() {
        out.push(current);
    }
    out
}
