//! The one owner of the tantivy schema and analyzers.

use std::sync::{Arc, Mutex, PoisonError};

use tantivy::{
    Index,
    schema::{
        FAST, Field, INDEXED, IndexRecordOption, NumericOptions, STORED, STRING, Schema,
        TextFieldIndexing, TextOptions,
    },
    tokenizer::{
        AsciiFoldingFilter, Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer,
        TextAnalyzer, Token, TokenFilter, TokenStream, Tokenizer,
    },
};

/// Bumped whenever fields, analyzers, the index settings or the layout of the stored card change;
/// a different version rebuilds the index.
pub const SCHEMA_VERSION: u32 = 20;

/// The stemmed English analyzer for the text fields.
pub const ENGLISH: &str = "signpost_en";
/// Lower-cased, unstemmed words, for typo tolerance, prefixes and suggestions.
pub const RAW: &str = "signpost_raw";

/// The column of a listing's id's high 64 bits...
pub const ID_HI: &str = "id_hi";
/// ...and of its low 64 bits.
pub const ID_LO: &str = "id_lo";

/// An id's two halves, as the `id_hi` and `id_lo` columns hold them.
#[expect(clippy::cast_possible_truncation, reason = "the two halves of a u128")]
pub fn id_halves(id: u128) -> (u64, u64) {
    ((id >> 64) as u64, id as u64)
}

/// An id from its two halves.
pub fn joined_id(hi: u64, lo: u64) -> u128 {
    u128::from(hi) << 64 | u128::from(lo)
}

/// Handles to every field.
#[derive(Clone, Copy, Debug)]
pub struct Fields {
    pub id_hi: Field,
    pub id_lo: Field,
    pub name: Field,
    pub alternate_name: Field,
    pub taxonomy: Field,
    pub organization: Field,
    /// The description, also stored: read for the hits that show it or are highlighted (the
    /// `card` column leaves it out, being longer than all the rest of a card).
    pub description: Field,
    pub raw: Field,
    pub name_raw: Field,
    pub name_sort: Field,
    /// The name as written, as a column: suggestions read it without the stored documents.
    pub name_text: Field,
    pub status: Field,
    pub level: Field,
    pub audience: Field,
    pub mode: Field,
    pub referral: Field,
    pub category: Field,
    pub language: Field,
    pub organization_id: Field,
    pub pregnancy: Field,
    pub eligibility: Field,
    pub free: Field,
    pub covers: Field,
    pub min_age: Field,
    pub max_age: Field,
    pub assured: Field,
    pub location: Field,
    /// Where the listing lies along a Hilbert curve over the globe ([`place_order`]): the
    /// index keeps its documents in this order, so that listings near each other are near each
    /// other in every column and every block of 64 documents covers a small area.
    pub place_order: Field,
    /// Occurrences of the synonym list's phrases in the text fields (see [`crate::phrases`]).
    pub phrases: Field,
    /// What a result page shows of the service, as a column (`frame`): its name and
    /// alternate name, and the caller's card head. A hit reads its own value out of the
    /// column's dictionary, a copy of a few KiB at most, where a stored document is read by
    /// decompressing its whole block.
    pub card: Field,
    /// The rest of the caller's card, stored as text (see `index::card_text`), which a stored
    /// document reads back in one copy (bytes are read back one at a time): stored with the
    /// description (the two stored values), read for fetches by id and pages that show the
    /// card's lists.
    pub card_details: Field,
}

/// Builds the schema and its field handles.
pub fn build() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    // No positions: phrases are terms of their own (`phrases`).
    let text = |analyzer: &str| {
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(analyzer)
                .set_index_option(IndexRecordOption::WithFreqs),
        )
    };
    let keyword = STRING | FAST;
    let number = NumericOptions::default().set_indexed().set_fast();
    let fields = Fields {
        // A listing's id, in two halves: hits take their ids from these columns, a fetch by
        // id finds its document in the segment's id order, and changes delete by them (see
        // `ids`). No term holds the id.
        id_hi: builder.add_u64_field(ID_HI, FAST),
        id_lo: builder.add_u64_field(ID_LO, FAST),
        // The names hits show are in the `card` column, not stored; the description is
        // stored (read only for hits that show or highlight it).
        name: builder.add_text_field("name", text(ENGLISH)),
        alternate_name: builder.add_text_field("alternate_name", text(ENGLISH)),
        taxonomy: builder.add_text_field("taxonomy", text(ENGLISH)),
        organization: builder.add_text_field("organization", text(ENGLISH)),
        description: builder.add_text_field("description", text(ENGLISH) | STORED),
        raw: builder.add_text_field("raw", text(RAW)),
        name_raw: builder.add_text_field("name_raw", text(RAW)),
        name_sort: builder.add_text_field("name_sort", STRING | FAST),
        name_text: builder.add_text_field("name_text", FAST),
        status: builder.add_text_field("status", STRING),
        level: builder.add_text_field("level", keyword.clone()),
        audience: builder.add_text_field("audience", keyword.clone()),
        mode: builder.add_text_field("mode", keyword.clone()),
        referral: builder.add_text_field("referral", keyword.clone()),
        category: builder.add_text_field("category", keyword.clone()),
        language: builder.add_text_field("language", keyword.clone()),
        organization_id: builder.add_text_field("organization_id", STRING),
        pregnancy: builder.add_text_field("pregnancy", STRING | FAST),
        eligibility: builder.add_text_field("eligibility", STRING | FAST),
        free: builder.add_text_field("free", STRING),
        covers: builder.add_text_field("covers", STRING),
        min_age: builder.add_f64_field("min_age", number.clone()),
        max_age: builder.add_f64_field("max_age", number.clone()),
        assured: builder.add_i64_field("assured", number.clone() | INDEXED),
        location: builder.add_u64_field("location", FAST),
        place_order: builder.add_u64_field(PLACE_ORDER, FAST),
        phrases: builder.add_text_field("phrases", phrases_options()),
        card: builder.add_bytes_field("card", FAST),
        card_details: builder.add_text_field("card_details", STORED),
    };
    (builder.build(), fields)
}

/// The `phrases` field: whole terms with their counts; the lengths that score them are the
/// text fields' own.
pub fn phrases_options() -> TextOptions {
    TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer("raw")
            .set_index_option(IndexRecordOption::WithFreqs)
            .set_fieldnorms(false),
    )
}

/// The stemmed English analyzer of the text fields.
pub fn english_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .filter(Stemmer::new(Language::English))
        .build()
}

/// The stems of words, remembered for [`remembering_english_analyzer`]. Looked up for every
/// word indexed or searched: a fast hash, seeded at random for each process, as searches put
/// their own words in it.
#[derive(Clone, Default)]
pub struct RememberedStems(Arc<Mutex<foldhash::HashMap<String, String>>>);

/// Words remembered at most (a directory's vocabulary is far smaller).
const MAX_REMEMBERED_STEMS: usize = 200_000;

/// [`english_analyzer`] with each word's stem worked out once and then remembered in `stems`:
/// the index's English analyzer (documents and queries) and highlights, which run it over every
/// hit's whole text, mostly the same words.
pub fn remembering_english_analyzer(stems: RememberedStems) -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .filter(stems)
        .build()
}

impl TokenFilter for RememberedStems {
    type Tokenizer<T: Tokenizer> = RememberedStemsFilter<T>;

    fn transform<T: Tokenizer>(self, tokenizer: T) -> RememberedStemsFilter<T> {
        RememberedStemsFilter {
            stems: self,
            inner: tokenizer,
        }
    }
}

#[derive(Clone)]
pub struct RememberedStemsFilter<T> {
    stems: RememberedStems,
    inner: T,
}

impl<T: Tokenizer> Tokenizer for RememberedStemsFilter<T> {
    type TokenStream<'a> = RememberedStemsStream<'a, T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        RememberedStemsStream {
            tail: self.inner.token_stream(text),
            stems: &self.stems,
            stemmer: None,
        }
    }
}

pub struct RememberedStemsStream<'a, T> {
    tail: T,
    stems: &'a RememberedStems,
    /// The stemming analyzer, made on the first word not remembered.
    stemmer: Option<TextAnalyzer>,
}

impl<T: TokenStream> TokenStream for RememberedStemsStream<'_, T> {
    fn advance(&mut self) -> bool {
        if !self.tail.advance() {
            return false;
        }
        let token = self.tail.token_mut();
        // A map of stems is whole whatever panicked while it was held.
        let mut stems = self.stems.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(stem) = stems.get(&token.text) {
            token.text.clone_from(stem);
            return true;
        }
        // The word is lower case and folded already: the analyzer gives its stem alone.
        let stemmer = self.stemmer.get_or_insert_with(english_analyzer);
        let stem = {
            let mut stream = stemmer.token_stream(&token.text);
            if stream.advance() {
                stream.token().text.clone()
            } else {
                token.text.clone()
            }
        };
        if stems.len() >= MAX_REMEMBERED_STEMS {
            stems.clear();
        }
        stems.insert(std::mem::replace(&mut token.text, stem.clone()), stem);
        true
    }

    fn token(&self) -> &Token {
        self.tail.token()
    }

    fn token_mut(&mut self) -> &mut Token {
        self.tail.token_mut()
    }
}

/// The English analyzer without its stemmer (the same words at the same positions).
pub fn raw_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build()
}

/// Registers the analyzers on an index; the English one remembers its stems in `stems` (a
/// document's words are mostly words met before, and stemming each afresh was a tenth of a
/// rebuild's work).
pub fn register_analyzers(index: &Index, stems: RememberedStems) {
    let english = remembering_english_analyzer(stems);
    let raw = raw_analyzer();
    index.tokenizers().register(ENGLISH, english);
    index.tokenizers().register(RAW, raw);
}

/// The field the index keeps its documents in order of (see [`Fields::place_order`]).
pub const PLACE_ORDER: &str = "place_order";

/// The bits of each axis of [`place_order`]'s grid: cells of about 2.4 m by 1.2 m.
const PLACE_ORDER_BITS: u32 = 24;

/// Where a position lies along a Hilbert curve over a grid of latitude and longitude (2²⁴
/// cells a side, each about 2.4 m by 1.2 m): positions near each other mostly lie near each other along
/// it, with fewer and shorter jumps than an order by latitude or a Z-order. `None` (no location)
/// orders after every position.
pub fn place_order(location: Option<(f64, f64)>) -> u64 {
    let Some((latitude, longitude)) = location else {
        return u64::MAX;
    };
    let side = 1u64 << PLACE_ORDER_BITS;
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss,
        reason = "clamped to the grid"
    )]
    let cell = |value: f64, offset: f64, span: f64| {
        (((value + offset) / span * side as f64).floor()).clamp(0.0, (side - 1) as f64) as u64
    };
    let (mut x, mut y) = (cell(longitude, 180.0, 360.0), cell(latitude, 90.0, 180.0));
    // The classic conversion of a cell to its distance along the curve: quadrant by quadrant,
    // from the largest, rotating the rest of the curve into the quadrant's own orientation.
    let mut order = 0u64;
    let mut half = side / 2;
    while half > 0 {
        let right = u64::from(x & half != 0);
        let up = u64::from(y & half != 0);
        order += half * half * ((3 * right) ^ up);
        if up == 0 {
            if right == 1 {
                x = side - 1 - x;
                y = side - 1 - y;
            }
            std::mem::swap(&mut x, &mut y);
        }
        half /= 2;
    }
    order
}

/// Packs a WGS84 position into one u64 (micro-degree fixed point).
pub fn pack_location(latitude: f64, longitude: f64) -> u64 {
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "clamped to range"
    )]
    let encode = |value: f64, offset: f64, span: f64| {
        ((value + offset).clamp(0.0, span) * 1e6).round() as u64
    };
    (encode(latitude, 90.0, 180.0) << 32) | encode(longitude, 180.0, 360.0)
}

/// Unpacks [`pack_location`].
pub fn unpack_location(packed: u64) -> (f64, f64) {
    #[expect(clippy::cast_precision_loss, reason = "values fit in 32 bits")]
    let decode = |bits: u64, offset: f64| (bits & 0xffff_ffff) as f64 / 1e6 - offset;
    (decode(packed >> 32, 90.0), decode(packed, 180.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembered_stems_give_the_english_analyzers_words() {
        let tokens = |analyzer: &mut TextAnalyzer, text: &str| {
            let mut out = Vec::new();
            let mut stream = analyzer.token_stream(text);
            while stream.advance() {
                let token = stream.token();
                out.push((
                    token.text.clone(),
                    token.offset_from,
                    token.offset_to,
                    token.position,
                ));
            }
            out
        };
        let texts = [
            "Parents' groups: feeding, sleeping and CRYING babies; a happily bonding family",
            "Perinatal mental-health team — referrals by GPs, midwives & health visitors",
            "Café drop-in for dads: naïve, generous, generously, organisation, organizations",
            "feeding babies happily",
        ];
        let stems = RememberedStems::default();
        let mut english = english_analyzer();
        // Twice: the words worked out, then the words remembered.
        for _ in 0..2 {
            let mut remembering = remembering_english_analyzer(stems.clone());
            for text in texts {
                let expected = tokens(&mut english, text);
                assert!(expected.len() >= 3);
                assert_eq!(tokens(&mut remembering, text), expected, "{text}");
            }
        }
        assert!(stems.0.lock().expect("stems").contains_key("babies"));
    }

    #[test]
    fn the_place_order_is_a_walk_through_neighbouring_cells() {
        // On a grid of 2^k a side the curve visits each cell once, each a step from the last:
        // checked on the coarsest grid's corner, where the same code runs with small numbers.
        let step = 360.0 / f64::from(1u32 << PLACE_ORDER_BITS);
        let mut seen = std::collections::BTreeMap::new();
        for i in 0..16u32 {
            for j in 0..16u32 {
                let lon = -180.0 + (f64::from(i) + 0.5) * step;
                let lat = -90.0 + (f64::from(j) + 0.5) * step / 2.0;
                seen.insert(place_order(Some((lat, lon))), (i, j));
            }
        }
        assert_eq!(seen.len(), 256);
        let cells: Vec<_> = seen.into_iter().collect();
        assert_eq!(cells[0].0, 0);
        for pair in cells.windows(2) {
            let ((a, (ai, aj)), (b, (bi, bj))) = (pair[0], pair[1]);
            assert_eq!(
                b,
                a + 1,
                "the 16 by 16 corner is the curve's first 256 cells"
            );
            assert_eq!(ai.abs_diff(bi) + aj.abs_diff(bj), 1, "{a} to {b}");
        }
        // Nearby places stay close; far ones and no place at all come later or apart.
        let cheltenham = place_order(Some((51.8994, -2.0783)));
        let gloucester = place_order(Some((51.8642, -2.2382)));
        let newcastle = place_order(Some((54.9783, -1.6178)));
        assert!(cheltenham.abs_diff(gloucester) < cheltenham.abs_diff(newcastle));
        assert_eq!(place_order(None), u64::MAX);
        assert!(place_order(Some((90.0, 180.0))) < u64::MAX);
    }

    #[test]
    fn locations_pack_to_the_micro_degree() {
        let (lat, lon) = unpack_location(pack_location(51.89876, -2.07812));
        assert!((lat - 51.89876).abs() < 1e-6 && (lon + 2.07812).abs() < 1e-6);
    }
}
