//! Field-level validation errors: every rejected input names the field and
//! the reason, so clients can fix the request without guessing.

use serde::Serialize;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// A JSON path into the request body, e.g. `items[2].quantity`.
    pub field: String,
    pub reason: String,
}

/// One or more invalid fields of a request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(transparent)]
pub struct ValidationErrors(Vec<FieldError>);

impl ValidationErrors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn single(field: impl Into<String>, reason: impl Into<String>) -> Self {
        let mut errors = Self::new();
        errors.add(field, reason);
        errors
    }

    pub fn add(&mut self, field: impl Into<String>, reason: impl Into<String>) {
        self.0.push(FieldError { field: field.into(), reason: reason.into() });
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

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

/// Checks that a text is non-blank and at most `max_chars` characters long
/// (characters, not bytes: Korean text is three bytes a character in UTF-8).
pub fn check_text(errors: &mut ValidationErrors, field: &str, value: &str, max_chars: usize) -> bool {
    if value.trim().is_empty() {
        errors.add(field, "must not be empty");
        return false;
    }
    let chars = value.chars().count();
    if chars > max_chars {
        errors.add(field, format!("must be at most {max_chars} characters, got {chars}"));
        return false;
    }
    if value.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        errors.add(field, "must not contain control characters");
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
        assert!(check_text(&mut errors, "reason", &"맛".repeat(1000), 1000));
        assert!(!check_text(&mut errors, "reason", &"맛".repeat(1001), 1000));
        assert_eq!(errors.fields()[0].field, "reason");
    }

    #[test]
    fn blank_text_and_control_characters_are_refused() {
        let mut errors = ValidationErrors::new();
        assert!(!check_text(&mut errors, "a", "   ", 10));
        assert!(!check_text(&mut errors, "b", "x\u{0}y", 10));
        assert_eq!(errors.fields().len(), 2);
    }

    #[test]
    fn bidirectional_overrides_and_isolates_are_refused() {
        for c in ['\u{202A}', '\u{202E}', '\u{2066}', '\u{2069}'] {
            let mut errors = ValidationErrors::new();
            assert!(!check_text(&mut errors, "name", &format!("a{c}b"), 10), "U+{:04X}", c as u32);
            assert!(errors.fields()[0].reason.contains("bidirectional"));
        }
        // Neighbours that are ordinary text stay accepted.
        let mut errors = ValidationErrors::new();
        assert!(check_text(&mut errors, "name", "a\u{2029}b\u{2065}c\u{2070}", 10));
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
