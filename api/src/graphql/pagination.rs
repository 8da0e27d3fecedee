//! Relay connections: page sizes, opaque cursors, `PageInfo`, the one builder every connection
//! is made with, and the keyset helpers that read an `after` cursor and cut a page after it.

use async_graphql::SimpleObject;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use uuid::Uuid;

use crate::{
    error::{ApiError, ApiResult},
    store::After,
};

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

/// The error for a cursor this connection did not make.
fn not_a_cursor() -> ApiError {
    ApiError::bad_input("after is not a cursor from this connection")
}

/// Decodes a cursor made by [`encode_cursor`] with exactly `arity` parts.
pub fn decode_cursor(cursor: &str, arity: usize) -> ApiResult<Vec<String>> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| not_a_cursor())?;
    let text = String::from_utf8(bytes).map_err(|_| not_a_cursor())?;
    let parts: Vec<String> = text.split('\u{1f}').map(str::to_owned).collect();
    if parts.len() != arity {
        return Err(not_a_cursor());
    }
    Ok(parts)
}

/// Reads an optional `after` cursor of `arity` parts into a keyset position with `parse`;
/// a cursor that does not decode, or whose parts `parse` refuses, is a bad input.
pub fn decode_after<T>(
    after: Option<&str>,
    arity: usize,
    parse: impl FnOnce(Vec<String>) -> Option<T>,
) -> ApiResult<Option<T>> {
    after
        .map(|cursor| parse(decode_cursor(cursor, arity)?).ok_or_else(not_a_cursor))
        .transpose()
}

/// The cursor of a row in name order (services, organisations).
pub fn name_cursor(name: &str, id: Uuid) -> String {
    encode_cursor(&[name, &id.to_string()])
}

/// Decodes a name-order cursor made by [`name_cursor`].
pub fn name_after(after: Option<&str>) -> ApiResult<Option<After>> {
    decode_after(after, 2, |mut parts| {
        let id = parts.pop()?.parse().ok()?;
        let key = parts.pop()?;
        Some(After { key, id })
    })
}

/// The page after a keyset position, cut from `rows` in key order: `seen` is true of the rows
/// up to and including the `after` position (of none when there is no `after`). Returns at most
/// `first` rows past it, and whether more follow.
pub fn page_after<R>(mut rows: Vec<R>, first: usize, seen: impl Fn(&R) -> bool) -> (Vec<R>, bool) {
    rows.drain(..rows.partition_point(seen));
    let has_next = rows.len() > first;
    rows.truncate(first);
    (rows, has_next)
}

/// A forward page of edges with its paging; each connection type is made from one.
pub struct Page<E> {
    /// How many rows match in all.
    pub total_count: i64,
    /// This page.
    pub edges: Vec<E>,
    /// Paging.
    pub page_info: PageInfo,
}

/// Builds a connection's page from `rows` in cursor order: `cursor` gives a row's cursor,
/// `edge` makes its edge from that cursor and the row. `has_next_page` says whether rows
/// follow, `after_given` whether this page continues another, and `total_count` counts every
/// match.
pub fn connection<R, E>(
    rows: impl IntoIterator<Item = R>,
    cursor: impl Fn(&R) -> String,
    edge: impl Fn(String, R) -> E,
    has_next_page: bool,
    after_given: bool,
    total_count: u64,
) -> Page<E> {
    let mut start_cursor = None;
    let mut end_cursor = None;
    let edges = rows
        .into_iter()
        .map(|row| {
            let cursor = cursor(&row);
            if start_cursor.is_none() {
                start_cursor = Some(cursor.clone());
            }
            end_cursor = Some(cursor.clone());
            edge(cursor, row)
        })
        .collect();
    Page {
        total_count: i64::try_from(total_count).unwrap_or(i64::MAX),
        edges,
        page_info: PageInfo {
            has_next_page,
            has_previous_page: after_given,
            start_cursor,
            end_cursor,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows past `after` (none: every row), at most `first` of them, as the old filters cut.
    fn cut(rows: &[u32], after: Option<u32>, first: usize) -> (Vec<u32>, bool) {
        page_after(rows.to_vec(), first, |row| after.is_some_and(|a| *row <= a))
    }

    #[test]
    fn a_page_after_a_position_starts_past_it() {
        let rows = [1, 3, 5, 7, 9];
        assert_eq!(cut(&rows, None, 2), (vec![1, 3], true));
        assert_eq!(cut(&rows, Some(3), 2), (vec![5, 7], true));
        assert_eq!(cut(&rows, Some(4), 2), (vec![5, 7], true));
        assert_eq!(cut(&rows, Some(5), 2), (vec![7, 9], false));
        assert_eq!(cut(&rows, Some(9), 2), (vec![], false));
        assert_eq!(cut(&rows, Some(0), 5), (rows.to_vec(), false));
        assert_eq!(cut(&rows, None, 0), (vec![], true));
        assert_eq!(cut(&[], None, 3), (vec![], false));
    }

    #[test]
    fn name_cursors_decode_to_their_position() {
        let id = Uuid::from_u128(7);
        let after = name_after(Some(&name_cursor("Baby Café", id)))
            .ok()
            .flatten();
        assert!(
            matches!(after, Some(After { key, id: found }) if key == "Baby Café" && found == id)
        );
        assert!(matches!(name_after(None), Ok(None)));
    }

    #[test]
    fn foreign_cursors_are_refused() {
        let seq = encode_cursor(&["12"]);
        for cursor in ["%%%", "bm90IGEgY3Vyc29y", seq.as_str()] {
            assert!(name_after(Some(cursor)).is_err(), "{cursor} was read");
        }
        let not_an_id = encode_cursor(&["Baby Café", "12"]);
        assert!(name_after(Some(&not_an_id)).is_err());
        let read = decode_after(Some(&seq), 1, |parts| parts[0].parse::<i64>().ok());
        assert!(matches!(read, Ok(Some(12))));
    }

    #[test]
    fn a_connection_has_its_rows_cursors_and_paging() {
        let page = connection(
            vec![1, 2, 3],
            |row| format!("c{row}"),
            |cursor, row| (cursor, row * 10),
            true,
            false,
            u64::MAX,
        );
        assert_eq!(page.total_count, i64::MAX);
        assert_eq!(
            page.edges,
            [
                ("c1".to_owned(), 10),
                ("c2".to_owned(), 20),
                ("c3".to_owned(), 30)
            ]
        );
        assert!(page.page_info.has_next_page);
        assert!(!page.page_info.has_previous_page);
        assert_eq!(page.page_info.start_cursor.as_deref(), Some("c1"));
        assert_eq!(page.page_info.end_cursor.as_deref(), Some("c3"));

        let empty = connection(
            Vec::<u32>::new(),
            |_| String::new(),
            |_, row| row,
            false,
            true,
            0,
        );
        assert!(empty.edges.is_empty());
        assert!(empty.page_info.has_previous_page);
        assert_eq!(empty.page_info.start_cursor, None);
        assert_eq!(empty.page_info.end_cursor, None);
    }
}
