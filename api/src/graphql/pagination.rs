//! Relay connections: page sizes, opaque cursors and `PageInfo`.

use async_graphql::SimpleObject;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

use crate::error::{ApiError, ApiResult};

/// The largest page any connection serves.
pub const MAX_PAGE_SIZE: i32 = 100;

/// Relay page information.
#[derive(Clone, Debug, SimpleObject)]
pub struct PageInfo {
    /// Whether another page follows this one.
    pub has_next_page: bool,
    /// Whether a page precedes this one.
    pub has_previous_page: bool,
    /// The cursor of the first edge.
    pub start_cursor: Option<String>,
    /// The cursor of the last edge: pass it as `after` for the next page.
    pub end_cursor: Option<String>,
}

/// Checks `first` against the maximum page size.
pub fn page_size(first: i32) -> ApiResult<u64> {
    if !(0..=MAX_PAGE_SIZE).contains(&first) {
        return Err(ApiError::bad_input(format!(
            "first must be between 0 and {MAX_PAGE_SIZE}"
        )));
    }
    Ok(u64::try_from(first).unwrap_or_default())
}

/// Encodes the parts of a sort key as an opaque cursor.
pub fn encode_cursor(parts: &[&str]) -> String {
    URL_SAFE_NO_PAD.encode(parts.join("\u{1f}"))
}

/// Decodes a cursor made by [`encode_cursor`] with exactly `arity` parts.
pub fn decode_cursor(cursor: &str, arity: usize) -> ApiResult<Vec<String>> {
    let invalid = || ApiError::bad_input("after is not a cursor from this connection");
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let parts: Vec<String> = text.split('\u{1f}').map(str::to_owned).collect();
    if parts.len() != arity {
        return Err(invalid());
    }
    Ok(parts)
}

/// Builds `PageInfo` for a forward page.
pub fn page_info(cursors: &[String], has_next_page: bool, after_given: bool) -> PageInfo {
    PageInfo {
        has_next_page,
        has_previous_page: after_given,
        start_cursor: cursors.first().cloned(),
        end_cursor: cursors.last().cloned(),
    }
}
