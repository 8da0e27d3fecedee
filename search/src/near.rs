//! The documents that may lie within a radius of a point, found on a grid of their locations
//! rather than by measuring every match: those with a location within the circle, measured in
//! the grid's order, and those without one (their catchment decides).

use std::sync::Arc;

use tantivy::{
    BitSet, DocId, Score, SegmentReader, TantivyError,
    query::{BitSetDocSet, ConstScorer, EnableScoring, Explanation, Query, Scorer, Weight},
};

use crate::{
    collector::ColumnCache,
    geo::{ChordRadius, longitude_span},
};

/// Matches (without scoring) the documents a radius around a point keeps, with those without a
/// location.
#[derive(Clone)]
pub struct NearQuery {
    pub latitude: f64,
    pub longitude: f64,
    pub radius_km: f64,
    pub columns: Arc<ColumnCache>,
}

impl std::fmt::Debug for NearQuery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NearQuery")
            .field("latitude", &self.latitude)
            .field("longitude", &self.longitude)
            .field("radius_km", &self.radius_km)
            .finish_non_exhaustive()
    }
}

impl NearQuery {
    /// A bit per document of the segment: those with a location within the radius and those
    /// without a location. The circle is told as the collector tells it
    /// ([`ChordRadius::holds`]), so nothing it keeps is left out.
    pub fn bits(&self, reader: &SegmentReader) -> tantivy::Result<Vec<u64>> {
        let around = box_around(self.latitude, self.longitude, self.radius_km);
        let radius = ChordRadius::new((self.latitude, self.longitude), self.radius_km);
        Ok(self.columns.get(reader)?.near_circle(&radius, around))
    }
}

/// A box: its least and greatest latitudes, and its least and greatest longitudes (degrees).
pub type Around = ((f64, f64), (f64, f64));

/// The latitudes and longitudes of a box holding every point within `radius_km` of a point.
pub fn box_around(latitude: f64, longitude: f64, radius_km: f64) -> Around {
    let dlat = radius_km * 1.01 / 111.0 + 1e-6;
    let dlon = longitude_span(latitude, radius_km);
    (
        (latitude - dlat, latitude + dlat),
        (longitude - dlon, longitude + dlon),
    )
}

impl Query for NearQuery {
    fn weight(&self, _: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(self.clone()))
    }
}

impl Weight for NearQuery {
    fn scorer(&self, reader: &SegmentReader, _boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let mut set = BitSet::with_max_value(reader.max_doc());
        for (block, bits) in self.bits(reader)?.into_iter().enumerate() {
            let mut bits = bits;
            while bits != 0 {
                let doc = u32::try_from(block * 64).unwrap_or(u32::MAX) + bits.trailing_zeros();
                set.insert(doc);
                bits &= bits - 1;
            }
        }
        Ok(Box::new(ConstScorer::new(BitSetDocSet::from(set), 0.0)))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let near = self
            .bits(reader)?
            .get(doc as usize / 64)
            .is_some_and(|bits| bits & (1 << (doc % 64)) != 0);
        if near {
            Ok(Explanation::new("near the point", 0.0))
        } else {
            Err(TantivyError::InvalidArgument(format!(
                "document #({doc}) does not match"
            )))
        }
    }
}
