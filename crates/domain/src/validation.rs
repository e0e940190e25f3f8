//! Field-level validation errors: every rejected input names the field and
//! the reason, so clients can fix the request without guessing.

use serde::Serialize;
use std::fmt;

// The limits of an order's fields. They sit here, below the order and its
// events, because both hold to them: placement and the order's transitions
// refuse input past them, and decoding refuses an event past them.

/// The most lines an order may have.
pub const MAX_LINES: usize = 20;
/// The largest quantity of one line.
pub const MAX_QUANTITY: i64 = 99;
/// The longest part (street, district, city) of a delivery address, in
/// characters.
pub const MAX_ADDRESS_PART_CHARS: usize = 200;
/// The longest reason (a rejection, a cancellation, a refund request or its
/// decision), in characters.
pub const MAX_REASON_CHARS: usize = 1000;

/// One invalid field and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// A JSON path into the request body, e.g. `items[2].quantity`.
    pub field: String,
    /// Why it was refused, in words a client can act on.
    pub reason: String,
}

/// One or more invalid fields of a request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(transparent)]
pub struct ValidationErrors(Vec<FieldError>);

impl ValidationErrors {
    /// No errors yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Exactly one error.
    pub fn single(field: impl Into<String>, reason: impl Into<String>) -> Self {
        let mut errors = Self::new();
        errors.add(field, reason);
        errors
    }

    /// Records that `field` is invalid for `reason`.
    pub fn add(&mut self, field: impl Into<String>, reason: impl Into<String>) {
        self.0.push(FieldError { field: field.into(), reason: reason.into() });
    }

    /// True when no error was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The errors, in the order they were found.
    pub fn fields(&self) -> &[FieldError] {
        &self.0
    }

    /// `Ok(value)` when nothing was added, the collected errors otherwise.
    pub fn into_result<T>(self, value: T) -> Result<T, ValidationErrors> {
        if self.is_empty() { Ok(value) } else { Err(self) }
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(|e| format!("{}: {}", e.field, e.reason)).collect();
        f.write_str(&parts.join("; "))
    }
}

impl std::error::Error for ValidationErrors {}

/// Checks one-line text (a name, an address part, a zone): non-blank, at
/// most `max_chars` characters, and no control character at all (no
/// newline, tab or carriage return) nor a line or paragraph separator
/// (U+2028, U+2029): the value is shown on one line of a notification.
pub fn check_line(errors: &mut ValidationErrors, field: &str, value: &str, max_chars: usize) -> bool {
    check_text_of(errors, field, value, max_chars, TextShape::OneLine)
}

/// Checks free text that may span lines (a reason): as [`check_line`], but
/// newlines and tabs are allowed.
pub fn check_multiline(errors: &mut ValidationErrors, field: &str, value: &str, max_chars: usize) -> bool {
    check_text_of(errors, field, value, max_chars, TextShape::Multiline)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TextShape {
    OneLine,
    Multiline,
}

impl TextShape {
    /// Whether `c` breaks the shape: a control character (other than a
    /// newline or a tab in multi-line text), or a line or paragraph
    /// separator in one-line text.
    fn refuses(self, c: char) -> bool {
        match self {
            TextShape::OneLine => c.is_control() || matches!(c, '\u{2028}' | '\u{2029}'),
            TextShape::Multiline => c.is_control() && c != '\n' && c != '\t',
        }
    }
}

/// Characters, not bytes, are counted: Korean text is three bytes a
/// character in UTF-8.
fn check_text_of(
    errors: &mut ValidationErrors,
    field: &str,
    value: &str,
    max_chars: usize,
    shape: TextShape,
) -> bool {
    if value.trim().is_empty() {
        errors.add(field, "must not be empty");
        return false;
    }
    let chars = value.chars().count();
    if chars > max_chars {
        errors.add(field, format!("must be at most {max_chars} characters, got {chars}"));
        return false;
    }
    if value.chars().any(|c| shape.refuses(c)) {
        let reason = match shape {
            TextShape::OneLine => "must be one line: no control characters (newlines, tabs included)",
            TextShape::Multiline => "must not contain control characters other than newlines and tabs",
        };
        errors.add(field, reason);
        return false;
    }
    if value.chars().any(is_bidi_control) {
        errors.add(
            field,
            "must not contain bidirectional override or isolate characters (U+202A-U+202E, U+2066-U+2069)",
        );
        return false;
    }
    true
}

/// The characters that reorder how text is shown (embeddings, overrides
/// and isolates): a name like "Chicken\u{202E}gpj.exe" shows as
/// "Chickenexe.jpg". They are not `char::is_control` (they are format
/// characters), so they are refused on their own.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Checks an identifier taken from a path or body: 1..=64 characters of
/// letters, digits, `-` and `_`, so it is safe inside storage keys.
pub fn check_identifier(errors: &mut ValidationErrors, field: &str, value: &str) -> bool {
    let valid = !value.is_empty()
        && value.len() <= 64
        && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !valid {
        errors.add(field, "must be 1 to 64 characters of letters, digits, '-' or '_'");
    }
    valid
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_counts_characters_not_bytes() {
        let mut errors = ValidationErrors::new();
        assert!(check_multiline(&mut errors, "reason", &"맛".repeat(1000), 1000));
        assert!(!check_multiline(&mut errors, "reason", &"맛".repeat(1001), 1000));
        assert_eq!(errors.fields()[0].field, "reason");
    }

    #[test]
    fn blank_text_and_control_characters_are_refused() {
        let mut errors = ValidationErrors::new();
        assert!(!check_line(&mut errors, "a", "   ", 10));
        assert!(!check_line(&mut errors, "b", "x\u{0}y", 10));
        assert!(!check_multiline(&mut errors, "c", "x\ry", 10));
        assert_eq!(errors.fields().len(), 3);
    }

    #[test]
    fn one_line_text_refuses_every_line_break_and_tab_and_reasons_keep_them() {
        for text in
            ["Fried\nChicken", "Fried\tChicken", "Fried\r\nChicken", "a\u{2028}b", "a\u{2029}b", "a\u{85}b"]
        {
            let mut errors = ValidationErrors::new();
            assert!(!check_line(&mut errors, "name", text, 100), "{text:?} accepted as one line");
            assert_eq!(errors.fields()[0].field, "name");
            assert!(errors.fields()[0].reason.contains("one line"), "{:?}", errors.fields());
        }
        let mut errors = ValidationErrors::new();
        assert!(check_multiline(&mut errors, "reason", "cold\nand\tlate", 100));
        assert!(errors.is_empty());
    }

    proptest::proptest! {
        /// Whatever the input, accepted one-line text is non-blank, within
        /// its length, and holds no control, line-breaking or bidi
        /// character; refused text names its field.
        #[test]
        fn accepted_one_line_text_is_printable_on_one_line(value in "\\PC{0,3}[\\x00-\\x1f\\x7f\\u{85}\\u{2028}\\u{2029}\\u{202a}-\\u{202e}\\u{2066}-\\u{2069} a-z가-힣]{0,12}", max in 1usize..16) {
            let mut errors = ValidationErrors::new();
            if check_line(&mut errors, "name", &value, max) {
                proptest::prop_assert!(!value.trim().is_empty());
                proptest::prop_assert!(value.chars().count() <= max);
                let breaks_the_line = |c: char| c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') || is_bidi_control(c);
                proptest::prop_assert!(!value.chars().any(breaks_the_line), "accepted {:?}", value);
            } else {
                proptest::prop_assert_eq!(errors.fields().len(), 1);
                proptest::prop_assert_eq!(&errors.fields()[0].field, "name");
            }
        }
    }

    #[test]
    fn bidirectional_overrides_and_isolates_are_refused() {
        for c in ['\u{202A}', '\u{202E}', '\u{2066}', '\u{2069}'] {
            let mut errors = ValidationErrors::new();
            assert!(!check_line(&mut errors, "name", &format!("a{c}b"), 10), "U+{:04X}", c as u32);
            assert!(errors.fields()[0].reason.contains("bidirectional"));
        }
        // Neighbours that are ordinary text stay accepted.
        let mut errors = ValidationErrors::new();
        assert!(check_line(&mut errors, "name", "a\u{2027}b\u{2065}c\u{2070}", 10));
    }

    #[test]
    fn identifiers_are_key_safe() {
        let mut errors = ValidationErrors::new();
        assert!(check_identifier(&mut errors, "id", "store-1_a"));
        assert!(!check_identifier(&mut errors, "id", "a#b"));
        assert!(!check_identifier(&mut errors, "id", ""));
        assert!(!check_identifier(&mut errors, "id", &"a".repeat(65)));
        assert_eq!(errors.fields().len(), 3);
    }
}
