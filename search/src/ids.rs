//! Deleting listings by id. The index keeps no term for a listing's id: its 16 bytes are in the
//! `id_hi` and `id_lo` columns, which hits read their ids from. (As terms, 100,000 ids, each
//! unique, cost a rebuild about 6% of its CPU, in the term dictionaries it writes and merges.) So a batch of changes deletes its listings with one [`IdsQuery`], which reads the
//! `id_hi` column of each segment once.

use std::sync::Arc;

use tantivy::{
    BitSet, DocId, Score, SegmentReader, TantivyError,
    columnar::Column,
    query::{BitSetDocSet, ConstScorer, EnableScoring, Explanation, Query, Scorer, Weight},
};

use crate::schema::{ID_HI, ID_LO, id_halves, joined_id};

/// The documents whose id is one of a set of ids.
#[derive(Clone, Debug)]
pub(crate) struct IdsQuery {
    ids: Arc<Ids>,
}

/// Ids, ordered, with the distinct high halves of them, ordered.
#[derive(Debug)]
struct Ids {
    ids: Vec<u128>,
    highs: Vec<u64>,
}

impl IdsQuery {
    /// The documents with any of `ids`.
    pub(crate) fn new(ids: impl IntoIterator<Item = uuid::Uuid>) -> Self {
        let mut ids: Vec<u128> = ids.into_iter().map(|id| id.as_u128()).collect();
        ids.sort_unstable();
        ids.dedup();
        let mut highs: Vec<u64> = ids.iter().map(|id| id_halves(*id).0).collect();
        highs.dedup();
        IdsQuery {
            ids: Arc::new(Ids { ids, highs }),
        }
    }
}

impl Query for IdsQuery {
    fn weight(&self, _scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(IdsWeight {
            ids: self.ids.clone(),
        }))
    }
}

struct IdsWeight {
    ids: Arc<Ids>,
}

impl IdsWeight {
    /// The segment's documents with one of the ids (deleted ones too), in order: each
    /// document's high half is looked up among the ids' and, when there, its whole id.
    fn matching(&self, reader: &SegmentReader) -> tantivy::Result<Vec<DocId>> {
        let mut docs = Vec::new();
        if self.ids.ids.is_empty() {
            return Ok(docs);
        }
        let fast = reader.fast_fields();
        let hi: Column<u64> = fast.u64(ID_HI)?;
        let lo: Column<u64> = fast.u64(ID_LO)?;
        for doc in 0..reader.max_doc() {
            let Some(h) = hi.first(doc) else {
                continue;
            };
            if self.ids.highs.binary_search(&h).is_ok() {
                let id = joined_id(h, lo.first(doc).unwrap_or_default());
                if self.ids.ids.binary_search(&id).is_ok() {
                    docs.push(doc);
                }
            }
        }
        Ok(docs)
    }
}

impl Weight for IdsWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let mut set = BitSet::with_max_value(reader.max_doc());
        for doc in self.matching(reader)? {
            set.insert(doc);
        }
        Ok(Box::new(ConstScorer::new(BitSetDocSet::from(set), boost)))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        if self.matching(reader)?.contains(&doc) {
            Ok(Explanation::new("one of the ids", 1.0))
        } else {
            Err(TantivyError::InvalidArgument(format!(
                "document #({doc}) has none of the ids"
            )))
        }
    }

    fn for_each_no_score(
        &self,
        reader: &SegmentReader,
        callback: &mut dyn FnMut(&[DocId]),
    ) -> tantivy::Result<()> {
        let docs = self.matching(reader)?;
        if !docs.is_empty() {
            callback(&docs);
        }
        Ok(())
    }
}
