//! Turns a search request into a tantivy query: analysed text with synonyms, typo tolerance
//! and prefixes, age and pregnancy hints, and exact filters that do not change scores.

use std::{
    collections::HashMap,
    ops::Bound,
    sync::{Arc, Mutex},
};

use tantivy::{
    Index, Searcher, Term,
    query::{
        BooleanQuery, BoostQuery, ConstScoreQuery, DisjunctionMaxQuery, FuzzyTermQuery, Occur,
        Query, RangeQuery, TermQuery, TermSetQuery,
    },
    schema::{Field, IndexRecordOption},
    tokenizer::TokenStream,
};

use crate::{
    collector::ColumnCache,
    doc::fit,
    near::NearQuery,
    phrases::{PhraseTermQuery, Phrases},
    request::{FamilyFilter, Filter},
    schema::{ENGLISH, Fields, RAW},
    scores::{Ring, ScoreCache, SetQuery},
    synonyms::{Synonyms, words},
};

/// Text fields and their boosts: name > alternate name > taxonomy > organisation > description.
pub fn text_fields(fields: &Fields) -> [(Field, f32); 5] {
    [
        (fields.name, 3.0),
        (fields.alternate_name, 2.5),
        (fields.taxonomy, 2.0),
        (fields.organization, 1.5),
        (fields.description, 1.0),
    ]
}

/// Words that carry no meaning in a professional's query.
const STOP_WORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "from", "has", "have", "i",
    "in", "into", "is", "it", "its", "me", "my", "of", "on", "or", "our", "she", "he", "so",
    "that", "the", "their", "them", "they", "this", "to", "was", "we", "who", "with", "her", "his",
    "needs", "need", "help", "support", "service", "services", "looking", "some", "who", "old",
    "aged", "age",
];

/// What the text says beyond its words: an infant's age or a pregnancy.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct TextHints {
    pub age_months: Option<f64>,
    pub pregnancy: bool,
}

/// Splits query text into content words and hints ("4 months", "6 weeks", "pregnant").
pub fn analyse_text(text: &str) -> (Vec<String>, TextHints) {
    let all = words(text);
    let mut kept = Vec::new();
    let mut hints = TextHints::default();
    let mut i = 0;
    while i < all.len() {
        let word = &all[i];
        // "4", "months" / "4mo" / "6wks" / "1", "year"
        let (number, unit) = split_number(word);
        if let Some(number) = number {
            let unit = if unit.is_empty() {
                all.get(i + 1).map(String::as_str).unwrap_or("")
            } else {
                unit
            };
            let months = match unit {
                "month" | "months" | "mo" | "mos" | "mth" | "mths" | "m" => Some(number),
                "week" | "weeks" | "wk" | "wks" | "w" => Some(number / 4.345),
                "year" | "years" | "yr" | "yrs" | "y" => Some(number * 12.0),
                _ => None,
            };
            if let Some(months) = months {
                hints.age_months = Some(months);
                i += if split_number(word).1.is_empty() {
                    2
                } else {
                    1
                };
                continue;
            }
        }
        match word.as_str() {
            "newborn" => hints.age_months = Some(0.0),
            "pregnant" | "pregnancy" | "antenatal" | "expecting" | "prenatal" => {
                hints.pregnancy = true
            }
            _ => {}
        }
        if !STOP_WORDS.contains(&word.as_str()) && !word.chars().all(|c| c.is_ascii_digit()) {
            kept.push(word.clone());
        }
        i += 1;
    }
    if hints.pregnancy {
        // "20 weeks" in a pregnancy is gestation, not the infant's age.
        hints.age_months = None;
    }
    (kept, hints)
}

fn split_number(word: &str) -> (Option<f64>, &str) {
    let digits = word.chars().take_while(char::is_ascii_digit).count();
    if digits == 0 || digits > 3 {
        return (None, "");
    }
    (word[..digits].parse().ok(), &word[digits..])
}

/// Runs an analyzer over text.
pub fn analyse(index: &Index, analyzer: &str, text: &str) -> Vec<String> {
    let Some(mut analyzer) = index.tokenizers().get(analyzer) else {
        return Vec::new();
    };
    let mut stream = analyzer.token_stream(text);
    let mut out = Vec::new();
    while stream.advance() {
        out.push(stream.token().text.clone());
    }
    out
}

/// A word or a phrase of the synonym list over every text field, with field boosts. Phrases
/// are read through their `phrases` terms (no positions); the words of a phrase the list does
/// not hold, which queries never produce, would count as all of them anywhere in the field.
fn phrase_query(
    index: &Index,
    fields: &Fields,
    phrases: &Phrases,
    phrase: &str,
    boost: f32,
) -> Option<Box<dyn Query>> {
    let tokens = analyse(index, ENGLISH, phrase);
    if tokens.is_empty() {
        return None;
    }
    if tokens.len() > 1 && !phrases.contains(&tokens.join(" ")) {
        return all_words_query(index, fields, phrase, boost);
    }
    let per_field: Vec<(Occur, Box<dyn Query>)> = text_fields(fields)
        .into_iter()
        .map(|(field, field_boost)| {
            let query: Box<dyn Query> = if tokens.len() == 1 {
                Box::new(TermQuery::new(
                    Term::from_field_text(field, &tokens[0]),
                    IndexRecordOption::WithFreqs,
                ))
            } else {
                Box::new(PhraseTermQuery::new(fields.phrases, field, &tokens))
            };
            (
                Occur::Should,
                Box::new(BoostQuery::new(query, field_boost * boost)) as Box<dyn Query>,
            )
        })
        .collect();
    Some(Box::new(BooleanQuery::new(per_field)))
}

/// The best correction of a word the index does not know: the most frequent known word within
/// one edit (two for words of nine letters or more) that starts with the same letter.
pub fn correct_word(searcher: &Searcher, field: Field, word: &str) -> Option<String> {
    let chars = word.chars().count();
    if chars < 5 || !word.chars().all(char::is_alphabetic) {
        return None;
    }
    if searcher
        .doc_freq(&Term::from_field_text(field, word))
        .ok()?
        > 0
    {
        return None;
    }
    let max_distance = if chars >= 9 { 2 } else { 1 };
    let first = word.chars().next()?;
    let next = char::from_u32(u32::from(first) + 1)?;
    let mut best: Option<(usize, u64, String)> = None;
    for segment in searcher.segment_readers() {
        let Ok(inverted) = segment.inverted_index(field) else {
            continue;
        };
        let Ok(mut stream) = inverted
            .terms()
            .range()
            .ge(first.to_string())
            .lt(next.to_string())
            .into_stream()
        else {
            continue;
        };
        while stream.advance() {
            let Ok(candidate) = std::str::from_utf8(stream.key()) else {
                continue;
            };
            if candidate.chars().count().abs_diff(chars) > max_distance {
                continue;
            }
            let distance = strsim::damerau_levenshtein(word, candidate);
            if distance == 0 || distance > max_distance {
                continue;
            }
            let freq = u64::from(stream.value().doc_freq);
            let better = best
                .as_ref()
                .is_none_or(|(d, f, _)| distance < *d || (distance == *d && freq > *f));
            if better {
                best = Some((distance, freq, candidate.to_owned()));
            }
        }
    }
    best.map(|(_, _, word)| word)
}

/// The scoring parts of a search, one for each content word (or synonym phrase), each with a
/// key that names it: any of them may match, and their scores add up. Within one word or
/// phrase, its alternatives (itself and its synonyms) count by the best of them.
pub fn text_clauses(
    index: &Index,
    searcher: &Searcher,
    fields: &Fields,
    synonyms: &Synonyms,
    phrases: &Phrases,
    words: &[String],
) -> Vec<(String, Box<dyn Query>)> {
    let mut unknown_last = None;
    let corrected: Vec<String> = words
        .iter()
        .enumerate()
        .map(
            |(position, word)| match correct_word(searcher, fields.raw, word) {
                Some(correction) => correction,
                None => {
                    if position + 1 == words.len() {
                        unknown_last = Some(word.clone());
                    }
                    word.clone()
                }
            },
        )
        .collect();
    let segments = synonyms.segment(&corrected);
    let mut clauses: Vec<(String, Box<dyn Query>)> = Vec::new();
    for (phrase, expansions) in &segments {
        let mut alternatives: Vec<Box<dyn Query>> = Vec::new();
        if let Some(query) = phrase_query(index, fields, phrases, phrase, 1.0) {
            alternatives.push(query);
        }
        if phrase.contains(' ') {
            // The phrase's words apart, and any one of them, count for less.
            if let Some(query) = all_words_query(index, fields, phrase, 0.5) {
                alternatives.push(query);
            }
            for word in phrase.split(' ').filter(|w| !STOP_WORDS.contains(w)) {
                if let Some(query) = phrase_query(index, fields, phrases, word, 0.25) {
                    alternatives.push(query);
                }
            }
        }
        for (expansion, weight) in expansions {
            if let Some(query) = phrase_query(index, fields, phrases, expansion, *weight) {
                alternatives.push(query);
            }
            // A phrase's words in another order or apart still count, a little.
            if let Some(query) = all_words_query(index, fields, expansion, weight / 2.0) {
                alternatives.push(query);
            }
        }
        if !alternatives.is_empty() {
            clauses.push((
                format!("word {phrase}"),
                Box::new(DisjunctionMaxQuery::with_tie_breaker(alternatives, 0.1)),
            ));
        }
    }
    // A last word nobody knows may be the start of one (typing in progress).
    if let Some(word) = unknown_last.filter(|w| w.chars().count() >= 3)
        && let Some(raw) = analyse(index, RAW, &word).into_iter().next()
    {
        let prefix = FuzzyTermQuery::new_prefix(Term::from_field_text(fields.raw, &raw), 0, false);
        clauses.push((
            format!("start {raw}"),
            Box::new(BoostQuery::new(Box::new(prefix), 0.4)),
        ));
    }
    clauses
}

/// Every word of a phrase, in any order, in any text field.
fn all_words_query(
    index: &Index,
    fields: &Fields,
    phrase: &str,
    boost: f32,
) -> Option<Box<dyn Query>> {
    let tokens = analyse(index, ENGLISH, phrase);
    if tokens.len() < 2 {
        return None;
    }
    let per_field: Vec<(Occur, Box<dyn Query>)> = text_fields(fields)
        .into_iter()
        .map(|(field, field_boost)| {
            let all: Vec<(Occur, Box<dyn Query>)> = tokens
                .iter()
                .map(|t| {
                    let term = TermQuery::new(
                        Term::from_field_text(field, t),
                        IndexRecordOption::WithFreqs,
                    );
                    (Occur::Must, Box::new(term) as Box<dyn Query>)
                })
                .collect();
            (
                Occur::Should,
                Box::new(BoostQuery::new(
                    Box::new(BooleanQuery::new(all)),
                    field_boost * boost,
                )) as Box<dyn Query>,
            )
        })
        .collect();
    Some(Box::new(BooleanQuery::new(per_field)))
}

/// Documents with any of `values` in `field`. A term set builds an automaton for each search,
/// which costs more than it saves for the few values filters usually hold.
fn any_of(field: Field, values: &[String]) -> Box<dyn Query> {
    let term = |v: &String| {
        Box::new(TermQuery::new(
            Term::from_field_text(field, v),
            IndexRecordOption::Basic,
        )) as Box<dyn Query>
    };
    match values {
        [one] => term(one),
        few if few.len() <= 16 => Box::new(BooleanQuery::new(
            few.iter().map(|v| (Occur::Should, term(v))).collect(),
        )),
        many => Box::new(TermSetQuery::new(
            many.iter().map(|v| Term::from_field_text(field, v)),
        )),
    }
}

/// A filter clause: the key its documents are kept under (it names them), whether they must
/// hold or must not, and its query.
pub type FilterClause = (String, Occur, Box<dyn Query>);

/// The filter clauses for `filter`.
pub fn filter_clauses(fields: &Fields, filter: &Filter) -> Vec<FilterClause> {
    let mut clauses = Vec::new();
    let mut must = |key: String, query: Box<dyn Query>| {
        clauses.push((
            key,
            Occur::Must,
            Box::new(ConstScoreQuery::new(query, 0.0)) as _,
        ));
    };
    let statuses = if filter.statuses.is_empty() {
        vec!["ACTIVE".to_owned()]
    } else {
        filter.statuses.clone()
    };
    must(
        format!("status {statuses:?}"),
        any_of(fields.status, &statuses),
    );
    if !filter.categories.is_empty() {
        let ids: Vec<String> = filter.categories.iter().map(ToString::to_string).collect();
        must(format!("category {ids:?}"), any_of(fields.category, &ids));
    }
    for (name, field, values) in [
        ("level", fields.level, &filter.level_of_need),
        ("audience", fields.audience, &filter.audiences),
        ("mode", fields.mode, &filter.delivery_modes),
        ("language", fields.language, &filter.languages),
    ] {
        if !values.is_empty() {
            must(format!("{name} {values:?}"), any_of(field, values));
        }
    }
    if let Some(org) = filter.organization_id {
        must(
            format!("organization {org}"),
            any_of(fields.organization_id, &[org.to_string()]),
        );
    }
    if filter.pregnant && filter.pregnancy_confirmed {
        must(
            "from pregnancy".to_owned(),
            any_of(fields.pregnancy, &["yes".to_owned()]),
        );
    } else if filter.pregnant {
        let fits = [
            fit::PREGNANCY_YES.to_owned(),
            fit::PREGNANCY_UNKNOWN.to_owned(),
        ];
        must(
            "from pregnancy or unknown".to_owned(),
            any_of(fields.eligibility, &fits),
        );
    }
    for (key, on, field, value) in [
        ("free", filter.free_only, fields.free, "yes"),
        (
            "self-referral",
            filter.self_referral,
            fields.referral,
            "SELF",
        ),
    ] {
        if on {
            must(key.to_owned(), any_of(field, &[value.to_owned()]));
        }
    }
    if let Some(age) = filter.infant_age_months {
        must(
            format!("youngest at most {age}"),
            Box::new(RangeQuery::new(
                Bound::Unbounded,
                Bound::Included(Term::from_field_f64(fields.min_age, age)),
            )),
        );
        must(
            format!("oldest at least {age}"),
            Box::new(RangeQuery::new(
                Bound::Included(Term::from_field_f64(fields.max_age, age)),
                Bound::Unbounded,
            )),
        );
    }
    if let Some(since) = filter.verified_since_day {
        must(
            format!("verified since {since}"),
            Box::new(RangeQuery::new(
                Bound::Included(Term::from_field_i64(fields.assured, since)),
                Bound::Unbounded,
            )),
        );
    }
    if let Some(place) = &filter.covers {
        let terms = place.terms();
        must(format!("covers {terms:?}"), any_of(fields.covers, &terms));
    }
    if let Some(family) = &filter.family {
        clauses.extend(family_exclusions(fields, family));
    }
    clauses
}

/// Leaves out services limited to another audience than the family's.
fn family_exclusions(fields: &Fields, family: &FamilyFilter) -> Vec<FilterClause> {
    let term = |value: &str| -> Box<dyn Query> {
        Box::new(TermQuery::new(
            Term::from_field_text(fields.eligibility, value),
            IndexRecordOption::Basic,
        ))
    };
    let mut out = Vec::new();
    if !family.audiences.is_empty() {
        // Left out when it is not for any of the family's roles.
        let not_for: Vec<(Occur, Box<dyn Query>)> = family
            .audiences
            .iter()
            .map(|role| (Occur::Must, term(&format!("{}{role}", fit::NOT_FOR))))
            .collect();
        out.push((
            format!("not for any of {:?}", family.audiences),
            Occur::MustNot,
            Box::new(BooleanQuery::new(not_for)) as Box<dyn Query>,
        ));
    }
    if !family.bereaved {
        out.push((
            "only for the bereaved".to_owned(),
            Occur::MustNot,
            term(fit::ONLY_BEREAVED),
        ));
    }
    if !family.languages.is_empty() {
        let other_language = BooleanQuery::new(vec![
            (Occur::Must, term(fit::ONLY_LANGUAGE)),
            (Occur::MustNot, any_of(fields.language, &family.languages)),
        ]);
        out.push((
            format!("only in languages other than {:?}", family.languages),
            Occur::MustNot,
            Box::new(other_language) as Box<dyn Query>,
        ));
    }
    out
}

/// A text's part of a search: each word's (or phrase's) key and query, in the query's order,
/// and the hints the text carries.
#[derive(Debug, Default)]
pub struct TextPart {
    pub words: Vec<(String, Arc<dyn Query>)>,
    pub hints: TextHints,
}

impl TextPart {
    /// The part of `text`: analysed, its unknown words corrected against `searcher`, its
    /// phrases found and each word's alternatives built.
    fn build(
        index: &Index,
        searcher: &Searcher,
        (fields, synonyms, phrases): (&Fields, &Synonyms, &Phrases),
        text: &str,
    ) -> Self {
        let (content, hints) = analyse_text(text);
        let words = text_clauses(index, searcher, fields, synonyms, phrases, &content)
            .into_iter()
            .map(|(key, query)| (key, Arc::from(query)))
            .collect();
        TextPart { words, hints }
    }
}

/// The most texts [`TextParts`] keeps.
pub const TEXT_PARTS_KEPT: usize = 1024;

/// The parts of the texts searched most recently under one searcher, so that a text searched
/// again is not analysed, corrected and built again (its words' queries are shared). A word's
/// correction depends on the words the searcher holds: a new searcher starts afresh.
#[derive(Default)]
pub struct TextParts {
    kept: Mutex<KeptTexts>,
}

impl std::fmt::Debug for TextParts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextParts").finish_non_exhaustive()
    }
}

#[derive(Default)]
struct KeptTexts {
    generation: u64,
    clock: u64,
    texts: HashMap<String, (Arc<TextPart>, u64)>,
}

impl TextParts {
    /// The part of `text` under the searcher of `generation`, built by `build` unless kept.
    /// When full, the less recently used half is let go.
    pub fn get(
        &self,
        generation: u64,
        text: &str,
        build: impl FnOnce() -> TextPart,
    ) -> Arc<TextPart> {
        if let Ok(mut kept) = self.kept.lock()
            && kept.generation == generation
        {
            kept.clock += 1;
            let clock = kept.clock;
            if let Some((part, used)) = kept.texts.get_mut(text) {
                *used = clock;
                return part.clone();
            }
        }
        let part = Arc::new(build());
        if let Ok(mut kept) = self.kept.lock() {
            if generation > kept.generation {
                kept.generation = generation;
                kept.texts.clear();
            }
            if generation == kept.generation {
                if kept.texts.len() >= TEXT_PARTS_KEPT {
                    let mut uses: Vec<u64> = kept.texts.values().map(|(_, used)| *used).collect();
                    let middle = uses.len() / 2;
                    let (_, newer_from, _) = uses.select_nth_unstable(middle);
                    let newer_from = *newer_from;
                    kept.texts.retain(|_, (_, used)| *used >= newer_from);
                }
                kept.clock += 1;
                let clock = kept.clock;
                kept.texts.insert(text.to_owned(), (part.clone(), clock));
            }
        }
        part
    }
}

/// The whole query: text (must match when given) and filters (must hold), with the hints the
/// text carries (they shape the ranking, in the collector). The query combines kept sets: its
/// filters' documents and its words' scores ([`SetQuery`]). A radius (`near`) leaves out the
/// services surely beyond it; the collector measures the others. The text's part is kept in
/// `kept.2` for the next search of the same text.
#[expect(clippy::too_many_arguments, reason = "the index's parts, borrowed")]
pub fn build(
    index: &Index,
    searcher: &Searcher,
    fields: &Fields,
    synonyms: &Synonyms,
    phrases: &Phrases,
    text: Option<&str>,
    filter: &Filter,
    near: Option<NearQuery>,
    rings: Vec<Ring>,
    kept: (&Arc<ColumnCache>, &Arc<ScoreCache>, &TextParts),
) -> (Box<dyn Query>, bool, TextHints) {
    let part = text.map(|text| {
        kept.2.get(searcher.generation().generation_id(), text, || {
            TextPart::build(index, searcher, (fields, synonyms, phrases), text)
        })
    });
    let (words, hints) = part
        .map(|part| (part.words.clone(), part.hints))
        .unwrap_or_default();
    let has_text = !words.is_empty();
    let filters = filter_clauses(fields, filter);
    let query = SetQuery {
        words,
        filters,
        near,
        rings,
        columns: kept.0.clone(),
        scores: kept.1.clone(),
    };
    (Box::new(query), has_text, hints)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_and_pregnancy_are_read_from_text() {
        let (words, hints) = analyse_text("low mood dad, baby 4 months");
        assert_eq!(words, vec!["low", "mood", "dad", "baby"]);
        assert_eq!(hints.age_months, Some(4.0));
        let (_, hints) = analyse_text("6 weeks postnatal");
        assert!(hints.age_months.is_some_and(|m| (m - 1.38).abs() < 0.01));
        let (words, hints) = analyse_text("pregnant and anxious 20wks");
        assert!(hints.pregnancy);
        assert_eq!(words, vec!["pregnant", "anxious"]);
        let (words, _) = analyse_text("\"(*:[]) OR AND\" dad*");
        assert_eq!(words, vec!["dad"]);
    }

    fn part(age: f64) -> TextPart {
        TextPart {
            words: Vec::new(),
            hints: TextHints {
                age_months: Some(age),
                pregnancy: false,
            },
        }
    }

    #[test]
    fn a_text_is_built_once_a_generation_and_the_least_recent_are_let_go() {
        let parts = TextParts::default();
        let first = parts.get(1, "low mood", || part(1.0));
        let again = parts.get(1, "low mood", || part(2.0));
        assert!(Arc::ptr_eq(&first, &again), "kept under the same searcher");
        let newer = parts.get(2, "low mood", || part(3.0));
        assert_eq!(
            newer.hints.age_months,
            Some(3.0),
            "built again for a new searcher"
        );
        // An older searcher's text is built but not kept over the newer one's.
        let older = parts.get(1, "low mood", || part(4.0));
        assert_eq!(older.hints.age_months, Some(4.0));
        assert_eq!(
            parts.get(2, "low mood", || part(5.0)).hints.age_months,
            Some(3.0)
        );

        // Filled up, with "low mood" used again at the end: the older half goes, it stays.
        for n in 1..TEXT_PARTS_KEPT {
            parts.get(2, &format!("text {n}"), || part(0.0));
        }
        parts.get(2, "low mood", || part(6.0));
        parts.get(2, "one more", || part(0.0));
        let kept = parts.kept.lock().expect("not poisoned");
        assert!(
            kept.texts.len() <= TEXT_PARTS_KEPT / 2 + 2,
            "{}",
            kept.texts.len()
        );
        assert!(kept.texts.contains_key("low mood"));
        assert!(kept.texts.contains_key("one more"));
        assert!(
            kept.texts
                .contains_key(&format!("text {}", TEXT_PARTS_KEPT - 1))
        );
        assert!(!kept.texts.contains_key("text 1"));
    }
}
