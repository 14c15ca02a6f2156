//! Text measuring and shaping in display columns: width, eliding with
//! `…`, word wrapping, and clock times.
//!
//! Widths come from ratatui's own measure (`Span::width`), so what is
//! measured here is what ratatui draws.

use ratatui::text::Span;

/// Display columns of `text`.
pub fn width(text: &str) -> usize {
    // Printable ASCII is a column a byte; checking for it is cheaper than
    // the width tables, and most names and messages are.
    if text.bytes().all(|byte| matches!(byte, b' '..=b'~')) {
        text.len()
    } else {
        Span::raw(text).width()
    }
}

fn char_width(c: char) -> usize {
    let mut buffer = [0; 4];
    width(c.encode_utf8(&mut buffer))
}

/// `text` cut to `max` columns, ending in `…` when cut.
pub fn elide(text: &str, max: usize) -> String {
    if width(text) <= max {
        return text.to_owned();
    }
    if max == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = char_width(c);
        if used + w > max - 1 {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    out
}

/// Wraps `text` at word boundaries into lines of at most `max` columns;
/// words longer than a line are cut. Newlines in `text` always break.
pub fn wrap(text: &str, max: usize) -> Vec<String> {
    let max = max.max(1);
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let mut line = String::new();
        let mut used = 0;
        // No space before the first word of a line.
        let mut fresh = true;
        for word in paragraph.split(' ') {
            let w = width(word);
            let gap = usize::from(!fresh);
            if used + gap + w <= max {
                if !fresh {
                    line.push(' ');
                }
                line.push_str(word);
                used += gap + w;
                fresh = false;
                continue;
            }
            if !fresh {
                lines.push(std::mem::take(&mut line));
                used = 0;
            }
            for c in word.chars() {
                let cw = char_width(c);
                if used + cw > max && used > 0 {
                    lines.push(std::mem::take(&mut line));
                    used = 0;
                }
                line.push(c);
                used += cw;
            }
            fresh = false;
        }
        lines.push(line);
    }
    lines
}

/// The part of an input's `value` to show in `max` columns so that the
/// cursor (`cursor` chars in) stays in view, newlines shown as `⏎`; and
/// the cursor's column within it.
pub fn field(value: &str, cursor: usize, max: usize) -> (String, usize) {
    let shown: Vec<char> = value
        .chars()
        .map(|c| if c == '\n' { '⏎' } else { c })
        .collect();
    let cursor = cursor.min(shown.len());
    let mut start = 0;
    let mut before: usize = shown[..cursor].iter().map(|c| char_width(*c)).sum();
    // One column is kept for the cursor itself.
    while before + 1 > max && start < cursor {
        before -= char_width(shown[start]);
        start += 1;
    }
    let mut visible = String::new();
    let mut used = 0;
    for &c in &shown[start..] {
        let w = char_width(c);
        if used + w > max {
            break;
        }
        visible.push(c);
        used += w;
    }
    (visible, before)
}

/// An E.164 number as people read it: a North American one (ITU-T
/// E.164 country code 1, ten digits after it) in the NANP's groups,
/// `+1 425 503 2002`; any other as it is, since where another country's
/// groups fall depends on its numbering plan.
pub fn grouped_number(e164: &str) -> String {
    match e164.strip_prefix("+1") {
        Some(national) if national.len() == 10 && national.bytes().all(|b| b.is_ascii_digit()) => {
            let (area, rest) = national.split_at(3);
            let (exchange, line) = rest.split_at(3);
            format!("+1 {area} {exchange} {line}")
        }
        _ => e164.to_owned(),
    }
}

/// `HH:MM` of a unix time in milliseconds, shifted by `offset_minutes`.
pub fn clock(at_ms: i64, offset_minutes: i32) -> String {
    let seconds = local_seconds(at_ms, offset_minutes);
    let of_day = seconds.rem_euclid(86_400);
    format!("{:02}:{:02}", of_day / 3600, of_day % 3600 / 60)
}

/// The day number (days since 1970-01-01, local) of a unix time.
pub fn day(at_ms: i64, offset_minutes: i32) -> i64 {
    local_seconds(at_ms, offset_minutes).div_euclid(86_400)
}

fn local_seconds(at_ms: i64, offset_minutes: i32) -> i64 {
    at_ms.div_euclid(1000) + i64::from(offset_minutes) * 60
}

/// `YYYY-MM-DD` of a day number (the proleptic Gregorian calendar).
pub fn date(day: i64) -> String {
    // Days to civil date, after H. Hinnant's well-known algorithm: shift
    // the epoch to 0000-03-01 so leap days fall at the end of a year.
    let z = day + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day_of_month = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day_of_month:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elide_cuts_to_the_width_with_an_ellipsis() {
        assert_eq!(elide("Reviewing the plan", 10), "Reviewing…");
        assert_eq!(elide("short", 10), "short");
        assert_eq!(elide("abc", 0), "");
        assert_eq!(elide("abc", 1), "…");
    }

    #[test]
    fn wrap_breaks_at_words_and_cuts_long_ones() {
        assert_eq!(wrap("one two three", 7), ["one two", "three"]);
        assert_eq!(wrap("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        assert_eq!(wrap("a\nb", 10), ["a", "b"]);
        assert_eq!(wrap("", 10), [""]);
        assert_eq!(wrap("  indented", 20), ["  indented"]);
        assert!(wrap("x y", 0).iter().all(|line| width(line) <= 1));
    }

    #[test]
    fn field_scrolls_to_keep_the_cursor_in_view() {
        assert_eq!(field("hello", 5, 10), ("hello".to_owned(), 5));
        assert_eq!(field("hello world", 11, 6), ("world".to_owned(), 5));
        assert_eq!(field("a\nb", 1, 10), ("a⏎b".to_owned(), 1));
        assert_eq!(field("abc", 3, 0), (String::new(), 0));
    }

    #[test]
    fn north_american_numbers_are_grouped_and_others_left_alone() {
        assert_eq!(grouped_number("+14255032002"), "+1 425 503 2002");
        assert_eq!(grouped_number("+4930555012"), "+4930555012");
        assert_eq!(grouped_number("+1425503200"), "+1425503200");
        assert_eq!(grouped_number("+1425503200x"), "+1425503200x");
    }

    #[test]
    fn clock_and_date_of_unix_times() {
        // 2024-02-29 13:45:00 UTC, a leap day.
        let at = 1_709_214_300_000;
        assert_eq!(clock(at, 0), "13:45");
        assert_eq!(clock(at, 60), "14:45");
        assert_eq!(date(day(at, 0)), "2024-02-29");
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(-1), "1969-12-31");
    }
}
