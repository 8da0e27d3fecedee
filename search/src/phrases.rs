//! Synonym phrases as index terms.
//!
//! Every phrase of two or more words in the synonym list ("postnatal depression", "health
//! visitor") is found in the text fields when a document is indexed, and each occurrence adds
//! one term, `<field>:<stemmed words>`, to the `phrases` field. A search for the phrase then
//! reads that term's postings (document and count) instead of the words' positions, and scores
//! it exactly as a phrase query would: the same BM25 weight (the words' summed idf, the text
//! field's average length), the text field's own length and the number of occurrences. The text
//! fields keep no positions at all.

use std::sync::{Mutex, MutexGuard, PoisonError};

use rustc_hash::{FxHashMap, FxHashSet};

use tantivy::{
    DocId, DocSet, Score, SegmentReader, Term,
    fieldnorm::FieldNormReader,
    postings::{Postings, SegmentPostings},
    query::{Bm25Weight, EmptyScorer, EnableScoring, Explanation, Query, Scorer, Weight},
    schema::{Field, IndexRecordOption},
    tokenizer::{TextAnalyzer, TokenStream},
};

use crate::{
    schema::{english_analyzer, raw_analyzer},
    synonyms::Synonyms,
};

/// The stemmed word sequences of the synonym list's phrases.
#[derive(Clone, Debug, Default)]
pub struct Phrases {
    // (These and the stems below are looked up for every word indexed: a fast hash. The same
    // words go through the index writer's term table, whose hash is no harder to collide.)
    known: FxHashSet<String>,
    /// Every stem the phrases hold.
    words: FxHashSet<String>,
    longest: usize,
    fingerprint: String,
}

/// The `phrases` term of a phrase (its stemmed words joined by spaces) in a text field.
pub fn term_text(field: Field, words: &str) -> String {
    format!("{}:{words}", field.field_id())
}

impl Phrases {
    /// The phrases of `synonyms`, analysed as the text fields are.
    pub fn new(synonyms: &Synonyms) -> Self {
        let mut analyzer = english_analyzer();
        let mut phrases = Self::default();
        for phrase in synonyms.phrases() {
            let words = analyse(&mut analyzer, phrase);
            if words.len() >= 2 {
                phrases.longest = phrases.longest.max(words.len());
                phrases.known.insert(words.join(" "));
                phrases.words.extend(words);
            }
        }
        let mut sorted: Vec<&String> = phrases.known.iter().collect();
        sorted.sort();
        // FNV-1a over the sorted phrases: stable across builds and platforms.
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in sorted.iter().flat_map(|p| p.bytes().chain([b'\n'])) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        phrases.fingerprint = format!("{}-{hash:016x}", sorted.len());
        phrases
    }

    /// Whether a stemmed word sequence (joined by spaces) is indexed as a phrase.
    pub fn contains(&self, words: &str) -> bool {
        self.known.contains(words)
    }

    /// A fingerprint of the set, kept with the index: another set means a rebuild.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Finds phrases in the texts of documents, with `stems` remembering the stems of the
    /// words it meets.
    pub fn finder<'a>(&'a self, stems: &'a Mutex<Stems>) -> Finder<'a> {
        Finder {
            phrases: self,
            // A cache of stems is whole whatever panicked while it was held.
            stems: (!self.known.is_empty())
                .then(|| stems.lock().unwrap_or_else(PoisonError::into_inner)),
        }
    }
}

/// The stems of words as the unstemmed analyzer gives them, `None` for words no phrase holds:
/// a text is then stemmed only once, by the index, and each word's stem is computed here once.
/// It holds the finder's analyzers too, made once.
pub struct Stems {
    by_word: FxHashMap<String, Option<String>>,
    raw: TextAnalyzer,
    english: TextAnalyzer,
    /// The current text's words: position and stem (when some phrase holds it).
    tokens: Vec<(usize, Option<String>)>,
}

impl Default for Stems {
    fn default() -> Self {
        Self {
            by_word: FxHashMap::default(),
            raw: raw_analyzer(),
            english: english_analyzer(),
            tokens: Vec::new(),
        }
    }
}

/// Words remembered at most (a directory's vocabulary is far smaller).
const MAX_STEMS: usize = 500_000;

/// Finds the phrases of a [`Phrases`] in texts.
pub struct Finder<'a> {
    phrases: &'a Phrases,
    stems: Option<MutexGuard<'a, Stems>>,
}

impl Finder<'_> {
    /// Calls `found` with each known phrase in `text` (stemmed words joined by spaces), once
    /// per occurrence, as a phrase query would match it: its words at consecutive positions.
    pub fn find(&mut self, text: &str, mut found: impl FnMut(&str)) {
        let Some(stems) = self.stems.as_deref_mut() else {
            return;
        };
        let phrases = self.phrases;
        let Stems {
            by_word,
            raw,
            english,
            tokens,
        } = stems;
        tokens.clear();
        let mut stream = raw.token_stream(text);
        while stream.advance() {
            let token = stream.token();
            let stem = match by_word.get(&token.text) {
                Some(stem) => stem.clone(),
                None => {
                    let stem =
                        stem_of(english, &token.text).filter(|stem| phrases.words.contains(stem));
                    if by_word.len() >= MAX_STEMS {
                        by_word.clear();
                    }
                    by_word.insert(token.text.clone(), stem.clone());
                    stem
                }
            };
            tokens.push((token.position, stem));
        }
        let mut candidate = String::new();
        for (start, (first_position, first)) in tokens.iter().enumerate() {
            let Some(first) = first else { continue };
            candidate.clear();
            candidate.push_str(first);
            for len in 2..=phrases.longest {
                let Some((position, Some(word))) = tokens.get(start + len - 1) else {
                    break;
                };
                if *position != first_position + len - 1 {
                    break;
                }
                candidate.push(' ');
                candidate.push_str(word);
                if phrases.known.contains(&candidate) {
                    found(&candidate);
                }
            }
        }
    }
}

/// The stem of one unstemmed word (`None` if it does not analyse to one word).
fn stem_of(english: &mut TextAnalyzer, word: &str) -> Option<String> {
    let mut stream = english.token_stream(word);
    if !stream.advance() {
        return None;
    }
    let stem = stream.token().text.clone();
    (!stream.advance()).then_some(stem)
}

fn analyse(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
    let mut stream = analyzer.token_stream(text);
    let mut out = Vec::new();
    while stream.advance() {
        out.push(stream.token().text.clone());
    }
    out
}

/// A phrase in one text field, matched and scored through its `phrases` term.
#[derive(Clone, Debug)]
pub struct PhraseTermQuery {
    /// The phrase's words as terms of the text field (for BM25 and highlights).
    words: Vec<Term>,
    /// The phrase's term in the `phrases` field.
    term: Term,
}

impl PhraseTermQuery {
    /// The phrase `words` (stemmed, in order, two or more) of the text field `field`.
    pub fn new(phrases_field: Field, field: Field, words: &[String]) -> Self {
        Self {
            words: words
                .iter()
                .map(|w| Term::from_field_text(field, w))
                .collect(),
            term: Term::from_field_text(phrases_field, &term_text(field, &words.join(" "))),
        }
    }

    fn field(&self) -> Field {
        self.words[0].field()
    }
}

impl Query for PhraseTermQuery {
    fn weight(&self, enable_scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        let bm25 = match enable_scoring {
            EnableScoring::Enabled {
                statistics_provider,
                ..
            } => Some(Bm25Weight::for_terms(statistics_provider, &self.words)?),
            EnableScoring::Disabled { .. } => None,
        };
        Ok(Box::new(PhraseTermWeight {
            term: self.term.clone(),
            field: self.field(),
            bm25,
        }))
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a Term, bool)) {
        for word in &self.words {
            visitor(word, false);
        }
    }
}

struct PhraseTermWeight {
    term: Term,
    field: Field,
    bm25: Option<Bm25Weight>,
}

impl PhraseTermWeight {
    fn phrase_scorer(
        &self,
        reader: &SegmentReader,
        boost: Score,
    ) -> tantivy::Result<Option<PhraseTermScorer>> {
        let option = if self.bm25.is_some() {
            IndexRecordOption::WithFreqs
        } else {
            IndexRecordOption::Basic
        };
        let Some(postings) = reader
            .inverted_index(self.term.field())?
            .read_postings(&self.term, option)?
        else {
            return Ok(None);
        };
        let fieldnorms = match &self.bm25 {
            Some(_) => Some(reader.get_fieldnorms_reader(self.field)?),
            None => None,
        };
        Ok(Some(PhraseTermScorer {
            postings,
            fieldnorms,
            bm25: self.bm25.as_ref().map(|w| w.boost_by(boost)),
        }))
    }
}

impl Weight for PhraseTermWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        Ok(match self.phrase_scorer(reader, boost)? {
            Some(scorer) => Box::new(scorer),
            None => Box::new(EmptyScorer),
        })
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        if let Some(mut scorer) = self.phrase_scorer(reader, 1.0)?
            && scorer.seek(doc) == doc
        {
            let mut explanation = Explanation::new("phrase", scorer.score());
            explanation.add_context(format!("phrase term {:?}", self.term));
            return Ok(explanation);
        }
        Err(tantivy::TantivyError::InvalidArgument(format!(
            "document {doc} does not match"
        )))
    }
}

struct PhraseTermScorer {
    postings: SegmentPostings,
    fieldnorms: Option<FieldNormReader>,
    bm25: Option<Bm25Weight>,
}

impl DocSet for PhraseTermScorer {
    fn advance(&mut self) -> DocId {
        self.postings.advance()
    }

    fn seek(&mut self, target: DocId) -> DocId {
        self.postings.seek(target)
    }

    fn doc(&self) -> DocId {
        self.postings.doc()
    }

    fn size_hint(&self) -> u32 {
        self.postings.size_hint()
    }
}

impl Scorer for PhraseTermScorer {
    fn score(&mut self) -> Score {
        match (&self.bm25, &self.fieldnorms) {
            (Some(bm25), Some(fieldnorms)) => bm25.score(
                fieldnorms.fieldnorm_id(self.postings.doc()),
                self.postings.term_freq(),
            ),
            _ => 1.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use tantivy::{
        Index, TantivyDocument,
        collector::TopDocs,
        query::{BoostQuery, PhraseQuery},
        schema::{STRING, Schema, TextFieldIndexing, TextOptions},
    };

    use super::*;
    use crate::schema::{ENGLISH, english_analyzer, phrases_options};

    /// The same texts indexed with positions (for a phrase query) and with phrase terms.
    #[test]
    fn phrase_terms_match_and_score_as_phrase_queries_do() {
        let synonyms = Synonyms::parse([
            "pnd, postnatal depression\nbaby blues, low mood after birth\nhv => health visitor\n",
        ]);
        let phrases = Phrases::new(&synonyms);
        let mut builder = Schema::builder();
        let text = builder.add_text_field(
            "text",
            TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer(ENGLISH)
                    .set_index_option(IndexRecordOption::WithFreqsAndPositions),
            ),
        );
        let phrase_field = builder.add_text_field("phrases", phrases_options());
        let id = builder.add_text_field("id", STRING);
        let index = Index::create_in_ram(builder.build());
        index.tokenizers().register(ENGLISH, english_analyzer());
        let texts = [
            "Support for postnatal depression and postnatal depressions",
            "Depression, postnatal or antenatal",
            "A health visitor sees every family; health visitors visit at home",
            "Low mood after birth is common: low mood after the birth",
            "Postnatal depression",
            "Nothing relevant here at all, just words about depression and a visitor",
        ];
        let mut writer = index
            .writer_with_num_threads(1, 15_000_000)
            .expect("writer");
        let stems = Mutex::default();
        let mut finder = phrases.finder(&stems);
        for (n, text_value) in texts.iter().enumerate() {
            let mut doc = TantivyDocument::new();
            doc.add_text(text, *text_value);
            doc.add_text(id, n.to_string());
            finder.find(text_value, |words| {
                doc.add_text(phrase_field, term_text(text, words));
            });
            writer.add_document(doc).expect("add");
        }
        writer.commit().expect("commit");
        let searcher = index.reader().expect("reader").searcher();
        for phrase in [
            "postnatal depression",
            "health visitor",
            "low mood after birth",
        ] {
            let words = analyse(&mut english_analyzer(), phrase);
            assert!(phrases.contains(&words.join(" ")), "{phrase}");
            let top = |query: &dyn Query| {
                searcher
                    .search(query, &TopDocs::with_limit(10).order_by_score())
                    .expect("search")
                    .into_iter()
                    .map(|(score, address)| (address.doc_id, score))
                    .collect::<Vec<_>>()
            };
            let positional = PhraseQuery::new(
                words
                    .iter()
                    .map(|w| Term::from_field_text(text, w))
                    .collect(),
            );
            let by_term = PhraseTermQuery::new(phrase_field, text, &words);
            let expected = top(&BoostQuery::new(Box::new(positional), 2.5));
            assert!(!expected.is_empty(), "{phrase}");
            assert_eq!(
                top(&BoostQuery::new(Box::new(by_term), 2.5)),
                expected,
                "{phrase}"
            );
        }
    }

    #[test]
    fn only_consecutive_words_make_a_phrase_and_the_set_has_a_fingerprint() {
        let synonyms = Synonyms::parse(["pnd, postnatal depression\n"]);
        let phrases = Phrases::new(&synonyms);
        let mut found = Vec::new();
        let text = "Postnatal Depression; postnatal, then depression. Postnatal-depressions";
        let stems = Mutex::default();
        let mut finder = phrases.finder(&stems);
        finder.find(text, |w| found.push(w.to_owned()));
        // Known words now come from the remembered stems.
        finder.find(text, |w| found.push(w.to_owned()));
        assert_eq!(found, vec!["postnat depress"; 4]);
        assert_eq!(phrases.fingerprint(), Phrases::new(&synonyms).fingerprint());
        let other = Phrases::new(&Synonyms::parse([
            "pnd, postnatal depression, perinatal depression\n",
        ]));
        assert_ne!(phrases.fingerprint(), other.fingerprint());
    }
}
