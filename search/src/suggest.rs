//! Completions of a prefix from service names, one segment at a time: active services whose
//! name holds the prefix's words (the last one as the start of a word), names that start with
//! the whole prefix first, then shorter names, then names in byte order, then ids.
//!
//! A segment ranks its documents once in that order (name length, then the name's number in
//! the dictionary of names as written, then id) and compares ranks, spelling out only the names
//! it returns. The names that start with the prefix are neighbours in name order, and a tree of
//! least ranks over name order hands out their best first; the others are read from the
//! matches, most of them set aside by one comparison.

use std::{cmp::Reverse, collections::BinaryHeap};

use tantivy::{
    BitSet, DocId, SegmentReader, Term,
    schema::{Field, IndexRecordOption},
};

use crate::collector::{SegmentColumns, insert_all};

/// A service name completing a prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameCompletion {
    /// Whether the name (in lower case) starts with the whole prefix.
    pub starts: bool,
    /// The name as written.
    pub text: String,
    pub id: u128,
}

impl NameCompletion {
    /// The order of completions: names that start with the prefix, shorter names, names, ids.
    pub fn order(&self, other: &Self) -> std::cmp::Ordering {
        (!self.starts, self.text.len(), &self.text, self.id).cmp(&(
            !other.starts,
            other.text.len(),
            &other.text,
            other.id,
        ))
    }
}

/// What a segment needs to know of a prefix.
pub struct Prefix<'a> {
    /// The name field's analysed words: all but the last must be words of the name, the last
    /// the start of one.
    pub words: &'a [String],
    /// The whole prefix in lower case.
    pub wanted: &'a str,
    /// How many distinct names to return at most.
    pub want: usize,
}

/// A segment's documents in the order of completions (name length, name as written, id), with
/// what finds the best of them among the names that start with a prefix. Built once a
/// segment.
pub struct CompletionOrder {
    /// The documents in that order: a document's rank is its place here.
    by_length: Vec<DocId>,
    /// Each document's rank.
    rank: Vec<u32>,
    /// Each document's place in name order (lower-case names, then ids).
    name_place: Vec<u32>,
    /// The least rank of each range of name order: a segment tree over the places, leaves at
    /// `[n, 2n)`.
    least: Vec<u32>,
}

impl CompletionOrder {
    /// The order of a segment whose every document has a name; `None` otherwise.
    pub fn build(columns: &SegmentColumns) -> Option<Self> {
        let by_name = columns.by_name()?;
        let count = by_name.len();
        let mut keyed = Vec::with_capacity(count);
        for doc in 0..u32::try_from(count).ok()? {
            let text = columns.text_ord(doc)?;
            keyed.push((columns.text_length(text), text, columns.id(doc), doc));
        }
        keyed.sort_unstable();
        let by_length: Vec<DocId> = keyed.into_iter().map(|(.., doc)| doc).collect();
        let mut rank = vec![0; count];
        for (place, doc) in by_length.iter().enumerate() {
            rank[*doc as usize] = u32::try_from(place).ok()?;
        }
        let mut name_place = vec![0; count];
        let mut least = vec![u32::MAX; 2 * count];
        for (place, doc) in by_name.iter().enumerate() {
            name_place[*doc as usize] = u32::try_from(place).ok()?;
            least[count + place] = rank[*doc as usize];
        }
        for node in (1..count).rev() {
            least[node] = least[2 * node].min(least[2 * node + 1]);
        }
        Some(CompletionOrder {
            by_length,
            rank,
            name_place,
            least,
        })
    }

    /// A document's rank.
    fn rank(&self, doc: DocId) -> u32 {
        self.rank[doc as usize]
    }

    /// The document of a rank.
    fn doc(&self, rank: u32) -> DocId {
        self.by_length[rank as usize]
    }

    /// The least rank among the places `[from, to)` of name order.
    fn least_in(&self, from: u32, to: u32) -> u32 {
        let count = self.name_place.len();
        let (mut from, mut to) = (from as usize + count, to as usize + count);
        let mut least = u32::MAX;
        while from < to {
            if from & 1 == 1 {
                least = least.min(self.least[from]);
                from += 1;
            }
            if to & 1 == 1 {
                to -= 1;
                least = least.min(self.least[to]);
            }
            from >>= 1;
            to >>= 1;
        }
        least
    }

    /// The documents of the places `[from, to)` of name order, in rank order, for as long as
    /// `take` asks for more.
    fn ranked_in(&self, from: u32, to: u32, mut take: impl FnMut(DocId) -> bool) {
        let mut ranges = BinaryHeap::new();
        let push = |ranges: &mut BinaryHeap<Reverse<(u32, u32, u32)>>, from: u32, to: u32| {
            if from < to {
                ranges.push(Reverse((self.least_in(from, to), from, to)));
            }
        };
        push(&mut ranges, from, to);
        while let Some(Reverse((rank, from, to))) = ranges.pop() {
            let doc = self.doc(rank);
            if !take(doc) {
                return;
            }
            let place = self.name_place[doc as usize];
            push(&mut ranges, from, place);
            push(&mut ranges, place + 1, to);
        }
    }
}

/// The segment's best completions of `prefix` (at most `want` distinct names), spelled out.
/// `fits` tells whether a name holds the prefix's words as the index reads them.
pub fn complete(
    columns: &SegmentColumns,
    reader: &SegmentReader,
    fields: (Field, Field),
    prefix: &Prefix<'_>,
    fits: &dyn Fn(&str) -> bool,
) -> tantivy::Result<Vec<NameCompletion>> {
    let (name_words, status) = fields;
    let Some((last, before)) = prefix.words.split_last() else {
        return Ok(Vec::new());
    };
    let Some(order) = columns.completion_order() else {
        return Ok(Vec::new());
    };
    let active = columns.active(reader, status)?;
    let alive = reader.alive_bitset();
    let usable = |doc: DocId| active.contains(doc) && alive.is_none_or(|alive| alive.is_alive(doc));
    let ords = columns.name_ords();
    let (first, end) = columns.lower_names_starting(prefix.wanted)?;
    let starts = |doc: DocId| (first..end).contains(&ords[doc as usize]);
    let by_name = columns.by_name().unwrap_or_default();
    let place = |ord: u32| u32::try_from(columns.name_place(by_name, ord)).unwrap_or(u32::MAX);
    // The best names that start with the prefix, found in rank order among their neighbours
    // in name order, one document a name (the first: the same names have neighbouring ranks).
    let starting_best = |accept: &dyn Fn(DocId) -> bool| {
        let mut found: Vec<(bool, DocId)> = Vec::new();
        let mut last_text = None;
        order.ranked_in(place(first), place(end), |doc| {
            if accept(doc) {
                let text = columns.text_ord(doc);
                if text != last_text {
                    last_text = text;
                    found.push((true, doc));
                }
            }
            found.len() < prefix.want
        });
        found
    };
    // A name that starts with the prefix nearly always holds its words: such names are
    // taken without reading any postings, and checked once spelled out.
    let mut found = starting_best(&usable);
    let held = found.iter().all(|(_, doc)| {
        columns
            .text_ord(*doc)
            .and_then(|text| columns.text(text))
            .is_some_and(fits)
    });
    if held && found.len() >= prefix.want {
        return Ok(completions(columns, found));
    }
    // Documents with a word starting with the last word, and with each of the others.
    let inverted = reader.inverted_index(name_words)?;
    let max_doc = reader.max_doc();
    let mut starting = BitSet::with_max_value(max_doc);
    let mut stream = inverted.terms().range().ge(last.as_bytes()).into_stream()?;
    while stream.advance() && stream.key().starts_with(last.as_bytes()) {
        let postings =
            inverted.read_postings_from_terminfo(stream.value(), IndexRecordOption::Basic)?;
        insert_all(&mut starting, postings);
    }
    let mut holding = Vec::with_capacity(before.len());
    for word in before {
        let mut set = BitSet::with_max_value(max_doc);
        let term = Term::from_field_text(name_words, word);
        if let Some(postings) = inverted.read_postings(&term, IndexRecordOption::Basic)? {
            insert_all(&mut set, postings);
        }
        holding.push(set);
    }
    let matches = |doc: DocId| {
        starting.contains(doc) && usable(doc) && holding.iter().all(|set| set.contains(doc))
    };
    if !held {
        found = starting_best(&matches);
    }
    if found.len() < prefix.want {
        // Then the best of the others: each match is read, most of them set aside by one
        // comparison with the worst rank kept.
        let want = prefix.want - found.len();
        let mut best: Vec<(u32, u32)> = Vec::with_capacity(want + 1);
        for bucket in 0..max_doc.div_ceil(64) {
            let mut docs = starting.tinyset(bucket);
            while let Some(low) = docs.pop_lowest() {
                let doc = bucket * 64 + low;
                let rank = order.rank(doc);
                if best.len() == want && best.last().is_some_and(|(worst, _)| rank > *worst) {
                    continue;
                }
                if starts(doc) || !matches(doc) {
                    continue;
                }
                let Some(text) = columns.text_ord(doc) else {
                    continue;
                };
                if let Some(kept) = best.iter_mut().find(|(_, kept)| *kept == text) {
                    kept.0 = kept.0.min(rank);
                    best.sort_unstable();
                    continue;
                }
                let at = best.partition_point(|(kept, _)| *kept < rank);
                best.insert(at, (rank, text));
                best.truncate(want);
            }
        }
        found.extend(best.into_iter().map(|(rank, _)| (false, order.doc(rank))));
    }
    Ok(completions(columns, found))
}

/// `found` (whether the name starts with the prefix, and the document) as completions.
fn completions(columns: &SegmentColumns, found: Vec<(bool, DocId)>) -> Vec<NameCompletion> {
    found
        .into_iter()
        .filter_map(|(starts, doc)| {
            Some(NameCompletion {
                starts,
                text: columns.text(columns.text_ord(doc)?)?.to_owned(),
                id: columns.id(doc),
            })
        })
        .collect()
}
