//! The value of a listing's `card` column: what a result page shows of it, in one value that a
//! hit reads out of the column without touching the stored documents.
//!
//! Its name and alternate name, each preceded by its length (four bytes, little endian; an
//! absent alternate name has the length `u32::MAX`), then the caller's card head, to the end
//! of the value. The description, longer than the rest together, is not in it: it is stored
//! with the card's details and read only for hits that show it (or are highlighted).

use crate::doc::ServiceDoc;

/// The length that marks an absent alternate name.
const ABSENT: u32 = u32::MAX;

/// What a hit shows of a listing, borrowed from a column value.
#[derive(Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    /// The service's name.
    pub name: &'a str,
    /// Its alternate name.
    pub alternate_name: Option<&'a str>,
    /// The caller's card head; empty when the listing was indexed without a card.
    pub head: &'a [u8],
}

/// The column value of `doc`.
pub fn encode(doc: &ServiceDoc) -> Vec<u8> {
    let alternate = doc.alternate_name.as_deref();
    let mut out =
        Vec::with_capacity(8 + doc.name.len() + alternate.map_or(0, str::len) + doc.card.len());
    let text = |out: &mut Vec<u8>, text: Option<&str>| match text {
        Some(text) => {
            // A text of 4 GiB is no listing's: cut there rather than fail.
            let len = u32::try_from(text.len()).unwrap_or(ABSENT - 1);
            out.extend_from_slice(&len.to_le_bytes());
            out.extend_from_slice(&text.as_bytes()[..len as usize]);
        }
        None => out.extend_from_slice(&ABSENT.to_le_bytes()),
    };
    text(&mut out, Some(&doc.name));
    text(&mut out, alternate);
    out.extend_from_slice(&doc.card);
    out
}

/// Reads a column value; `None` when it is not one [`encode`] wrote.
pub fn decode(bytes: &[u8]) -> Option<Frame<'_>> {
    let mut rest = bytes;
    let mut text = || -> Option<Option<&str>> {
        let (len, after) = rest.split_first_chunk::<4>()?;
        let len = u32::from_le_bytes(*len);
        if len == ABSENT {
            rest = after;
            return Some(None);
        }
        let (text, after) = after.split_at_checked(usize::try_from(len).ok()?)?;
        rest = after;
        std::str::from_utf8(text).ok().map(Some)
    };
    let name = text()??;
    let alternate_name = text()?;
    Some(Frame {
        name,
        alternate_name,
        head: rest,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_reads_back_as_written() {
        let mut doc = ServiceDoc {
            name: "Baby Bond – Gloucester".to_owned(),
            alternate_name: Some(String::new()),
            description: "Volunteers visit at home.".to_owned(),
            card: vec![0, 1, 2, 0xFF, 0xFE],
            ..ServiceDoc::default()
        };
        let value = encode(&doc);
        // The description is stored apart.
        assert!(!value.windows(10).any(|w| w == b"Volunteers"));
        assert_eq!(
            decode(&value),
            Some(Frame {
                name: "Baby Bond – Gloucester",
                alternate_name: Some(""),
                head: &[0, 1, 2, 0xFF, 0xFE],
            })
        );
        doc.alternate_name = None;
        doc.card = Vec::new();
        let value = encode(&doc);
        let frame = decode(&value).expect("a frame");
        assert_eq!(frame.alternate_name, None);
        assert!(frame.head.is_empty());
        assert_eq!(frame.name, "Baby Bond – Gloucester");
    }

    #[test]
    fn a_value_that_is_not_a_frame_reads_as_none() {
        let value = encode(&ServiceDoc {
            name: "Dads' group".to_owned(),
            description: "Peer support.".to_owned(),
            ..ServiceDoc::default()
        });
        // Cut anywhere inside its texts.
        for end in 0..value.len() {
            assert_eq!(decode(&value[..end]), None, "cut at {end}");
        }
        assert!(decode(&value).is_some());
        // A name that is not UTF-8.
        let mut bad = value.clone();
        bad[4] = 0xFF;
        assert_eq!(decode(&bad), None);
        // A length past the end.
        let mut long = value;
        long[..4].copy_from_slice(&1_000u32.to_le_bytes());
        assert_eq!(decode(&long), None);
    }
}
