//! `?limit&cursor` of list routes.

use crate::error::AppError;
use foodstream_domain::ports::PageRequest;

/// The page size when `limit` is absent.
pub const DEFAULT_LIMIT: usize = 20;
/// The largest `limit` accepted.
pub const MAX_LIMIT: usize = 100;
const MAX_CURSOR_CHARS: usize = 2048;

/// Parses the query parameters of a list; absent means the first page of
/// [`DEFAULT_LIMIT`].
pub fn page_request(limit: Option<&str>, cursor: Option<&str>) -> Result<PageRequest, AppError> {
    let limit = match limit {
        None | Some("") => DEFAULT_LIMIT,
        Some(raw) => match raw.parse::<usize>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
            _ => return Err(AppError::invalid("limit", format!("must be an integer from 1 to {MAX_LIMIT}"))),
        },
    };
    let cursor = match cursor {
        None | Some("") => None,
        Some(c) if c.len() > MAX_CURSOR_CHARS => {
            return Err(AppError::invalid("cursor", "is not a cursor this list handed out"));
        }
        Some(c) => Some(c.to_owned()),
    };
    Ok(PageRequest { limit, cursor })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_bounded_and_named_when_wrong() {
        assert_eq!(page_request(None, None).unwrap().limit, DEFAULT_LIMIT);
        assert_eq!(page_request(Some("5"), Some("abc")).unwrap().cursor.as_deref(), Some("abc"));
        for bad in ["0", "101", "-1", "ten"] {
            match page_request(Some(bad), None) {
                Err(AppError::Invalid(e)) => assert_eq!(e.fields()[0].field, "limit"),
                other => panic!("{bad}: {other:?}"),
            }
        }
    }
}
