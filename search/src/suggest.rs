//! Completions of a prefix from service names, one segment at a time: active services whose
//! name holds the prefix's words (the last one as the start of a word), names that start with
//! the whole prefix first, then shorter names, then names in byte order, then ids.
//!
//! A segment ranks its documents once in that order (name length, then the name's number in
//! the dictionary of names as written, then id) and compares ranks, spelling out only the names
//! it returns. The names that start with the prefix are neighbours in name order, and a tree of
//! least ranks over name order hands out their best first; the others are found by walking the
//! documents of the prefix's words in rank order, each word's documents kept in that order.

use std::{cmp::Reverse, collections::BinaryHeap};

use tantivy::{
    DocId, DocSet, SegmentReader, TERMINATED,
    schema::{Field, IndexRecordOption},
};

use crate::collector::SegmentColumns;

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

    /// The first rank after `rank` whose document's name (`name`) differs from its
    /// document's: the documents of a name have neighbouring ranks.
    fn past_name(&self, rank: u32, name: impl Fn(DocId) -> Option<u32>) -> u32 {
        let count = u32::try_from(self.by_length.len()).unwrap_or(u32::MAX);
        let own = name(self.doc(rank));
        let same = |rank: u32| rank < count && name(self.doc(rank)) == own;
        // Gallop to a rank of another name, then halve the gap.
        let (mut low, mut step) = (rank, 1u32);
        while same(low.saturating_add(step)) {
            low = low.saturating_add(step);
            step = step.saturating_mul(2);
        }
        let mut high = low.saturating_add(step).min(count);
        while low + 1 < high {
            let middle = low + (high - low) / 2;
            if same(middle) {
                low = middle;
            } else {
                high = middle;
            }
        }
        high
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

/// A segment's name words (the name field's terms) with their documents in the order of
/// completions, and each document's words: completions walk the documents of the prefix's
/// words best first and stop when they have enough, instead of reading every match. Built once
/// a segment.
pub struct NameWords {
    /// The words, in byte order (the term dictionary's).
    words: Vec<String>,
    /// Where each word's ranks start in `ranked` (one more entry than words).
    word_starts: Vec<u32>,
    /// The ranks of each word's documents (deleted ones included), least first.
    ranked: Vec<u32>,
    /// Where each document's words start in `held` (one more entry than documents).
    doc_starts: Vec<u32>,
    /// Each document's words, as their places in `words`, in ascending order.
    held: Vec<u32>,
}

impl NameWords {
    /// Reads the segment's name words and their postings.
    pub fn build(
        reader: &SegmentReader,
        field: Field,
        order: &CompletionOrder,
    ) -> tantivy::Result<Self> {
        let inverted = reader.inverted_index(field)?;
        let mut words = Vec::new();
        let mut word_starts = vec![0];
        let mut ranked = Vec::new();
        let mut pairs: Vec<(DocId, u32)> = Vec::new();
        let mut stream = inverted.terms().stream()?;
        while stream.advance() {
            let word = u32::try_from(words.len()).map_err(overflow)?;
            let mut postings =
                inverted.read_postings_from_terminfo(stream.value(), IndexRecordOption::Basic)?;
            let from = ranked.len();
            let mut doc = postings.doc();
            while doc != TERMINATED {
                ranked.push(order.rank(doc));
                pairs.push((doc, word));
                doc = postings.advance();
            }
            ranked[from..].sort_unstable();
            word_starts.push(u32::try_from(ranked.len()).map_err(overflow)?);
            words.push(String::from_utf8_lossy(stream.key()).into_owned());
        }
        // Each document's words by a counting sort: the pairs come in word order, so each
        // document's words land in ascending order.
        let mut doc_starts = vec![0u32; reader.max_doc() as usize + 1];
        for (doc, _) in &pairs {
            doc_starts[*doc as usize + 1] += 1;
        }
        for at in 1..doc_starts.len() {
            doc_starts[at] += doc_starts[at - 1];
        }
        let mut next = doc_starts.clone();
        let mut held = vec![0; pairs.len()];
        for (doc, word) in pairs {
            let at = &mut next[doc as usize];
            held[*at as usize] = word;
            *at += 1;
        }
        Ok(NameWords {
            words,
            word_starts,
            ranked,
            doc_starts,
            held,
        })
    }

    /// The places of the words that start with `start`, as a range.
    fn starting(&self, start: &str) -> std::ops::Range<u32> {
        let from = self.words.partition_point(|w| w.as_str() < start);
        let count = self.words[from..].partition_point(|w| w.starts_with(start));
        // (Fewer than 2^32 words: their number was checked when they were read.)
        let place = |at: usize| u32::try_from(at).unwrap_or(u32::MAX);
        place(from)..place(from + count)
    }

    /// The place of the word `word`.
    fn find(&self, word: &str) -> Option<u32> {
        let at = self.words.binary_search_by(|w| w.as_str().cmp(word)).ok()?;
        u32::try_from(at).ok()
    }

    /// The ranks of the documents of the words in `words`, in all.
    fn count(&self, words: &std::ops::Range<u32>) -> u32 {
        self.word_starts[words.end as usize] - self.word_starts[words.start as usize]
    }

    /// The ranks of a word's documents.
    fn ranks(&self, word: u32) -> &[u32] {
        let from = self.word_starts[word as usize] as usize;
        let to = self.word_starts[word as usize + 1] as usize;
        &self.ranked[from..to]
    }

    /// A document's words.
    fn of(&self, doc: DocId) -> &[u32] {
        let from = self.doc_starts.get(doc as usize).copied().unwrap_or(0) as usize;
        let to = self.doc_starts.get(doc as usize + 1).copied().unwrap_or(0) as usize;
        self.held.get(from..to).unwrap_or_default()
    }

    /// The ranks of the documents of the words in `words`, least first (a document holding
    /// two of them comes twice, in a row), for as long as `take` asks for more: it answers
    /// with the least rank it wants next (ranks below it are passed over), or `None` to stop.
    fn walk(&self, words: std::ops::Range<u32>, mut take: impl FnMut(u32) -> Option<u32>) {
        let mut heads: BinaryHeap<Reverse<(u32, u32, usize)>> = words
            .filter_map(|word| {
                let first = *self.ranks(word).first()?;
                Some(Reverse((first, word, 0)))
            })
            .collect();
        let mut wanted = 0;
        while let Some(Reverse((rank, word, at))) = heads.pop() {
            let ranks = self.ranks(word);
            let next = if rank < wanted {
                at + ranks[at..].partition_point(|r| *r < wanted)
            } else {
                match take(rank) {
                    Some(least) => wanted = least,
                    None => return,
                }
                at + 1
            };
            if let Some(rank) = ranks.get(next) {
                heads.push(Reverse((*rank, word, next)));
            }
        }
    }
}

fn overflow(_: std::num::TryFromIntError) -> tantivy::TantivyError {
    tantivy::TantivyError::InvalidArgument("too many name words in a segment".to_owned())
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
    let (first, end) = columns.lower_names_starting(prefix.wanted);
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
    // taken without reading any words, and checked once spelled out.
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
    let names = columns.name_words(reader, name_words, order)?;
    // The words starting with the last word, and each of the others (a word the segment does
    // not hold: no name here holds the prefix).
    let last_words = names.starting(last);
    let Some(others) = before
        .iter()
        .map(|word| names.find(word))
        .collect::<Option<Vec<u32>>>()
    else {
        return Ok(completions(columns, if held { found } else { Vec::new() }));
    };
    let holds = |doc: DocId| {
        let own = names.of(doc);
        own.iter().any(|word| last_words.contains(word))
            && others.iter().all(|word| own.binary_search(word).is_ok())
    };
    let matches = |doc: DocId| usable(doc) && holds(doc);
    if !held {
        found = starting_best(&matches);
    }
    if found.len() < prefix.want {
        // Then the best of the others, walking the fewest documents that every match is
        // among (those of the last word's completions, or of one of the other words) in
        // rank order: the first distinct names that match are the best.
        let walked = others
            .iter()
            .map(|&word| (names.count(&(word..word + 1)), word..word + 1))
            .chain(std::iter::once((
                names.count(&last_words),
                last_words.clone(),
            )))
            .min_by_key(|(count, _)| *count)
            .map(|(_, words)| words)
            .unwrap_or_default();
        names.walk(walked, |rank| {
            let doc = order.doc(rank);
            let text = columns.text_ord(doc);
            // A name's documents have neighbouring ranks and hold the same words: once one of
            // them is taken, or the name does not fit, the rest of them are passed over.
            let fitting = text.is_some() && !starts(doc) && holds(doc);
            if fitting && !usable(doc) {
                return Some(rank + 1);
            }
            if fitting {
                found.push((false, doc));
            }
            (found.len() < prefix.want).then(|| order.past_name(rank, |doc| columns.text_ord(doc)))
        });
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
