//! The one error of reading a template: the file could not be read, or
//! what it says is not something the local stack can run.

/// Why a template could not be read. Every message names what it is about
/// (the resource, the property, the variable), never a silent default.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// The template file could not be read from disk.
    #[error("cannot read {path}: {reason}")]
    Read {
        /// The file, as given.
        path: String,
        /// The I/O error, as text.
        reason: String,
    },
    /// The template was read but is not valid YAML, or declares something
    /// this crate refuses; the message names where.
    #[error("template: {0}")]
    Invalid(String),
}

pub(crate) fn invalid(message: impl Into<String>) -> TemplateError {
    TemplateError::Invalid(message.into())
}
