//! One pass over the matching documents: geography (distance, radius, catchment of services
//! without a location), final scores, keyset paging, the top of the page, totals and facets.

use std::{
    cmp::Ordering,
    collections::{BinaryHeap, HashMap},
    path::Path,
    sync::{Arc, Mutex, OnceLock},
};

use rustc_hash::FxHashMap;
use tantivy::{
    BitSet, DocAddress, DocId, DocSet, Score, SegmentOrdinal, SegmentReader, TERMINATED, Term,
    collector::{Collector, SegmentCollector},
    columnar::{BytesColumn, Column, Dictionary, StrColumn},
    index::SegmentId,
    query::Weight,
    schema::{Field, IndexRecordOption},
};

use crate::{
    doc::fit,
    geo::{ChordRadius, EARTH_KM, Origin, cosine_of_latitude, longitude_span, unit_vector_f32},
    near::{Around, box_around},
    request::{Sort, Unconfirmed},
    schema::{self, unpack_location},
    scores::SPAN,
    suggest::{CompletionOrder, NameWords},
};

/// The half-widths of the boxes a search by distance from a place without a radius fills its
/// page from, nearest first: nothing beyond a box can enter a page whose farthest service lies
/// inside it.
pub const NEAR_RINGS_KM: [f64; 3] = [8.0, 25.0, 75.0];

/// The radii of the rings a search by relevance from a place without a radius fills its page
/// from, nearest first (see [`crate::scores::Ring`]). Beyond 8 km the distance factor is at
/// most 0.88 and beyond 25 km 0.72, so that far services must score that much better on their
/// words to be looked at once the page holds near ones. (A third ring, of 75 km and 0.54
/// beyond, took a search from a place 2.1% more instructions at 100,000 listings, measured
/// before a ring's walk passed over the runs of blocks it holds nothing of.)
pub const RELEVANCE_RINGS_KM: [f64; 2] = [8.0, 25.0];

/// The facet fields, in the order of [`crate::request::Facets`].
pub const FACET_FIELDS: [&str; 6] = [
    "category", "level", "audience", "mode", "referral", "language",
];

/// A sort key that orders ascending (scores and dates are negated).
#[derive(Clone, Debug)]
pub enum SortKey {
    Number(f64),
    Text(String),
}

impl SortKey {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Self::Number(a), Self::Number(b)) => a.total_cmp(b),
            (Self::Text(a), Self::Text(b)) => a.cmp(b),
            (Self::Number(_), Self::Text(_)) => Ordering::Less,
            (Self::Text(_), Self::Number(_)) => Ordering::Greater,
        }
    }
}

/// In name order, a segment's matches are walked in name order when at least one document in
/// this many matches; fewer are read through.
const WALK_SHARE: u64 = 64;

/// How many bytes of filters' document sets a segment keeps (a bit a document: some 650 sets
/// at 100,000 listings), and at least and at most how many sets: a larger segment keeps as
/// many sets as one of 100,000 listings, in more bytes, so that the same searches find their
/// filters kept at any size.
pub const FILTER_SETS_BYTES: usize = 8 << 20;
const FILTER_SETS_LEAST: usize = 640;
const FILTER_SETS_MOST: usize = 4_096;

/// How many filters' document sets a segment of `max_doc` documents keeps.
fn filter_sets_kept(max_doc: u32) -> usize {
    (FILTER_SETS_BYTES / (max_doc as usize / 8).max(64)).clamp(FILTER_SETS_LEAST, FILTER_SETS_MOST)
}

/// A term held by at least one document in this many has its documents kept (see
/// [`SegmentColumns::any_term`]).
const KEPT_TERM_SHARE: u64 = 64;

/// The name number of a document without one (or of every document in another order).
const NO_NAME: u32 = u32::MAX;
/// The name number of a document that cannot enter the page.
const SKIP: u32 = u32::MAX - 1;

/// A hit before its page is cut.
#[derive(Clone, Debug)]
pub struct Candidate {
    pub key: SortKey,
    /// The listing's id, which breaks ties. (Until the segment's page is harvested, the id's
    /// rank among the segment's: see [`SegmentColumns::id_rank`].)
    pub id: u128,
    pub address: DocAddress,
    pub score: f32,
    pub distance_km: Option<f64>,
    /// Bits of [`UNCONFIRMED`]: criteria the listing does not confirm.
    pub unconfirmed: u8,
    /// In name order, the name's number in its segment's dictionary (names in a segment are
    /// numbered in order, so a segment compares numbers and spells out only its page).
    pub name_ord: u32,
}

/// The criteria a search may filter on without the listing confirming them, with their index
/// terms; a candidate's `unconfirmed` bit `i` stands for entry `i`.
pub const UNCONFIRMED: [(Unconfirmed, &str); 3] = [
    (Unconfirmed::Pregnancy, fit::PREGNANCY_UNKNOWN),
    (Unconfirmed::Age, fit::AGE_UNKNOWN),
    (Unconfirmed::Catchment, fit::CATCHMENT_UNKNOWN),
];

/// The criteria of a bit set of [`UNCONFIRMED`].
pub fn unconfirmed(bits: u8) -> Vec<Unconfirmed> {
    UNCONFIRMED
        .iter()
        .enumerate()
        .filter(|(i, _)| bits & (1 << i) != 0)
        .map(|(_, (criterion, _))| *criterion)
        .collect()
}

impl Candidate {
    fn order(&self, other: &Self) -> Ordering {
        self.key.cmp(&other.key).then(self.id.cmp(&other.id))
    }
}

impl PartialEq for Candidate {
    fn eq(&self, other: &Self) -> bool {
        self.order(other) == Ordering::Equal
    }
}
impl Eq for Candidate {}
impl PartialOrd for Candidate {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Candidate {
    fn cmp(&self, other: &Self) -> Ordering {
        self.order(other)
    }
}

/// Where a page starts: after this key and id.
#[derive(Clone, Debug)]
pub struct After {
    pub key: SortKey,
    pub id: u128,
}

/// The collector's settings.
#[derive(Clone, Debug)]
pub struct PageCollector {
    pub columns: Arc<ColumnCache>,
    pub sort: Sort,
    /// How many hits to keep (the page size plus one, to know whether more follow).
    pub keep: usize,
    pub after: Option<After>,
    /// (latitude, longitude, radius) to measure from.
    pub point: Option<(f64, f64, Option<f64>)>,
    /// Whether the query matches, of the documents with a location, only those within the
    /// radius (see [`crate::near::NearQuery`]): they are not measured again.
    pub radius_filtered: bool,
    /// Catchment terms that keep a service without a location inside a radius.
    pub point_coverage: Arc<[String]>,
    /// The indexed catchment field holding those terms.
    pub covers_field: Field,
    /// Whether there is query text (otherwise every match scores 1).
    pub has_text: bool,
    /// Today in days since 1970-01-01.
    pub today: i64,
    /// Whether to count facets.
    pub facets: bool,
    /// Matches scoring below this (before any preference) are left out: with a sort other than
    /// relevance, weak matches would otherwise crowd the list.
    pub min_score: f32,
    /// An infant's age the text mentions: services whose range excludes it rank lower.
    pub age_hint: Option<f64>,
    /// The text mentions a pregnancy: services not open from pregnancy rank lower.
    pub pregnancy_hint: bool,
    /// Which of [`UNCONFIRMED`] the search filters on (bit `i` for entry `i`).
    pub checked: u8,
}

/// What one segment (and then all of them) found.
#[derive(Debug, Default)]
pub struct PageFruit {
    pub total: u64,
    pub candidates: Vec<Candidate>,
    pub facets: [HashMap<String, u64>; FACET_FIELDS.len()],
}

/// Listings not verified within this many days rank a little lower.
const STALE_AFTER_DAYS: i64 = 365;
/// How many matches are read together before they are offered to a page (see
/// [`SegmentColumns::warm`]): enough for their reads from memory to overlap, few enough that
/// they are still in the cache when offered.
pub(crate) const OFFERED_TOGETHER: usize = 16;
/// No `assured` day, in [`SegmentColumns::assured_day`]'s decoded days.
const NOT_ASSURED: i32 = i32::MIN;
const STALE_FACTOR: f32 = 0.85;
/// The distance factor for services with no location (national lines, online services).
const NO_LOCATION_FACTOR: f32 = 0.85;
/// The distance factor of the farthest services.
const FAR_FACTOR: f32 = 0.5;
/// For a service whose age range excludes the age the text mentions.
const AGE_MISMATCH_FACTOR: f32 = 0.6;
/// For a service not open from pregnancy when the text mentions one.
const PREGNANCY_MISMATCH_FACTOR: f32 = 0.75;
/// For each criterion filtered on that the listing does not confirm: below the services known
/// to fit.
const UNCONFIRMED_FACTOR: f32 = 0.7;

/// A gentle preference for nearer services: 1 at the door, about 0.86 at 10 km, 0.5 far away.
pub(crate) fn distance_factor(distance: Option<f64>) -> f32 {
    match distance {
        #[expect(
            clippy::cast_possible_truncation,
            reason = "a factor between 0.5 and 1"
        )]
        Some(km) => (0.5 + 0.5 * (-km / 30.0).exp()) as f32,
        None => NO_LOCATION_FACTOR,
    }
}

/// A segment's fast-field columns. Opening a column decodes its block metadata, which cost
/// more than many searches themselves; segments never change, so they are opened once.
pub struct SegmentColumns {
    id_hi: Column<u64>,
    id_lo: Column<u64>,
    location: Column<u64>,
    assured: Column<i64>,
    /// Each document's `assured` day ([`NOT_ASSURED`] for none), read out of the column once, on
    /// the segment's first search by relevance or by verified date: every match offered to its
    /// page asks for it.
    assured_days: OnceLock<Vec<i32>>,
    min_age: Column<f64>,
    max_age: Column<f64>,
    pregnancy: Option<StrColumn>,
    eligibility: Option<StrColumn>,
    name_sort: Option<StrColumn>,
    /// Each document's number in `name_sort`'s dictionary ([`NO_NAME`] for none), read out of
    /// the column once, on the segment's first search in name order.
    name_ords: OnceLock<Vec<u32>>,
    /// The lower-case names by their number, read out once, on the segment's first completion.
    lower_names: OnceLock<Texts>,
    /// The documents in name order (then id order); `None` when a document has no name.
    by_name: OnceLock<Option<Vec<DocId>>>,
    name_text: Option<StrColumn>,
    /// What each document's hits show (see [`crate::frame`]).
    card: Option<BytesColumn>,
    /// The `card` column's values by their number, read out once, on the segment's first
    /// page of hits: reading a value from the column's dictionary decodes its block up to it,
    /// about a microsecond a hit. They are read from the segment's file in `dir` when it is
    /// on disk (see [`crate::dir::column_dictionary_apart`]).
    cards: OnceLock<Texts>,
    /// The directory of the index on disk (`None` for one in memory) and the segment's id.
    dir: Option<Arc<Path>>,
    segment: SegmentId,
    /// Each document's number in `name_text`'s dictionary ([`NO_NAME`] for none), and the
    /// names by their number: read out once, on the segment's first completion.
    text_ords: OnceLock<Vec<u32>>,
    texts: OnceLock<Texts>,
    /// The documents in the order of completions; `None` when a document has no name.
    completion: OnceLock<Option<CompletionOrder>>,
    /// The name words and their documents in that order, read on the first completion that
    /// needs more than the names starting with what was typed.
    name_words: OnceLock<NameWords>,
    /// The active services.
    active: OnceLock<BitSet>,
    /// The documents of recent filters (deleted ones included) by the filter's key, with when
    /// each was last used.
    filtered: Mutex<FilterSets>,
    facets: Vec<Option<StrColumn>>,
    /// The documents of each facet value, read out of the facet columns once, on the
    /// segment's first search that counts facets.
    facet_sets: OnceLock<FacetSets>,
    max_doc: DocId,
    /// Every document's locations, decoded once, on the segment's first search from a place.
    points: OnceLock<Points>,
    /// The documents in id order, and each document's rank in it (see `id_rank`).
    id_order: OnceLock<IdOrder>,
}

/// A segment's documents in id order (then document order), and each document's rank in that
/// order: pages compare ranks, and a fetch by id searches the order (the index keeps no term
/// for an id).
struct IdOrder {
    docs: Vec<DocId>,
    ranks: Vec<u32>,
}

/// The locations of a segment's documents, decoded: a search from a place measures every
/// match, and a column read and decode per match cost more than the measuring.
#[derive(Default)]
struct Points {
    /// Each document's point when it has exactly one location (most do), by document: one
    /// read from memory finds it (a NaN latitude when the document has none or several).
    sole: Vec<Point>,
    /// Where each document's points start in `several` (one more entry than documents): a
    /// document with one location or none has none there.
    starts: Vec<u32>,
    /// The points of the documents with several locations. Each point is read whole: a match
    /// is measured from the first and judged from the second, which then share a cache line.
    several: Vec<Point>,
    /// Every point with its cell of a grid of [`CELL_DEGREES`] and its document, in cell
    /// order, so that a radius finds the documents near it without measuring the others, and
    /// measures those near it in the order they are kept in memory.
    cells: Vec<CellPoint>,
    /// A bit per document without a location.
    unlocated: Vec<u64>,
    /// Whether any document has no location.
    any_unlocated: bool,
    /// For each block of 64 documents, the box of its documents' locations (see
    /// [`SegmentColumns::nearest_factor_in_block`]).
    block_boxes: Vec<BlockBox>,
    /// For each span of [`SPAN`] blocks, the box of its blocks' boxes: a search from a place
    /// passes over the spans far from it whole (see [`SegmentColumns::block_rings`]).
    span_boxes: Vec<BlockBox>,
}

/// The latitudes and longitudes (degrees, inclusive) between which every location of a
/// block's documents lies; an empty box (south above north) for a block without any.
#[derive(Clone, Copy)]
struct BlockBox {
    south: f64,
    north: f64,
    west: f64,
    east: f64,
    /// The least cosine of a latitude in the box (that of the one farthest from the equator),
    /// once the box is finished.
    least_cosine: f64,
}

impl BlockBox {
    const EMPTY: BlockBox = BlockBox {
        south: f64::INFINITY,
        north: f64::NEG_INFINITY,
        west: f64::INFINITY,
        east: f64::NEG_INFINITY,
        least_cosine: 0.0,
    };

    fn add(&mut self, point: &Point) {
        self.south = self.south.min(point.latitude);
        self.north = self.north.max(point.latitude);
        self.west = self.west.min(point.longitude);
        self.east = self.east.max(point.longitude);
    }

    /// Grows the box to hold `other` too (nothing for an empty one); `finish` it after.
    fn take_in(&mut self, other: &BlockBox) {
        self.south = self.south.min(other.south);
        self.north = self.north.max(other.north);
        self.west = self.west.min(other.west);
        self.east = self.east.max(other.east);
    }

    /// Works out `least_cosine` once every location is added.
    fn finish(&mut self) {
        if self.south <= self.north {
            self.least_cosine = cosine_of_latitude(self.south)
                .min(cosine_of_latitude(self.north))
                .max(0.0);
        }
    }

    /// No more than the square root of the haversine of the angle between `from` (degrees, and
    /// its latitude's cosine) and any point in the box, as [`Origin::distance_km_from_cos`]
    /// works it out. The haversine is that of the latitudes' difference plus the product of
    /// the latitudes' cosines and the haversine of the longitudes' difference: each term is at
    /// least what the nearest latitude and the least cosine and longitude difference in the
    /// box make it, and `sin x` is at least `x - x³/6`.
    fn nearest_root_haversine(&self, (latitude, longitude, cosine): (f64, f64, f64)) -> f64 {
        let haversine = |degrees: f64| {
            let half = (degrees.to_radians() / 2.0).min(1.0);
            let sine = half - half * half * half / 6.0;
            sine * sine
        };
        let latitude_gap = (self.south - latitude).max(latitude - self.north).max(0.0);
        // The shorter way round the globe to the box's longitudes: the gap straight to the
        // nearer edge, or the rest of the circle, round the far side of the box (across the
        // antimeridian the shorter).
        let longitude_gap = (self.west - longitude).max(longitude - self.east).max(0.0);
        let longitude_gap = longitude_gap
            .min(360.0 - (self.east - self.west) - longitude_gap)
            .max(0.0);
        // (Far around the globe none is claimed.)
        let longitude_gap = if longitude_gap > 90.0 {
            0.0
        } else {
            longitude_gap
        };
        let a = haversine(latitude_gap)
            + cosine.max(0.0) * self.least_cosine * haversine(longitude_gap);
        // (Less a margin for the rounding of the sums.)
        a.sqrt() * (1.0 - 1e-9)
    }
}

/// The rings of a search from a place, by blocks of 64 documents: a ring holds, whole, the
/// blocks whose locations' box meets the box around it or an earlier one, and the documents
/// without a location. A document of a block that meets none of the boxes up to a ring's has
/// no location in them, or none at all.
pub(crate) struct BlockRings<'a> {
    /// Each block's first ring (the number of rings for none, and for a block without a
    /// location).
    first: Vec<u8>,
    /// A bit per document without a location.
    unlocated: &'a [u64],
    /// For each span of blocks (see [`SPAN`]), a bit for each ring some block of it is first
    /// held by (the last for none), and the top bit when it has documents without a location.
    spans: Vec<u64>,
}

impl BlockRings<'_> {
    /// The documents of block `block` (a bit each) that ring `ring` or an earlier one holds.
    #[inline]
    pub(crate) fn holds(&self, block: usize, ring: usize) -> u64 {
        if self
            .first
            .get(block)
            .is_none_or(|first| usize::from(*first) <= ring)
        {
            u64::MAX
        } else {
            self.unlocated.get(block).copied().unwrap_or(u64::MAX)
        }
    }

    /// The documents of block `block` the rings before ring `ring` hold (none before the
    /// first).
    #[inline]
    pub(crate) fn walked(&self, block: usize, ring: usize) -> u64 {
        ring.checked_sub(1)
            .map_or(0, |last| self.holds(block, last))
    }

    /// Whether span `span` may hold documents ring `ring` holds and no earlier one does
    /// (ring `rings` being what lies beyond them all).
    #[inline]
    pub(crate) fn may_hold(&self, span: usize, ring: usize) -> bool {
        let mask = self.spans.get(span).copied().unwrap_or(u64::MAX);
        ring >= 62 || mask & (1 << ring) != 0 || (ring == 0 && mask >> 63 != 0)
    }
}

/// Steps of [`NEAREST_FACTORS`]: a step of the square root of a haversine is an angle of
/// about 0.25 km on the ground.
const FACTOR_STEPS_PER_UNIT: f64 = 51_000.0;

/// [`distance_factor`] at the start of each step of the square root of the haversine (see
/// [`BlockBox::nearest_root_haversine`]), to about 300 km: the largest factor of any distance
/// within the step or beyond it.
static NEAREST_FACTORS: std::sync::LazyLock<Vec<Score>> = std::sync::LazyLock::new(|| {
    (0..1_200u32)
        .map(|step| {
            let root = (f64::from(step) / FACTOR_STEPS_PER_UNIT).min(1.0);
            distance_factor(Some(2.0 * EARTH_KM * root.asin()))
        })
        .collect()
});

/// No less than the distance factor of any location in `held` (a block's box of locations,
/// or a span's) from `from` (degrees and its latitude's cosine): that of the nearest the box
/// may be, 0 for an empty box, 1 for none; with `unlocated` (documents without a location
/// among them), [`NO_LOCATION_FACTOR`] if more.
fn nearest_factor(held: Option<&BlockBox>, unlocated: bool, from: (f64, f64, f64)) -> Score {
    let located = match held {
        Some(held) if held.south <= held.north => {
            let root = held.nearest_root_haversine(from);
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "a step, clamped to the table"
            )]
            let step = ((root * FACTOR_STEPS_PER_UNIT).floor().max(0.0) as usize)
                .min(NEAREST_FACTORS.len() - 1);
            NEAREST_FACTORS[step]
        }
        Some(_) => 0.0,
        None => 1.0,
    };
    if unlocated {
        located.max(NO_LOCATION_FACTOR)
    } else {
        located
    }
}

/// A location, in degrees and on the unit sphere in single precision (see [`ChordRadius`]).
#[derive(Clone, Copy)]
struct Point {
    latitude: f64,
    longitude: f64,
    /// The latitude's cosine, which measuring from the point needs (see
    /// [`crate::geo::cosine_of_latitude`]).
    cos_latitude: f64,
    unit: [f32; 3],
}

/// A point in [`Points::cells`]: its cell's key, its document and where it lies on the unit
/// sphere.
#[derive(Clone, Copy)]
struct CellPoint {
    key: u64,
    doc: DocId,
    unit: [f32; 3],
}

/// The side of a cell of the grid of [`Points::cells`], in degrees (about 5.6 km north to
/// south, 3.4 km east to west in Britain). A radius of 5 km touched up to 6 cells of 0.1° (some
/// 460 km² against the circle's 79), whose every location was looked at. (At 100,000 listings,
/// cells of 0.05° took a kept search 0.85% fewer instructions than 0.1°, and 0.025° another
/// 0.2%; but each row of cells is found with a binary search over every location, which waits
/// on memory: in alternating timed rounds, six each, a keyword search within a radius took 2.4%
/// less time with cells of 0.05° than of 0.025°, and one by distance within a radius 1.2%.)
pub(crate) const CELL_DEGREES: f64 = 0.05;

/// A grid cell's row and column: its key in [`Points::cells`].
fn cell(latitude: f64, longitude: f64) -> (u32, u32) {
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "clamped to the grid"
    )]
    let at = |value: f64, offset: f64, span: f64| {
        ((value + offset).clamp(0.0, span) / CELL_DEGREES).floor() as u32
    };
    (at(latitude, 90.0, 180.0), at(longitude, 180.0, 360.0))
}

fn cell_key((row, column): (u32, u32)) -> u64 {
    (u64::from(row) << 32) | u64::from(column)
}

impl Points {
    fn read(location: &Column<u64>) -> Self {
        let docs = location.num_docs();
        let mut points = Points {
            starts: Vec::with_capacity(docs as usize + 1),
            sole: Vec::with_capacity(docs as usize),
            unlocated: vec![0; docs.div_ceil(64) as usize],
            ..Points::default()
        };
        let none = Point {
            latitude: f64::NAN,
            longitude: f64::NAN,
            cos_latitude: f64::NAN,
            unit: [f32::NAN; 3],
        };
        let mut own = Vec::new();
        for doc in 0..docs {
            own.clear();
            own.extend(location.values_for_doc(doc).map(|packed| {
                let (latitude, longitude) = unpack_location(packed);
                Point {
                    latitude,
                    longitude,
                    cos_latitude: cosine_of_latitude(latitude),
                    unit: unit_vector_f32(latitude, longitude),
                }
            }));
            points
                .starts
                .push(u32::try_from(points.several.len()).unwrap_or(u32::MAX));
            match own.as_slice() {
                [] => {
                    points.unlocated[doc as usize / 64] |= 1 << (doc % 64);
                    points.sole.push(none);
                }
                [point] => points.sole.push(*point),
                several => {
                    points.sole.push(none);
                    points.several.extend_from_slice(several);
                }
            }
            for point in &own {
                points.cells.push(CellPoint {
                    key: cell_key(cell(point.latitude, point.longitude)),
                    doc,
                    unit: point.unit,
                });
            }
        }
        points
            .starts
            .push(u32::try_from(points.several.len()).unwrap_or(u32::MAX));
        points.block_boxes = vec![BlockBox::EMPTY; docs.div_ceil(64) as usize];
        for doc in 0..docs {
            let block = &mut points.block_boxes[doc as usize / 64];
            match (
                points.sole.get(doc as usize),
                points.starts.get(doc as usize..=doc as usize + 1),
            ) {
                (Some(point), _) if !point.latitude.is_nan() => block.add(point),
                (_, Some(&[start, end])) => {
                    for point in &points.several[start as usize..end as usize] {
                        block.add(point);
                    }
                }
                _ => {}
            }
        }
        points.block_boxes.iter_mut().for_each(BlockBox::finish);
        points.span_boxes = points
            .block_boxes
            .chunks(SPAN)
            .map(|blocks| {
                let mut span = BlockBox::EMPTY;
                blocks.iter().for_each(|block| span.take_in(block));
                span.finish();
                span
            })
            .collect();
        points
            .cells
            .sort_unstable_by_key(|point| (point.key, point.doc));
        points.any_unlocated = points.unlocated.iter().any(|bits| *bits != 0);
        points
    }

    /// Calls `each` with the points of the cells the box of latitudes and longitudes
    /// (inclusive) touches, in cell order: some points near the box too. Across the
    /// antimeridian, every point.
    fn in_box(
        &self,
        latitudes: (f64, f64),
        longitudes: (f64, f64),
        mut each: impl FnMut(&CellPoint),
    ) {
        self.cells_in_box(latitudes, longitudes, |_, points| {
            points.iter().for_each(&mut each);
        });
    }

    /// Calls `each` with the points of each cell the box of latitudes and longitudes
    /// (inclusive) touches, a cell at a time in cell order, with the cell's row and column.
    /// Across the antimeridian, every point at once, with no cell.
    fn cells_in_box(
        &self,
        latitudes: (f64, f64),
        longitudes: (f64, f64),
        mut each: impl FnMut(Option<(u32, u32)>, &[CellPoint]),
    ) {
        if longitudes.0 < -180.0 || longitudes.1 > 180.0 {
            each(None, &self.cells);
            return;
        }
        let (south, west) = cell(latitudes.0, longitudes.0);
        let (north, east) = cell(latitudes.1, longitudes.1);
        for row in south..=north {
            let (from, to) = (cell_key((row, west)), cell_key((row, east)));
            let start = self.cells.partition_point(|point| point.key < from);
            let mut rest = &self.cells[start..];
            while let Some(key) = rest.first().map(|point| point.key).filter(|key| *key <= to) {
                let len = rest
                    .iter()
                    .position(|point| point.key != key)
                    .unwrap_or(rest.len());
                let (points, after) = rest.split_at(len);
                each(Some((row, column_of_key(key))), points);
                rest = after;
            }
        }
    }
}

/// The column of a cell's key (see [`cell_key`]).
fn column_of_key(key: u64) -> u32 {
    u32::try_from(key & u64::from(u32::MAX)).unwrap_or(u32::MAX)
}

/// The sine and cosine of a grid line's angle: line `line` of the rows (from the south pole)
/// or of the columns (from the antimeridian), as [`cell`] draws them.
fn grid_line(line: u32, offset: f64) -> (f64, f64) {
    (f64::from(line) * CELL_DEGREES - offset)
        .to_radians()
        .sin_cos()
}

/// A cell of the grid of [`Points::cells`] holding at least this many points is first asked
/// whether it lies within a radius whole, from its corners (one reckoning of four corners
/// instead of one a point).
const CELL_WHOLE_FROM: usize = 4;

/// Each document's (first) number in a column's dictionary, [`NO_NAME`] for none.
fn first_ords(column: Option<&StrColumn>) -> Vec<u32> {
    let Some(column) = column else {
        return Vec::new();
    };
    (0..column.num_rows())
        .map(|doc| {
            column
                .term_ords(doc)
                .next()
                .and_then(|ord| u32::try_from(ord).ok())
                .filter(|ord| *ord < SKIP)
                .unwrap_or(NO_NAME)
        })
        .collect()
}

impl SegmentColumns {
    /// Every document's name number (see `name_ords`).
    pub(crate) fn name_ords(&self) -> &[u32] {
        self.name_ords
            .get_or_init(|| first_ords(self.name_sort.as_ref()))
    }

    /// The number of a document's name as written, if it has one.
    pub(crate) fn text_ord(&self, doc: DocId) -> Option<u32> {
        self.text_ords
            .get_or_init(|| first_ords(self.name_text.as_ref()))
            .get(doc as usize)
            .copied()
            .filter(|ord| *ord != NO_NAME)
    }

    /// The names as written, by their number (read out of the dictionary in one pass).
    fn texts(&self) -> &Texts {
        self.texts
            .get_or_init(|| Texts::read(self.name_text.as_deref()))
    }

    /// The name as written numbered `ord`.
    pub(crate) fn text(&self, ord: u32) -> Option<&str> {
        self.texts().get(ord)
    }

    /// The length in bytes of the name as written numbered `ord`.
    pub(crate) fn text_length(&self, ord: u32) -> u32 {
        self.text(ord).map_or(u32::MAX, |text| {
            u32::try_from(text.len()).unwrap_or(u32::MAX)
        })
    }

    fn facet_sets(&self) -> &FacetSets {
        self.facet_sets
            .get_or_init(|| FacetSets::read(&self.facets, self.max_doc))
    }

    fn decoded_points(&self) -> &Points {
        self.points.get_or_init(|| Points::read(&self.location))
    }

    /// A document's locations.
    fn points(&self, doc: DocId) -> &[Point] {
        let points = self.decoded_points();
        if let Some(sole) = points.sole.get(doc as usize)
            && !sole.latitude.is_nan()
        {
            return std::slice::from_ref(sole);
        }
        match (
            points.starts.get(doc as usize),
            points.starts.get(doc as usize + 1),
        ) {
            (Some(start), Some(end)) => &points.several[*start as usize..*end as usize],
            _ => &[],
        }
    }

    /// Whether any document of the segment has no location.
    fn has_unlocated(&self) -> bool {
        self.decoded_points().any_unlocated
    }

    /// A bit per document: those without a location, which only their catchment places,
    /// to add the located ones to.
    fn unlocated_bits(&self) -> Vec<u64> {
        let mut bits = self.decoded_points().unlocated.clone();
        bits.resize(self.max_doc.div_ceil(64) as usize, 0);
        bits
    }

    /// A bit per document: the documents with a location in the box of latitudes and
    /// longitudes (inclusive) and those without a location, which only their catchment
    /// places. Some documents near the box are set too.
    pub(crate) fn near_box(&self, latitudes: (f64, f64), longitudes: (f64, f64)) -> Vec<u64> {
        let mut bits = self.unlocated_bits();
        self.decoded_points()
            .in_box(latitudes, longitudes, |point| set_bit(&mut bits, point.doc));
        bits
    }

    /// A bit per document: the documents with a location within `radius`, exactly as
    /// [`ChordRadius::holds`] tells, and those without a location, which only their catchment
    /// places. The box of latitudes and longitudes (inclusive) holds the circle: only the
    /// points of its cells are measured.
    pub(crate) fn near_circle(
        &self,
        radius: &ChordRadius,
        (latitudes, longitudes): Around,
    ) -> Vec<u64> {
        let mut bits = self.unlocated_bits();
        // The grid lines' sines and cosines, each worked out once: the corners of a cell.
        let mut row_lines: Option<(u32, [(f64, f64); 2])> = None;
        let (west, east) = (cell(0.0, longitudes.0).1, cell(0.0, longitudes.1).1);
        let mut column_lines = vec![None; (east.saturating_sub(west) as usize) + 2];
        let mut column_line =
            |line: u32| match column_lines.get_mut(line.saturating_sub(west) as usize) {
                Some(Some(kept)) => *kept,
                Some(slot) => *slot.insert(grid_line(line, 180.0)),
                None => grid_line(line, 180.0),
            };
        self.decoded_points()
            .cells_in_box(latitudes, longitudes, |cell, points| {
                // A cell whose corners all lie surely within holds only points within: on the
                // sphere, the farthest point of a cell from a place is one of its corners.
                let whole = points.len() >= CELL_WHOLE_FROM
                    && cell.is_some_and(|(row, column)| {
                        let rows = match row_lines {
                            Some((at, lines)) if at == row => lines,
                            _ => {
                                let lines = [grid_line(row, 90.0), grid_line(row + 1, 90.0)];
                                row_lines = Some((row, lines));
                                lines
                            }
                        };
                        let columns = [column_line(column), column_line(column + 1)];
                        rows.iter().all(|&(lat_sin, lat_cos)| {
                            columns.iter().all(|&(lon_sin, lon_cos)| {
                                radius.surely_holds([lat_cos * lon_cos, lat_cos * lon_sin, lat_sin])
                            })
                        })
                    });
                for point in points {
                    let within = whole
                        || radius.holds(&point.unit, || {
                            // At the very edge: the point's own degrees, found among its
                            // document's.
                            self.points(point.doc)
                                .iter()
                                .find(|p| p.unit == point.unit)
                                .map_or((f64::NAN, f64::NAN), |p| (p.latitude, p.longitude))
                        });
                    if within {
                        set_bit(&mut bits, point.doc);
                    }
                }
            });
        bits
    }

    /// A document's `assured` day, `i64::MIN` for none (as the column's first value would
    /// give it, days beyond what 32 bits hold aside, which judge the same).
    #[inline]
    pub(crate) fn assured_day(&self, doc: DocId) -> i64 {
        let days = self.assured_days.get_or_init(|| {
            (0..self.max_doc)
                .map(|doc| match self.assured.first(doc) {
                    Some(day) if day > i64::MIN => {
                        #[expect(clippy::cast_possible_truncation, reason = "clamped")]
                        let day = day.clamp(i64::from(NOT_ASSURED) + 1, i64::from(i32::MAX)) as i32;
                        day
                    }
                    _ => NOT_ASSURED,
                })
                .collect()
        });
        match days.get(doc as usize) {
            Some(&day) if day != NOT_ASSURED => i64::from(day),
            _ => i64::MIN,
        }
    }

    /// Reads what offering `docs` to a page reads of each first: its `assured` day and, with
    /// `points` (a search from a place) once the locations are decoded, its location. Offered
    /// one at a time, each match waits for its own reads from memory (most of an offer's time
    /// in a large segment); read here in one pass, which nothing else waits on, the reads are
    /// in flight together, and the offers then find the values in the cache.
    pub(crate) fn warm(&self, docs: &[DocId], points: bool) {
        let mut seen = 0u64;
        for &doc in docs {
            seen ^= self.assured_day(doc).cast_unsigned();
        }
        if points && let Some(decoded) = self.points.get() {
            for &doc in docs {
                if let Some(point) = decoded.sole.get(doc as usize) {
                    seen ^= point.latitude.to_bits();
                }
            }
        }
        std::hint::black_box(seen);
    }

    /// No less than the distance factor (see [`distance_factor`]) of any document of block
    /// `block` (documents `64 * block` on) from `from` (degrees and its latitude's cosine):
    /// that of the nearest its locations' box may be, or, with a document without a location,
    /// [`NO_LOCATION_FACTOR`] if more.
    pub(crate) fn nearest_factor_in_block(&self, block: usize, from: (f64, f64, f64)) -> Score {
        let points = self.decoded_points();
        let unlocated = points.unlocated.get(block).is_none_or(|bits| *bits != 0);
        nearest_factor(points.block_boxes.get(block), unlocated, from)
    }

    /// No less than [`Self::nearest_factor_in_block`] of any block of span `span` (see
    /// [`SPAN`]): that of the nearest the span's box may be, or [`NO_LOCATION_FACTOR`] if more
    /// when a document of the span has no location.
    pub(crate) fn nearest_factor_in_span(&self, span: usize, from: (f64, f64, f64)) -> Score {
        let points = self.decoded_points();
        let blocks = span * SPAN..((span + 1) * SPAN).min(self.max_doc.div_ceil(64) as usize);
        // (A span past the documents, or one the decoded locations do not reach, is not ruled
        // out.)
        match (
            points.unlocated.get(blocks.clone()),
            points.span_boxes.get(span),
        ) {
            (Some(unlocated), Some(held))
                if !blocks.is_empty() && blocks.end <= points.block_boxes.len() =>
            {
                nearest_factor(Some(held), unlocated.iter().any(|bits| *bits != 0), from)
            }
            _ => 1.0,
        }
    }

    /// Which of `blocks` blocks of 64 documents each of the rings bounded by the boxes `boxes`
    /// (latitudes and longitudes, inclusive; each holding the one before) holds (see
    /// [`BlockRings`]). A span of blocks whose box misses the widest box is passed over whole;
    /// in the others, each block's box is asked of the widest box first. (At 100,000
    /// listings, a kept search by relevance from a place took 8.3% fewer instructions than
    /// with every block asked of each box in turn, the same pages: all of it from the spans
    /// passed over; asking the widest box first saved nothing measurable on its own.)
    pub(crate) fn block_rings(&self, boxes: &[Around], blocks: usize) -> BlockRings<'_> {
        let points = self.decoded_points();
        let unlocated = &points.unlocated;
        // (A box across the antimeridian, as `Points::in_box` takes it, meets every block with
        // a location.)
        let across = |((_, _), (west, east)): &Around| *west < -180.0 || *east > 180.0;
        // Whether the box meets the block's: never for a block without a location, whose box
        // is empty (south above north). Every comparison is made, without branches.
        let overlaps = |held: &BlockBox, ((south, north), (west, east)): &Around| {
            (held.north >= *south)
                & (held.south <= *north)
                & (held.east >= *west)
                & (held.west <= *east)
        };
        let meets = |held: &BlockBox, around: &Around| {
            held.south <= held.north && (across(around) || overlaps(held, around))
        };
        // Each box holds the one before: a block that misses the last misses them all, and
        // most blocks lie far from the place.
        let widest = boxes.last();
        let everywhere = widest.is_some_and(across);
        let first_ring = |held: &BlockBox| {
            let ring = match widest {
                Some(widest) if everywhere || overlaps(held, widest) => boxes
                    .iter()
                    .position(|around| meets(held, around))
                    .unwrap_or(boxes.len()),
                _ => boxes.len(),
            };
            u8::try_from(ring).unwrap_or(u8::MAX)
        };
        let mut first = Vec::with_capacity(points.block_boxes.len());
        let mut spans = Vec::with_capacity(blocks.div_ceil(SPAN));
        for span in 0..blocks.div_ceil(SPAN) {
            let span_blocks = span * SPAN..blocks.min((span + 1) * SPAN);
            // A span whose blocks' box misses the widest box: none of its blocks meets any.
            let missed = span_blocks.end <= points.block_boxes.len()
                && !everywhere
                && widest.is_some_and(|widest| {
                    points
                        .span_boxes
                        .get(span)
                        .is_some_and(|held| !overlaps(held, widest))
                });
            if missed {
                let none = u8::try_from(boxes.len()).unwrap_or(u8::MAX);
                first.resize(span_blocks.end, none);
                let unlocated = unlocated
                    .get(span_blocks)
                    .is_some_and(|blocks| blocks.iter().any(|bits| *bits != 0));
                spans.push(1 << boxes.len().min(62) | u64::from(unlocated) << 63);
                continue;
            }
            let mut mask = 0;
            for block in span_blocks {
                // (A block beyond the boxes counts as held by the first ring, as `holds` has
                // it.)
                let ring = points.block_boxes.get(block).map_or(0, |held| {
                    let ring = first_ring(held);
                    first.push(ring);
                    usize::from(ring)
                });
                let located = 1 << ring.min(62);
                let unlocated = u64::from(unlocated.get(block).is_some_and(|bits| *bits != 0));
                mask |= located | (unlocated << 63);
            }
            spans.push(mask);
        }
        // (Blocks beyond `blocks`, if the boxes reach past them, as before.)
        first.extend(points.block_boxes.iter().skip(first.len()).map(first_ring));
        BlockRings {
            first,
            unlocated,
            spans,
        }
    }

    /// Whether a document has no location.
    fn unlocated(&self, doc: DocId) -> bool {
        has_bit(&self.decoded_points().unlocated, doc)
    }

    /// The order of completions (see `completion`).
    pub(crate) fn completion_order(&self) -> Option<&CompletionOrder> {
        self.completion
            .get_or_init(|| CompletionOrder::build(self))
            .as_ref()
    }

    /// The name words of the segment in the order of completions `order` (see `name_words`).
    pub(crate) fn name_words(
        &self,
        reader: &SegmentReader,
        field: Field,
        order: &CompletionOrder,
    ) -> tantivy::Result<&NameWords> {
        if let Some(words) = self.name_words.get() {
            return Ok(words);
        }
        let words = NameWords::build(reader, field, order)?;
        Ok(self.name_words.get_or_init(|| words))
    }

    /// The active services of the segment (deleted ones included: ask the segment).
    pub(crate) fn active(&self, reader: &SegmentReader, status: Field) -> tantivy::Result<&BitSet> {
        if let Some(active) = self.active.get() {
            return Ok(active);
        }
        let mut active = BitSet::with_max_value(reader.max_doc());
        let term = Term::from_field_text(status, "ACTIVE");
        if let Some(postings) = reader
            .inverted_index(status)?
            .read_postings(&term, IndexRecordOption::Basic)?
        {
            insert_all(&mut active, postings);
        }
        Ok(self.active.get_or_init(|| active))
    }

    /// The documents of the filter described by `key`, deleted ones included: kept for the
    /// most recent filters, as many as [`FILTER_SETS_BYTES`] hold (a segment never changes but
    /// for deletions), read by `read` otherwise.
    pub(crate) fn filtered(
        &self,
        key: &str,
        read: impl FnOnce() -> tantivy::Result<Vec<u64>>,
    ) -> tantivy::Result<Arc<Vec<u64>>> {
        if let Ok(mut kept) = self.filtered.lock() {
            kept.clock += 1;
            let clock = kept.clock;
            if let Some((set, used)) = kept.sets.get_mut(key) {
                *used = clock;
                return Ok(set.clone());
            }
        }
        let set = Arc::new(read()?);
        if let Ok(mut kept) = self.filtered.lock() {
            let most = filter_sets_kept(self.max_doc);
            while kept.sets.len() >= most {
                let Some(oldest) = least_recent(&kept.sets) else {
                    break;
                };
                kept.sets.remove(&oldest);
            }
            let clock = kept.clock;
            kept.sets.insert(key.to_owned(), (set.clone(), clock));
        }
        Ok(set)
    }

    /// A bit per document of the segment (deleted ones included): those with any of `terms`
    /// in `field`. A term that many documents hold (at least one in [`KEPT_TERM_SHARE`], such
    /// as a catchment's nation or county) has its documents kept among the filters' (see
    /// [`Self::filtered`]); a rarer one's are read each time, which costs less than keeping
    /// every postcode sector's.
    pub(crate) fn any_term(
        &self,
        reader: &SegmentReader,
        field: Field,
        terms: &[String],
    ) -> tantivy::Result<Vec<u64>> {
        let max_doc = reader.max_doc();
        let mut bits = vec![0u64; max_doc.div_ceil(64) as usize];
        let inverted = reader.inverted_index(field)?;
        for text in terms {
            let term = Term::from_field_text(field, text);
            let Some(info) = inverted.get_term_info(&term)? else {
                continue;
            };
            let read = |each: &mut dyn FnMut(DocId)| -> tantivy::Result<()> {
                let mut block =
                    inverted.read_block_postings_from_terminfo(&info, IndexRecordOption::Basic)?;
                while !block.docs().is_empty() {
                    block.docs().iter().for_each(|doc| each(*doc));
                    block.advance();
                }
                Ok(())
            };
            if u64::from(info.doc_freq) * KEPT_TERM_SHARE >= u64::from(max_doc) {
                let key = format!("term {} {text}", field.field_id());
                let set = self.filtered(&key, || {
                    let mut set = vec![0u64; bits.len()];
                    read(&mut |doc| set_bit(&mut set, doc))?;
                    Ok(set)
                })?;
                for (into, bits) in bits.iter_mut().zip(set.iter()) {
                    *into |= bits;
                }
            } else {
                read(&mut |doc| set_bit(&mut bits, doc))?;
            }
        }
        Ok(bits)
    }

    /// The range of numbers of the lower-case names that start with `wanted`.
    pub(crate) fn lower_names_starting(&self, wanted: &str) -> (u32, u32) {
        if self.name_sort.is_none() {
            return (0, 0);
        }
        let lower = self
            .lower_names
            .get_or_init(|| Texts::read(self.name_sort.as_deref()));
        // No UTF-8 text holds the byte 0xFF: the first name after every one starting with
        // `wanted` is the first at or after `wanted` followed by it.
        let mut past = wanted.as_bytes().to_vec();
        past.push(0xFF);
        (
            lower.first_at_or_after(wanted.as_bytes()),
            lower.first_at_or_after(&past),
        )
    }

    /// Where the names numbered `ord` and after start in `by_name` order.
    pub(crate) fn name_place(&self, by_name: &[DocId], ord: u32) -> usize {
        let ords = self.name_ords();
        by_name.partition_point(|doc| ords[*doc as usize] < ord)
    }

    /// The segment's documents in name order, then id order (see `by_name`).
    pub(crate) fn by_name(&self) -> Option<&[DocId]> {
        self.by_name
            .get_or_init(|| {
                let ords = self.name_ords();
                if ords.contains(&NO_NAME) {
                    return None;
                }
                let mut docs: Vec<DocId> =
                    (0..ords.len()).filter_map(|d| d.try_into().ok()).collect();
                docs.sort_by_cached_key(|doc| (ords[*doc as usize], self.id(*doc)));
                Some(docs)
            })
            .as_deref()
    }

    /// The document's rank by id among the segment's documents (0 for the lowest id): ranks
    /// order as the ids do, so a page of a segment compares ranks, one read from memory, and
    /// reads the ids of its page alone.
    pub(crate) fn id_rank(&self, doc: DocId) -> u32 {
        self.id_order()
            .ranks
            .get(doc as usize)
            .copied()
            .unwrap_or(u32::MAX)
    }

    /// The segment's documents with id `id` (deleted ones too), in document order.
    pub(crate) fn docs_with_id(&self, id: u128) -> impl Iterator<Item = DocId> + '_ {
        let docs = &self.id_order().docs;
        let first = docs.partition_point(|&doc| self.id(doc) < id);
        docs[first..]
            .iter()
            .copied()
            .take_while(move |&doc| self.id(doc) == id)
    }

    /// The documents in id order, worked out once, on the segment's first page or fetch.
    fn id_order(&self) -> &IdOrder {
        self.id_order.get_or_init(|| {
            let ids: Vec<u128> = (0..self.max_doc).map(|doc| self.id(doc)).collect();
            let mut docs: Vec<DocId> = (0..self.max_doc).collect();
            docs.sort_unstable_by_key(|&doc| (ids[doc as usize], doc));
            let mut ranks = vec![0; docs.len()];
            for (rank, &doc) in (0u32..).zip(&docs) {
                ranks[doc as usize] = rank;
            }
            IdOrder { docs, ranks }
        })
    }

    pub(crate) fn id(&self, doc: DocId) -> u128 {
        joined_id(&self.id_hi, &self.id_lo, doc)
    }

    /// Reads the cards of some documents (see [`Self::card`]) a step at a time for all of
    /// them, so that the reads from memory of each step overlap rather than each document's
    /// three (its number, where its card lies, the card) waiting one on another.
    pub(crate) fn warm_cards(&self, docs: &[DocId]) {
        let Some(column) = self.card.as_ref() else {
            return;
        };
        let ords: Vec<u64> = docs
            .iter()
            .filter_map(|&doc| column.term_ords(doc).next())
            .collect();
        let cards = self.cards.get_or_init(|| self.read_cards(column));
        let mut seen = 0u8;
        for &ord in &ords {
            if let Some(card) = cards.bytes(ord) {
                seen ^= card.first().copied().unwrap_or_default();
            }
        }
        std::hint::black_box(seen);
    }

    /// `doc`'s value of the `card` column; `None` when it has none.
    pub(crate) fn card(&self, doc: DocId) -> Option<&[u8]> {
        let column = self.card.as_ref()?;
        let ord = column.term_ords(doc).next()?;
        self.cards
            .get_or_init(|| self.read_cards(column))
            .bytes(ord)
    }

    /// The `card` column's values, read from the segment's file when the index is on disk and
    /// the file reads as the column does; through the column otherwise (an index in memory, or
    /// a segment whose file a merge has already removed).
    fn read_cards(&self, column: &BytesColumn) -> Texts {
        let apart = self.dir.as_deref().and_then(|dir| {
            crate::dir::column_dictionary_apart(dir, self.segment, "card")
                .and_then(|dictionary| {
                    if dictionary.num_terms() == column.dictionary().num_terms() {
                        Texts::from_dictionary(&dictionary)
                    } else {
                        Err(std::io::Error::new(
                            std::io::ErrorKind::InvalidData,
                            "the file's cards are not the column's",
                        ))
                    }
                })
                .inspect_err(|err| {
                    tracing::debug!(error = %err, "cards read through the column");
                })
                .ok()
        });
        apart.unwrap_or_else(|| Texts::read(Some(column)))
    }

    fn open(reader: &SegmentReader, dir: Option<Arc<Path>>) -> tantivy::Result<Self> {
        let fast = reader.fast_fields();
        Ok(SegmentColumns {
            id_hi: fast.u64(schema::ID_HI)?,
            id_lo: fast.u64(schema::ID_LO)?,
            location: fast.u64("location")?,
            assured: fast.i64("assured")?,
            assured_days: OnceLock::new(),
            min_age: fast.f64("min_age")?,
            max_age: fast.f64("max_age")?,
            pregnancy: fast.str("pregnancy")?,
            eligibility: fast.str("eligibility")?,
            name_sort: fast.str("name_sort")?,
            name_ords: OnceLock::new(),
            lower_names: OnceLock::new(),
            by_name: OnceLock::new(),
            name_text: fast.str("name_text")?,
            card: fast.bytes("card")?,
            cards: OnceLock::new(),
            dir,
            segment: reader.segment_id(),
            text_ords: OnceLock::new(),
            texts: OnceLock::new(),
            completion: OnceLock::new(),
            name_words: OnceLock::new(),
            active: OnceLock::new(),
            filtered: Mutex::default(),
            facets: FACET_FIELDS
                .iter()
                .map(|f| fast.str(f))
                .collect::<tantivy::Result<Vec<_>>>()?,
            facet_sets: OnceLock::new(),
            max_doc: reader.max_doc(),
            points: OnceLock::new(),
            id_order: OnceLock::new(),
        })
    }
}

/// A segment's kept filter sets (see [`SegmentColumns::filtered`]).
#[derive(Default)]
struct FilterSets {
    /// Each set a bit per document, as a search's matches are kept.
    sets: FxHashMap<String, (Arc<Vec<u64>>, u64)>,
    clock: u64,
}

/// A segment's documents by facet value: for each of [`FACET_FIELDS`], each value the
/// segment holds with a bit per document that has it. Counting a field's values over a set of
/// matches is then a popcount per value, whatever the number of matches, instead of a column
/// read per match and value.
struct FacetSets {
    fields: Vec<Vec<(String, Vec<u64>)>>,
}

impl FacetSets {
    fn read(columns: &[Option<StrColumn>], max_doc: DocId) -> Self {
        let blocks = max_doc.div_ceil(64) as usize;
        let fields = columns
            .iter()
            .map(|column| {
                let Some(column) = column else {
                    return Vec::new();
                };
                let mut by_ord: Vec<Option<Vec<u64>>> = Vec::new();
                for doc in 0..max_doc {
                    for ord in column.term_ords(doc) {
                        let Ok(ord) = usize::try_from(ord) else {
                            continue;
                        };
                        if by_ord.len() <= ord {
                            by_ord.resize(ord + 1, None);
                        }
                        let bits = by_ord[ord].get_or_insert_with(|| vec![0; blocks]);
                        bits[doc as usize / 64] |= 1 << (doc % 64);
                    }
                }
                let mut values = Vec::new();
                for (ord, bits) in by_ord.into_iter().enumerate() {
                    let mut value = String::new();
                    if let Some(bits) = bits
                        && column.ord_to_str(ord as u64, &mut value).unwrap_or(false)
                    {
                        values.push((value, bits));
                    }
                }
                values
            })
            .collect();
        FacetSets { fields }
    }

    /// How many of `counted` (a bit per document) have each value, by field; values no
    /// counted document has are left out.
    fn count(&self, counted: &[u64]) -> [HashMap<String, u64>; FACET_FIELDS.len()] {
        // The blocks holding counted documents, so that a few matches cost little.
        let blocks: Vec<(usize, u64)> = counted
            .iter()
            .enumerate()
            .filter(|(_, bits)| **bits != 0)
            .map(|(block, bits)| (block, *bits))
            .collect();
        let mut counts: [HashMap<String, u64>; FACET_FIELDS.len()] = Default::default();
        for (values, into) in self.fields.iter().zip(counts.iter_mut()) {
            for (value, bits) in values {
                let count: u64 = blocks
                    .iter()
                    .map(|&(block, counted)| u64::from((counted & bits[block]).count_ones()))
                    .sum();
                if count > 0 {
                    into.insert(value.clone(), count);
                }
            }
        }
        counts
    }
}

/// How many bytes each piece of a [`Texts`] holds at least (a longer value has a piece of its
/// own).
const TEXTS_PIECE_BYTES: usize = 1 << 20;

/// A column's dictionary read out end to end, with where each value ends, by their number:
/// the names as written, the lower-case names, or the cards.
///
/// The values are kept in pieces of about a mebibyte, each value within one piece, rather than
/// in one buffer grown as it is read: such a buffer doubles as it grows and is copied each
/// time, so that reading the cards of 100,000 listings (a buffer of 56 MB at the end, by a
/// heap profile) briefly held both the old buffer and the new one, and kept up to twice the
/// bytes it needed.
#[derive(Default)]
struct Texts {
    pieces: Vec<Vec<u8>>,
    /// For each value, by number: its piece and where it ends in it. A value starts where the
    /// one before it ends, or at the start of its piece when that one is in another.
    ends: Vec<(u32, u32)>,
}

impl Texts {
    /// A column's dictionary, in one ordered pass (none for no column).
    fn read(column: Option<&BytesColumn>) -> Self {
        let mut texts = Texts::default();
        if let Some(column) = column
            && let Ok(mut stream) = column.dictionary().stream()
        {
            texts.ends.reserve_exact(column.dictionary().num_terms());
            while stream.advance() {
                texts.push(stream.key());
            }
        }
        texts
    }

    /// A dictionary's values in order, read a block at a time (a dictionary's stream, as in
    /// [`Texts::read`], reads all of it at once: from a file, the whole of it in memory).
    fn from_dictionary(dictionary: &Dictionary) -> std::io::Result<Self> {
        /// Values asked for at a time: bounds the numbers held while reading.
        const CHUNK: u64 = 4_096;
        let mut texts = Texts::default();
        let terms = dictionary.num_terms();
        texts.ends.reserve_exact(terms);
        let terms = u64::try_from(terms).unwrap_or(u64::MAX);
        let mut ords = Vec::new();
        let mut first = 0;
        while first < terms {
            ords.clear();
            ords.extend(first..terms.min(first + CHUNK));
            if !dictionary.sorted_ords_to_term_cb(&ords, |value| texts.push(value))? {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "a dictionary with fewer values than it counts",
                ));
            }
            first += CHUNK;
        }
        Ok(texts)
    }

    /// Adds the next value, in the last piece if it fits and in a new one if not.
    fn push(&mut self, value: &[u8]) {
        let fits = self
            .pieces
            .last()
            .is_some_and(|piece| piece.capacity() - piece.len() >= value.len());
        if !fits {
            self.pieces
                .push(Vec::with_capacity(value.len().max(TEXTS_PIECE_BYTES)));
        }
        let number = self.pieces.len() - 1;
        let piece = &mut self.pieces[number];
        piece.extend_from_slice(value);
        // (No piece or piece count reaches 4 GiB: a value is a name or a card.)
        let at = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        self.ends.push((at(number), at(piece.len())));
    }

    /// The number of values.
    fn len(&self) -> usize {
        self.ends.len()
    }

    /// The value numbered `ord`.
    fn bytes(&self, ord: u64) -> Option<&[u8]> {
        let ord = usize::try_from(ord).ok()?;
        let (piece, end) = *self.ends.get(ord)?;
        let start = match ord.checked_sub(1).and_then(|before| self.ends.get(before)) {
            Some(&(before, start)) if before == piece => start,
            _ => 0,
        };
        self.pieces
            .get(piece as usize)?
            .get(start as usize..end as usize)
    }

    /// The text numbered `ord` (`None` for a value that is not UTF-8, which a text column
    /// never holds).
    fn get(&self, ord: u32) -> Option<&str> {
        std::str::from_utf8(self.bytes(u64::from(ord))?).ok()
    }

    /// The number of the first text at or after `bytes` (the number of texts when none is).
    fn first_at_or_after(&self, bytes: &[u8]) -> u32 {
        let mut low = 0;
        let mut high = self.len();
        while low < high {
            let middle = low + (high - low) / 2;
            if self.bytes(middle as u64).unwrap_or_default() < bytes {
                low = middle + 1;
            } else {
                high = middle;
            }
        }
        u32::try_from(low).unwrap_or(SKIP)
    }
}

/// Opened columns by segment, shared by every search of an index (made by
/// [`ColumnCache::new`], which says where the index's files are).
pub struct ColumnCache {
    segments: Mutex<FxHashMap<SegmentId, Arc<SegmentColumns>>>,
    /// The directory of the index on disk; `None` for one in memory.
    dir: Option<Arc<Path>>,
}

impl std::fmt::Debug for ColumnCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ColumnCache").finish_non_exhaustive()
    }
}

impl ColumnCache {
    /// The cache of the index in `dir` (`None` for an index in memory).
    pub(crate) fn new(dir: Option<&Path>) -> Self {
        Self {
            segments: Mutex::default(),
            dir: dir.map(Arc::from),
        }
    }

    /// The columns of a segment, opened on first use.
    pub(crate) fn get(&self, reader: &SegmentReader) -> tantivy::Result<Arc<SegmentColumns>> {
        let id = reader.segment_id();
        if let Ok(segments) = self.segments.lock()
            && let Some(columns) = segments.get(&id)
        {
            return Ok(columns.clone());
        }
        let columns = Arc::new(SegmentColumns::open(reader, self.dir.clone())?);
        if let Ok(mut segments) = self.segments.lock() {
            segments.insert(id, columns.clone());
        }
        Ok(columns)
    }

    /// Forgets segments no longer in `live` (merged or deleted ones).
    pub fn retain(&self, live: &[SegmentId]) {
        if let Ok(mut segments) = self.segments.lock()
            && segments.len() > live.len()
        {
            segments.retain(|id, _| live.contains(id));
        }
    }
}

pub struct PageSegmentCollector {
    settings: PageCollector,
    segment: SegmentOrdinal,
    columns: Arc<SegmentColumns>,
    /// The documents whose catchment covers the place searched from (with `near`): a bit a
    /// document.
    covering: Option<Vec<u64>>,
    /// The eligibility column's ordinal of each checked [`UNCONFIRMED`] term, with its bit.
    unconfirmed_ords: Vec<(u64, u8)>,
    /// With facets, a bit per document counted (facets are counted from these at harvest).
    counted: Option<Vec<u64>>,
    total: u64,
    heap: BinaryHeap<Candidate>,
    /// In name order, where the page starts in this segment's names: the number of the first
    /// name after the cursor's, or of the cursor's own name (then ids decide) when the segment
    /// holds it.
    name_start: Option<NameStart>,
    /// The place distances are measured from.
    origin: Option<Origin>,
    /// The half-sides, in degrees of latitude and longitude, of the box around the radius.
    box_degrees: Option<(f64, f64)>,
    /// The radius, to tell what lies within it on the chord.
    chord_radius: Option<ChordRadius>,
    /// In distance order, the distance of the farthest service of the full page, as last
    /// compared against.
    beyond: Option<(f64, ChordRadius)>,
}

/// Where a page in name order starts in one segment's numbered names.
#[derive(Clone, Copy, Debug)]
enum NameStart {
    /// The cursor's name is this one: those after it, and itself with a greater id.
    At(u32),
    /// The cursor's name is not in the segment; this is the first one after it.
    Before(u32),
}

impl NameStart {
    /// Whether a name numbered `ord` (with the document's id, read only when needed) comes
    /// after the cursor.
    fn admits(self, ord: u32, after_id: u128, id: impl FnOnce() -> u128) -> bool {
        match self {
            NameStart::At(at) => ord > at || (ord == at && id() > after_id),
            NameStart::Before(first) => ord >= first,
        }
    }
}

/// A document's id from the two halves its columns hold (0 for none).
fn joined_id(hi: &Column<u64>, lo: &Column<u64>, doc: DocId) -> u128 {
    schema::joined_id(
        hi.first(doc).unwrap_or_default(),
        lo.first(doc).unwrap_or_default(),
    )
}

/// The key of the entry used longest ago, of entries that hold when they were last used.
pub(crate) fn least_recent<K: Clone, V, S>(entries: &HashMap<K, (V, u64), S>) -> Option<K> {
    entries
        .iter()
        .min_by_key(|(_, (_, used))| *used)
        .map(|(key, _)| key.clone())
}

/// The documents a weight matches in a segment (deleted ones included), a bit per document.
pub(crate) fn weight_docs(
    weight: &dyn Weight,
    reader: &SegmentReader,
) -> tantivy::Result<Vec<u64>> {
    let mut set = vec![0u64; reader.max_doc().div_ceil(64) as usize];
    weight.for_each_no_score(reader, &mut |docs| {
        for doc in docs {
            set_bit(&mut set, *doc);
        }
    })?;
    Ok(set)
}

/// Inserts every document of `postings` into `set`.
pub(crate) fn insert_all(set: &mut BitSet, mut postings: impl DocSet) {
    let mut doc = postings.doc();
    while doc != TERMINATED {
        set.insert(doc);
        doc = postings.advance();
    }
}

/// The texts of some of a column's dictionary numbers, read in one ordered pass.
struct Spelled {
    ords: Vec<u64>,
    texts: Vec<String>,
}

impl Spelled {
    fn read(column: &StrColumn, ords: impl IntoIterator<Item = u64>) -> tantivy::Result<Self> {
        let mut ords: Vec<u64> = ords.into_iter().collect();
        ords.sort_unstable();
        ords.dedup();
        let mut texts = Vec::with_capacity(ords.len());
        column.dictionary().sorted_ords_to_term_cb(&ords, |bytes| {
            texts.push(String::from_utf8_lossy(bytes).into_owned());
        })?;
        Ok(Spelled { ords, texts })
    }

    fn get(&self, ord: u64) -> Option<&str> {
        let at = self.ords.binary_search(&ord).ok()?;
        self.texts.get(at).map(String::as_str)
    }
}

/// Replaces the name numbers of one segment's candidates by the names.
fn spell_names(columns: &SegmentColumns, candidates: &mut [Candidate]) {
    let names = columns.name_sort.as_ref().and_then(|column| {
        let ords = candidates
            .iter()
            .filter(|c| c.name_ord != NO_NAME)
            .map(|c| u64::from(c.name_ord));
        Spelled::read(column, ords).ok()
    });
    for candidate in candidates {
        let name = names
            .as_ref()
            .and_then(|names| names.get(u64::from(candidate.name_ord)))
            .unwrap_or_default();
        candidate.key = SortKey::Text(name.to_owned());
    }
}

/// Where a page in name order after `key` starts among a column's numbered names.
fn name_start(column: &StrColumn, key: &str) -> tantivy::Result<NameStart> {
    let (ord, exact) = first_at_or_after(column, key.as_bytes())?;
    Ok(if exact {
        NameStart::At(ord)
    } else {
        NameStart::Before(ord)
    })
}

/// The number of the first text at or after `bytes` in a column's sorted dictionary (the number
/// of texts when none is), and whether it is `bytes` itself.
fn first_at_or_after(column: &StrColumn, bytes: &[u8]) -> tantivy::Result<(u32, bool)> {
    let mut stream = column.dictionary().range().ge(bytes).into_stream()?;
    let (ord, exact) = if stream.advance() {
        (stream.term_ord(), stream.key() == bytes)
    } else {
        (column.dictionary().num_terms() as u64, false)
    };
    Ok((u32::try_from(ord).unwrap_or(SKIP), exact))
}

impl Collector for PageCollector {
    type Fruit = PageFruit;
    type Child = PageSegmentCollector;

    fn for_segment(
        &self,
        segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<PageSegmentCollector> {
        let columns = self.columns.get(reader)?;
        // The segment's services whose catchment holds the place: the union of its terms'
        // documents, read once, so that each match asks one bit. Only a service without a
        // location is asked (see `covers_point`): a segment with none reads nothing.
        let covering =
            if self.point.is_some() && !self.point_coverage.is_empty() && columns.has_unlocated() {
                Some(columns.any_term(reader, self.covers_field, &self.point_coverage)?)
            } else {
                None
            };
        let mut unconfirmed_ords = Vec::new();
        if let Some(column) = &columns.eligibility {
            for (i, (_, term)) in UNCONFIRMED.iter().enumerate() {
                let bit = 1 << i;
                if self.checked & bit != 0
                    && let Some(ord) = column.dictionary().term_ord(term.as_bytes())?
                {
                    unconfirmed_ords.push((ord, bit));
                }
            }
        }
        let counted = self
            .facets
            .then(|| vec![0; reader.max_doc().div_ceil(64) as usize]);
        let name_start = match (&self.after, &columns.name_sort) {
            (
                Some(After {
                    key: SortKey::Text(key),
                    ..
                }),
                Some(column),
            ) if self.sort == Sort::Name => Some(name_start(column, key)?),
            _ => None,
        };
        Ok(PageSegmentCollector {
            settings: self.clone(),
            segment,
            columns,
            covering,
            unconfirmed_ords,
            counted,
            total: 0,
            heap: BinaryHeap::new(),
            name_start,
            origin: self.point.map(|(lat, lon, _)| Origin::new(lat, lon)),
            box_degrees: self.point.and_then(|(lat, _, radius)| {
                radius.map(|r| (r * 1.01 / 111.0 + 1e-6, longitude_span(lat, r)))
            }),
            chord_radius: self
                .point
                .and_then(|(lat, lon, radius)| radius.map(|r| ChordRadius::new((lat, lon), r))),
            beyond: None,
        })
    }

    fn requires_scoring(&self) -> bool {
        self.has_text
    }

    /// By relevance, the matches are counted at once (with facets, each match marked for
    /// them) and only those whose text score may still enter the page are offered to it (the
    /// query skips the others, see [`crate::scores`]); with a radius the query measured, the
    /// matches within it are known from their bits (see
    /// [`PageSegmentCollector::count_within`]), so radius searches are pruned too. In distance
    /// order without text, the matches are counted, then offered: within such a radius each
    /// of them, without one nearest first. Otherwise every match is collected.
    fn collect_segment(
        &self,
        weight: &dyn Weight,
        segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<PageFruit> {
        let mut child = self.for_segment(segment, reader)?;
        let alive = reader.alive_bitset();
        let radius = self.point.and_then(|(_, _, radius)| radius);
        // With a radius, the matches within it: only when the query measured them.
        let exact_radius = radius.is_some() && self.radius_filtered;
        let by_relevance = self.sort == Sort::Relevance
            && self.has_text
            && self.after.is_none()
            && self.min_score <= 0.0;
        let prunes = by_relevance && (radius.is_none() || exact_radius);
        if prunes {
            let within = if exact_radius {
                Some(child.count_within(weight, reader)?)
            } else {
                if child.counted.is_some() {
                    let (matching, total) = live_matches(weight, reader)?;
                    child.total = total;
                    child.counted = Some(matching);
                } else {
                    child.total = u64::from(weight.count(reader)?);
                }
                None
            };
            weight.for_each_pruning(f32::NEG_INFINITY, reader, &mut |doc, score| {
                let counted = match &within {
                    Some(within) => has_bit(within, doc),
                    None => alive.is_none_or(|alive| alive.is_alive(doc)),
                };
                if counted {
                    child.offer(doc, score);
                }
                child.threshold()
            })?;
        } else if exact_radius && self.sort == Sort::Distance && !self.has_text {
            // Within a radius the matches are few: each is offered, and a full page turns
            // away those surely farther than its last at a glance.
            let matching = child.count_within(weight, reader)?;
            child.offer_together(matching.iter().copied().enumerate());
        } else if let Some((latitude, longitude, None)) = self
            .point
            .filter(|_| self.sort == Sort::Distance && !self.has_text)
        {
            // Nearest first: every match is counted (and marked for facets), then offered box
            // by widening box until the page's farthest service lies inside the box: nothing
            // beyond it could enter the page.
            let (matching, total) = live_matches(weight, reader)?;
            child.total = total;
            if child.counted.is_some() {
                child.counted = Some(matching.clone());
            }
            let mut walked = vec![0u64; matching.len()];
            for radius_km in NEAR_RINGS_KM {
                let (latitudes, longitudes) = box_around(latitude, longitude, radius_km);
                let inside = child.columns.near_box(latitudes, longitudes);
                let ring =
                    walked
                        .iter_mut()
                        .zip(&inside)
                        .enumerate()
                        .map(|(block, (walked, inside))| {
                            let bits = matching[block] & inside & !*walked;
                            *walked |= inside;
                            (block, bits)
                        });
                child.offer_together(ring);
                if child.full_within(radius_km) {
                    return Ok(child.harvest());
                }
            }
            let rest = walked
                .iter()
                .enumerate()
                .map(|(block, walked)| (block, matching[block] & !walked));
            child.offer_together(rest);
        } else if self.has_text {
            weight.for_each(reader, &mut |doc, score| {
                if alive.is_none_or(|alive| alive.is_alive(doc)) {
                    child.collect(doc, score);
                }
            })?;
        } else {
            weight.for_each_no_score(reader, &mut |docs| {
                for doc in docs {
                    if alive.is_none_or(|alive| alive.is_alive(*doc)) {
                        child.collect(*doc, 0.0);
                    }
                }
            })?;
        }
        Ok(child.harvest())
    }

    fn merge_fruits(&self, fruits: Vec<PageFruit>) -> tantivy::Result<PageFruit> {
        let mut merged = PageFruit::default();
        for fruit in fruits {
            merged.total += fruit.total;
            merged.candidates.extend(fruit.candidates);
            for (into, from) in merged.facets.iter_mut().zip(fruit.facets) {
                for (value, count) in from {
                    *into.entry(value).or_default() += count;
                }
            }
        }
        merged.candidates.sort();
        merged.candidates.truncate(self.keep);
        Ok(merged)
    }
}

impl PageSegmentCollector {
    /// The distance to the nearest location (`Some(None)`: no distance), or `None` when the
    /// document falls outside the radius.
    fn distance(&self, doc: DocId) -> Option<Option<f64>> {
        let (Some((lat, lon, radius)), Some(origin)) = (self.settings.point, self.origin) else {
            return Some(None);
        };
        let points = self.columns.points(doc);
        let nearest = points
            .iter()
            .filter(|point| {
                // Outside the box around the radius: surely too far, no need to measure.
                self.box_degrees.is_none_or(|(dlat, dlon)| {
                    (point.latitude - lat).abs() <= dlat && (point.longitude - lon).abs() <= dlon
                })
            })
            .map(|point| {
                origin.distance_km_from_cos(point.latitude, point.longitude, point.cos_latitude)
            })
            .min_by(f64::total_cmp);
        if !points.is_empty() && nearest.is_none() {
            return None;
        }
        Some(match (nearest, radius) {
            (Some(km), Some(radius)) if km > radius => return None,
            (Some(km), _) => Some(km),
            (None, Some(_)) => {
                if !self.covers_point(doc) {
                    return None;
                }
                None
            }
            (None, None) => None,
        })
    }

    /// Whether the document lies within the radius, as [`Self::distance`] would tell (it is
    /// `Some`), measuring only the points at the radius's edge (see [`ChordRadius`]). Every
    /// point within the radius lies in the box around it, so the box need not be asked; when
    /// the query measured the documents already (`radius_filtered`), only those without a
    /// location are asked, about their catchment.
    fn within_radius(&self, doc: DocId) -> bool {
        let Some(radius) = &self.chord_radius else {
            return self.distance(doc).is_some();
        };
        if self.settings.radius_filtered {
            return !self.columns.unlocated(doc) || self.covers_point(doc);
        }
        let points = self.columns.points(doc);
        if points.is_empty() {
            return self.covers_point(doc);
        }
        points
            .iter()
            .any(|point| radius.holds(&point.unit, || (point.latitude, point.longitude)))
    }

    /// In distance order from a place, with a full page whose last lies at a distance: that
    /// distance (see [`Self::surely_beyond`]). `None` otherwise.
    #[inline]
    fn beyond_full_page(&mut self) -> Option<ChordRadius> {
        if self.settings.sort != Sort::Distance || self.heap.len() < self.settings.keep {
            return None;
        }
        let (lat, lon, _) = self.settings.point?;
        let km = self.heap.peek().and_then(|worst| match worst.key {
            SortKey::Number(km) if km.is_finite() => Some(km),
            _ => None,
        })?;
        Some(match self.beyond {
            Some((at, beyond)) if at.to_bits() == km.to_bits() => beyond,
            _ => {
                let beyond = ChordRadius::new((lat, lon), km);
                self.beyond = Some((km, beyond));
                beyond
            }
        })
    }

    /// Whether every location of the document lies surely farther than `beyond`'s distance
    /// from its point (or it has none, and so no distance), without measuring: `false` says
    /// nothing.
    #[inline]
    fn surely_beyond(&self, doc: DocId, beyond: &ChordRadius) -> bool {
        self.columns
            .points(doc)
            .iter()
            .all(|point| beyond.surely_beyond(&point.unit))
    }

    /// Of the living matches of a query that measured its radius, those within the radius (a
    /// bit per document), counted as the total and, with facets, marked for them. They are
    /// the documents [`Self::within_radius`] keeps: those with a location (the query kept
    /// only those within the circle) and, of those without one, those whose catchment holds
    /// the place.
    fn count_within(
        &mut self,
        weight: &dyn Weight,
        reader: &SegmentReader,
    ) -> tantivy::Result<Vec<u64>> {
        let (mut matching, _) = live_matches(weight, reader)?;
        let unlocated = &self.columns.decoded_points().unlocated;
        let covering = self.covering.as_deref().unwrap_or_default();
        for (block, bits) in matching.iter_mut().enumerate() {
            let unlocated = unlocated.get(block).copied().unwrap_or(0);
            let covering = covering.get(block).copied().unwrap_or(0);
            *bits &= !unlocated | covering;
        }
        self.total = matching
            .iter()
            .map(|block| u64::from(block.count_ones()))
            .sum();
        if self.counted.is_some() {
            self.counted = Some(matching.clone());
        }
        Ok(matching)
    }

    /// Whether the service's catchment covers the place searched from.
    fn covers_point(&self, doc: DocId) -> bool {
        self.covering
            .as_deref()
            .is_some_and(|covering| has_bit(covering, doc))
    }

    /// In name order, the document's name number, or [`SKIP`] when the page has no room for
    /// it (before the cursor, or after a full page's last name); [`NO_NAME`] otherwise.
    fn name_ord(&self, doc: DocId) -> u32 {
        if self.settings.sort != Sort::Name {
            return NO_NAME;
        }
        let ord = self
            .columns
            .name_ords()
            .get(doc as usize)
            .copied()
            .unwrap_or(NO_NAME);
        if ord == NO_NAME {
            return NO_NAME;
        }
        if let (Some(start), Some(after)) = (self.name_start, &self.settings.after)
            && !start.admits(ord, after.id, || self.columns.id(doc))
        {
            return SKIP;
        }
        if self.heap.len() >= self.settings.keep
            && self.heap.peek().is_some_and(|worst| worst.name_ord < ord)
        {
            return SKIP;
        }
        ord
    }

    /// Collects a page in name order from the segment's `matching` documents (`total` of
    /// them), as [`SegmentCollector::collect`] would from each of them, reading as few as it
    /// can: a large set is walked in name order from the cursor until the page is full, a small
    /// one is read through. Only for searches without text, facets or a place.
    pub fn collect_in_name_order(&mut self, matching: &[u64], total: u64) {
        let walk = self.settings.sort == Sort::Name
            && total.saturating_mul(WALK_SHARE) >= u64::from(self.columns.max_doc);
        let columns = self.columns.clone();
        match columns.by_name().filter(|_| walk) {
            Some(order) => {
                let start = match self.name_start {
                    Some(NameStart::At(first) | NameStart::Before(first)) => {
                        columns.name_place(order, first)
                    }
                    None => 0,
                };
                for doc in &order[start..] {
                    if self.heap.len() >= self.settings.keep {
                        break;
                    }
                    if has_bit(matching, *doc) {
                        self.collect(*doc, 1.0);
                    }
                }
            }
            None => {
                for (block, bits) in matching.iter().enumerate() {
                    for_each_bit(block, *bits, |doc| self.collect(doc, 1.0));
                }
            }
        }
        self.total = total;
    }

    /// The key the segment orders by; in name order, the name's number (spelled out at harvest).
    fn sort_key(&self, doc: DocId, score: f32, distance: Option<f64>, name_ord: u32) -> SortKey {
        match self.settings.sort {
            Sort::Relevance => SortKey::Number(-f64::from(score)),
            Sort::Distance => SortKey::Number(distance.unwrap_or(f64::INFINITY)),
            Sort::RecentlyVerified => match self.columns.assured_day(doc) {
                i64::MIN => SortKey::Number(f64::INFINITY),
                #[expect(clippy::cast_precision_loss, reason = "day numbers are small")]
                day => SortKey::Number(-(day as f64)),
            },
            // No name comes first, as the empty name does.
            Sort::Name if name_ord == NO_NAME => SortKey::Number(-1.0),
            Sort::Name => SortKey::Number(f64::from(name_ord)),
        }
    }
}

/// The documents `weight` matches in a segment, less the deleted ones, a bit a document, and
/// how many they are.
pub(crate) fn live_matches(
    weight: &dyn Weight,
    reader: &SegmentReader,
) -> tantivy::Result<(Vec<u64>, u64)> {
    if let Some(live) = crate::scores::live_bits(weight, reader)? {
        return Ok(live);
    }
    let alive = reader.alive_bitset();
    let mut matching = vec![0u64; reader.max_doc().div_ceil(64) as usize];
    let mut total = 0;
    weight.for_each_no_score(reader, &mut |docs| {
        for &doc in docs {
            if alive.is_none_or(|alive| alive.is_alive(doc)) {
                total += 1;
                matching[doc as usize / 64] |= 1 << (doc % 64);
            }
        }
    })?;
    Ok((matching, total))
}

/// Sets a document's bit in `bits` (a bit per document).
fn set_bit(bits: &mut [u64], doc: DocId) {
    if let Some(block) = bits.get_mut(doc as usize / 64) {
        *block |= 1 << (doc % 64);
    }
}

/// Whether `bits` (a bit per document) holds the document.
pub(crate) fn has_bit(bits: &[u64], doc: DocId) -> bool {
    bits.get(doc as usize / 64)
        .is_some_and(|block| block & (1 << (doc % 64)) != 0)
}

/// Calls `each` with the documents of block `block` whose bits `bits` holds.
pub(crate) fn for_each_bit(block: usize, mut bits: u64, mut each: impl FnMut(DocId)) {
    let base = u32::try_from(block * 64).unwrap_or(u32::MAX);
    while bits != 0 {
        each(base + bits.trailing_zeros());
        bits &= bits - 1;
    }
}

impl PageSegmentCollector {
    /// The `id` of a candidate for the document until the harvest (see `Candidate::id`).
    fn candidate_id(&self, doc: DocId) -> u128 {
        u128::from(self.columns.id_rank(doc))
    }

    /// In distance order, whether the page is full and its farthest service lies within
    /// `radius_km`.
    fn full_within(&self, radius_km: f64) -> bool {
        self.heap.len() >= self.settings.keep
            && self.heap.peek().is_some_and(|worst| match worst.key {
                SortKey::Number(km) => km <= radius_km,
                SortKey::Text(_) => false,
            })
    }

    /// The text score a match must pass to have a chance of entering the page, once it is
    /// full (by relevance, every factor of the final score is at most 1). A match that could
    /// at best tie with the page's last may still enter it on its lower id (the walk is not in
    /// id order): [`Self::offer`] tells by the id.
    fn threshold(&self) -> Score {
        match self.heap.peek() {
            #[expect(clippy::cast_possible_truncation, reason = "the key is a negated f32")]
            Some(Candidate {
                key: SortKey::Number(key),
                ..
            }) if self.heap.len() >= self.settings.keep => (-*key as f32).next_down(),
            _ => f32::NEG_INFINITY,
        }
    }

    /// Offers counted matches without text (score 0): the documents of `blocks` (each a
    /// block's number and its bits), in order, [`OFFERED_TOGETHER`] at a time, each few read
    /// together first (see [`SegmentColumns::warm`]).
    fn offer_together(&mut self, blocks: impl IntoIterator<Item = (usize, u64)>) {
        let mut waiting = [0; OFFERED_TOGETHER];
        let mut len = 0;
        for (block, bits) in blocks {
            for_each_bit(block, bits, |doc| {
                waiting[len] = doc;
                len += 1;
                if len == OFFERED_TOGETHER {
                    self.offer_read_together(&waiting);
                    len = 0;
                }
            });
        }
        self.offer_read_together(&waiting[..len]);
    }

    /// Reads what offering `docs` reads of them in one pass, then offers each (score 0). In
    /// distance order with a full page, the matches surely farther than its last are passed
    /// over first, as [`Self::offer`] would turn them away, before anything else of them is
    /// read: a page's last only comes nearer, so none of them could enter it later either.
    fn offer_read_together(&mut self, docs: &[DocId]) {
        let mut near = [0; OFFERED_TOGETHER];
        let docs = match self.beyond_full_page() {
            Some(beyond) => {
                let mut len = 0;
                for &doc in docs {
                    if !self.surely_beyond(doc, &beyond) {
                        near[len] = doc;
                        len += 1;
                    }
                }
                &near[..len]
            }
            None => docs,
        };
        if docs.is_empty() {
            return;
        }
        self.columns.warm(docs, self.settings.point.is_some());
        for &doc in docs {
            self.offer(doc, 0.0);
        }
    }

    /// A counted match (within any radius) that may enter the page.
    fn offer(&mut self, doc: DocId, score: Score) {
        let name_ord = self.name_ord(doc);
        if name_ord == SKIP {
            return;
        }
        // In distance order, a match surely farther than the worst of a full page cannot enter
        // it (at the same distance, its id decides).
        if let Some(beyond) = self.beyond_full_page()
            && self.surely_beyond(doc, &beyond)
        {
            return;
        }
        let mut final_score = if self.settings.has_text { score } else { 1.0 };
        // Every factor below is at most 1: by relevance, a match whose text score cannot beat
        // the worst of a full page is counted but goes no further. Nor can one whose text score
        // at best ties with it and whose id comes after its (ties are common: matches with the
        // same words in texts of the same length).
        if self.settings.sort == Sort::Relevance
            && self.settings.after.is_none()
            && self.heap.len() >= self.settings.keep
            && self.heap.peek().is_some_and(|worst| match worst.key {
                SortKey::Number(key) => {
                    let at_best = -f64::from(final_score);
                    at_best > key || (at_best == key && self.candidate_id(doc) > worst.id)
                }
                SortKey::Text(_) => false,
            })
        {
            return;
        }
        let assured = self.columns.assured_day(doc);
        let stale = assured == i64::MIN || self.settings.today - assured > STALE_AFTER_DAYS;
        let age_mismatch = self.settings.age_hint.is_some_and(|age| {
            let fits = self.columns.min_age.first(doc).unwrap_or(-1.0) <= age
                && self.columns.max_age.first(doc).unwrap_or(f64::MAX) >= age;
            !fits
        });
        let pregnancy_mismatch = self.settings.pregnancy_hint
            && self
                .columns
                .pregnancy
                .as_ref()
                .is_none_or(|column| column.term_ords(doc).next().is_none());
        let mut unconfirmed = 0u8;
        let mut unconfirmed_count = 0;
        if !self.unconfirmed_ords.is_empty()
            && let Some(column) = &self.columns.eligibility
        {
            for ord in column.term_ords(doc) {
                for (wanted, bit) in &self.unconfirmed_ords {
                    if ord == *wanted {
                        unconfirmed |= bit;
                        unconfirmed_count += 1;
                    }
                }
            }
        }
        // The factors in their order, the distance's (at most 1) second.
        let scored = |mut score: f32, distance: f32| {
            if stale {
                score *= STALE_FACTOR;
            }
            score *= distance;
            if age_mismatch {
                score *= AGE_MISMATCH_FACTOR;
            }
            if pregnancy_mismatch {
                score *= PREGNANCY_MISMATCH_FACTOR;
            }
            for _ in 0..unconfirmed_count {
                score *= UNCONFIRMED_FACTOR;
            }
            score
        };
        // By relevance, a match that could not enter a full page with the nearest of
        // distances is not measured (rounding keeps a product with a factor of at most 1 no
        // larger than without it).
        if self.settings.sort == Sort::Relevance
            && self.settings.after.is_none()
            && self.heap.len() >= self.settings.keep
            && self.heap.peek().is_some_and(|worst| match worst.key {
                SortKey::Number(key) => -f64::from(scored(final_score, 1.0)) > key,
                SortKey::Text(_) => false,
            })
        {
            return;
        }
        let distance = self.distance(doc).unwrap_or(None);
        let distance_factor = if self.settings.point.is_some() {
            match distance {
                Some(_) => distance_factor(distance),
                // Without a location, a service is near when its catchment covers the place,
                // and as good as far away when it does not.
                None if self.covers_point(doc) => NO_LOCATION_FACTOR,
                None => FAR_FACTOR,
            }
        } else {
            1.0
        };
        final_score = scored(final_score, distance_factor);
        let key = self.sort_key(doc, final_score, distance, name_ord);
        // A key after the worst of a full page cannot enter it whatever the id: the id is read
        // only to place a match that may (most matches of a large search are turned away here).
        if self.heap.len() >= self.settings.keep
            && self
                .heap
                .peek()
                .is_some_and(|worst| key.cmp(&worst.key) == Ordering::Greater)
        {
            return;
        }
        let id = self.candidate_id(doc);
        let candidate = Candidate {
            key,
            id,
            address: DocAddress::new(self.segment, doc),
            score: final_score,
            distance_km: distance,
            unconfirmed,
            name_ord,
        };
        // In name order the cursor was placed among the segment's names (`name_ord`), unless
        // the segment has none: then every key is the empty name.
        let placed = self.settings.sort == Sort::Name && self.name_start.is_some();
        if let Some(after) = &self.settings.after
            && !placed
        {
            let key = if self.settings.sort == Sort::Name {
                &SortKey::Text(String::new())
            } else {
                &candidate.key
            };
            if key
                .cmp(&after.key)
                .then_with(|| self.columns.id(doc).cmp(&after.id))
                != Ordering::Greater
            {
                return;
            }
        }
        if self.heap.len() < self.settings.keep {
            self.heap.push(candidate);
        } else if let Some(mut worst) = self.heap.peek_mut()
            && candidate < *worst
        {
            // Put in the worst's place, then sifted down once (not a pop and a push).
            *worst = candidate;
        }
    }
}

impl SegmentCollector for PageSegmentCollector {
    type Fruit = PageFruit;

    fn collect(&mut self, doc: DocId, score: Score) {
        if self.settings.has_text && score < self.settings.min_score {
            return;
        }
        // A radius leaves out what lies beyond it, so it is measured first; without one the
        // distance only ranks, and is measured once the match may still enter the page.
        if self
            .settings
            .point
            .is_some_and(|(_, _, radius)| radius.is_some())
            && !self.within_radius(doc)
        {
            return;
        }
        self.total += 1;
        if let Some(counted) = &mut self.counted {
            counted[doc as usize / 64] |= 1 << (doc % 64);
        }
        self.offer(doc, score);
    }

    fn harvest(self) -> PageFruit {
        let facets = match &self.counted {
            Some(counted) => self.columns.facet_sets().count(counted),
            None => Default::default(),
        };
        let mut candidates = self.heap.into_vec();
        for candidate in &mut candidates {
            candidate.id = self.columns.id(candidate.address.doc_id);
        }
        if self.settings.sort == Sort::Name {
            spell_names(&self.columns, &mut candidates);
        }
        PageFruit {
            total: self.total,
            candidates,
            facets,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_kept_in_pieces_read_back_as_they_were_written() {
        // Values in order (as a dictionary gives them), of every length from empty to longer
        // than a piece, so that they fill pieces, spill into new ones and take one alone.
        let mut values: Vec<Vec<u8>> = (0..5_000_u32)
            .map(|n| {
                let len = usize::try_from(n * 7919 % 1_500).expect("small");
                let mut value = format!("{n:06}").into_bytes();
                value.resize(len.max(6), b'x');
                value
            })
            .collect();
        values.insert(0, Vec::new());
        values.push(format!("{:06}", 9_999_999).into_bytes());
        values.push(b"zz".to_vec());
        values.push(vec![b'z'; TEXTS_PIECE_BYTES + 10]);
        let mut texts = Texts::default();
        for value in &values {
            texts.push(value);
        }
        assert!(texts.pieces.len() > 3, "{} pieces", texts.pieces.len());
        assert_eq!(texts.len(), values.len());
        for (ord, value) in values.iter().enumerate() {
            assert_eq!(texts.bytes(ord as u64), Some(&value[..]), "value {ord}");
        }
        assert_eq!(texts.bytes(values.len() as u64), None);
        // Every byte kept once, with no piece holding more than a piece (or its one value).
        let kept: usize = texts.pieces.iter().map(Vec::len).sum();
        assert_eq!(kept, values.iter().map(Vec::len).sum::<usize>());
        assert!(
            texts
                .pieces
                .iter()
                .all(|piece| piece.capacity() <= TEXTS_PIECE_BYTES + 10)
        );
        assert_eq!(texts.first_at_or_after(b""), 0);
        assert_eq!(texts.first_at_or_after(b"002500"), 2_501);
        assert_eq!(
            texts.first_at_or_after(b"{"),
            u32::try_from(values.len()).expect("small")
        );
    }

    #[test]
    fn a_segment_keeps_as_many_filters_at_any_size() {
        // Small segments keep more sets, within the cap; one of 100,000 listings fills the
        // bytes; larger ones keep as many sets as that, in more bytes.
        assert_eq!(filter_sets_kept(1_000), FILTER_SETS_MOST);
        let at_100k = filter_sets_kept(100_000);
        assert!((FILTER_SETS_LEAST..FILTER_SETS_MOST).contains(&at_100k));
        assert_eq!(filter_sets_kept(500_000), FILTER_SETS_LEAST);
        assert_eq!(filter_sets_kept(5_000_000), FILTER_SETS_LEAST);
    }
}
