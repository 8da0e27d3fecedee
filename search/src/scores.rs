//! Text scores and filters' documents kept between searches. A search's text score is the sum, over its words (or
//! synonym phrases), of each word's score: the best of its alternatives over every text field.
//! A word's scores in a segment depend only on the segment and on the statistics of the
//! searcher (document frequencies, field lengths), so they are worked out once a searcher and
//! kept: a search then adds up a few kept numbers per match instead of walking a tree of
//! scorers over every alternative and field. Professionals' searches reuse few words, so most
//! words are kept; a commit renews the searcher and with it every score.

use std::{
    cell::Cell,
    sync::{Arc, Mutex},
};

use rustc_hash::FxHashMap;
use tantivy::{
    DocId, DocSet, Score, Searcher, SegmentReader, TERMINATED, TantivyError,
    index::SegmentId,
    query::{
        AllQuery, BooleanQuery, EnableScoring, Explanation, Occur, Query, QueryClone, Scorer,
        Weight,
    },
};

use crate::{
    collector::{ColumnCache, OFFERED_TOGETHER, has_bit, weight_docs},
    near::NearQuery,
};

/// How many bytes of scores are kept at least (a few hundred words at 100,000 listings)...
pub const SCORES_KEPT_BYTES: usize = 32 << 20;
/// ...and how many for each listing searched: a word's scores grow with the listings, and a
/// budget that did not would keep ever fewer words (at 500,000 listings a fifth as many, and
/// searches then work out most of their words' scores again).
const SCORES_KEPT_PER_LISTING: usize = SCORES_KEPT_BYTES / 100_000;

/// How many bytes of scores are kept for a searcher of `listings` documents.
fn scores_budget(listings: u64) -> usize {
    usize::try_from(listings)
        .unwrap_or(usize::MAX)
        .saturating_mul(SCORES_KEPT_PER_LISTING)
        .max(SCORES_KEPT_BYTES)
}

/// One word's matches in one segment and their scores.
pub struct WordScores {
    /// A bit per document: whether the word matches it.
    bits: Vec<u64>,
    /// For each 64-bit block of `bits`, how many matches come before it.
    ranks: Vec<u32>,
    /// The matches' scores, in document order.
    scores: Vec<f32>,
    /// For each 64-bit block of `bits`, the best score of its matches (0 for none).
    block_best: Vec<f32>,
    /// For each span of [`SPAN`] blocks, the best of their bests.
    span_best: Vec<f32>,
    /// For each 64-bit block of `bits`, a bound on the best score of the matches in each of
    /// its [`PARTS`] parts, as a share of the block's best (see [`part_bound`]), a block's
    /// parts one after another.
    part_best: Vec<u8>,
    /// The [`BEST_KEPT`] matches with the best scores (ties: the lower document first), best
    /// first: a search by relevance offers them first (see [`seed`]).
    best: Vec<DocId>,
}

/// A score's bits, ordered as `total_cmp` orders scores: a larger score, larger bits.
fn ordered_bits(score: Score) -> u32 {
    let raw = score.to_bits();
    if raw >> 31 == 1 { !raw } else { raw | 1 << 31 }
}

/// How many parts of a block (of 64 documents) a word's scores keep a bound on the best score
/// of, so that the walk by relevance passes over the parts whose words cannot lift a document
/// past the page's threshold, not only over whole blocks. (At 100,000 listings, against none:
/// 8 parts, each bound as its own float, took 5.5-23.5% fewer instructions a search by
/// relevance with words, by kind, but more time over the benchmark's whole mix of searches:
/// each word kept 50 KB more, and fewer words fitted in the scores kept. Bound as a byte each,
/// 12.5 KB a word, and worked out only for blocks with [`PARTS_FROM`] matches or more: 4.4-20%
/// fewer instructions, and in alternating timed rounds of the mix 10% less time a keyword
/// search, 1-4% less for the other kinds with words. As floats, 4 parts saved about half the
/// instructions 8 did, and 16 0.4-7% more than 8 but 2% fewer with a category.)
const PARTS: usize = 8;

/// The fewest matches in a block for which [`parts_passing`] is worked out: for fewer, scoring
/// them costs less.
const PARTS_FROM: u32 = 8;

/// How many of its best-scoring matches a word's scores keep.
const BEST_KEPT: usize = 32;

/// How many blocks (of 64 documents) a word's scores keep one best for besides each block's,
/// so that the walk by relevance passes over a run of blocks none of which can pass the
/// threshold with one sum rather than one a block. (Over the benchmark's first 1,000 search
/// queries, against none: at 100,000 listings spans of 32 blocks took 1.0% fewer instructions
/// a search, of 16 0.9%, of 8 0.4%; at 500,000 listings spans of 32 2.4% fewer. The same
/// first pages.)
pub(crate) const SPAN: usize = 32;

/// The best-scoring of the documents it is shown, as [`WordScores::best`] keeps them.
#[derive(Default)]
struct Best(std::collections::BinaryHeap<std::cmp::Reverse<u64>>);

impl Best {
    fn push(&mut self, doc: DocId, score: Score) {
        // Higher scores, then lower documents, as larger keys.
        let key = u64::from(ordered_bits(score)) << 32 | u64::from(!doc);
        if self.0.len() < BEST_KEPT {
            self.0.push(std::cmp::Reverse(key));
        } else if self.0.peek().is_some_and(|worst| key > worst.0) {
            self.0.pop();
            self.0.push(std::cmp::Reverse(key));
        }
    }

    /// The documents, best first.
    fn docs(self) -> Vec<DocId> {
        self.0
            .into_sorted_vec()
            .into_iter()
            .map(|std::cmp::Reverse(key)| {
                #[expect(clippy::cast_possible_truncation, reason = "the key's low half")]
                let doc = !(key as u32);
                doc
            })
            .collect()
    }
}

impl WordScores {
    /// Runs `weight` over the segment.
    fn read(weight: &dyn Weight, reader: &SegmentReader) -> tantivy::Result<Self> {
        let mut bits = vec![0u64; reader.max_doc().div_ceil(64) as usize];
        let mut scores = Vec::new();
        let mut best = Best::default();
        let mut scorer = weight.scorer(reader, 1.0)?;
        let mut doc = scorer.doc();
        while doc != TERMINATED {
            bits[doc as usize / 64] |= 1 << (doc % 64);
            let score = scorer.score();
            scores.push(score);
            best.push(doc, score);
            doc = scorer.advance();
        }
        Ok(Self::of(bits, scores, best))
    }

    /// A word's scores from its matches' bits and their scores in document order, with what
    /// is derived from them.
    fn of(bits: Vec<u64>, scores: Vec<f32>, best: Best) -> Self {
        let mut ranks = Vec::with_capacity(bits.len());
        let mut block_best = Vec::with_capacity(bits.len());
        let mut part_best = Vec::with_capacity(bits.len() * PARTS);
        let mut before = 0u32;
        for block in &bits {
            ranks.push(before);
            let mut parts = [0.0f32; PARTS];
            let mut matched = *block;
            let mut at = before as usize;
            while matched != 0 {
                let part = &mut parts[(matched.trailing_zeros() as usize / (64 / PARTS)) % PARTS];
                *part = part.max(scores.get(at).copied().unwrap_or(0.0));
                at += 1;
                matched &= matched - 1;
            }
            let best = parts.iter().copied().fold(0.0, f32::max);
            block_best.push(best);
            part_best.extend(parts.map(|part| part_share(part, best)));
            before += block.count_ones();
        }
        let span_best = block_best
            .chunks(SPAN)
            .map(|span| span.iter().copied().fold(0.0, f32::max))
            .collect();
        WordScores {
            bits,
            ranks,
            scores,
            block_best,
            span_best,
            part_best,
            best: best.docs(),
        }
    }

    /// The word's score for a document (0 when it does not match).
    #[inline]
    fn score(&self, doc: DocId) -> Score {
        let block = doc as usize / 64;
        let bits = self.bits[block];
        let bit = 1u64 << (doc % 64);
        if bits & bit == 0 {
            return 0.0;
        }
        let at = self.ranks[block] + (bits & (bit - 1)).count_ones();
        self.scores[at as usize]
    }

    fn bytes(&self) -> usize {
        self.bits.len() * 8
            + (self.ranks.len()
                + self.scores.len()
                + self.block_best.len()
                + self.span_best.len()
                + self.best.len())
                * 4
            + self.part_best.len()
    }
}

/// The kept scores of every segment, for the latest searcher.
#[derive(Default)]
pub struct ScoreCache {
    kept: Mutex<Kept>,
}

impl std::fmt::Debug for ScoreCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScoreCache").finish_non_exhaustive()
    }
}

#[derive(Default)]
struct Kept {
    generation: u64,
    /// A bit per document of a segment with deletions: whether it is alive.
    alive: FxHashMap<SegmentId, Arc<Vec<u64>>>,
    /// Each segment's words' scores, with when each was last used (looked up by the word's
    /// key as it is, without making a key of segment and word for every lookup).
    words: FxHashMap<SegmentId, FxHashMap<String, (Arc<WordScores>, u64)>>,
    bytes: usize,
    clock: u64,
    /// The segments searched when the scores were last sorted through (a search on the same
    /// segments has nothing to let go of).
    live: Vec<SegmentId>,
}

impl ScoreCache {
    /// The scores of the word `key` in a segment under the searcher of `generation`, worked
    /// out by `read` unless kept.
    fn get(
        &self,
        (generation, budget): (u64, usize),
        segment: SegmentId,
        key: &str,
        read: impl FnOnce() -> tantivy::Result<WordScores>,
    ) -> tantivy::Result<Arc<WordScores>> {
        if let Ok(mut kept) = self.kept.lock()
            && kept.generation == generation
        {
            kept.clock += 1;
            let clock = kept.clock;
            if let Some((scores, used)) = kept
                .words
                .get_mut(&segment)
                .and_then(|words| words.get_mut(key))
            {
                *used = clock;
                return Ok(scores.clone());
            }
        }
        let scores = Arc::new(read()?);
        if let Ok(mut kept) = self.kept.lock() {
            if generation > kept.generation {
                // A newer searcher: every kept score is out of date.
                *kept = Kept {
                    generation,
                    ..Kept::default()
                };
            }
            if generation == kept.generation && scores.bytes() <= budget {
                kept.bytes += scores.bytes();
                kept.clock += 1;
                let clock = kept.clock;
                if let Some((old, _)) = kept
                    .words
                    .entry(segment)
                    .or_default()
                    .insert(key.to_owned(), (scores.clone(), clock))
                {
                    kept.bytes -= old.bytes();
                }
                while kept.bytes > budget {
                    let oldest = kept
                        .words
                        .iter()
                        .flat_map(|(segment, words)| {
                            words
                                .iter()
                                .map(move |(key, (_, used))| (*used, *segment, key))
                        })
                        .min_by_key(|(used, ..)| *used)
                        .map(|(_, segment, key)| (segment, key.clone()));
                    let Some((segment, key)) = oldest else {
                        break;
                    };
                    if let Some((old, _)) = kept
                        .words
                        .get_mut(&segment)
                        .and_then(|words| words.remove(&key))
                    {
                        kept.bytes -= old.bytes();
                    }
                }
            }
        }
        Ok(scores)
    }

    /// The living documents of a segment with deletions, a bit each (`None` without).
    fn alive(&self, generation: u64, reader: &SegmentReader) -> Option<Arc<Vec<u64>>> {
        let alive = reader.alive_bitset()?;
        if let Ok(kept) = self.kept.lock()
            && kept.generation == generation
            && let Some(bits) = kept.alive.get(&reader.segment_id())
        {
            return Some(bits.clone());
        }
        let mut bits = vec![0u64; reader.max_doc().div_ceil(64) as usize];
        for doc in alive.iter_alive() {
            bits[doc as usize / 64] |= 1 << (doc % 64);
        }
        let bits = Arc::new(bits);
        if let Ok(mut kept) = self.kept.lock()
            && kept.generation == generation
        {
            kept.alive.insert(reader.segment_id(), bits.clone());
        }
        Some(bits)
    }

    /// Lets go of the scores of segments no longer searched.
    pub fn retain(&self, live: &[SegmentId]) {
        if let Ok(mut kept) = self.kept.lock() {
            if kept.live == live {
                return;
            }
            kept.live = live.to_vec();
            let before = kept.words.len();
            kept.words.retain(|segment, _| live.contains(segment));
            kept.alive.retain(|segment, _| live.contains(segment));
            if kept.words.len() != before {
                kept.bytes = kept
                    .words
                    .values()
                    .flat_map(|words| words.values())
                    .map(|(s, _)| s.bytes())
                    .sum();
            }
        }
    }
}

/// A search: its filters must hold and, with text, one of its words at least must match.
/// Scores are the sum of the words' scores, as a boolean query of the words' queries would give
/// them; the filters do not score. Each filter's documents are kept by the segment, and each
/// word's scores here: a search combines kept sets a machine word (64 documents) at a time.
pub struct SetQuery {
    /// (key, query) for each word, in the query's order; none for a search without text.
    pub words: Vec<(String, Arc<dyn Query>)>,
    /// Each filter: must hold (`Occur::Must`) or must not (`Occur::MustNot`), its query, and
    /// the key its documents are kept under.
    pub filters: Vec<(String, Occur, Box<dyn Query>)>,
    /// A radius, which leaves out the services surely beyond it.
    pub near: Option<NearQuery>,
    /// Without a radius, by relevance from a place: widening boxes around it, each with the
    /// largest factor the distance gives a service beyond it (see [`Ring`]).
    pub rings: Vec<Ring>,
    pub columns: Arc<ColumnCache>,
    pub scores: Arc<ScoreCache>,
}

/// A ring around the place a search ranks from, and the largest distance factor of a service
/// beyond it. It holds, whole, the blocks of 64 services whose locations' box meets the box
/// around the circle (see [`crate::collector::SegmentColumns::block_rings`]), and the services
/// without a location. A page of the best final scores is filled from the nearest services
/// first: the services of each ring are offered before those beyond it, and a service beyond it
/// is offered only when its text score times that factor could still enter the page. Every
/// final score is the text score times factors of at most 1, the distance's among them, so no
/// service that could enter the page is skipped. Rings widen: each one's radius is above the
/// one before's, and its `beyond` below. Rings are for the page collector alone: the
/// threshold its pruning returns is such a final score (a collector whose threshold is the text
/// score itself, as tantivy's `TopDocs`, must not be given a query with rings).
#[derive(Clone, Copy, Debug)]
pub struct Ring {
    /// The place ranked from: its latitude,
    pub latitude: f64,
    /// and its longitude.
    pub longitude: f64,
    /// The ring's radius.
    pub radius_km: f64,
    /// The largest distance factor of a service with no location in the ring.
    pub beyond: Score,
}

impl Clone for SetQuery {
    fn clone(&self) -> Self {
        SetQuery {
            words: self.words.clone(),
            filters: self
                .filters
                .iter()
                .map(|(key, occur, query)| (key.clone(), *occur, query.box_clone()))
                .collect(),
            near: self.near.clone(),
            rings: self.rings.clone(),
            columns: self.columns.clone(),
            scores: self.scores.clone(),
        }
    }
}

impl std::fmt::Debug for SetQuery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SetQuery")
            .field("words", &self.words)
            .field("filters", &self.filters)
            .field("near", &self.near)
            .field("rings", &self.rings)
            .finish_non_exhaustive()
    }
}

impl Query for SetQuery {
    fn weight(&self, enable_scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        let searcher = match enable_scoring {
            EnableScoring::Enabled { searcher, .. } => searcher,
            // Without scores, words are matched through their kept scores all the same.
            EnableScoring::Disabled {
                searcher_opt: Some(searcher),
                ..
            } => searcher,
            EnableScoring::Disabled { .. } => return self.whole().weight(enable_scoring),
        };
        let disabled = EnableScoring::disabled_from_searcher(searcher);
        Ok(Box::new(SetWeight {
            last: Mutex::default(),
            words: self.words.clone(),
            filters: self
                .filters
                .iter()
                .map(|(key, occur, query)| Ok((key.clone(), *occur, query.weight(disabled)?)))
                .collect::<tantivy::Result<_>>()?,
            near: self.near.clone(),
            rings: self.rings.clone(),
            searcher: searcher.clone(),
            columns: self.columns.clone(),
            scores: self.scores.clone(),
        }))
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a tantivy::Term, bool)) {
        for (_, query) in &self.words {
            query.query_terms(visitor);
        }
        for (_, _, query) in &self.filters {
            query.query_terms(visitor);
        }
    }
}

impl SetQuery {
    /// The same search as one tantivy query.
    pub fn whole(&self) -> BooleanQuery {
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = self
            .filters
            .iter()
            .map(|(_, occur, query)| (*occur, query.box_clone()))
            .collect();
        let text: Box<dyn Query> = if self.words.is_empty() {
            Box::new(AllQuery)
        } else {
            Box::new(BooleanQuery::new(
                self.words
                    .iter()
                    .map(|(_, query)| (Occur::Should, query.box_clone()))
                    .collect(),
            ))
        };
        clauses.push((Occur::Must, text));
        clauses.extend(
            self.near
                .iter()
                .map(|near| (Occur::Must, Box::new(near.clone()) as Box<dyn Query>)),
        );
        BooleanQuery::new(clauses)
    }
}

/// A segment's words' scores and matching documents.
type Matches = Arc<(Vec<Arc<WordScores>>, Vec<u64>)>;

struct SetWeight {
    /// The last segment's matches (a search counts them, then reads them).
    last: Mutex<Option<(SegmentId, Matches)>>,
    words: Vec<(String, Arc<dyn Query>)>,
    filters: Vec<(String, Occur, Box<dyn Weight>)>,
    near: Option<NearQuery>,
    rings: Vec<Ring>,
    searcher: Searcher,
    columns: Arc<ColumnCache>,
    scores: Arc<ScoreCache>,
}

impl SetWeight {
    /// The segment's words' scores, and the documents that match (deleted ones included).
    fn matches(&self, reader: &SegmentReader) -> tantivy::Result<Matches> {
        let segment = reader.segment_id();
        if let Ok(last) = self.last.lock()
            && let Some((id, matches)) = last.as_ref()
            && *id == segment
        {
            return Ok(matches.clone());
        }
        let matches = Arc::new(self.read_matches(reader)?);
        if let Ok(mut last) = self.last.lock() {
            *last = Some((segment, matches.clone()));
        }
        Ok(matches)
    }

    fn read_matches(
        &self,
        reader: &SegmentReader,
    ) -> tantivy::Result<(Vec<Arc<WordScores>>, Vec<u64>)> {
        let generation = self.searcher.generation().generation_id();
        let budget = scores_budget(self.searcher.num_docs());
        let mut words = Vec::with_capacity(self.words.len());
        for (key, query) in &self.words {
            words.push(
                self.scores
                    .get((generation, budget), reader.segment_id(), key, || {
                        let weight =
                            query.weight(EnableScoring::enabled_from_searcher(&self.searcher))?;
                        WordScores::read(weight.as_ref(), reader)
                    })?,
            );
        }
        let max_doc = reader.max_doc();
        let mut matching = if let Some((first, rest)) = words.split_first() {
            // The first two words' bits are joined as they are copied: one pass fewer.
            let (mut any, rest) = match rest.split_first() {
                Some((second, rest)) => (
                    first
                        .bits
                        .iter()
                        .zip(&second.bits)
                        .map(|(first, second)| first | second)
                        .collect::<Vec<u64>>(),
                    rest,
                ),
                None => (first.bits.clone(), rest),
            };
            for word in rest {
                for (into, bits) in any.iter_mut().zip(&word.bits) {
                    *into |= bits;
                }
            }
            any
        } else {
            let mut all = vec![u64::MAX; max_doc.div_ceil(64) as usize];
            if let Some(last) = all.last_mut()
                && !max_doc.is_multiple_of(64)
            {
                *last = (1 << (max_doc % 64)) - 1;
            }
            all
        };
        // Every block is read for every set, in the order the search gives. (At 100,000
        // listings, starting from the sparsest set and reading the others only in the blocks
        // where something was left took 2-3% fewer instructions a search within a radius and
        // 2-3.5% more for the other kinds: a search's matches lie in most blocks, and a branch
        // per block costs more than it skips. Passing over only the blocks already empty, with
        // such a branch, took 2.2% more instructions a search than none at 100,000 listings
        // and 3.1% more at 500,000.)
        let columns = self.columns.get(reader)?;
        for (key, occur, weight) in &self.filters {
            let set = columns.filtered(key, || weight_docs(weight.as_ref(), reader))?;
            // One loop a kind of filter, so that each is a plain loop over two slices.
            let pairs = matching.iter_mut().zip(set.iter());
            match occur {
                Occur::MustNot => pairs.for_each(|(into, bits)| *into &= !bits),
                Occur::Must | Occur::Should => pairs.for_each(|(into, bits)| *into &= bits),
            }
        }
        if let Some(near) = &self.near {
            for (into, near) in matching.iter_mut().zip(near.bits(reader)?) {
                *into &= near;
            }
        }
        Ok((words, matching))
    }
}

/// The sum of the words' scores for a document, in the words' order.
#[inline]
fn score_of(words: &[Arc<WordScores>], doc: DocId) -> Score {
    let mut score = 0.0;
    for word in words {
        score += word.score(doc);
    }
    score
}

/// The fewest of a block's documents that [`for_each_scored`] scores a block at a time: for
/// fewer, looking each one up in each word's scores costs less. (At 100,000 listings, 4 took
/// 0.3-4% fewer instructions a search by relevance than 8, by class; 2 about as many as 4, 16
/// more than 8.)
const BLOCK_SCORED_FROM: u32 = 4;

/// Calls `each` with every document of block `block`'s `bits`, in order, and its score as
/// [`score_of`] gives it. For many documents, each word's matches in the block are walked once,
/// adding their scores up a document at a time, instead of each document being looked up in
/// each word: the same sums, added in the same order (a word a document does not match adds
/// nothing, and scores are never negative, so leaving out its zero changes nothing). A word
/// most of whose matches in the block are not in `bits` (a filter left them out, or they
/// cannot pass) adds only those that are, each found by its rank among its matches; only
/// the sums of `bits` are read.
#[inline]
fn for_each_scored(
    words: &[Arc<WordScores>],
    block: usize,
    mut bits: u64,
    mut each: impl FnMut(DocId, Score),
) {
    let base = u32::try_from(block * 64).unwrap_or(u32::MAX);
    if bits.count_ones() < BLOCK_SCORED_FROM {
        while bits != 0 {
            let doc = base + bits.trailing_zeros();
            bits &= bits - 1;
            each(doc, score_of(words, doc));
        }
        return;
    }
    let mut sums = [0.0f32; 64];
    for word in words {
        let mut matched = word.bits[block];
        let mut wanted = matched & bits;
        if wanted == 0 {
            continue;
        }
        // The block's scores of the word, one per bit, taken as one slice.
        let at = word.ranks[block] as usize;
        let scores = &word.scores[at..at + matched.count_ones() as usize];
        if wanted.count_ones() * 2 < matched.count_ones() {
            // Most of the word's matches here are not wanted (left out by a filter, or unable
            // to pass): each wanted one's score is found by its rank among them.
            while wanted != 0 {
                let lane = wanted.trailing_zeros();
                wanted &= wanted - 1;
                let rank = (matched & ((1u64 << lane) - 1)).count_ones() as usize;
                if let Some(score) = scores.get(rank) {
                    sums[(lane & 63) as usize] += *score;
                }
            }
            continue;
        }
        for score in scores {
            sums[(matched.trailing_zeros() & 63) as usize] += *score;
            matched &= matched - 1;
        }
    }
    while bits != 0 {
        let offset = bits.trailing_zeros();
        bits &= bits - 1;
        each(base + offset, sums[offset as usize]);
    }
}

impl Weight for SetWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let matches = self.matches(reader)?;
        let alive = self
            .scores
            .alive(self.searcher.generation().generation_id(), reader);
        let mut scorer = SetScorer {
            pending: matches.1.first().copied().unwrap_or(0),
            matches,
            alive,
            block: 0,
            doc: 0,
            boost,
        };
        scorer.advance();
        Ok(Box::new(scorer))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let matches = self.matches(reader)?;
        let (words, matching) = &*matches;
        if !has_bit(matching, doc) {
            return Err(TantivyError::InvalidArgument(format!(
                "document #({doc}) does not match"
            )));
        }
        let mut explanation = Explanation::new("sum of the words' scores", score_of(words, doc));
        for ((key, _), word) in self.words.iter().zip(words) {
            explanation.add_detail(Explanation::new_with_string(key.clone(), word.score(doc)));
        }
        Ok(explanation)
    }

    fn for_each(
        &self,
        reader: &SegmentReader,
        callback: &mut dyn FnMut(DocId, Score),
    ) -> tantivy::Result<()> {
        let matches = self.matches(reader)?;
        let (words, matching) = &*matches;
        for (block, bits) in matching.iter().enumerate() {
            if *bits != 0 {
                for_each_scored(words, block, *bits, &mut *callback);
            }
        }
        Ok(())
    }

    fn for_each_no_score(
        &self,
        reader: &SegmentReader,
        callback: &mut dyn FnMut(&[DocId]),
    ) -> tantivy::Result<()> {
        let matches = self.matches(reader)?;
        let matching = &matches.1;
        let mut buffer = Vec::with_capacity(64);
        for (block, bits) in matching.iter().enumerate() {
            let mut bits = *bits;
            if bits == 0 {
                continue;
            }
            let base = u32::try_from(block * 64).unwrap_or(u32::MAX);
            buffer.clear();
            while bits != 0 {
                buffer.push(base + bits.trailing_zeros());
                bits &= bits - 1;
            }
            callback(&buffer);
        }
        Ok(())
    }

    fn count(&self, reader: &SegmentReader) -> tantivy::Result<u32> {
        let matches = self.matches(reader)?;
        let matching = &matches.1;
        let generation = self.searcher.generation().generation_id();
        let count: u32 = match self.scores.alive(generation, reader) {
            Some(alive) => matching
                .iter()
                .zip(alive.iter())
                .map(|(bits, alive)| (bits & alive).count_ones())
                .sum(),
            None => matching.iter().map(|bits| bits.count_ones()).sum(),
        };
        Ok(count)
    }

    /// Skips each block of 64 documents whose words' best scores add up to no more than the
    /// threshold: none of its documents could pass it. With rings, the documents of each ring
    /// are walked before those beyond it, and beyond a ring the threshold a text score must
    /// pass is raised by the ring's largest distance factor.
    fn for_each_pruning(
        &self,
        threshold: Score,
        reader: &SegmentReader,
        callback: &mut dyn FnMut(DocId, Score) -> Score,
    ) -> tantivy::Result<()> {
        let matches = self.matches(reader)?;
        let (words, matching) = &*matches;
        // Searches from a place without a radius measure most of what they offer; within a
        // radius, most offers are turned away on their text score before anything is read.
        let columns = if self.rings.is_empty() {
            None
        } else {
            Some(self.columns.get(reader)?)
        };
        let warm = |docs: &[DocId]| {
            if let Some(columns) = &columns {
                columns.warm(docs, true);
            }
        };
        let warm = columns.is_some().then_some(&warm as Warm<'_>);
        if self.rings.is_empty() {
            prune_seeded(words, matching, threshold, callback);
            return Ok(());
        }
        // A block's documents are also no nearer than its locations' box.
        let from = self.rings.first().map(|ring| {
            (
                ring.latitude,
                ring.longitude,
                crate::geo::cosine_of_latitude(ring.latitude),
            )
        });
        let in_block = |block: usize| match (&columns, from) {
            (Some(columns), Some(from)) => columns.nearest_factor_in_block(block, from),
            _ => 1.0,
        };
        let in_span = |span: usize| match (&columns, from) {
            (Some(columns), Some(from)) => columns.nearest_factor_in_span(span, from),
            _ => 1.0,
        };
        let nearer = Nearer {
            block: &in_block,
            span: &in_span,
        };
        // The documents of each ring, told from the blocks' boxes of locations.
        let boxes: Vec<_> = self
            .rings
            .iter()
            .map(|ring| crate::near::box_around(ring.latitude, ring.longitude, ring.radius_km))
            .collect();
        let rings = columns
            .as_ref()
            .map(|columns| columns.block_rings(&boxes, matching.len()));
        let holds =
            |block: usize, ring: usize| rings.as_ref().map_or(u64::MAX, |r| r.holds(block, ring));
        let walked =
            |block: usize, ring: usize| rings.as_ref().map_or(0, |r| r.walked(block, ring));
        let may_hold =
            |span: usize, ring: usize| rings.as_ref().is_none_or(|r| r.may_hold(span, ring));
        let mut threshold = threshold;
        let mut factor = 1.0;
        for (at, ring) in self.rings.iter().enumerate() {
            let ring_docs = |block: usize| matching[block] & holds(block, at) & !walked(block, at);
            threshold = prune(
                words,
                matching.len(),
                (ring_docs, |span| may_hold(span, at)),
                threshold,
                (factor, Some(nearer)),
                warm,
                callback,
            );
            factor = factor.min(ring.beyond);
        }
        let rest = |block: usize| matching[block] & !walked(block, self.rings.len());
        prune(
            words,
            matching.len(),
            (rest, |span| may_hold(span, self.rings.len())),
            threshold,
            (factor, Some(nearer)),
            warm,
            callback,
        );
        Ok(())
    }
}

/// The text score a document must pass for its final score to pass `threshold`, when the
/// other factors of a final score are at most `factor`: a final score is at most its text
/// score times `factor` (float products by factors of at most 1 round no higher than that, to
/// within the margin).
fn text_threshold(threshold: Score, factor: Score) -> Score {
    if factor >= 1.0 {
        threshold
    } else {
        #[expect(clippy::cast_possible_truncation, reason = "a score")]
        let raised = (f64::from(threshold) / f64::from(factor) * (1.0 - 1e-5)) as f32;
        raised.max(threshold)
    }
}

/// Offers `callback` the best-scoring matches of each word (those of `matching`, a bit per
/// document), best first, each whose text score may pass the threshold as the offers before it
/// left it; returns the threshold and the documents looked at, in document order. A search by
/// relevance that walks the segment in document order raises its threshold only as it meets
/// better matches, scoring whole blocks on the way; started from the words' best, its
/// threshold is near the page's last score from the first block. Any order of offers fills
/// the same page (the page breaks ties by id, not by the order of offers), so long as no
/// document is offered twice: the walk leaves out those returned.
fn seed(
    words: &[Arc<WordScores>],
    matching: &[u64],
    threshold: Score,
    callback: &mut dyn FnMut(DocId, Score) -> Score,
) -> (Score, Vec<DocId>) {
    let mut docs: Vec<DocId> = words
        .iter()
        .flat_map(|word| word.best.iter().copied())
        .filter(|&doc| has_bit(matching, doc))
        .collect();
    docs.sort_unstable();
    docs.dedup();
    let mut scored: Vec<(DocId, Score)> = docs
        .iter()
        .map(|&doc| (doc, score_of(words, doc)))
        .collect();
    scored.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut threshold = threshold;
    for (doc, score) in scored {
        if score > threshold {
            threshold = callback(doc, score);
        }
    }
    (threshold, docs)
}

/// [`prune`] over the documents of `matching` (a bit per document) with no factor but the
/// text score's, after [`seed`] has offered the words' best matches, which it does not offer
/// again. Returns the threshold.
fn prune_seeded(
    words: &[Arc<WordScores>],
    matching: &[u64],
    threshold: Score,
    callback: &mut dyn FnMut(DocId, Score) -> Score,
) -> Score {
    let (threshold, seeded) = seed(words, matching, threshold, callback);
    let mut last = threshold;
    prune(
        words,
        matching.len(),
        (|block| matching[block], |_| true),
        threshold,
        (1.0, None),
        None,
        &mut |doc, score| {
            if seeded.binary_search(&doc).is_err() {
                last = callback(doc, score);
            }
            last
        },
    )
}

/// The sum of one best of each word, `best` gives it, added in the words' order.
#[inline]
fn sum_of_bests(words: &[Arc<WordScores>], best: impl Fn(&WordScores) -> Score) -> Score {
    words.iter().fold(0.0, |sum, word| sum + best(word))
}

/// The sum of the words' best scores in a block: float addition is monotonic, so no document's
/// sum of its words' scores, added in the same order, exceeds it.
#[inline]
fn best_in(words: &[Arc<WordScores>], block: usize) -> Score {
    sum_of_bests(words, |word| word.block_best[block])
}

/// The sum of the words' bests in span `span` (see [`SPAN`]): no sum of a block's bests there,
/// added in the same order, exceeds it (each term is at most its counterpart here, and float
/// addition is monotonic).
#[inline]
fn best_in_span(words: &[Arc<WordScores>], span: usize) -> Score {
    sum_of_bests(words, |word| word.span_best[span])
}

/// The least share of a block's best `block` (in 255ths) whose [`part_bound`] is at least
/// `part` (a score of at most `block`).
fn part_share(part: Score, block: Score) -> u8 {
    if block <= 0.0 || !block.is_finite() || !part.is_finite() {
        return u8::MAX;
    }
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "clamped"
    )]
    let mut share = (part / block * 255.0).ceil().clamp(0.0, 255.0) as u8;
    while share < u8::MAX && part_bound(block, share) < part {
        share += 1;
    }
    share
}

/// The bound on a part's best score that its share of its block's best `block` stands for:
/// the block's best itself for the whole share.
#[inline]
fn part_bound(block: Score, share: u8) -> Score {
    if share == u8::MAX {
        block
    } else {
        block * Score::from(share) * (1.0 / 255.0)
    }
}

/// The documents of block `block` in its parts (see [`PARTS`]) whose words' bounds there add
/// up to more than `passing`, as bits: in the others, no document's sum of its words' scores,
/// added in the same order, can pass it (each is at most its word's bound, and float
/// addition is monotonic).
#[inline]
fn parts_passing(words: &[Arc<WordScores>], block: usize, passing: Score) -> u64 {
    const WIDTH: usize = 64 / PARTS;
    let mut bests = [0.0f32; PARTS];
    for word in words {
        let best = word.block_best[block];
        let shares = &word.part_best[block * PARTS..(block + 1) * PARTS];
        for (sum, share) in bests.iter_mut().zip(shares) {
            *sum += part_bound(best, *share);
        }
    }
    let mut bits = 0u64;
    for (part, best) in bests.iter().enumerate() {
        if *best > passing {
            bits |= (u64::MAX >> (64 - WIDTH)) << (part * WIDTH);
        }
    }
    bits
}

/// Reads what offering some documents will read of them (see `SegmentColumns::warm`).
type Warm<'a> = &'a dyn Fn(&[DocId]);

/// Documents [`prune`] found may pass the threshold, waiting to be offered together.
struct Waiting {
    docs: [DocId; OFFERED_TOGETHER],
    scores: [Score; OFFERED_TOGETHER],
    /// The largest the other factors of each one's final score can be.
    factors: [Score; OFFERED_TOGETHER],
    len: usize,
}

/// Walks the blocks of `docs` (a function from a block's number to its 64 bits, for `blocks`
/// blocks, and one from a span's number (see [`SPAN`]) to whether any of its blocks may hold
/// any: the spans that do not are passed over) in order and calls `each` with every document
/// whose text score times the largest factor its final score can have besides may pass
/// `threshold` as it stands (`each` may raise it), and with that factor: `factor` for every
/// block, or the smaller `nearer` gives a block. Whole spans of blocks and whole blocks whose
/// words' best scores cannot pass are skipped (times the smaller factor `nearer` gives the span,
/// and `nearer` is asked only of blocks that `factor` does not rule out), and so are the
/// documents of a block that match only words whose bests together cannot.
fn walk(
    words: &[Arc<WordScores>],
    blocks: usize,
    (docs, spans): (impl Fn(usize) -> u64, impl Fn(usize) -> bool),
    threshold: &Cell<Score>,
    (factor, nearer): (Score, Option<Nearer<'_>>),
    mut each: impl FnMut(DocId, Score, Score),
) {
    for span in 0..blocks.div_ceil(SPAN) {
        // A span none of whose blocks' bests can pass is passed over whole (the threshold
        // only rises as documents are offered, and none are while it is looked at), and so is
        // one too far for them to pass.
        if !spans(span) {
            continue;
        }
        let best = best_in_span(words, span);
        if best <= text_threshold(threshold.get(), factor)
            || nearer.is_some_and(|nearer| {
                best <= text_threshold(threshold.get(), (nearer.span)(span).min(factor))
            })
        {
            continue;
        }
        for block in span * SPAN..blocks.min((span + 1) * SPAN) {
            let mut bits = docs(block);
            if bits == 0 {
                continue;
            }
            let best = best_in(words, block);
            let mut now = text_threshold(threshold.get(), factor);
            if best <= now {
                continue;
            }
            let factor = match nearer {
                Some(nearer) => {
                    let nearer = (nearer.block)(block).min(factor);
                    now = text_threshold(threshold.get(), nearer);
                    if best <= now {
                        continue;
                    }
                    nearer
                }
                None => factor,
            };
            // (Only worth working out for a block with many matches.)
            if bits.count_ones() >= PARTS_FROM {
                bits &= parts_passing(words, block, now);
            }
            if bits.count_ones() >= ESSENTIAL_FROM {
                bits &= essential(words, block, bits, now);
            }
            for_each_scored(words, block, bits, |doc, score| {
                if score > now {
                    each(doc, score, factor);
                    now = text_threshold(threshold.get(), factor);
                }
            });
        }
    }
}

/// The largest distance factor of a block's documents, and of a span's (see
/// `SegmentColumns::nearest_factor_in_block` and `SegmentColumns::nearest_factor_in_span`):
/// a span's is no less than any of its blocks'.
#[derive(Clone, Copy)]
struct Nearer<'a> {
    block: &'a dyn Fn(usize) -> Score,
    span: &'a dyn Fn(usize) -> Score,
}

/// Offers `callback` each document of `docs` (a function from a block's number to its 64
/// bits, for `blocks` blocks, with one telling the spans that may hold any, see [`walk`])
/// whose text score times the largest the other factors of its final score can be
/// (`factors`, see [`walk`]) may pass the threshold, in document order. With `warm`,
/// documents are offered [`OFFERED_TOGETHER`] at a time, what the callback reads of them read
/// first with it: the same documents in the same order as one at a time, each still passing
/// the threshold the offers before it raised. The callback returns the new threshold, which
/// this returns at the end.
fn prune(
    words: &[Arc<WordScores>],
    blocks: usize,
    docs: (impl Fn(usize) -> u64, impl Fn(usize) -> bool),
    threshold: Score,
    factors: (Score, Option<Nearer<'_>>),
    warm: Option<Warm<'_>>,
    callback: &mut dyn FnMut(DocId, Score) -> Score,
) -> Score {
    let threshold = Cell::new(threshold);
    let Some(warm) = warm else {
        walk(words, blocks, docs, &threshold, factors, |doc, score, _| {
            threshold.set(callback(doc, score));
        });
        return threshold.get();
    };
    let mut kept = Waiting {
        docs: [0; OFFERED_TOGETHER],
        scores: [0.0; OFFERED_TOGETHER],
        factors: [0.0; OFFERED_TOGETHER],
        len: 0,
    };
    let mut offer = |kept: &mut Waiting| {
        let len = kept.len;
        if len > 0 {
            warm(&kept.docs[..len]);
        }
        for at in 0..len {
            let score = kept.scores[at];
            if score > text_threshold(threshold.get(), kept.factors[at]) {
                threshold.set(callback(kept.docs[at], score));
            }
        }
        kept.len = 0;
    };
    walk(
        words,
        blocks,
        docs,
        &threshold,
        factors,
        |doc, score, factor| {
            kept.docs[kept.len] = doc;
            kept.scores[kept.len] = score;
            kept.factors[kept.len] = factor;
            kept.len += 1;
            if kept.len == OFFERED_TOGETHER {
                offer(&mut kept);
            }
        },
    );
    offer(&mut kept);
    threshold.get()
}

/// The fewest matches in a block for which [`essential`] is worked out: for fewer, scoring
/// them costs less.
const ESSENTIAL_FROM: u32 = 16;

/// How far below the threshold the bests of a block's lesser words must add up (a share of
/// it): see [`essential`].
const LESSER_MARGIN: Score = 1e-5;

/// The documents of a block's matches `bits` that may pass `passing`: the block's words with
/// the lowest bests, as many as add up to less than it by [`LESSER_MARGIN`], cannot lift a
/// document past it on their own, so a document that matches none of the other words is passed over unscored
/// (as MaxScore does with whole lists). A document's score adds its words' scores in the
/// words' order, with nothing for a word it does not match, so it is at most the bests of its
/// words added in that order (float addition is monotonic). The bests are added here in the
/// order of their size, as the lesser words are found: a sum of at most 16 numbers in another
/// order differs by a few units in the last place, far less than [`LESSER_MARGIN`], which the
/// lesser words' bests must stay below the threshold by. (At 100,000 listings, adding each set
/// of lesser words up again in the words' order took 4.9% more instructions a keyword search
/// and 0.1-1.1% more a search of the other kinds with words; never working the lesser words
/// out, 6.2% more a keyword search and 0.8-1.5% fewer the others.)
fn essential(words: &[Arc<WordScores>], block: usize, bits: u64, passing: Score) -> u64 {
    const MOST: usize = 16;
    if words.len() < 2 || words.len() > MOST {
        return bits;
    }
    // The words' bests, and their places in the order of their bests (as `total_cmp` orders
    // them: a best's ordered bits above the word's place), each a word read once.
    let mut bests = [0.0f32; MOST];
    let mut order = [0u64; MOST];
    for (i, word) in words.iter().enumerate() {
        let best = word.block_best[block];
        bests[i] = best;
        order[i] = u64::from(ordered_bits(best)) << 8 | i as u64;
    }
    let order = &mut order[..words.len()];
    order.sort_unstable();
    let below = passing * (1.0 - LESSER_MARGIN);
    let mut lesser = 0u32;
    let mut sum = 0.0;
    for &key in order.iter() {
        let i = (key & 0xff) as usize;
        // (`i` is below `MOST`: the mask only spares a bounds check.)
        sum += bests[i & (MOST - 1)];
        if sum > below {
            break;
        }
        lesser |= 1 << i;
    }
    if lesser == 0 {
        return bits;
    }
    let mut keep = 0u64;
    for (i, word) in words.iter().enumerate() {
        if lesser & (1 << i) == 0 {
            keep |= word.bits[block];
        }
    }
    bits & keep
}

/// The matches of a [`SetWeight`] in one segment, as a scorer.
struct SetScorer {
    matches: Matches,
    /// A bit per live document, when the segment has deletions.
    alive: Option<Arc<Vec<u64>>>,
    /// The block of the matches being read, and its documents not yet returned.
    block: usize,
    pending: u64,
    doc: DocId,
    boost: Score,
}

impl DocSet for SetScorer {
    fn advance(&mut self) -> DocId {
        while self.pending == 0 {
            self.block += 1;
            match self.matches.1.get(self.block) {
                Some(bits) => self.pending = *bits,
                None => {
                    self.doc = TERMINATED;
                    return TERMINATED;
                }
            }
        }
        let low = self.pending.trailing_zeros();
        self.pending &= self.pending - 1;
        self.doc = u32::try_from(self.block * 64).unwrap_or(u32::MAX) + low;
        self.doc
    }

    fn doc(&self) -> DocId {
        self.doc
    }

    fn size_hint(&self) -> u32 {
        self.matches.1.iter().map(|bits| bits.count_ones()).sum()
    }
}

impl Scorer for SetScorer {
    fn score(&mut self) -> Score {
        score_of(&self.matches.0, self.doc) * self.boost
    }
}

/// A search's live matches in a segment, a bit per document, and how many they are: for a
/// [`SetQuery`]'s weight, its kept sets combined a machine word at a time (no document is
/// visited); `None` for any other weight.
pub(crate) fn live_bits(
    weight: &dyn Weight,
    reader: &SegmentReader,
) -> tantivy::Result<Option<(Vec<u64>, u64)>> {
    let scorer = weight.scorer(reader, 1.0)?;
    let Some(set) = scorer.downcast_ref::<SetScorer>() else {
        return Ok(None);
    };
    let mut total = 0;
    // Copied, the dead left out and the rest counted in one pass.
    let matching = match &set.alive {
        Some(alive) => set
            .matches
            .1
            .iter()
            .zip(alive.iter())
            .map(|(bits, alive)| {
                let living = bits & alive;
                total += u64::from(living.count_ones());
                living
            })
            .collect(),
        None => {
            let matching = set.matches.1.clone();
            total = matching
                .iter()
                .map(|bits| u64::from(bits.count_ones()))
                .sum();
            matching
        }
    };
    Ok(Some((matching, total)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scores_kept_grow_with_the_listings() {
        assert_eq!(scores_budget(0), SCORES_KEPT_BYTES);
        assert_eq!(scores_budget(10_000), SCORES_KEPT_BYTES);
        let at_100k = scores_budget(100_000);
        assert!(at_100k >= SCORES_KEPT_BYTES - SCORES_KEPT_BYTES / 100);
        // Five times the listings, five times the bytes: as many words kept.
        assert_eq!(
            scores_budget(500_000),
            5 * 100_000 * SCORES_KEPT_PER_LISTING
        );
        assert!(scores_budget(500_000) >= 4 * at_100k);
        assert_eq!(scores_budget(u64::MAX), usize::MAX);
    }

    #[test]
    fn the_scores_used_longest_ago_are_let_go_first_and_those_of_segments_gone_at_once() {
        let cache = ScoreCache::default();
        let scores = || word(640, |doc| (doc % 3 == 0).then_some(1.0));
        let budget = 3 * scores().bytes();
        let (one, two) = (SegmentId::generate_random(), SegmentId::generate_random());
        let reads = Cell::new(0);
        // Whether the scores of `key` in `segment` had to be read (they were not kept).
        let read = |segment: SegmentId, key: &str| {
            let before = reads.get();
            cache
                .get((1, budget), segment, key, || {
                    reads.set(reads.get() + 1);
                    Ok(Arc::into_inner(scores()).expect("one owner"))
                })
                .expect("scores");
            reads.get() > before
        };
        assert!(read(one, "a"));
        assert!(read(one, "b"));
        assert!(read(two, "a"));
        assert!(!read(one, "a"));
        // A fourth is over the budget: the one used longest ago goes.
        assert!(read(two, "b"));
        assert!(!read(one, "a"));
        assert!(!read(two, "a"));
        assert!(!read(two, "b"));
        // Back, in place of the first segment's first word, used longest ago now.
        assert!(read(one, "b"));
        assert!(!read(two, "a"));
        assert!(read(one, "a"));
        assert!(!read(two, "a"));
        assert!(!read(one, "b"));
        // A segment no longer searched has its scores let go, and the room they took is free.
        cache.retain(&[two]);
        assert!(read(one, "a"));
        assert!(read(one, "b"));
        assert!(!read(two, "a"));
        assert!(!read(one, "a"));
        assert!(!read(one, "b"));
    }

    /// A word's scores over `max_doc` documents: `score(doc)` for those it matches.
    fn word(max_doc: u32, score: impl Fn(DocId) -> Option<f32>) -> Arc<WordScores> {
        let mut bits = vec![0u64; max_doc.div_ceil(64) as usize];
        let mut scores = Vec::new();
        let mut best = Best::default();
        for doc in 0..max_doc {
            if let Some(value) = score(doc) {
                bits[doc as usize / 64] |= 1 << (doc % 64);
                scores.push(value);
                best.push(doc, value);
            }
        }
        Arc::new(WordScores::of(bits, scores, best))
    }

    #[test]
    fn a_block_scored_at_once_adds_up_as_each_document_does() {
        // Scores whose float sums change with the order they are added in (2^24 + 1 + 1 is
        // 2^24 in that order, 2^24 + 2 in the other), over words that match every document,
        // every other, every third and a few, and blocks from empty to full. A word most of
        // whose matches the block's documents leave out (the first three words under 0xff00
        // or 1 << 63 | 0xfe) adds the documents' scores by their ranks; the others walk theirs.
        let max_doc = 64 * 4;
        let odd = |doc: DocId| f32::from(u16::try_from(doc).expect("small")) * 0.1 + 1.0e-3;
        let words = vec![
            word(max_doc, |_| Some(16_777_216.0)),
            word(max_doc, |doc| (doc % 2 == 0).then_some(1.0)),
            word(max_doc, |doc| (doc % 3 == 0).then_some(1.0)),
            word(max_doc, |doc| (doc % 29 == 5).then(|| odd(doc) * 3.7)),
        ];
        let patterns = [
            0,
            1,
            0b1011,
            u64::MAX,
            0x5555_5555_5555_5555,
            1 << 63,
            0xff00,
            1 << 63 | 0xfe,
        ];
        for block in 0..4 {
            for bits in patterns {
                let mut seen = Vec::new();
                for_each_scored(&words, block, bits, |doc, score| seen.push((doc, score)));
                let expected: Vec<(DocId, f32)> = (0..64)
                    .filter(|offset| bits & (1 << offset) != 0)
                    .map(|offset| {
                        let doc = u32::try_from(block * 64).expect("small") + offset;
                        (doc, score_of(&words, doc))
                    })
                    .collect();
                assert_eq!(seen.len(), expected.len(), "block {block} bits {bits:#x}");
                for ((doc, score), (want_doc, want)) in seen.iter().zip(&expected) {
                    assert_eq!(doc, want_doc);
                    assert_eq!(score.to_bits(), want.to_bits(), "document {doc}");
                }
            }
        }
    }

    #[test]
    fn a_block_passes_over_documents_only_its_weakest_words_match() {
        // Bests of 1, 5 and 2 in the block: the words of 1 and 2 add up to 3, no more than
        // 3.5, so a document matching only them cannot pass; with the word of 5, any can.
        let words = vec![
            word(64, |doc| (doc < 40).then_some(1.0)),
            word(64, |doc| (doc % 4 == 0).then_some(5.0)),
            word(64, |doc| (doc >= 20).then_some(2.0)),
        ];
        let all = u64::MAX;
        let strongest = words[1].bits[0];
        assert_eq!(essential(&words, 0, all, 3.5), all & strongest);
        // Below the least best, every word may lift a document past: nothing is passed over.
        assert_eq!(essential(&words, 0, all, 0.5), all);
        // At 1.5, the word of 1 alone is left out (with the word of 2 they make 3).
        assert_eq!(
            essential(&words, 0, all, 1.5),
            words[1].bits[0] | words[2].bits[0]
        );
        // At exactly 3, the sum of 1 and 2, the word of 2 is kept by the margin: a document
        // matching only the two then scores 3 and is turned away by its score instead.
        assert_eq!(
            essential(&words, 0, all, 3.0),
            words[1].bits[0] | words[2].bits[0]
        );
    }

    #[test]
    fn a_document_passed_over_never_scores_above_the_threshold() {
        let mut rng = fastrand::Rng::with_seed(1001);
        for _ in 0..3_000 {
            let count = rng.usize(2..=8);
            let words: Vec<Arc<WordScores>> = (0..count)
                .map(|_| {
                    let scale = 0.1 + rng.f32() * 10.0;
                    let share = rng.f32();
                    // The first document matches every word with its best.
                    let scores: Vec<Option<f32>> = (0..64)
                        .map(|doc| match doc {
                            0 => Some(scale),
                            _ => (rng.f32() < share).then(|| scale * rng.f32()),
                        })
                        .collect();
                    word(64, |doc| scores[doc as usize])
                })
                .collect();
            // Thresholds where rounding tells: documents' own scores, and the bests added up a
            // prefix at a time, in the words' order and in the order of their size.
            let mut thresholds: Vec<Score> = (0..64).map(|doc| score_of(&words, doc)).collect();
            let mut bests: Vec<Score> = words.iter().map(|word| word.block_best[0]).collect();
            for _ in 0..2 {
                let mut sum = 0.0;
                for best in &bests {
                    sum += best;
                    thresholds.push(sum);
                }
                bests.sort_by(f32::total_cmp);
            }
            for passing in thresholds {
                let kept = essential(&words, 0, u64::MAX, passing);
                let in_parts = parts_passing(&words, 0, passing);
                for doc in 0..64 {
                    let score = score_of(&words, doc);
                    if kept & (1 << doc) == 0 || in_parts & (1 << doc) == 0 {
                        assert!(score <= passing, "{score} > {passing}");
                    }
                }
            }
        }
    }

    #[test]
    fn a_part_of_a_block_its_words_cannot_lift_past_the_threshold_is_passed_over() {
        // Scores of 5 in the block's first part (8 documents) and of 1 in the others, for one
        // word; 0.5 everywhere for another: past 3, only the first part can pass; past 1.5 every
        // part can; past 6, none.
        let words = vec![
            word(64, |doc| Some(if doc < 8 { 5.0 } else { 1.0 })),
            word(64, |_| Some(0.5)),
        ];
        assert_eq!(parts_passing(&words, 0, 3.0), 0xFF);
        assert_eq!(parts_passing(&words, 0, 1.4), u64::MAX);
        assert_eq!(parts_passing(&words, 0, 6.0), 0);
        // A part's bound is the least share of the block's best not below its best.
        let mut rng = fastrand::Rng::with_seed(1001);
        for _ in 0..10_000 {
            let block = rng.f32() * 100.0;
            let part = block * rng.f32();
            let share = part_share(part, block);
            assert!(part_bound(block, share) >= part, "{part} of {block}");
            assert!(part_bound(block, share) <= block);
            assert!(
                share == 0 || part_bound(block, share - 1) < part,
                "{part} of {block}"
            );
        }
        assert_eq!(part_bound(2.5, part_share(2.5, 2.5)), 2.5);
        assert_eq!(part_bound(2.5, part_share(0.0, 2.5)), 0.0);
    }

    /// The documents `prune` offers to a page of `keep` keeping the best final scores (each
    /// offer returns the page's worst once it is full), with or without reading them together
    /// first, and the threshold it ends with. A final score is the text score times `factor`,
    /// or times the smaller factor `nearer` gives the document's block.
    #[test]
    fn the_best_matches_offered_first_fill_the_same_page_with_fewer_offers() {
        let max_doc = 64 * 40;
        let words = waves(max_doc);
        let blocks = max_doc.div_ceil(64) as usize;
        let matching: Vec<u64> = (0..blocks)
            .map(|block| words[0].bits[block] | words[1].bits[block])
            .collect();
        // Some matches left out, as a filter leaves them out: their best are not offered.
        let filtered: Vec<u64> = matching
            .iter()
            .enumerate()
            .map(|(block, bits)| if block % 3 == 0 { 0 } else { *bits })
            .collect();
        for matching in [&matching, &filtered] {
            let all: Vec<DocId> = (0..max_doc).filter(|&doc| has_bit(matching, doc)).collect();
            for keep in [1, 5, 21, 200] {
                let mut expected: Vec<u32> = all
                    .iter()
                    .map(|&doc| score_of(&words, doc).to_bits())
                    .collect();
                expected.sort_by(|a, b| f32::from_bits(*b).total_cmp(&f32::from_bits(*a)));
                let mut page = TopScores::new(keep);
                let mut offers: Vec<DocId> = Vec::new();
                let threshold =
                    prune_seeded(&words, matching, f32::NEG_INFINITY, &mut |doc, score| {
                        offers.push(doc);
                        page.offer(score)
                    });
                let page = page.scores;
                let found: Vec<u32> = page.iter().map(|score| score.to_bits()).collect();
                assert_eq!(found[..], expected[..keep], "keep {keep}");
                assert!(offers.iter().all(|&doc| has_bit(matching, doc)));
                let mut once = offers.clone();
                once.sort_unstable();
                once.dedup();
                assert_eq!(once.len(), offers.len(), "a document offered twice");
                if keep < 200 {
                    let walked = offered_from(&words, blocks, matching, keep);
                    assert!(
                        offers.len() < walked,
                        "keep {keep}: {} offers",
                        offers.len()
                    );
                }
                if page.len() == keep {
                    assert_eq!(threshold.to_bits(), page[keep - 1].to_bits());
                }
            }
        }
        // A word keeps its best matches, best first, ties by document.
        let word = word(300, |doc| {
            (doc % 7 == 0).then(|| f32::from(u8::try_from(doc % 5).expect("small")))
        });
        let mut expected: Vec<DocId> = (0..300).filter(|doc| doc % 7 == 0).collect();
        expected.sort_by(|a, b| (b % 5).cmp(&(a % 5)).then(a.cmp(b)));
        expected.truncate(BEST_KEPT);
        assert_eq!(word.best, expected);
    }

    /// How many documents [`prune`] offers, walking `matching` from the start.
    fn offered_from(
        words: &[Arc<WordScores>],
        blocks: usize,
        matching: &[u64],
        keep: usize,
    ) -> usize {
        let mut page = TopScores::new(keep);
        let mut offers = 0;
        prune(
            words,
            blocks,
            (|block| matching[block], |_| true),
            f32::NEG_INFINITY,
            (1.0, None),
            None,
            &mut |_, score| {
                offers += 1;
                page.offer(score)
            },
        );
        offers
    }

    /// The best `keep` scores offered, as a page keeps them.
    struct TopScores {
        keep: usize,
        scores: Vec<Score>,
    }

    impl TopScores {
        fn new(keep: usize) -> Self {
            TopScores {
                keep,
                scores: Vec::new(),
            }
        }

        /// Keeps `score` if it is among the best; returns the threshold a score must pass.
        fn offer(&mut self, score: Score) -> Score {
            self.scores.push(score);
            self.scores.sort_by(|a, b| b.total_cmp(a));
            self.scores.truncate(self.keep);
            if self.scores.len() < self.keep {
                f32::NEG_INFINITY
            } else {
                self.scores[self.keep - 1]
            }
        }
    }

    fn offered(
        words: &[Arc<WordScores>],
        blocks: usize,
        (factor, nearer): (Score, Option<Nearer<'_>>),
        keep: usize,
        warm: Option<Warm<'_>>,
    ) -> (Vec<(DocId, u32)>, u32) {
        let mut page = TopScores::new(keep);
        let mut offers = Vec::new();
        let mut callback = |doc: DocId, score: Score| {
            offers.push((doc, score.to_bits()));
            let own = nearer.map_or(factor, |nearer| {
                (nearer.block)(doc as usize / 64).min(factor)
            });
            page.offer(score * own)
        };
        let threshold = prune(
            words,
            blocks,
            (
                |block| words[0].bits[block] | words[1].bits[block],
                |_| true,
            ),
            f32::NEG_INFINITY,
            (factor, nearer),
            warm,
            &mut callback,
        );
        (offers, threshold.to_bits())
    }

    /// Two words' scores rising and falling over `max_doc` documents, so that a threshold
    /// rises in steps and many documents found waiting no longer pass it when their turn comes.
    fn waves(max_doc: u32) -> Vec<Arc<WordScores>> {
        let wave = |doc: DocId| {
            let x = f32::from(u16::try_from(doc).expect("small"));
            (x * 0.37).sin().abs() * (1.0 + x / 600.0)
        };
        vec![
            word(max_doc, |doc| (doc % 3 != 0).then(|| wave(doc))),
            word(max_doc, |doc| (doc % 7 < 3).then(|| wave(doc + 11) * 0.5)),
        ]
    }

    #[test]
    fn spans_whose_words_cannot_pass_are_passed_over_and_the_page_is_the_same() {
        // Two words' scores over six spans, falling along the documents, so that once the
        // page is full the later spans cannot enter it.
        let max_doc = 64 * u32::try_from(SPAN).expect("small") * 6;
        #[expect(clippy::cast_precision_loss, reason = "small")]
        let wave = |doc: DocId| {
            let x = f32::from(u16::try_from(doc).expect("small"));
            (x * 0.37).sin().abs() * (1.0 - x / (max_doc as f32 * 1.2))
        };
        let words = vec![
            word(max_doc, |doc| (doc % 3 != 0).then(|| wave(doc))),
            word(max_doc, |doc| (doc % 7 < 3).then(|| wave(doc + 11) * 0.5)),
        ];
        let blocks = max_doc.div_ceil(64) as usize;
        for keep in [1, 5, 21, 200] {
            // Every match's score, the best `keep` of them: the page to find.
            let mut expected: Vec<u32> = (0..max_doc)
                .map(|doc| score_of(&words, doc))
                .filter(|score| *score > 0.0)
                .map(f32::to_bits)
                .collect();
            expected.sort_by(|a, b| f32::from_bits(*b).total_cmp(&f32::from_bits(*a)));
            let mut page = TopScores::new(keep);
            let read = Cell::new(0);
            prune(
                &words,
                blocks,
                (
                    |block| {
                        read.set(read.get() + 1);
                        words[0].bits[block] | words[1].bits[block]
                    },
                    |_| true,
                ),
                f32::NEG_INFINITY,
                (1.0, None),
                None,
                &mut |_, score| page.offer(score),
            );
            let found: Vec<u32> = page.scores.iter().copied().map(f32::to_bits).collect();
            assert_eq!(found[..], expected[..keep], "keep {keep}");
            // Whole spans were passed over: fewer blocks read than there are.
            if keep < 200 {
                assert!(
                    read.get() + SPAN <= blocks,
                    "keep {keep}: {} of {blocks}",
                    read.get()
                );
            }
        }
    }

    #[test]
    fn spans_too_far_for_their_words_are_passed_over_and_the_page_is_the_same() {
        // Six spans, one word whose scores grow along the documents, and a factor falling
        // span by span: a later span's matches score higher and are farther, so spans compete
        // for the page, and a span's factor is the only bound that can rule it out at once.
        let max_doc = 64 * SPAN as u32 * 6;
        // (`offered` walks two words' matches: the second matches nothing.)
        let words = &[waves(max_doc)[0].clone(), word(max_doc, |_| None)];
        let blocks = max_doc.div_ceil(64) as usize;
        let by_span = [1.0, 0.6, 0.35, 0.25, 0.2, 0.15];
        let in_block = |block: usize| by_span[block / SPAN];
        let asked = Cell::new(0);
        let counted = |block: usize| {
            asked.set(asked.get() + 1);
            in_block(block)
        };
        let in_span = |span: usize| by_span[span];
        let unbounded = |_: usize| 1.0;
        let all: Vec<DocId> = (0..max_doc)
            .filter(|doc| words[0].score(*doc) > 0.0)
            .collect();
        let mut fewer = false;
        for keep in (1..=40).chain([90, 300]) {
            let mut expected: Vec<u32> = all
                .iter()
                .map(|&doc| (score_of(words, doc) * in_block(doc as usize / 64)).to_bits())
                .collect();
            expected.sort_by(|a, b| f32::from_bits(*b).total_cmp(&f32::from_bits(*a)));
            let mut pages = Vec::new();
            let mut asks = Vec::new();
            for span in [&in_span as &dyn Fn(usize) -> Score, &unbounded] {
                asked.set(0);
                let near = Nearer {
                    block: &counted,
                    span,
                };
                let (offers, _) = offered(words, blocks, (1.0, Some(near)), keep, None);
                let mut page: Vec<u32> = offers
                    .iter()
                    .map(|&(doc, score)| {
                        (f32::from_bits(score) * in_block(doc as usize / 64)).to_bits()
                    })
                    .collect();
                page.sort_by(|a, b| f32::from_bits(*b).total_cmp(&f32::from_bits(*a)));
                page.truncate(keep);
                pages.push(page);
                asks.push(asked.get());
            }
            assert_eq!(pages[0][..], expected[..keep], "keep {keep}");
            assert_eq!(pages[1][..], expected[..keep], "keep {keep}");
            // Passing over whole spans asks fewer blocks for their factor.
            assert!(asks[0] <= asks[1], "keep {keep}: {asks:?}");
            fewer |= asks[0] < asks[1];
        }
        assert!(fewer, "no span was passed over whole");
    }

    #[test]
    fn blocks_whose_factors_rule_them_out_are_skipped_and_the_page_is_the_same() {
        let max_doc = 64 * 40;
        let words = waves(max_doc);
        let blocks = max_doc.div_ceil(64) as usize;
        // Factors falling and rising again over the blocks, as distances from a place do
        // along the documents in place order.
        #[expect(clippy::cast_precision_loss, reason = "small")]
        let nearer = |block: usize| 0.5 + 0.5 / (1.0 + (block as f32 - 12.0).abs() * 0.3);
        // A span's: the largest of its blocks' (the second span's, 0.57, rules it out whole
        // once the page's threshold is high enough).
        let in_span = |span: usize| {
            (span * SPAN..(span + 1) * SPAN)
                .map(nearer)
                .fold(0.0, f32::max)
        };
        let near = Nearer {
            block: &nearer,
            span: &in_span,
        };
        let all: Vec<DocId> = (0..max_doc)
            .filter(|doc| words.iter().any(|word| word.score(*doc) > 0.0))
            .collect();
        for factor in [1.0, 0.8] {
            for keep in [1, 5, 21, 200] {
                // Every match's final score, the best `keep` of them: the page to find.
                let mut expected: Vec<u32> = all
                    .iter()
                    .map(|&doc| {
                        (score_of(&words, doc) * nearer(doc as usize / 64).min(factor)).to_bits()
                    })
                    .collect();
                expected.sort_by(|a, b| f32::from_bits(*b).total_cmp(&f32::from_bits(*a)));
                let pruned = offered(&words, blocks, (factor, Some(near)), keep, None);
                let mut page: Vec<u32> = pruned
                    .0
                    .iter()
                    .map(|&(doc, score)| {
                        (f32::from_bits(score) * nearer(doc as usize / 64).min(factor)).to_bits()
                    })
                    .collect();
                page.sort_by(|a, b| f32::from_bits(*b).total_cmp(&f32::from_bits(*a)));
                assert_eq!(
                    page[..keep],
                    expected[..keep],
                    "factor {factor}, keep {keep}"
                );
                // Fewer offers than with the one factor for all, and they arrive the same
                // read together or not.
                let uniform = offered(&words, blocks, (factor, None), keep, None);
                if keep < 200 {
                    assert!(pruned.0.len() < uniform.0.len(), "keep {keep}");
                }
                let together = offered(&words, blocks, (factor, Some(near)), keep, Some(&|_| {}));
                assert_eq!(together, pruned, "factor {factor}, keep {keep}");
            }
        }
    }

    #[test]
    fn documents_read_together_are_offered_as_one_at_a_time() {
        let max_doc = 64 * 40;
        let words = waves(max_doc);
        let blocks = max_doc.div_ceil(64) as usize;
        let warmed = std::cell::RefCell::new(Vec::new());
        let warm = |docs: &[DocId]| {
            assert!(!docs.is_empty() && docs.len() <= OFFERED_TOGETHER);
            warmed.borrow_mut().extend_from_slice(docs);
        };
        for factor in [1.0, 0.8] {
            for keep in [1, 5, 21, 200] {
                let one_at_a_time = offered(&words, blocks, (factor, None), keep, None);
                warmed.borrow_mut().clear();
                let together = offered(&words, blocks, (factor, None), keep, Some(&warm));
                assert_eq!(together, one_at_a_time, "factor {factor}, keep {keep}");
                // Every document offered was read first (and some read were not offered).
                let warmed = warmed.borrow();
                assert!(together.0.iter().all(|(doc, _)| warmed.contains(doc)));
                if keep < 200 {
                    assert!(warmed.len() > together.0.len(), "keep {keep}");
                }
            }
        }
    }
}
