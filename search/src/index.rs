//! `search::Index`: owns the tantivy index, its reader and its single writer, and records the
//! last applied change-feed sequence number in each commit's payload.

use std::{
    collections::{BTreeMap, BTreeSet},
    convert::Infallible,
    path::{Path, PathBuf},
    sync::{Arc, Mutex, PoisonError, RwLock},
};

use serde::{Deserialize, Serialize};
use tantivy::{
    DocAddress, DocId, DocSet, Index as TantivyIndex, IndexReader, IndexWriter, ReloadPolicy,
    Score, Searcher, TERMINATED, TantivyDocument, Term,
    collector::{Collector, SegmentCollector, TopDocs},
    indexer::{LogMergePolicy, NoMergePolicy},
    query::{EnableScoring, Query},
    schema::{
        Field, IndexRecordOption,
        document::{
            DeserializeError, DocumentDeserialize, DocumentDeserializer, ValueDeserialize,
            ValueDeserializer,
        },
    },
    snippet::SnippetGenerator,
};
use uuid::Uuid;

use crate::{
    SearchError,
    collector::{self, After, ColumnCache, FACET_FIELDS, PageCollector, SortKey},
    doc::{HitCoverage, PLACED_BY_VENUES, ServiceDoc},
    ids::IdsQuery,
    near::NearQuery,
    phrases::{self, Phrases},
    query::{self, analyse},
    request::{
        Cards, Facets, Filter, Highlight, Hit, SearchRequest, SearchResults, Sort, StoredCard,
        Unconfirmed,
    },
    schema::{
        self, Fields, RAW, RememberedStems, SCHEMA_VERSION, pack_location,
        remembering_english_analyzer,
    },
    scores::{Ring, ScoreCache},
    suggest::{self, NameCompletion},
    synonyms::Synonyms,
};

/// With a sort other than relevance, matches scoring below this share of the best match are
/// left out.
const MIN_RELATIVE_SCORE: f32 = 0.15;

/// The longest snippet a highlight shows, in characters (tantivy's default).
const SNIPPET_CHARS: usize = 150;

/// The size of a block of stored documents, compressed as one: a block is closed once it holds
/// more. A listing's stored document is its description and its card's details (its lists),
/// read for a fetch by id or a page that shows them or highlights, and a read that misses the
/// cache decompresses the whole block: a block of 2 KiB holds two or three listings. (Hits
/// read their names and card heads from the `card` column.)
const DOCSTORE_BLOCK_BYTES: usize = 2_048;

/// Decompressed blocks of stored documents the reader keeps (at most 4 MiB or so; tantivy
/// keeps 100): the listings asked for most stay decompressed.
const DOCSTORE_CACHED_BLOCKS: usize = 2_048;

/// The settings an index is created with.
fn index_settings() -> tantivy::IndexSettings {
    tantivy::IndexSettings {
        docstore_blocksize: DOCSTORE_BLOCK_BYTES,
        // Blocks are compressed by the thread that writes them: with blocks this small, handing
        // each to a thread of its own cost a rebuild a wake-up a block (half its context
        // switches) for no gain on a machine whose cores the rebuild already keeps busy.
        docstore_compress_dedicated_thread: false,
        // Listings near each other are kept near each other (see `Fields::place_order`).
        sort_by_field: Some(tantivy::IndexSortByField {
            field: schema::PLACE_ORDER.to_owned(),
            order: tantivy::Order::Asc,
        }),
        ..Default::default()
    }
}

/// The writer's memory budget: the in-memory segment is written out when it reaches this.
/// Writing a segment out takes about as much again while it runs, so the budget sets most of
/// a rebuild's peak memory: at 100,000 listings 30 MB gives a peak of about 220 MiB in all
/// where 50 MB gave about 260 MiB, in the same time (the smaller segments are merged into
/// one at the end either way).
const WRITER_MEMORY: usize = 30_000_000;

/// The merge policy between rebuilds. Each change-feed commit adds a small segment; small
/// segments merge among themselves (eight of a size at a time), never into the large one a
/// rebuild makes, which is rewritten only once a quarter of its documents have been replaced.
/// (By default segments under 10,000 documents count as 10,000, so at that size every eighth
/// commit rewrote the whole index.)
fn feed_merge_policy() -> LogMergePolicy {
    let mut policy = LogMergePolicy::default();
    policy.set_min_layer_size(64);
    policy.set_del_docs_ratio_before_merge(0.25);
    policy
}

#[derive(Serialize, Deserialize)]
struct Payload {
    schema: u32,
    seq: i64,
    /// The fingerprint of the phrases indexed as terms ([`Phrases::fingerprint`]).
    #[serde(default)]
    phrases: String,
}

/// The search index of one server instance.
pub struct Index {
    index: TantivyIndex,
    reader: IndexReader,
    /// The one writer (taken only when the index is dropped).
    writer: Mutex<Option<IndexWriter>>,
    fields: Fields,
    synonyms: Synonyms,
    phrases: Phrases,
    /// Stems of the words met while indexing (see [`phrases::Finder`]).
    stems: Mutex<phrases::Stems>,
    /// Stems of the words the English analyzer has met: in documents as they are indexed, in
    /// queries and in highlighted texts.
    english_stems: RememberedStems,
    /// Taxonomy terms to suggest: name, id and the name in lower case.
    vocabulary: RwLock<Vec<(String, Uuid, String)>>,
    last_seq: RwLock<Option<i64>>,
    columns: Arc<ColumnCache>,
    /// Where the index is on disk (`None` in memory): synced as a whole after a rebuild and
    /// when the index is let go (see [`crate::dir`]).
    dir: Option<PathBuf>,
    /// Words' text scores, kept between searches.
    scores: Arc<ScoreCache>,
    /// Texts' words' queries, kept between searches.
    texts: query::TextParts,
}

impl Drop for Index {
    /// Merges in progress finish before the index is let go, so that nothing writes to or
    /// removes files from its directory afterwards (a restart or a swap may already use it).
    fn drop(&mut self) {
        let writer = self
            .writer
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(writer) = writer
            && let Err(err) = writer.wait_merging_threads()
        {
            tracing::warn!(error = %err, "a search index merge failed while closing");
        }
        self.sync_all();
    }
}

/// What a suggestion completes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SuggestionKind {
    /// A taxonomy term's name.
    Category,
    /// An active service's name.
    Service,
}

/// A completion of a prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Suggestion {
    /// The text to put in the search box.
    pub text: String,
    /// What it names.
    pub kind: SuggestionKind,
    /// The taxonomy term's or the service's id.
    pub id: Uuid,
}

/// Days since 1970-01-01 of a date.
pub fn day_number(date: chrono::NaiveDate) -> i64 {
    date.signed_duration_since(chrono::NaiveDate::default())
        .num_days()
}

impl Index {
    /// Opens the index in `dir`, creating it, or recreating it empty when its schema version
    /// differs or it cannot be read in full (then [`Index::last_seq`] is `None` and the caller
    /// rebuilds). Every segment is read on opening (see [`crate::dir`]), so damage shows here
    /// rather than at the first search; a damaged index is moved aside, kept for inspection
    /// (the newest [`crate::dir::KEEP_DAMAGED`] copies), and replaced by an empty one. Fails
    /// only when another process holds the index or the directory cannot be written.
    pub fn open(dir: &Path, synonyms: Synonyms) -> Result<Self, SearchError> {
        let (schema, fields) = schema::build();
        let phrases = Phrases::new(&synonyms);
        // Held while the index is checked and, when damaged, moved: never under another
        // process's feet.
        let held = crate::dir::lock(dir)?;
        let (index, last_seq) = match Self::existing(dir, &schema, phrases.fingerprint()) {
            Ok(Some((index, seq))) => (index, Some(seq)),
            Ok(None) => (Self::create_in(dir, schema)?, None),
            Err(err) => {
                let aside = crate::dir::set_aside(dir)?;
                tracing::warn!(
                    error = %err,
                    moved_to = %aside.display(),
                    "the search index cannot be read; moved it aside and rebuilding it from the database"
                );
                (Self::create_in(dir, schema)?, None)
            }
        };
        drop(held);
        Self::from_index(index, fields, synonyms, phrases, last_seq, Some(dir))
    }

    /// Creates an empty index in `dir`, replacing whatever is there (for a full rebuild into
    /// a directory of its own; see [`crate::dir::swap_in`]).
    pub fn create_fresh(dir: &Path, synonyms: Synonyms) -> Result<Self, SearchError> {
        if dir.exists() {
            std::fs::remove_dir_all(dir)?;
        }
        let (schema, fields) = schema::build();
        let phrases = Phrases::new(&synonyms);
        let index = Self::create_in(dir, schema)?;
        Self::from_index(index, fields, synonyms, phrases, None, Some(dir))
    }

    /// The usable index in `dir` and its applied sequence; `None` when there is none yet or
    /// it has another schema version or other phrases (then the directory is emptied); an
    /// error when it cannot be read in full.
    fn existing(
        dir: &Path,
        schema: &tantivy::schema::Schema,
        phrases: &str,
    ) -> Result<Option<(TantivyIndex, i64)>, SearchError> {
        if crate::dir::is_blank(dir)? {
            return Ok(None);
        }
        let index = TantivyIndex::open(crate::dir::IndexDirectory::open(dir)?)?;
        let payload = index
            .load_metas()?
            .payload
            .and_then(|p| serde_json::from_str::<Payload>(&p).ok());
        match payload {
            Some(p)
                if p.schema == SCHEMA_VERSION
                    && p.phrases == phrases
                    && index.schema() == *schema =>
            {
                crate::dir::verify(&index, dir)?;
                Ok(Some((index, p.seq)))
            }
            _ => {
                tracing::info!(
                    "the search index has another schema version or synonym phrases; rebuilding it"
                );
                drop(index);
                for entry in std::fs::read_dir(dir)? {
                    let entry = entry?;
                    if crate::dir::is_lock_file(&entry.file_name()) {
                        // Held by this open.
                        continue;
                    }
                    if entry.file_type()?.is_dir() {
                        std::fs::remove_dir_all(entry.path())?;
                    } else {
                        std::fs::remove_file(entry.path())?;
                    }
                }
                Ok(None)
            }
        }
    }

    fn create_in(dir: &Path, schema: tantivy::schema::Schema) -> Result<TantivyIndex, SearchError> {
        std::fs::create_dir_all(dir)?;
        Ok(TantivyIndex::create(
            crate::dir::IndexDirectory::open(dir)?,
            schema,
            index_settings(),
        )?)
    }

    /// An index held in memory (for tests and benchmarks).
    pub fn in_memory(synonyms: Synonyms) -> Result<Self, SearchError> {
        let (schema, fields) = schema::build();
        let phrases = Phrases::new(&synonyms);
        Self::from_index(
            TantivyIndex::builder()
                .schema(schema)
                .settings(index_settings())
                .create_in_ram()?,
            fields,
            synonyms,
            phrases,
            None,
            None,
        )
    }

    /// The index `index`, on disk in `dir` (`None` for one in memory).
    fn from_index(
        index: TantivyIndex,
        fields: Fields,
        synonyms: Synonyms,
        phrases: Phrases,
        last_seq: Option<i64>,
        dir: Option<&Path>,
    ) -> Result<Self, SearchError> {
        let english_stems = RememberedStems::default();
        schema::register_analyzers(&index, english_stems.clone());
        let writer: IndexWriter = index.writer_with_num_threads(1, WRITER_MEMORY)?;
        writer.set_merge_policy(Box::new(feed_merge_policy()));
        // Files a killed process wrote for a commit that never landed are still on disk; the
        // same changes applied again commit at the same opstamp, under the same file names, and
        // the write would fail on the leftover. Removing every file the index does not use
        // first makes a restart after a crash safe.
        writer.garbage_collect_files().wait()?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .doc_store_cache_num_blocks(DOCSTORE_CACHED_BLOCKS)
            .try_into()?;
        Ok(Self {
            index,
            reader,
            writer: Mutex::new(Some(writer)),
            fields,
            synonyms,
            phrases,
            stems: Mutex::default(),
            english_stems,
            vocabulary: RwLock::new(Vec::new()),
            last_seq: RwLock::new(last_seq),
            columns: Arc::new(ColumnCache::new(dir)),
            dir: dir.map(Path::to_path_buf),
            scores: Arc::default(),
            texts: query::TextParts::default(),
        })
    }

    /// Syncs the index's files to disk (see [`crate::dir`]); a failure is logged, as the
    /// index can be rebuilt from the database.
    fn sync_all(&self) {
        if let Some(dir) = &self.dir
            && let Err(err) = crate::dir::sync_all(dir)
        {
            tracing::warn!(error = %err, dir = %dir.display(), "cannot sync the search index to disk");
        }
    }

    /// The last change-feed sequence number the index has applied (`None`: needs a rebuild).
    pub fn last_seq(&self) -> Option<i64> {
        self.last_seq.read().map(|seq| *seq).unwrap_or(None)
    }

    /// How many services are indexed.
    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Sets the taxonomy terms (name and id) that `suggest` completes; of terms sharing a
    /// name, the one with the lowest id stands for it.
    pub fn set_vocabulary(&self, mut terms: Vec<(String, Uuid)>) {
        terms.sort_by(|a, b| a.0.to_lowercase().cmp(&b.0.to_lowercase()).then(a.cmp(b)));
        terms.dedup_by(|next, kept| next.0 == kept.0);
        let terms = terms
            .into_iter()
            .map(|(name, id)| {
                let lower = name.to_lowercase();
                (name, id, lower)
            })
            .collect();
        if let Ok(mut vocabulary) = self.vocabulary.write() {
            *vocabulary = terms;
        }
    }

    fn to_document(&self, doc: &ServiceDoc) -> TantivyDocument {
        let f = &self.fields;
        let mut out = TantivyDocument::new();
        let (hi, lo) = schema::id_halves(doc.id.as_u128());
        out.add_u64(f.id_hi, hi);
        out.add_u64(f.id_lo, lo);
        let mut finder = self.phrases.finder(&self.stems);
        let mut english_text = |out: &mut TantivyDocument, field, text: &str| {
            out.add_text(field, text);
            finder.find(text, |words| {
                out.add_text(f.phrases, phrases::term_text(field, words));
            });
        };
        english_text(&mut out, f.name, &doc.name);
        out.add_text(f.name_raw, &doc.name);
        out.add_text(f.name_sort, doc.name.to_lowercase());
        out.add_text(f.name_text, &doc.name);
        out.add_text(f.raw, &doc.name);
        if let Some(alt) = &doc.alternate_name {
            english_text(&mut out, f.alternate_name, alt);
            out.add_text(f.raw, alt);
        }
        english_text(&mut out, f.description, &doc.description);
        out.add_text(f.raw, &doc.description);
        english_text(&mut out, f.organization, &doc.organization_name);
        out.add_text(f.raw, &doc.organization_name);
        for name in &doc.taxonomy_names {
            english_text(&mut out, f.taxonomy, name);
            out.add_text(f.raw, name);
        }
        for category in &doc.categories {
            out.add_text(f.category, category.to_string());
        }
        out.add_text(f.status, &doc.status);
        out.add_text(f.level, &doc.level_of_need);
        for value in &doc.audiences {
            out.add_text(f.audience, value);
        }
        for value in &doc.delivery_modes {
            out.add_text(f.mode, value);
        }
        if doc.self_referral {
            out.add_text(f.referral, "SELF");
        }
        if doc.professional_referral {
            out.add_text(f.referral, "PROFESSIONAL");
        }
        for value in &doc.languages {
            out.add_text(f.language, value);
        }
        out.add_text(f.organization_id, doc.organization_id.to_string());
        if doc.from_pregnancy {
            out.add_text(f.pregnancy, "yes");
        }
        for term in doc.fit_terms() {
            out.add_text(f.eligibility, term);
        }
        if doc.free {
            out.add_text(f.free, "yes");
        }
        for term in doc.coverage_terms() {
            out.add_text(f.covers, term);
        }
        // No lower bound indexes as -1 and no upper bound as a very large age, so that one
        // range query per bound answers "the range contains this age".
        out.add_f64(f.min_age, doc.min_age_months.unwrap_or(-1.0));
        out.add_f64(f.max_age, doc.max_age_months.unwrap_or(1.0e9));
        out.add_i64(f.assured, doc.assured_date.map_or(i64::MIN, day_number));
        for (lat, lon) in &doc.locations {
            out.add_u64(f.location, pack_location(*lat, *lon));
        }
        out.add_u64(
            f.place_order,
            schema::place_order(doc.locations.first().copied()),
        );
        // What hits show, a listing without a card too (its names are highlighted). The
        // description, stored, was added above: before the details, so that a reader wanting
        // the description alone stops before them.
        out.add_bytes(f.card, &crate::frame::encode(doc));
        if !doc.card.is_empty() {
            out.add_text(f.card_details, card_text(&doc.card_details));
        }
        out
    }

    fn commit(&self, writer: &mut IndexWriter, seq: i64) -> Result<(), SearchError> {
        let payload = serde_json::to_string(&Payload {
            schema: SCHEMA_VERSION,
            seq,
            phrases: self.phrases.fingerprint().to_owned(),
        })?;
        let mut prepared = writer.prepare_commit()?;
        prepared.set_payload(&payload);
        prepared.commit()?;
        self.reader.reload()?;
        if let Ok(mut last) = self.last_seq.write() {
            *last = Some(seq);
        }
        Ok(())
    }

    /// Replaces or removes services and records `seq` as applied, in one commit.
    pub fn apply(
        &self,
        upserts: &[ServiceDoc],
        deletes: &[Uuid],
        seq: i64,
    ) -> Result<(), SearchError> {
        let mut writer = self.writer.lock().map_err(|_| SearchError::Poisoned)?;
        let writer = writer.as_mut().ok_or(SearchError::Poisoned)?;
        if !deletes.is_empty() || !upserts.is_empty() {
            let ids = deletes.iter().chain(upserts.iter().map(|doc| &doc.id));
            writer.delete_query(Box::new(IdsQuery::new(ids.copied())))?;
        }
        for doc in upserts {
            writer.add_document(self.to_document(doc))?;
        }
        self.commit(writer, seq)
    }

    /// Replaces the whole index with `docs`, recording `seq` as applied.
    pub fn rebuild(
        &self,
        docs: impl IntoIterator<Item = ServiceDoc, IntoIter: Send>,
        seq: i64,
    ) -> Result<u64, SearchError> {
        match self.rebuild_from(docs.into_iter().map(Ok::<_, Infallible>), seq)? {
            Ok(count) => Ok(count),
            Err(never) => match never {},
        }
    }

    /// Replaces the whole index with the documents `docs` yields as they come (nothing holds
    /// them all), recording `seq` as applied, and merges the result into one segment. The
    /// first `Err` stops the rebuild and is handed back: nothing is committed and the index is
    /// as it was. `docs` is drained on a thread of the rebuild's own, hence `Send`.
    pub fn rebuild_from<E: Send>(
        &self,
        docs: impl IntoIterator<Item = Result<ServiceDoc, E>, IntoIter: Send>,
        seq: i64,
    ) -> Result<Result<u64, E>, SearchError> {
        let mut writer = self.writer.lock().map_err(|_| SearchError::Poisoned)?;
        let writer = writer.as_mut().ok_or(SearchError::Poisoned)?;
        let docs = docs.into_iter();
        let write = |writer: &mut IndexWriter| -> Result<Result<u64, E>, SearchError> {
            writer.delete_all_documents()?;
            let mut count = 0;
            for doc in docs {
                match doc {
                    Ok(doc) => {
                        writer.add_document(self.to_document(&doc))?;
                        count += 1;
                    }
                    Err(err) => return Ok(Err(err)),
                }
            }
            Ok(Ok(count))
        };
        // No merges while the new segments are written: they are merged into one below.
        writer.set_merge_policy(Box::new(NoMergePolicy));
        // The documents are made and handed to the writer on a thread of their own, which ends
        // before the merge: the allocator's memory for the documents in flight (up to the
        // writer's queue of 10,000) goes back with the thread instead of staying with this
        // one, beside the merge's. At 100,000 listings the rebuild's peak RSS was 274-320 MiB in
        // eleven runs with the documents made here, 250-287 MiB in 25 with them made on their
        // own thread.
        let written = std::thread::scope(|scope| {
            std::thread::Builder::new()
                .name("index-rebuild".to_owned())
                .spawn_scoped(scope, || write(writer))
                .map(|thread| {
                    thread
                        .join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                })
        })
        .map_err(SearchError::from)
        .flatten();
        let written = written.and_then(|written| {
            if written.is_ok() {
                self.commit(writer, seq)?;
                // One segment: a search then walks one term dictionary and one set of columns.
                // The merge keeps the documents in place order (see `Fields::place_order`):
                // segments of listings given in that order hold runs of places one after
                // another and are stacked as they are; others are interleaved document by
                // document, reading every segment's files through the memory map.
                let segments = self.index.searchable_segment_ids()?;
                if segments.len() > 1 {
                    writer.merge(&segments).wait()?;
                    self.reader.reload()?;
                }
                // A whole index is written: on disk before the rebuild counts as done.
                if let Some(dir) = &self.dir {
                    crate::dir::sync_all(dir)?;
                }
            }
            Ok(written)
        });
        writer.set_merge_policy(Box::new(feed_merge_policy()));
        if !matches!(written, Ok(Ok(_))) {
            writer.rollback()?;
        }
        written
    }

    /// The rings a search by relevance from a place, without a radius, fills its page from
    /// (see [`Ring`]): none for other searches.
    fn rings(&self, request: &SearchRequest) -> Vec<Ring> {
        match &request.near {
            Some(near)
                if request.sort == Sort::Relevance
                    && near.radius_km.is_none_or(|r| !r.is_finite() || r < 0.0)
                    && near.latitude.is_finite()
                    && near.longitude.is_finite() =>
            {
                collector::RELEVANCE_RINGS_KM
                    .iter()
                    .map(|&radius_km| Ring {
                        latitude: near.latitude,
                        longitude: near.longitude,
                        radius_km,
                        beyond: collector::distance_factor(Some(radius_km)),
                    })
                    .collect()
            }
            _ => Vec::new(),
        }
    }

    /// The snippets of `field` for `query`, as `SnippetGenerator::create` makes them, but
    /// with stems remembered between hits and searches (each hit's whole text is analysed).
    fn snippets(
        &self,
        searcher: &Searcher,
        query: &dyn Query,
        field: Field,
    ) -> tantivy::Result<SnippetGenerator> {
        let mut terms = BTreeSet::new();
        query.query_terms(&mut |term, _| {
            if term.field() == field {
                terms.insert(term);
            }
        });
        let mut terms_text = BTreeMap::new();
        for term in terms {
            let value = term.value();
            let Some(text) = value.as_str() else {
                continue;
            };
            let doc_freq = searcher.doc_freq(term)?;
            if doc_freq > 0 {
                #[expect(clippy::cast_precision_loss, reason = "a weight")]
                terms_text.insert(text.to_owned(), 1.0 / (1.0 + doc_freq as Score));
            }
        }
        Ok(SnippetGenerator::new(
            terms_text,
            remembering_english_analyzer(self.english_stems.clone()),
            field,
            SNIPPET_CHARS,
        ))
    }

    /// Runs a search.
    pub fn search(&self, request: &SearchRequest) -> Result<SearchResults, SearchError> {
        let searcher = self.searcher();
        let radius_filter = request.near.as_ref().and_then(|near| {
            Some(NearQuery {
                latitude: near.latitude,
                longitude: near.longitude,
                // (A radius the collector cannot measure against is left to it.)
                radius_km: near.radius_km.filter(|r| r.is_finite() && *r >= 0.0)?,
                columns: self.columns.clone(),
            })
        });
        let radius_filtered = radius_filter.is_some();
        let (query, has_text, hints) = query::build(
            &self.index,
            &searcher,
            &self.fields,
            &self.synonyms,
            &self.phrases,
            request.text.as_deref(),
            &request.filter,
            radius_filter,
            self.rings(request),
            (&self.columns, &self.scores, &self.texts),
        );
        let after = request
            .after
            .as_deref()
            .map(|c| decode_cursor(c, request.sort))
            .transpose()?;
        let collector = PageCollector {
            columns: self.columns.clone(),
            sort: request.sort,
            keep: request.first + 1,
            after,
            point: request
                .near
                .as_ref()
                .map(|n| (n.latitude, n.longitude, n.radius_km)),
            radius_filtered,
            point_coverage: request
                .near
                .as_ref()
                .and_then(|n| n.coverage.as_ref())
                .map(|c| c.terms())
                .unwrap_or_default()
                .into(),
            covers_field: self.fields.covers,
            has_text,
            today: request.today,
            facets: request.facets,
            min_score: if has_text && request.sort != Sort::Relevance {
                let best = searcher.search(&*query, &TopDocs::with_limit(1).order_by_score())?;
                best.first()
                    .map_or(0.0, |(score, _)| score * MIN_RELATIVE_SCORE)
            } else {
                0.0
            },
            age_hint: hints.age_months,
            pregnancy_hint: hints.pregnancy,
            checked: checked_criteria(&request.filter),
        };
        // A list in name order reads only as far as its page in each segment.
        let mut fruit =
            if request.sort == Sort::Name && !has_text && request.near.is_none() && !request.facets
            {
                name_order_page(
                    &searcher,
                    &*query,
                    &format!("{:?}", request.filter),
                    &collector,
                )?
            } else {
                searcher.search(&*query, &collector)?
            };
        let has_next_page = fruit.candidates.len() > request.first;
        fruit.candidates.truncate(request.first);
        let snippets = if has_text && request.highlights {
            Some((
                self.snippets(&searcher, &*query, self.fields.name)?,
                self.snippets(&searcher, &*query, self.fields.description)?,
            ))
        } else {
            None
        };
        let mut hits = Vec::with_capacity(fruit.candidates.len());
        // The catchment terms that tell whether and how a hit covers the place (and the mark of
        // a service placed by its venues), and which of them each hit carries.
        let mut carried = match &request.coverage_of {
            Some(place) => {
                let mut terms = place.terms();
                terms.push(PLACED_BY_VENUES.to_owned());
                let addresses: Vec<DocAddress> =
                    fruit.candidates.iter().map(|c| c.address).collect();
                carried_terms(&searcher, self.fields.covers, &terms, &addresses)?
            }
            None => Vec::new(),
        }
        .into_iter();
        if request.cards.read() {
            for (segment, reader) in searcher.segment_readers().iter().enumerate() {
                let docs: Vec<DocId> = fruit
                    .candidates
                    .iter()
                    .filter(|c| c.address.segment_ord as usize == segment)
                    .map(|c| c.address.doc_id)
                    .collect();
                if !docs.is_empty() {
                    self.columns.get(reader)?.warm_cards(&docs);
                }
            }
        }
        for candidate in fruit.candidates {
            // One read of the `card` column (and, for a description, one of the stored
            // document) serves the highlights and the card.
            let shown = if snippets.is_some() || request.cards.read() {
                self.shown(
                    &searcher,
                    candidate.address,
                    request.cards.details(),
                    request.cards.description() || snippets.is_some(),
                )?
            } else {
                None
            };
            let highlights = match (&snippets, &shown) {
                (Some((name, description)), Some(shown)) => highlights(shown, name, description),
                _ => Vec::new(),
            };
            let card = shown.filter(|shown| request.cards.read() && !shown.bytes.is_empty());
            let coverage = match (&request.coverage_of, carried.next()) {
                (Some(place), Some(terms)) => Some(HitCoverage::judge(&terms, place)),
                _ => None,
            };
            hits.push(Hit {
                id: Uuid::from_u128(candidate.id),
                score: candidate.score,
                distance_km: candidate.distance_km,
                cursor: encode_cursor(request.sort, &candidate.key, candidate.id),
                highlights,
                unconfirmed: collector::unconfirmed(candidate.unconfirmed),
                coverage,
                card,
            });
        }
        let [
            categories,
            level_of_need,
            audiences,
            delivery_modes,
            referral_routes,
            languages,
        ] = fruit.facets.map(sorted_counts);
        debug_assert_eq!(FACET_FIELDS.len(), 6);
        Ok(SearchResults {
            total_count: fruit.total,
            hits,
            has_next_page,
            facets: Facets {
                categories,
                level_of_need,
                audiences,
                delivery_modes,
                referral_routes,
                languages,
            },
        })
    }

    /// The current searcher; the column cache lets go of segments it no longer holds.
    fn searcher(&self) -> tantivy::Searcher {
        let searcher = self.reader.searcher();
        let live: Vec<_> = searcher
            .segment_readers()
            .iter()
            .map(|r| r.segment_id())
            .collect();
        self.columns.retain(&live);
        self.scores.retain(&live);
        searcher
    }

    /// Completes a prefix: taxonomy terms first, then names of active services (the texts of
    /// [`Index::suggestions`]).
    pub fn suggest(&self, prefix: &str, limit: usize) -> Result<Vec<String>, SearchError> {
        Ok(self
            .suggestions(prefix, limit)?
            .into_iter()
            .map(|s| s.text)
            .collect())
    }

    /// Completes a prefix with what each completion is: taxonomy terms whose name starts with
    /// it, then those with a word that does, then names of active services holding its words
    /// (the last as the start of a word): names starting with the prefix first, then shorter
    /// names; no text twice.
    pub fn suggestions(&self, prefix: &str, limit: usize) -> Result<Vec<Suggestion>, SearchError> {
        let words = analyse(&self.index, RAW, prefix);
        if words.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let wanted = prefix.trim().to_lowercase();
        let mut out: Vec<Suggestion> = Vec::new();
        if let Ok(vocabulary) = self.vocabulary.read() {
            let starts = vocabulary
                .iter()
                .filter(|(_, _, lower)| lower.starts_with(&wanted));
            let contains = vocabulary.iter().filter(|(_, _, lower)| {
                !lower.starts_with(&wanted)
                    && lower
                        .split(|c: char| !c.is_alphanumeric())
                        .any(|w| w.starts_with(&wanted))
            });
            out.extend(
                starts
                    .chain(contains)
                    .take(limit)
                    .map(|(text, id, _)| Suggestion {
                        text: text.clone(),
                        kind: SuggestionKind::Category,
                        id: *id,
                    }),
            );
        }
        if out.len() < limit {
            let searcher = self.searcher();
            let prefix = suggest::Prefix {
                words: &words,
                wanted: &wanted,
                want: limit,
            };
            let (last, before) = words.split_last().unwrap_or((&wanted, &[]));
            let fits = |name: &str| {
                let own = analyse(&self.index, RAW, name);
                own.iter().any(|w| w.starts_with(last.as_str()))
                    && before.iter().all(|w| own.contains(w))
            };
            let mut names: Vec<NameCompletion> = Vec::new();
            for reader in searcher.segment_readers() {
                let columns = self.columns.get(reader)?;
                names.extend(suggest::complete(
                    &columns,
                    reader,
                    (self.fields.name_raw, self.fields.status),
                    &prefix,
                    &fits,
                )?);
            }
            names.sort_by(NameCompletion::order);
            for name in names {
                if out.len() >= limit {
                    break;
                }
                if !out.iter().any(|s| s.text == name.text) {
                    out.push(Suggestion {
                        text: name.text,
                        kind: SuggestionKind::Service,
                        id: Uuid::from_u128(name.id),
                    });
                }
            }
        }
        Ok(out)
    }

    /// The card a service was indexed with, as much of it as `cards` asks for (its head at
    /// least); `None` when the index does not hold it or it was indexed without one.
    pub fn card(&self, id: Uuid, cards: Cards) -> Result<Option<StoredCard>, SearchError> {
        let searcher = self.reader.searcher();
        let Some(address) = self.find(&searcher, id)? else {
            return Ok(None);
        };
        let shown = self.shown(&searcher, address, cards.details(), cards.description())?;
        Ok(shown.filter(|shown| !shown.bytes.is_empty()))
    }

    /// Where the live document of service `id` is, found in each segment's documents in id
    /// order; `None` when the index does not hold it.
    fn find(&self, searcher: &Searcher, id: Uuid) -> Result<Option<DocAddress>, SearchError> {
        for (ord, segment) in searcher.segment_readers().iter().enumerate() {
            let columns = self.columns.get(segment)?;
            let alive = segment.alive_bitset();
            let found = columns
                .docs_with_id(id.as_u128())
                .find(|doc| alive.is_none_or(|alive| alive.is_alive(*doc)));
            if let Some(doc) = found {
                let segment_ord = u32::try_from(ord).unwrap_or(u32::MAX);
                return Ok(Some(DocAddress::new(segment_ord, doc)));
            }
        }
        Ok(None)
    }

    /// What the hit at `address` shows, read from the `card` column, with its description and
    /// its card's details from its stored document when `description` and `details` (one read
    /// for both); `None` when the document has no readable value. The card's head is empty for
    /// a listing indexed without a card (its texts are still there for highlights).
    fn shown(
        &self,
        searcher: &Searcher,
        address: DocAddress,
        details: bool,
        description: bool,
    ) -> Result<Option<StoredCard>, SearchError> {
        let columns = self
            .columns
            .get(searcher.segment_reader(address.segment_ord))?;
        let Some(value) = columns.card(address.doc_id) else {
            return Ok(None);
        };
        let Some(frame) = crate::frame::decode(value) else {
            return Ok(None);
        };
        let details = details && !frame.head.is_empty();
        let (description, details) = if description || details {
            let mut stored = if details {
                searcher.doc::<StoredFields>(address)?
            } else {
                searcher.doc::<StoredDescription>(address)?.0
            };
            (
                // Every document stores its description, if only an empty one.
                description.then(|| stored.take(self.fields.description).unwrap_or_default()),
                if details {
                    stored.take(self.fields.card_details).map(card_bytes)
                } else {
                    None
                },
            )
        } else {
            (None, None)
        };
        Ok(Some(StoredCard {
            bytes: frame.head.to_vec(),
            details,
            name: frame.name.to_owned(),
            alternate_name: frame.alternate_name.map(str::to_owned),
            description,
        }))
    }

    /// Whether the index holds a document of service `id`, for checks.
    pub fn contains(&self, id: Uuid) -> Result<bool, SearchError> {
        Ok(self.find(&self.reader.searcher(), id)?.is_some())
    }
}

/// A page in name order: each segment's matches (the documents of the filter `key` describes,
/// kept a segment for the filters asked most recently), then its page read from them in name
/// order.
fn name_order_page(
    searcher: &tantivy::Searcher,
    query: &dyn Query,
    key: &str,
    collector: &PageCollector,
) -> tantivy::Result<collector::PageFruit> {
    let weight = query.weight(EnableScoring::disabled_from_searcher(searcher))?;
    let mut fruits = Vec::with_capacity(searcher.segment_readers().len());
    for (ord, reader) in searcher.segment_readers().iter().enumerate() {
        let matching = collector
            .columns
            .get(reader)?
            .filtered(key, || collector::weight_docs(weight.as_ref(), reader))?;
        let matching = match reader.alive_bitset() {
            Some(alive) => {
                let mut living = (*matching).clone();
                for (block, bits) in living.iter_mut().enumerate() {
                    let mut alive_bits = 0;
                    collector::for_each_bit(block, *bits, |doc| {
                        if alive.is_alive(doc) {
                            alive_bits |= 1 << (doc % 64);
                        }
                    });
                    *bits = alive_bits;
                }
                Arc::new(living)
            }
            None => matching,
        };
        let total = matching
            .iter()
            .map(|bits| u64::from(bits.count_ones()))
            .sum();
        let segment = u32::try_from(ord)
            .map_err(|_| tantivy::TantivyError::InvalidArgument("too many segments".to_owned()))?;
        let mut child = collector.for_segment(segment, reader)?;
        child.collect_in_name_order(&matching, total);
        fruits.push(child.harvest());
    }
    collector.merge_fruits(fruits)
}

/// The stored fields of a document as read back: every stored field is text, and each is
/// taken as it is read, without the copy a [`TantivyDocument`] makes of each value.
struct StoredFields(Vec<(Field, String)>);

/// A stored value read as text.
struct StoredText(String);

impl ValueDeserialize for StoredText {
    fn deserialize<'de, D: ValueDeserializer<'de>>(
        deserializer: D,
    ) -> Result<Self, DeserializeError> {
        deserializer.deserialize_string().map(StoredText)
    }
}

impl StoredFields {
    /// Reads a document's stored fields in their order, up to `last` when given.
    fn read<'de, D: DocumentDeserializer<'de>>(
        mut deserializer: D,
        last: Option<Field>,
    ) -> Result<Self, DeserializeError> {
        let mut fields = Vec::with_capacity(deserializer.size_hint());
        while let Some((field, StoredText(text))) = deserializer.next_field()? {
            fields.push((field, text));
            if Some(field) == last {
                break;
            }
        }
        Ok(StoredFields(fields))
    }
}

impl DocumentDeserialize for StoredFields {
    fn deserialize<'de, D: DocumentDeserializer<'de>>(
        deserializer: D,
    ) -> Result<Self, DeserializeError> {
        Self::read(deserializer, None)
    }
}

/// The stored fields of a document up to its description: the card's details, stored after
/// it, are left unread (a page showing descriptions or highlights but no list).
struct StoredDescription(StoredFields);

/// The description field, whose value is the last a [`StoredDescription`] reads: the schema's
/// fields are the same in every index of this version.
static DESCRIPTION: std::sync::LazyLock<Field> =
    std::sync::LazyLock::new(|| schema::build().1.description);

impl DocumentDeserialize for StoredDescription {
    fn deserialize<'de, D: DocumentDeserializer<'de>>(
        deserializer: D,
    ) -> Result<Self, DeserializeError> {
        StoredFields::read(deserializer, Some(*DESCRIPTION)).map(StoredDescription)
    }
}

impl StoredFields {
    /// Takes the first value of `field` out.
    fn take(&mut self, field: Field) -> Option<String> {
        self.0
            .iter_mut()
            .find(|(f, _)| *f == field)
            .map(|(_, text)| std::mem::take(text))
    }
}

/// A card's bytes as the text the index stores: each byte as the character of that number
/// (as Latin-1 reads them), so that bytes below 128 stay as they are and the others take two.
/// A stored text is read back in one copy, where stored bytes are read one at a time.
fn card_text(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    encoding_rs::mem::decode_latin1(bytes)
}

/// A card's bytes from the text [`card_text`] made of them.
fn card_bytes(text: String) -> Vec<u8> {
    match encoding_rs::mem::encode_latin1_lossy(&text) {
        // All below 128: the text's bytes are the card's.
        std::borrow::Cow::Borrowed(_) => text.into_bytes(),
        std::borrow::Cow::Owned(bytes) => bytes,
    }
}

fn highlights(
    shown: &StoredCard,
    name: &SnippetGenerator,
    description: &SnippetGenerator,
) -> Vec<Highlight> {
    let mut out = Vec::new();
    for (field, text, generator) in [
        ("name", shown.name.as_str(), name),
        (
            "description",
            shown.description.as_deref().unwrap_or_default(),
            description,
        ),
    ] {
        let snippet = generator.snippet(text.trim());
        if !snippet.highlighted().is_empty() {
            out.push(Highlight {
                field: field.to_owned(),
                snippet: snippet.to_html(),
            });
        }
    }
    out
}

/// Which of `terms` (catchment terms) each of `hits` carries in `field`, in the hits' order,
/// each hit's in the terms' order: each term's postings are read once a segment, over its
/// hits in document order.
fn carried_terms(
    searcher: &Searcher,
    field: Field,
    terms: &[String],
    hits: &[DocAddress],
) -> tantivy::Result<Vec<Vec<String>>> {
    let mut out = vec![Vec::new(); hits.len()];
    let mut by_segment: BTreeMap<u32, Vec<(DocId, usize)>> = BTreeMap::new();
    for (at, hit) in hits.iter().enumerate() {
        by_segment
            .entry(hit.segment_ord)
            .or_default()
            .push((hit.doc_id, at));
    }
    for (segment, mut docs) in by_segment {
        docs.sort_unstable();
        let inverted = searcher.segment_reader(segment).inverted_index(field)?;
        for term in terms {
            let term_key = Term::from_field_text(field, term);
            let Some(mut postings) = inverted.read_postings(&term_key, IndexRecordOption::Basic)?
            else {
                continue;
            };
            for &(doc, at) in &docs {
                if postings.doc() > doc {
                    continue;
                }
                if postings.seek(doc) == doc {
                    out[at].push(term.clone());
                } else if postings.doc() == TERMINATED {
                    break;
                }
            }
        }
    }
    // In the order of the terms, as a listing's own terms are judged (`ServiceDoc::coverage`).
    for carried in &mut out {
        carried.sort_unstable();
    }
    Ok(out)
}

fn sorted_counts(counts: std::collections::HashMap<String, u64>) -> Vec<(String, u64)> {
    let mut out: Vec<(String, u64)> = counts.into_iter().collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    out
}

fn sort_code(sort: Sort) -> &'static str {
    match sort {
        Sort::Relevance => "r",
        Sort::Distance => "d",
        Sort::RecentlyVerified => "v",
        Sort::Name => "n",
    }
}

/// An opaque cursor: the sort's letter ([`sort_code`]), the service id in 32 hex digits and
/// the sort key (a number's bits in 16 hex digits, or a text), apart by U+001F, each byte of
/// that in hex.
fn encode_cursor(sort: Sort, key: &SortKey, id: u128) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    // The low `digits` hex digits of `value`, most significant first.
    fn push_digits(raw: &mut Vec<u8>, value: u128, digits: u32) {
        raw.extend(
            (0..digits)
                .rev()
                .map(|digit| HEX[((value >> (digit * 4)) & 0xF) as usize]),
        );
    }
    let mut raw = Vec::with_capacity(64);
    raw.extend_from_slice(sort_code(sort).as_bytes());
    raw.push(0x1f);
    push_digits(&mut raw, id, 32);
    raw.push(0x1f);
    match key {
        SortKey::Number(n) => push_digits(&mut raw, u128::from(n.to_bits()), 16),
        SortKey::Text(t) => raw.extend_from_slice(t.as_bytes()),
    }
    let hex: Vec<u8> = raw
        .iter()
        .flat_map(|byte| [HEX[usize::from(byte >> 4)], HEX[usize::from(byte & 0xF)]])
        .collect();
    // (Hex digits only: always text.)
    String::from_utf8(hex).unwrap_or_default()
}

fn decode_cursor(cursor: &str, sort: Sort) -> Result<After, SearchError> {
    let invalid = || SearchError::BadCursor;
    if !cursor.len().is_multiple_of(2) || cursor.len() > 4096 {
        return Err(invalid());
    }
    let bytes: Vec<u8> = (0..cursor.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(cursor.get(i..i + 2).unwrap_or("zz"), 16))
        .collect::<Result<_, _>>()
        .map_err(|_| invalid())?;
    let raw = String::from_utf8(bytes).map_err(|_| invalid())?;
    let mut parts = raw.splitn(3, '\u{1f}');
    let (Some(code), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(invalid());
    };
    if code != sort_code(sort) {
        return Err(invalid());
    }
    let id = u128::from_str_radix(id, 16).map_err(|_| invalid())?;
    let key = match sort {
        Sort::Name => SortKey::Text(key.to_owned()),
        _ => SortKey::Number(f64::from_bits(
            u64::from_str_radix(key, 16).map_err(|_| invalid())?,
        )),
    };
    Ok(After { key, id })
}

/// The bits of [`collector::UNCONFIRMED`] a filter checks.
fn checked_criteria(filter: &Filter) -> u8 {
    let mut bits = 0;
    for (i, (criterion, _)) in collector::UNCONFIRMED.iter().enumerate() {
        let on = match criterion {
            Unconfirmed::Pregnancy => filter.pregnant,
            Unconfirmed::Age => filter.infant_age_months.is_some(),
            Unconfirmed::Catchment => filter.covers.is_some(),
        };
        if on {
            bits |= 1 << i;
        }
    }
    bits
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    use crate::{Catchment, Coverage, FamilyFilter, Filter, Near};
    use tantivy::DocAddress;

    #[test]
    fn cursors_read_back_and_are_written_as_before() {
        let id = 0x0123_4567_89ab_cdef_fedc_ba98_7654_3210_u128;
        for (sort, key) in [
            (Sort::Relevance, SortKey::Number(-1.25)),
            (Sort::Distance, SortKey::Number(0.0)),
            (Sort::RecentlyVerified, SortKey::Number(-20_000.0)),
            (Sort::Name, SortKey::Text("dads' group \u{1f}é".to_owned())),
        ] {
            let cursor = encode_cursor(sort, &key, id);
            // The cursors that pages already handed out still read.
            let text = match &key {
                SortKey::Number(n) => format!("{:016x}", n.to_bits()),
                SortKey::Text(t) => t.clone(),
            };
            let raw = format!("{}\u{1f}{id:032x}\u{1f}{text}", sort_code(sort));
            let before: String = raw.bytes().map(|b| format!("{b:02x}")).collect();
            assert_eq!(cursor, before);
            let after = decode_cursor(&cursor, sort).expect("a cursor");
            assert_eq!(after.id, id);
            match (after.key, key) {
                (SortKey::Number(a), SortKey::Number(b)) => assert_eq!(a.to_bits(), b.to_bits()),
                (SortKey::Text(a), SortKey::Text(b)) => assert_eq!(a, b),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn every_stored_field_is_text() {
        // A document's stored fields (its description and card's details) are read back as
        // text (`StoredFields`).
        let (schema, _) = schema::build();
        let stored: Vec<_> = schema
            .fields()
            .filter(|(_, entry)| entry.is_stored())
            .collect();
        assert!(!stored.is_empty());
        for (_, entry) in stored {
            assert!(
                matches!(entry.field_type(), tantivy::schema::FieldType::Str(_)),
                "{} is stored but is not text",
                entry.name()
            );
        }
    }

    #[test]
    fn hits_read_what_they_show_from_the_card_column() {
        // The stored documents hold the card's details and the description alone: a page of
        // hits showing names and organisations decompresses no stored block.
        let (schema, fields) = schema::build();
        let stored: Vec<&str> = schema
            .fields()
            .filter(|(_, entry)| entry.is_stored())
            .map(|(_, entry)| entry.name())
            .collect();
        assert_eq!(stored, ["description", "card_details"]);
        let card = schema.get_field_entry(fields.card);
        assert!(card.is_fast() && !card.is_indexed() && !card.is_stored());
        assert!(matches!(
            card.field_type(),
            tantivy::schema::FieldType::Bytes(_)
        ));
        // And a listing indexed without a card still shows its texts (highlights read them).
        let index = Index::in_memory(Synonyms::parse([crate::synonyms::BUILT_IN])).expect("index");
        let plain = doc(
            "Dads' walk",
            "UNIVERSAL",
            Catchment::PostcodePrefix("GL".into()),
        );
        index.apply(&[plain], &[], 1).expect("apply");
        let found = index
            .search(&SearchRequest {
                text: Some("postnatal depression".into()),
                cards: Cards::Heads,
                ..request(Filter::default())
            })
            .expect("search");
        let hit = found.hits.first().expect("a hit");
        assert!(hit.card.is_none(), "indexed without a card");
        assert!(
            hit.highlights
                .iter()
                .any(|h| h.field == "description" && h.snippet.contains("<b>")),
            "{:?}",
            hit.highlights
        );
    }

    fn doc(name: &str, level: &str, catchment: Catchment) -> ServiceDoc {
        ServiceDoc {
            id: Uuid::new_v4(),
            name: name.to_owned(),
            description: format!("{name} helps parents with postnatal depression and bonding"),
            status: "ACTIVE".to_owned(),
            level_of_need: level.to_owned(),
            audiences: vec!["FATHERS".to_owned()],
            catchments: vec![catchment],
            assured_date: chrono::NaiveDate::from_ymd_opt(2026, 1, 1),
            ..ServiceDoc::default()
        }
    }

    fn request(filter: Filter) -> SearchRequest {
        SearchRequest {
            filter,
            first: 10,
            today: 20_000,
            facets: true,
            highlights: true,
            ..SearchRequest::default()
        }
    }

    /// A search from a place (`latitude`, `longitude`, `radius_km`) in `place`, keeping
    /// listings without a location whose catchment covers it.
    fn within_radius(
        (text, sort, first): (Option<&str>, Sort, usize),
        (latitude, longitude, radius_km): (f64, f64, f64),
        place: &Coverage,
    ) -> SearchRequest {
        SearchRequest {
            text: text.map(str::to_owned),
            near: Some(crate::Near {
                latitude,
                longitude,
                radius_km: Some(radius_km),
                coverage: Some(place.clone()),
            }),
            sort,
            first,
            ..request(Filter::default())
        }
    }

    #[test]
    fn changes_delete_the_listings_they_name_and_no_other() {
        // Ids that share their high or their low half with another listing's.
        let ids = [
            Uuid::from_u128(7 << 64 | 1),
            Uuid::from_u128(7 << 64 | 2),
            Uuid::from_u128(8 << 64 | 1),
            Uuid::from_u128(9 << 64 | 9),
        ];
        let listing = |id: Uuid, name: &str| ServiceDoc {
            id,
            ..doc(name, "TARGETED", Catchment::National)
        };
        let index = Index::in_memory(Synonyms::default()).expect("index");
        let docs: Vec<ServiceDoc> = ids.iter().map(|id| listing(*id, "Baby group")).collect();
        index.rebuild(docs, 1).expect("rebuild");
        let held = |index: &Index| -> Vec<bool> {
            ids.iter()
                .map(|id| index.contains(*id).expect("contains"))
                .collect()
        };
        assert_eq!(held(&index), [true; 4]);
        index.apply(&[], &[ids[0]], 2).expect("delete");
        assert_eq!(held(&index), [false, true, true, true]);
        assert_eq!(index.num_docs(), 3);
        // An update replaces the listing's document, which then lives in a segment of its own.
        index
            .apply(&[listing(ids[1], "Renamed dads")], &[], 3)
            .expect("update");
        assert_eq!(held(&index), [false, true, true, true]);
        assert_eq!(index.num_docs(), 3);
        assert!(index.searcher().segment_readers().len() > 1);
        let found = |text: &str| -> Vec<Uuid> {
            let request = SearchRequest {
                text: Some(text.to_owned()),
                ..request(Filter::default())
            };
            let found = index.search(&request).expect("search");
            found.hits.iter().map(|hit| hit.id).collect()
        };
        assert_eq!(found("renamed"), [ids[1]]);
        assert_eq!(found("group").len(), 2);
        // Deleting a listing of the newer segment and one of the older, and one never indexed.
        index
            .apply(&[], &[ids[1], ids[3], Uuid::from_u128(7 << 64 | 3)], 4)
            .expect("delete");
        assert_eq!(held(&index), [false, false, true, false]);
        assert_eq!(index.num_docs(), 1);
        assert!(found("renamed").is_empty());
    }

    #[test]
    fn filters_facets_and_catchments() {
        let index = Index::in_memory(Synonyms::parse([crate::synonyms::BUILT_IN])).expect("index");
        let docs = vec![
            doc(
                "Sale dads",
                "TARGETED",
                Catchment::PostcodePrefix("M33".into()),
            ),
            doc(
                "Glos team",
                "SPECIALIST",
                Catchment::PostcodePrefix("GL".into()),
            ),
            doc("National line", "UNIVERSAL", Catchment::National),
        ];
        let mut docs = docs;
        docs[0].languages = vec!["en".into(), "ur".into()];
        docs[2].languages = vec!["en".into()];
        index.apply(&docs, &[], 7).expect("apply");
        assert_eq!(index.last_seq(), Some(7));
        let all = index.search(&request(Filter::default())).expect("search");
        assert_eq!(all.total_count, 3);
        let levels: u64 = all.facets.level_of_need.iter().map(|(_, c)| c).sum();
        assert_eq!(levels, 3, "{:?} {:?}", all.facets, all.hits.len());
        let sale = Coverage {
            area: "M".into(),
            district: "M33".into(),
            sector: Some("M33 7".into()),
            codes: Vec::new(),
        };
        let covered = index
            .search(&request(Filter {
                covers: Some(sale.clone()),
                ..Filter::default()
            }))
            .expect("search");
        assert_eq!(covered.total_count, 2);
        let specialist = index
            .search(&request(Filter {
                level_of_need: vec!["SPECIALIST".into()],
                ..Filter::default()
            }))
            .expect("search");
        assert_eq!(specialist.total_count, 1);
        let fresh = index
            .search(&request(Filter {
                verified_since_day: Some(day_number(
                    chrono::NaiveDate::from_ymd_opt(2026, 6, 1).expect("date"),
                )),
                ..Filter::default()
            }))
            .expect("search");
        assert_eq!(fresh.total_count, 0);
        // Each hit of an unfiltered search says whether it covers Sale, and through what.
        let judged = index
            .search(&SearchRequest {
                coverage_of: Some(sale.clone()),
                ..request(Filter::default())
            })
            .expect("search");
        let by_name: HashMap<&str, Option<crate::HitCoverage>> = judged
            .hits
            .iter()
            .map(|h| {
                let name = docs.iter().find(|d| d.id == h.id).map(|d| d.name.as_str());
                (name.unwrap_or_default(), h.coverage.clone())
            })
            .collect();
        let through = |name: &str| by_name[name].as_ref().and_then(|c| c.through.clone());
        assert_eq!(
            through("Sale dads"),
            Some(crate::CoveredBy::PostcodeDistrict("M33".into()))
        );
        assert_eq!(through("National line"), Some(crate::CoveredBy::National));
        assert_eq!(
            by_name["Glos team"],
            Some(crate::HitCoverage {
                covered: false,
                known: true,
                through: None
            })
        );
        assert!(all.hits.iter().all(|h| h.coverage.is_none()));
        // Languages are counted over every match.
        let languages = all.facets.languages.clone();
        assert_eq!(languages, [("en".to_owned(), 2), ("ur".to_owned(), 1)]);
        let urdu = index
            .search(&request(Filter {
                languages: vec!["ur".into()],
                ..Filter::default()
            }))
            .expect("search");
        assert_eq!(urdu.total_count, 1);
        let text = index
            .search(&SearchRequest {
                text: Some("PND".into()),
                ..request(Filter::default())
            })
            .expect("search");
        assert_eq!(text.total_count, 3);
        assert!(
            text.hits[0]
                .highlights
                .iter()
                .any(|h| h.snippet.contains("<b>"))
        );
    }

    #[test]
    fn suggestions_name_terms_then_active_services_with_their_ids() {
        let index = Index::in_memory(Synonyms::default()).expect("index");
        let feeding = Uuid::new_v4();
        let sleep = Uuid::new_v4();
        index.set_vocabulary(vec![
            ("Infant feeding advice".into(), feeding),
            ("Feeding".into(), Uuid::from_u128(2)),
            ("Feeding".into(), Uuid::from_u128(1)),
            ("Infant sleep".into(), sleep),
        ]);
        let mut active = doc("Feeding Friends cafe", "UNIVERSAL", Catchment::National);
        active.id = Uuid::new_v4();
        let mut closed = doc("Feeding clinic", "UNIVERSAL", Catchment::National);
        closed.status = "INACTIVE".into();
        index
            .apply(&[active.clone(), closed], &[], 1)
            .expect("apply");
        let found = index.suggestions("feed", 8).expect("suggestions");
        assert_eq!(
            found,
            [
                Suggestion {
                    text: "Feeding".into(),
                    kind: SuggestionKind::Category,
                    id: Uuid::from_u128(1),
                },
                Suggestion {
                    text: "Infant feeding advice".into(),
                    kind: SuggestionKind::Category,
                    id: feeding,
                },
                Suggestion {
                    text: "Feeding Friends cafe".into(),
                    kind: SuggestionKind::Service,
                    id: active.id,
                },
            ]
        );
        assert_eq!(
            index.suggest("feed", 8).expect("suggest"),
            ["Feeding", "Infant feeding advice", "Feeding Friends cafe"]
        );
        assert_eq!(index.suggestions("feed", 1).expect("one").len(), 1);
        assert!(index.suggestions("  ", 8).expect("blank").is_empty());
        assert!(index.suggestions("feed", 0).expect("none").is_empty());
    }

    /// Service completions by reading every listing: active ones holding the prefix's words,
    /// names starting with the prefix, then shorter, then in byte order, then by id, one each.
    fn completions_read_through(
        index: &Index,
        listings: &HashMap<Uuid, ServiceDoc>,
        prefix: &str,
        limit: usize,
    ) -> Vec<(String, Uuid)> {
        let words = analyse(&index.index, RAW, prefix);
        let Some((last, before)) = words.split_last() else {
            return Vec::new();
        };
        let wanted = prefix.trim().to_lowercase();
        let mut found: Vec<_> = listings
            .values()
            .filter(|doc| doc.status == "ACTIVE")
            .filter(|doc| {
                let own = analyse(&index.index, RAW, &doc.name);
                own.iter().any(|w| w.starts_with(last.as_str()))
                    && before.iter().all(|w| own.contains(w))
            })
            .map(|doc| {
                let starts = doc.name.to_lowercase().starts_with(&wanted);
                (!starts, doc.name.len(), doc.name.clone(), doc.id)
            })
            .collect();
        found.sort();
        let mut out: Vec<(String, Uuid)> = Vec::new();
        for (_, _, name, id) in found {
            if out.len() < limit && !out.iter().any(|(n, _)| *n == name) {
                out.push((name, id));
            }
        }
        out
    }

    #[test]
    fn service_completions_are_the_best_names_of_every_segment_whatever_their_number() {
        for seed in [7, 11, 23, 101] {
            completions_match_a_read_through(seed);
        }
    }

    /// Listings of random names from a few words, in several commits with renames, closures
    /// and removals: every completion of many prefixes is the read-through's.
    fn completions_match_a_read_through(seed: u64) {
        let index = Index::in_memory(Synonyms::default()).expect("index");
        let words = [
            "Baby",
            "baby",
            "Bonding",
            "Group",
            "Dads",
            "Feeding",
            "Feeders",
            "Café",
            "Sleep",
            "Perinatal",
            "Peer",
            "Support",
            "North",
            "Bath",
            "Ba",
        ];
        let mut rng = fastrand::Rng::with_seed(seed);
        let named = |rng: &mut fastrand::Rng| {
            let length = rng.usize(1..=4);
            let name: Vec<&str> = (0..length)
                .map(|_| words[rng.usize(..words.len())])
                .collect();
            name.join(" ")
        };
        let pool: Vec<String> = (0..30).map(|_| named(&mut rng)).collect();
        let mut listings: HashMap<Uuid, ServiceDoc> = HashMap::new();
        let mut seq = 0;
        // Several commits (segments); then renames, closures and removals in later ones.
        for batch in 0..6 {
            let mut upserts = Vec::new();
            let mut deletes = Vec::new();
            for _ in 0..70 {
                // Names are often shared (chains of the same service in many places).
                let name = if rng.usize(..3) == 0 {
                    named(&mut rng)
                } else {
                    pool[rng.usize(..pool.len())].clone()
                };
                let mut doc = doc(&name, "UNIVERSAL", Catchment::National);
                if rng.usize(..5) == 0 {
                    doc.status = "INACTIVE".into();
                }
                if batch > 2 && !listings.is_empty() && rng.usize(..3) == 0 {
                    // A listing already indexed, renamed or closed.
                    let ids: Vec<Uuid> = listings.keys().copied().collect();
                    doc.id = ids[rng.usize(..ids.len())];
                    if upserts.iter().any(|d: &ServiceDoc| d.id == doc.id) {
                        continue;
                    }
                }
                upserts.push(doc);
            }
            if batch == 1 {
                // Lower case and the index's words differ for a final sigma: these names start
                // with "οδος" but only one holds the word the index reads.
                for name in ["ΟΔΟΣ Baby", "οδος Group"] {
                    upserts.push(doc(name, "UNIVERSAL", Catchment::National));
                }
            }
            if batch > 3 {
                let ids: Vec<Uuid> = listings.keys().copied().take(10).collect();
                for id in ids {
                    if !upserts.iter().any(|d| d.id == id) {
                        deletes.push(id);
                    }
                }
            }
            seq += 1;
            index.apply(&upserts, &deletes, seq).expect("apply");
            for id in &deletes {
                listings.remove(id);
            }
            for doc in upserts {
                listings.insert(doc.id, doc);
            }
        }
        assert!(index.reader.searcher().segment_readers().len() > 1);
        // Dense prefixes (walked), sparse ones (read through), several words, none found.
        for prefix in [
            "b",
            "ba",
            "bab",
            "baby",
            "Baby g",
            "baby bonding gr",
            "fee",
            "feeders",
            "caf",
            "café",
            "dads sl",
            "café b",
            "north ba",
            "peer s",
            "support",
            "north bath b",
            "peri",
            "Sleep Perinatal",
            "zz",
            "baby zz",
            "οδος",
            "ΟΔΟΣ",
        ] {
            for limit in [1, 3, 8, 50] {
                let got: Vec<(String, Uuid)> = index
                    .suggestions(prefix, limit)
                    .expect("suggestions")
                    .into_iter()
                    .map(|s| (s.text, s.id))
                    .collect();
                assert_eq!(
                    got,
                    completions_read_through(&index, &listings, prefix, limit),
                    "seed {seed}: {prefix} {limit}"
                );
            }
        }
    }

    #[test]
    fn families_see_only_what_they_can_use_and_unknown_fits_rank_lower_with_a_mark() {
        let index = Index::in_memory(Synonyms::parse([crate::synonyms::BUILT_IN])).expect("index");
        let with = |name: &str, audiences: &[&str], tweak: fn(&mut ServiceDoc)| {
            let mut d = doc(name, "UNIVERSAL", Catchment::National);
            d.id = Uuid::new_v4();
            d.audiences = audiences.iter().map(|a| (*a).to_owned()).collect();
            tweak(&mut d);
            d
        };
        let docs = vec![
            with("Dads group", &["FATHERS"], |_| {}),
            with("Mums group", &["MOTHERS"], |_| {}),
            with("Parents group", &["MOTHERS", "CO_PARENTS"], |_| {}),
            with("Anyone group", &[], |d| d.from_pregnancy = true),
            with("Loss group", &["BEREAVED"], |_| {}),
            with("Arabic mums", &["MOTHERS", "LANGUAGE_COMMUNITY"], |d| {
                d.languages = vec!["ar".into()];
            }),
            with("Unknown group", &[], |d| {
                d.pregnancy_unknown = true;
                d.ages_unknown = true;
            }),
            with("Toddlers", &[], |d| {
                d.pregnancy_unknown = true;
                d.min_age_months = Some(12.0);
            }),
        ];
        index.apply(&docs, &[], 1).expect("apply");
        let names = |filter: Filter| -> Vec<String> {
            let found = index.search(&request(filter)).expect("search");
            let by_id: HashMap<Uuid, &str> = docs.iter().map(|d| (d.id, d.name.as_str())).collect();
            let mut names: Vec<String> =
                found.hits.iter().map(|h| by_id[&h.id].to_owned()).collect();
            names.sort();
            names
        };
        let family = |audiences: &[&str], bereaved: bool, languages: &[&str]| Filter {
            family: Some(FamilyFilter {
                audiences: audiences.iter().map(|a| (*a).to_owned()).collect(),
                bereaved,
                languages: languages.iter().map(|l| (*l).to_owned()).collect(),
            }),
            ..Filter::default()
        };
        assert_eq!(
            names(family(&["FATHERS"], false, &[])),
            [
                "Anyone group",
                "Dads group",
                "Parents group",
                "Toddlers",
                "Unknown group"
            ]
        );
        assert_eq!(
            names(family(&["MOTHERS"], false, &["sk"])),
            [
                "Anyone group",
                "Mums group",
                "Parents group",
                "Toddlers",
                "Unknown group"
            ]
        );
        assert!(names(family(&["MOTHERS"], false, &["ar"])).contains(&"Arabic mums".to_owned()));
        assert!(names(family(&[], true, &[])).contains(&"Loss group".to_owned()));
        assert_eq!(
            names(Filter::default()).len(),
            docs.len(),
            "no family: nothing left out"
        );
        // Pregnancy: known yes first, unknown kept below it with a mark, known no left out.
        let pregnant = index
            .search(&request(Filter {
                pregnant: true,
                family: Some(FamilyFilter::default()),
                ..Filter::default()
            }))
            .expect("search");
        let first = pregnant.hits.first().expect("a hit");
        assert_eq!(first.id, docs[3].id);
        assert!(first.unconfirmed.is_empty());
        let unknown = pregnant
            .hits
            .iter()
            .find(|h| h.id == docs[6].id)
            .expect("the unknown one is kept");
        assert_eq!(unknown.unconfirmed, vec![Unconfirmed::Pregnancy]);
        assert!(unknown.score < first.score);
        assert!(
            !pregnant.hits.iter().any(|h| h.id == docs[7].id),
            "toddlers start at 12 months"
        );
        let aged = index
            .search(&request(Filter {
                infant_age_months: Some(4.0),
                ..Filter::default()
            }))
            .expect("search");
        let unknown = aged.hits.iter().find(|h| h.id == docs[6].id).expect("kept");
        assert_eq!(unknown.unconfirmed, vec![Unconfirmed::Age]);
    }

    #[test]
    fn pages_in_name_order_walk_every_segment_by_name_then_id() {
        let index = Index::in_memory(Synonyms::default()).expect("index");
        // Names repeated across segments, differing in case, and one only in a later segment;
        // each segment with many inactive listings, so that the active ones are a few of them
        // (read through) and all statuses are most of them (walked in name order).
        let names = [
            "Baby Bond",
            "baby bond",
            "Ante",
            "Zeta",
            "Baby Bond",
            "Cafe",
            "café",
        ];
        let listing = |name: &str, status: &str| ServiceDoc {
            id: Uuid::new_v4(),
            name: name.to_owned(),
            status: status.into(),
            ..ServiceDoc::default()
        };
        let mut docs: Vec<ServiceDoc> = Vec::new();
        for (n, chunk) in names.chunks(2).enumerate() {
            let mut batch: Vec<ServiceDoc> =
                chunk.iter().map(|name| listing(name, "ACTIVE")).collect();
            batch.extend((0..150).map(|i| listing(&format!("Closed {n} {i}"), "INACTIVE")));
            index.apply(&batch, &[], n as i64).expect("apply");
            docs.extend(batch);
        }
        // Listed once (each segment keeps the filters' documents), then again after a listing
        // is renamed (its old document deleted) and one removed.
        pages_in_name_order_are_every_listing_by_name(&index, &docs);
        docs[0].name = "Young parents".to_owned();
        index.apply(&[docs[0].clone()], &[], 10).expect("rename");
        let removed = docs.remove(152);
        index.apply(&[], &[removed.id], 11).expect("remove");
        assert!(index.reader.searcher().segment_readers().len() > 1);
        pages_in_name_order_are_every_listing_by_name(&index, &docs);
    }

    #[test]
    fn searches_from_kept_sets_match_and_score_as_one_query_in_every_segment_and_generation() {
        let index = Index::in_memory(Synonyms::parse([crate::synonyms::BUILT_IN])).expect("index");
        let words = [
            "baby",
            "dad",
            "low",
            "mood",
            "anxiety",
            "postnatal",
            "depression",
            "pnd",
            "bonding",
            "infant",
            "perinatal",
            "mental",
            "health",
            "visitor",
            "group",
            "massage",
            "fathers",
        ];
        let mut rng = fastrand::Rng::with_seed(1001);
        let mut text = |count: usize| -> String {
            (0..count)
                .map(|_| words[rng.usize(..words.len())])
                .collect::<Vec<_>>()
                .join(" ")
        };
        let mut batch = |n: usize| -> Vec<ServiceDoc> {
            (0..n)
                .map(|i| ServiceDoc {
                    id: Uuid::new_v4(),
                    // Some listings alike, whose equal scores only their ids order.
                    name: if i % 10 == 5 {
                        "Baby massage group".to_owned()
                    } else {
                        text(1 + i % 3)
                    },
                    description: if i % 10 == 5 {
                        "Baby massage".to_owned()
                    } else {
                        text(4 + i % 9)
                    },
                    organization_name: if i % 10 == 5 {
                        "Group".to_owned()
                    } else {
                        text(1)
                    },
                    taxonomy_names: if i % 10 == 5 {
                        Vec::new()
                    } else {
                        vec![text(2)]
                    },
                    status: if i % 7 == 0 { "INACTIVE" } else { "ACTIVE" }.to_owned(),
                    level_of_need: ["UNIVERSAL", "TARGETED", "SPECIALIST"][i % 3].to_owned(),
                    audiences: match i % 4 {
                        0 => vec!["MOTHERS".to_owned()],
                        1 => vec!["BEREAVED".to_owned()],
                        _ => Vec::new(),
                    },
                    // Verified lately (the requests' today is 2024-10-04): final scores are
                    // the text scores, and a page's worst is as hard to pass as can be.
                    assured_date: chrono::NaiveDate::from_ymd_opt(2024, 9, 1),
                    ..ServiceDoc::default()
                })
                .collect()
        };
        let first = batch(120);
        index.apply(&first, &[], 1).expect("apply");
        index.apply(&batch(90), &[], 2).expect("apply");
        let texts = [
            None,
            Some("baby"),
            Some("low mood dad"),
            Some("postnatal depression"),
            Some("pnd bonding"),
            Some("infant mental health"),
            Some("anxeity"),
            Some("perinatal menta"),
            Some("massage group baby"),
        ];
        let filters = [
            Filter::default(),
            Filter {
                level_of_need: vec!["SPECIALIST".into()],
                ..Filter::default()
            },
            Filter {
                statuses: vec!["ACTIVE".into(), "INACTIVE".into()],
                ..Filter::default()
            },
            Filter {
                family: Some(FamilyFilter {
                    audiences: vec!["FATHERS".into()],
                    ..FamilyFilter::default()
                }),
                ..Filter::default()
            },
        ];
        // Each search, twice (its filters' documents and its words' scores then kept), against
        // the same search as one tantivy query: the same documents with the same scores.
        let compare = |index: &Index| {
            let searcher = index.searcher();
            for text in texts {
                for filter in &filters {
                    let (query, has_text, _) = query::build(
                        &index.index,
                        &searcher,
                        &index.fields,
                        &index.synonyms,
                        &index.phrases,
                        text,
                        filter,
                        None,
                        Vec::new(),
                        (&index.columns, &index.scores, &index.texts),
                    );
                    assert_eq!(has_text, text.is_some(), "{text:?}");
                    let whole = query
                        .downcast_ref::<crate::scores::SetQuery>()
                        .expect("a query of kept sets")
                        .whole();
                    let top = TopDocs::with_limit(1_000).order_by_score();
                    // Without text only the documents count (and every one scores the same).
                    let keep = |found: Vec<(f32, DocAddress)>| -> Vec<(f32, DocAddress)> {
                        let mut found: Vec<_> = found
                            .into_iter()
                            .map(|(score, at)| (if has_text { score } else { 0.0 }, at))
                            .collect();
                        found.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
                        found
                    };
                    let expected = keep(searcher.search(&whole, &top).expect("search"));
                    assert!(!expected.is_empty(), "{text:?} {filter:?}");
                    for _ in 0..2 {
                        let found = keep(searcher.search(&*query, &top).expect("search"));
                        assert_eq!(found, expected, "{text:?} {filter:?}");
                    }
                    // Each segment's live matches, from the kept sets' bits and from the one
                    // query's documents one by one (deleted ones left out either way).
                    let scoring = EnableScoring::disabled_from_searcher(&searcher);
                    let kept = query.weight(scoring).expect("weight");
                    let one = whole.weight(scoring).expect("weight");
                    for reader in searcher.segment_readers() {
                        let bits = crate::scores::live_bits(kept.as_ref(), reader)
                            .expect("bits")
                            .expect("a weight of kept sets");
                        assert!(
                            crate::scores::live_bits(one.as_ref(), reader)
                                .expect("bits")
                                .is_none()
                        );
                        let read = collector::live_matches(one.as_ref(), reader).expect("read");
                        assert_eq!(bits, read, "{text:?} {filter:?}");
                        assert_eq!(
                            collector::live_matches(kept.as_ref(), reader).expect("read"),
                            read
                        );
                    }
                    // Facets count every match (from each value's documents), while by
                    // relevance only the matches that may enter the page are offered to it: the
                    // same pages with and without them, and counts as each match's columns
                    // give them.
                    let page = |facets: bool, first: usize| {
                        index
                            .search(&SearchRequest {
                                text: text.map(str::to_owned),
                                facets,
                                first,
                                ..request(filter.clone())
                            })
                            .expect("search")
                    };
                    // Every match's facet values, read from its columns one by one.
                    let mut counted: [HashMap<String, u64>; FACET_FIELDS.len()] =
                        Default::default();
                    for (_, at) in &expected {
                        let fast = searcher.segment_reader(at.segment_ord).fast_fields();
                        for (field, counts) in FACET_FIELDS.iter().zip(counted.iter_mut()) {
                            let Some(column) = fast.str(field).expect("column") else {
                                continue;
                            };
                            for ord in column.term_ords(at.doc_id) {
                                let mut value = String::new();
                                assert!(column.ord_to_str(ord, &mut value).expect("value"));
                                *counts.entry(value).or_default() += 1;
                            }
                        }
                    }
                    let [categories, level, audiences, modes, referral, languages] =
                        counted.map(sorted_counts);
                    let facets = page(true, 3).facets;
                    assert_eq!(facets.categories, categories, "{text:?} {filter:?}");
                    assert_eq!(facets.level_of_need, level, "{text:?} {filter:?}");
                    assert_eq!(facets.audiences, audiences, "{text:?} {filter:?}");
                    assert_eq!(facets.delivery_modes, modes, "{text:?} {filter:?}");
                    assert_eq!(facets.referral_routes, referral, "{text:?} {filter:?}");
                    assert_eq!(facets.languages, languages, "{text:?} {filter:?}");
                    for first in [1, 3, 10] {
                        let (all, pruned) = (page(true, first), page(false, first));
                        assert_eq!(all.total_count, expected.len() as u64, "{text:?}");
                        assert_eq!(pruned.total_count, all.total_count, "{text:?}");
                        let hits = |page: &SearchResults| -> Vec<(Uuid, f32)> {
                            page.hits.iter().map(|h| (h.id, h.score)).collect()
                        };
                        assert_eq!(hits(&pruned), hits(&all), "{text:?} {filter:?}");
                        assert_eq!(pruned.has_next_page, all.has_next_page);
                    }
                }
            }
        };
        compare(&index);
        // A commit changes every word's statistics: kept scores are not reused.
        index
            .apply(&batch(60), &[first[3].id, first[8].id], 3)
            .expect("apply");
        assert!(index.searcher().segment_readers().len() > 1);
        compare(&index);
    }

    /// A page's hits: id, score and distance.
    fn page_hits(page: &SearchResults) -> Vec<(Uuid, f32, Option<f64>)> {
        page.hits
            .iter()
            .map(|h| (h.id, h.score, h.distance_km))
            .collect()
    }

    #[test]
    fn a_page_from_a_place_is_the_same_whether_near_services_are_looked_at_first_or_not() {
        let index = Index::in_memory(Synonyms::default()).expect("index");
        let mut rng = fastrand::Rng::with_seed(11);
        let words = [
            "baby", "mood", "dads", "group", "feeding", "sleep", "massage",
        ];
        // Listings over a wide area, dense near the places searched from and sparse far
        // away, some with two locations, their words and freshness varied so that far ones
        // often score better on their words than near ones.
        let (lat, lon) = (52.2, -1.9);
        let kinds = [Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4()];
        let docs: Vec<ServiceDoc> = (0..900)
            .map(|i| {
                let spread = [0.05, 0.3, 1.5, 4.0][i % 4];
                let mut point = || {
                    (
                        lat + (rng.f64() - 0.5) * spread,
                        lon + (rng.f64() - 0.5) * spread * 1.6,
                    )
                };
                let locations = if i % 9 == 0 {
                    vec![point(), point()]
                } else {
                    vec![point()]
                };
                let name: Vec<&str> = (0..1 + i % 3)
                    .map(|_| words[rng.usize(..words.len())])
                    .collect();
                ServiceDoc {
                    id: Uuid::new_v4(),
                    name: format!("{} {i}", name.join(" ")),
                    description: (0..rng.usize(2..12))
                        .map(|_| words[rng.usize(..words.len())])
                        .collect::<Vec<_>>()
                        .join(" "),
                    status: "ACTIVE".to_owned(),
                    locations,
                    categories: vec![kinds[i % 3]],
                    assured_date: chrono::NaiveDate::from_ymd_opt(
                        if i % 5 == 0 { 2020 } else { 2024 },
                        9,
                        1,
                    ),
                    ..ServiceDoc::default()
                }
            })
            .collect();
        index.apply(&docs[..500], &[], 1).expect("apply");
        index.apply(&docs[500..], &[], 2).expect("apply");
        let searches = [
            (Some("baby"), Sort::Relevance),
            (Some("dads group"), Sort::Relevance),
            (Some("massage sleep feeding"), Sort::Relevance),
            (Some("mood"), Sort::Relevance),
            (None, Sort::Distance),
        ];
        // From the dense middle, from sparse places around it and from far outside.
        let mut places = vec![(lat, lon), (lat - 1.9, lon + 3.0)];
        places.extend((0..12).map(|k| {
            let k = f64::from(k);
            (lat + (k * 0.37) % 1.6 - 0.8, lon + (k * 0.61) % 2.4 - 1.2)
        }));
        for (from_lat, from_lon) in places {
            for (text, sort) in searches {
                let search = |radius_km: Option<f64>, first: usize, after: Option<String>| {
                    index
                        .search(&SearchRequest {
                            text: text.map(str::to_owned),
                            near: Some(Near {
                                latitude: from_lat,
                                longitude: from_lon,
                                radius_km,
                                coverage: None,
                            }),
                            sort,
                            first,
                            after,
                            facets: first == 5,
                            today: 19_999,
                            ..SearchRequest::default()
                        })
                        .expect("search")
                };
                let hits = page_hits;
                // Every match, in order: a page never full looks at every match.
                let everything = |radius_km: Option<f64>| search(radius_km, docs.len(), None);
                for first in [1, 5, 20, 40] {
                    // Every listing lies within 20,000 km: a radius search keeps every match.
                    let (near_first, measured) = (
                        search(None, first, None),
                        search(Some(20_000.0), first, None),
                    );
                    assert!(!near_first.hits.is_empty(), "{text:?}");
                    assert_eq!(hits(&near_first), hits(&measured), "{text:?} {first}");
                    assert_eq!(near_first.total_count, measured.total_count);
                    assert_eq!(near_first.has_next_page, measured.has_next_page);
                    assert_eq!(near_first.facets.categories, measured.facets.categories);
                    if first == 5 {
                        assert_eq!(near_first.facets.categories.len(), 3);
                    }
                    // Each page is the start of the whole list, within a radius or not.
                    for radius_km in [None, Some(20_000.0), Some(30.0), Some(4.0)] {
                        let page = search(radius_km, first, None);
                        let all = everything(radius_km);
                        let mut expected = hits(&all);
                        expected.truncate(first);
                        assert_eq!(hits(&page), expected, "{text:?} {first} {radius_km:?}");
                        assert_eq!(page.total_count, all.total_count);
                        assert_eq!(page.has_next_page, all.hits.len() > first);
                    }
                    // The next page too.
                    let cursor = near_first.hits.last().map(|hit| hit.cursor.clone());
                    let (next, next_measured) = (
                        search(None, first, cursor.clone()),
                        search(Some(20_000.0), first, cursor),
                    );
                    assert_eq!(hits(&next), hits(&next_measured), "{text:?} {first}");
                }
            }
        }
    }

    #[test]
    fn a_page_from_a_place_is_the_start_of_the_whole_list_across_the_antimeridian_and_without_locations()
     {
        let index = Index::in_memory(Synonyms::default()).expect("index");
        let mut rng = fastrand::Rng::with_seed(23);
        let words = ["baby", "mood", "dads", "group", "feeding", "sleep"];
        // Listings on both sides of the antimeridian and far from it, and a seventh of them
        // without a location (a ring holds those wherever it lies): more than two runs of 32
        // blocks of 64, some of which a ring holds nothing of.
        let docs: Vec<ServiceDoc> = (0..4_500)
            .map(|i| {
                let mut point = || match i % 3 {
                    0 => (-17.0 + rng.f64() * 0.6, 179.4 + rng.f64() * 0.6),
                    1 => (-17.0 + rng.f64() * 0.6, -180.0 + rng.f64() * 0.6),
                    _ => (51.0 + rng.f64() * 2.0, -2.5 + rng.f64() * 3.0),
                };
                let locations = match i % 7 {
                    0 => Vec::new(),
                    1 => vec![point(), point()],
                    _ => vec![point()],
                };
                ServiceDoc {
                    id: Uuid::from_u128(u128::from(i as u32) * 7_927 + 5),
                    name: format!("{} {i}", words[rng.usize(..words.len())]),
                    description: (0..rng.usize(2..10))
                        .map(|_| words[rng.usize(..words.len())])
                        .collect::<Vec<_>>()
                        .join(" "),
                    status: "ACTIVE".to_owned(),
                    locations,
                    ..ServiceDoc::default()
                }
            })
            .collect();
        index.apply(&docs, &[], 1).expect("apply");
        let mut places = vec![(-16.8, 179.99), (-16.8, -179.99), (-16.7, 180.0)];
        places.extend((0..8).map(|k| (51.2 + f64::from(k) * 0.22, -2.3 + f64::from(k) * 0.35)));
        for (latitude, longitude) in places {
            for text in ["baby", "dads group", "feeding sleep mood"] {
                let search = |first: usize| {
                    index
                        .search(&SearchRequest {
                            text: Some(text.to_owned()),
                            near: Some(Near {
                                latitude,
                                longitude,
                                radius_km: None,
                                coverage: None,
                            }),
                            first,
                            today: 19_999,
                            ..SearchRequest::default()
                        })
                        .expect("search")
                };
                let hits = page_hits;
                // A page never full looks at every match, and offers each.
                let whole = search(docs.len());
                assert_eq!(whole.hits.len() as u64, whole.total_count, "{text}");
                let all = hits(&whole);
                assert!(all.len() > 20, "{text}");
                for first in [1, 2, 3, 5, 8, 13, 20, 30] {
                    assert_eq!(
                        hits(&search(first)),
                        all[..first],
                        "{text} {first} from {latitude},{longitude}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_verified_days_read_out_once_are_the_listings_own() {
        let docs: Vec<ServiceDoc> = (0..300u32)
            .map(|i| ServiceDoc {
                id: Uuid::from_u128(u128::from(i) * 7_919 + 1),
                name: format!("Service {i}"),
                status: "ACTIVE".to_owned(),
                // Some never verified; dates from long ago to the far future.
                assured_date: if i % 5 == 0 {
                    None
                } else {
                    chrono::NaiveDate::from_ymd_opt(
                        [1, 1990, 2024, 2025, 9999][(i % 5) as usize] + (i % 3).cast_signed(),
                        1 + i % 12,
                        1 + i % 28,
                    )
                },
                ..ServiceDoc::default()
            })
            .collect();
        each_listing_of_two_segments(&docs, |_, columns, doc, listing| {
            let expected = listing.assured_date.map_or(i64::MIN, day_number);
            assert_eq!(columns.assured_day(doc), expected, "{}", listing.id);
        });
    }

    #[test]
    fn ranks_by_id_order_as_the_ids_do_in_each_segment() {
        let mut rng = fastrand::Rng::with_seed(7);
        let docs: Vec<ServiceDoc> = (0..330)
            .map(|i| ServiceDoc {
                id: Uuid::from_u128(rng.u128(..)),
                name: format!("Service {i}"),
                status: "ACTIVE".to_owned(),
                locations: vec![(50.0 + rng.f64() * 5.0, -4.0 + rng.f64() * 5.0)],
                ..ServiceDoc::default()
            })
            .collect();
        let mut ranked: BTreeMap<tantivy::index::SegmentId, Vec<(u32, Uuid)>> = BTreeMap::new();
        each_listing_of_two_segments(&docs, |reader, columns, doc, listing| {
            ranked
                .entry(reader.segment_id())
                .or_default()
                .push((columns.id_rank(doc), listing.id));
        });
        assert_eq!(ranked.len(), 2);
        for mut segment in ranked.into_values() {
            segment.sort();
            let ranks: Vec<u32> = segment.iter().map(|(rank, _)| *rank).collect();
            assert_eq!(
                ranks,
                (0..u32::try_from(segment.len()).expect("small")).collect::<Vec<_>>()
            );
            assert!(segment.windows(2).all(|pair| pair[0].1 < pair[1].1));
        }
    }

    /// Indexes `docs` in two segments (the first 200, then the rest) and calls `check` with
    /// each document of each segment and the listing it holds; every listing is checked.
    fn each_listing_of_two_segments(
        docs: &[ServiceDoc],
        check: impl FnMut(&tantivy::SegmentReader, &collector::SegmentColumns, DocId, &ServiceDoc),
    ) {
        let index = Index::in_memory(Synonyms::default()).expect("index");
        each_listing_of_two_segments_of(&index, docs, check);
    }

    /// As [`each_listing_of_two_segments`], with `index` (empty).
    fn each_listing_of_two_segments_of(
        index: &Index,
        docs: &[ServiceDoc],
        mut check: impl FnMut(&tantivy::SegmentReader, &collector::SegmentColumns, DocId, &ServiceDoc),
    ) {
        index.apply(&docs[..200], &[], 1).expect("apply");
        index.apply(&docs[200..], &[], 2).expect("apply");
        let searcher = index.searcher();
        let mut seen = 0;
        for reader in searcher.segment_readers() {
            let columns = index.columns.get(reader).expect("columns");
            for doc in 0..reader.max_doc() {
                let id = Uuid::from_u128(columns.id(doc));
                let listing = docs.iter().find(|d| d.id == id).expect("a listing");
                check(reader, &columns, doc, listing);
                seen += 1;
            }
        }
        assert_eq!(seen, docs.len());
    }

    #[test]
    fn no_listing_of_a_block_is_nearer_than_the_block_says() {
        // Listings across Britain with one, several or no locations, and a few far away:
        // by the antimeridian, near a pole, on the equator.
        let mut rng = fastrand::Rng::with_seed(1001);
        let far = [
            (0.0, 0.0),
            (-45.0, 179.9),
            (-44.0, -179.9),
            (89.5, 10.0),
            (70.0, -150.0),
        ];
        // (Enough for a whole span of blocks and part of another, in the larger segment.)
        let docs: Vec<ServiceDoc> = (0..4_500u32)
            .map(|i| ServiceDoc {
                id: Uuid::from_u128(u128::from(i) * 104_729 + 3),
                name: format!("Service {i}"),
                status: "ACTIVE".to_owned(),
                locations: (0..[1, 1, 1, 2, 0, 3][i as usize % 6])
                    .map(|_| {
                        if rng.u32(..40) == 0 {
                            far[rng.usize(..far.len())]
                        } else {
                            (49.9 + rng.f64() * 8.8, -7.5 + rng.f64() * 9.2)
                        }
                    })
                    .collect(),
                ..ServiceDoc::default()
            })
            .collect();
        let mut places: Vec<(f64, f64)> = far.to_vec();
        places.extend((0..40).map(|_| (49.0 + rng.f64() * 11.0, -9.0 + rng.f64() * 12.0)));
        places.extend(
            docs.iter()
                .filter_map(|d| d.locations.first().copied())
                .take(20),
        );
        let mut tight = 0;
        each_listing_of_two_segments(&docs, |_, columns, doc, listing| {
            for &(latitude, longitude) in &places {
                let from = (
                    latitude,
                    longitude,
                    crate::geo::cosine_of_latitude(latitude),
                );
                let said = columns.nearest_factor_in_block(doc as usize / 64, from);
                // And no block of a span is nearer than the span says.
                let span = doc as usize / 64 / crate::scores::SPAN;
                assert!(said <= columns.nearest_factor_in_span(span, from));
                let own = if listing.locations.is_empty() {
                    // Without a location, a listing is at best near by its catchment.
                    collector::distance_factor(None)
                } else {
                    let nearest = listing
                        .locations
                        .iter()
                        .map(|&(lat, lon)| crate::geo::distance_km(latitude, longitude, lat, lon))
                        .fold(f64::INFINITY, f64::min);
                    collector::distance_factor(Some(nearest))
                };
                assert!(own <= said, "{} from {latitude},{longitude}", listing.id);
                if said - own < 0.01 {
                    tight += 1;
                }
            }
        });
        // And the bound is close for many: it is the nearest corner or edge of a small box.
        assert!(tight > docs.len() * places.len() / 10, "{tight}");
    }

    #[test]
    fn the_cards_read_out_once_are_the_listings_own() {
        let docs: Vec<ServiceDoc> = (0..300u32)
            .map(|i| ServiceDoc {
                id: Uuid::from_u128(u128::from(i) * 7_919 + 1),
                name: format!("Service {i}"),
                alternate_name: (i % 4 == 0).then(|| format!("Also {i}")),
                status: "ACTIVE".to_owned(),
                // Some without a card, some alike, some with bytes that are not text.
                card: match i % 5 {
                    0 => Vec::new(),
                    1 => b"alike".to_vec(),
                    2 => vec![0xFF, 0, u8::try_from(i % 256).expect("a byte"), 0xFE],
                    _ => format!("card of {i} ")
                        .repeat(1 + i as usize % 40)
                        .into_bytes(),
                },
                ..ServiceDoc::default()
            })
            .collect();
        let check = |reader: &tantivy::SegmentReader,
                     columns: &collector::SegmentColumns,
                     doc: DocId,
                     listing: &ServiceDoc| {
            let column = reader
                .fast_fields()
                .bytes("card")
                .expect("read")
                .expect("a column");
            let ord = column.term_ords(doc).next().expect("an ord");
            let mut direct = Vec::new();
            assert!(column.ord_to_bytes(ord, &mut direct).expect("read"));
            let cached = columns.card(doc).expect("a card");
            assert_eq!(cached, &direct[..], "{}", listing.id);
            let frame = crate::frame::decode(cached).expect("a frame");
            assert_eq!(frame.name, listing.name);
            assert_eq!(frame.alternate_name, listing.alternate_name.as_deref());
            assert_eq!(frame.head, &listing.card[..], "{}", listing.id);
        };
        // In memory, read through the column; on disk, from the segments' files.
        each_listing_of_two_segments(&docs, check);
        let dir = tempfile::tempdir().expect("tempdir");
        let on_disk = Index::open(dir.path(), Synonyms::default()).expect("open");
        each_listing_of_two_segments_of(&on_disk, &docs, check);
    }

    #[test]
    fn a_card_dictionary_read_from_the_file_is_the_columns() {
        let docs: Vec<ServiceDoc> = (0..5_000u32)
            .map(|i| ServiceDoc {
                id: Uuid::from_u128(u128::from(i) * 6_151 + 11),
                name: format!("Service {i}"),
                status: "ACTIVE".to_owned(),
                card: format!("{i:05} ").repeat(1 + i as usize % 30).into_bytes(),
                ..ServiceDoc::default()
            })
            .collect();
        let dir = tempfile::tempdir().expect("tempdir");
        let index = Index::open(dir.path(), Synonyms::default()).expect("open");
        // The first segment's cards are read out in two rounds (see `Texts::from_dictionary`).
        index.apply(&docs[..4_500], &[], 1).expect("apply");
        index.apply(&docs[4_500..], &[], 2).expect("apply");
        let searcher = index.searcher();
        assert_eq!(searcher.segment_readers().len(), 2);
        for reader in searcher.segment_readers() {
            let column = reader
                .fast_fields()
                .bytes("card")
                .expect("read")
                .expect("a column");
            let apart =
                crate::dir::column_dictionary_apart(dir.path(), reader.segment_id(), "card")
                    .expect("read apart");
            let terms = column.dictionary().num_terms();
            assert_eq!(apart.num_terms(), terms);
            // Many blocks' worth of values in one segment at least (its cards are some 400 kB).
            assert!(terms >= 500, "{terms}");
            let (mut ours, mut theirs) = (Vec::new(), Vec::new());
            for ord in 0..terms as u64 {
                assert!(apart.ord_to_term(ord, &mut ours).expect("read"));
                assert!(
                    column
                        .dictionary()
                        .ord_to_term(ord, &mut theirs)
                        .expect("read")
                );
                assert_eq!(ours, theirs, "value {ord}");
            }
            // And read out whole, each listing's own.
            let columns = index.columns.get(reader).expect("columns");
            for doc in 0..reader.max_doc() {
                let ord = column.term_ords(doc).next().expect("an ord");
                assert!(column.ord_to_bytes(ord, &mut theirs).expect("read"));
                assert_eq!(columns.card(doc), Some(&theirs[..]), "document {doc}");
            }
            // A column that is not one of bytes, or none, is not read.
            assert!(
                crate::dir::column_dictionary_apart(dir.path(), reader.segment_id(), "min_age")
                    .is_err()
            );
            assert!(
                crate::dir::column_dictionary_apart(dir.path(), reader.segment_id(), "nothing")
                    .is_err()
            );
        }
        // A segment whose file is gone.
        let gone = tantivy::index::SegmentId::generate_random();
        let err = crate::dir::column_dictionary_apart(dir.path(), gone, "card").err();
        assert_eq!(
            err.map(|err| err.kind()),
            Some(std::io::ErrorKind::NotFound)
        );
    }

    #[test]
    fn ties_rank_by_id_whether_listings_were_written_in_id_order_or_not() {
        // Many listings alike (as a chain's branches are), some stale, some with an age range:
        // their scores tie in large groups.
        let mut rng = fastrand::Rng::with_seed(3);
        let texts = ["baby massage", "baby group", "feeding baby", "dads group"];
        let mut docs: Vec<ServiceDoc> = (0..600)
            .map(|i| ServiceDoc {
                id: Uuid::from_u128(rng.u128(..)),
                name: texts[i % 4].to_owned(),
                description: texts[(i / 4) % 4].to_owned(),
                status: "ACTIVE".to_owned(),
                assured_date: chrono::NaiveDate::from_ymd_opt(
                    if i % 7 == 0 { 2020 } else { 2024 },
                    9,
                    1,
                ),
                ..ServiceDoc::default()
            })
            .collect();
        docs.sort_by_key(|d| d.id);
        let in_order = Index::in_memory(Synonyms::default()).expect("index");
        in_order.apply(&docs[..450], &[], 1).expect("apply");
        in_order.apply(&docs[450..], &[], 2).expect("apply");
        let shuffled = Index::in_memory(Synonyms::default()).expect("index");
        let mut reversed = docs.clone();
        reversed.reverse();
        shuffled.apply(&reversed, &[], 1).expect("apply");
        let ids_ascending = |index: &Index| {
            let searcher = index.searcher();
            searcher.segment_readers().iter().all(|reader| {
                let columns = index.columns.get(reader).expect("columns");
                (1..reader.max_doc()).all(|doc| columns.id(doc - 1) < columns.id(doc))
            })
        };
        assert!(ids_ascending(&in_order));
        assert!(!ids_ascending(&shuffled));
        for text in ["baby", "group", "baby group", "dads", "feeding massage"] {
            let search = |index: &Index, first: usize| {
                let found = index
                    .search(&SearchRequest {
                        text: Some(text.to_owned()),
                        first,
                        today: 19_999,
                        ..SearchRequest::default()
                    })
                    .expect("search");
                let hits: Vec<(Uuid, f32)> = found.hits.iter().map(|h| (h.id, h.score)).collect();
                (hits, found.total_count, found.has_next_page)
            };
            let (all, total, _) = search(&shuffled, docs.len());
            for first in [1, 3, 20, 100] {
                let mut expected = all.clone();
                expected.truncate(first);
                for index in [&in_order, &shuffled] {
                    let (hits, count, more) = search(index, first);
                    assert_eq!(hits, expected, "{text} {first}");
                    assert_eq!(count, total);
                    assert_eq!(more, all.len() > first);
                }
            }
        }
    }

    #[test]
    fn the_listings_whose_catchment_holds_a_place_are_the_same_kept_or_read() {
        let index = Index::in_memory(Synonyms::default()).expect("index");
        // National and area catchments that many listings name (their listings kept) beside a
        // district that few name (read each time), in two segments.
        let docs: Vec<ServiceDoc> = (0..1_280usize)
            .map(|i| ServiceDoc {
                id: Uuid::new_v4(),
                name: format!("Service {i}"),
                status: "ACTIVE".to_owned(),
                catchments: vec![if i % 97 == 1 {
                    Catchment::PostcodePrefix("GL50".into())
                } else if i % 7 == 0 {
                    Catchment::National
                } else if i % 7 == 2 {
                    Catchment::PostcodePrefix("GL".into())
                } else {
                    Catchment::PostcodePrefix("BS1".into())
                }],
                ..ServiceDoc::default()
            })
            .collect();
        index.apply(&docs[..640], &[], 1).expect("apply");
        index.apply(&docs[640..], &[], 2).expect("apply");
        let place = Coverage {
            area: "GL".into(),
            district: "GL50".into(),
            sector: None,
            codes: Vec::new(),
        };
        let mut expected: Vec<u128> = docs[..]
            .iter()
            .filter(|d| d.covers(&place))
            .map(|d| d.id.as_u128())
            .collect();
        expected.sort_unstable();
        let terms = place.terms();
        let searcher = index.searcher();
        // Twice: read, then with the common terms' listings kept.
        for _ in 0..2 {
            let mut found = Vec::new();
            for reader in searcher.segment_readers() {
                let columns = index.columns.get(reader).expect("columns");
                let bits = columns
                    .any_term(reader, index.fields.covers, &terms)
                    .expect("read");
                for doc in 0..reader.max_doc() {
                    if bits[doc as usize / 64] & (1 << (doc % 64)) != 0 {
                        found.push(columns.id(doc));
                    }
                }
            }
            found.sort_unstable();
            assert_eq!(found, expected);
        }
        // The same listings through the filter.
        for _ in 0..2 {
            let found = index
                .search(&SearchRequest {
                    first: docs.len(),
                    facets: false,
                    highlights: false,
                    ..request(Filter {
                        covers: Some(place.clone()),
                        ..Filter::default()
                    })
                })
                .expect("search");
            let mut ids: Vec<u128> = found.hits.iter().map(|h| h.id.as_u128()).collect();
            ids.sort_unstable();
            assert_eq!(ids, expected);
            assert_eq!(found.total_count, expected.len() as u64);
        }
        // Both ways were taken: the district's listings are too few to keep.
        let district = Term::from_field_text(index.fields.covers, "D:GL50");
        assert!(terms.iter().any(|t| t == "D:GL50"), "{terms:?}");
        assert_eq!(searcher.segment_readers().len(), 2);
        for reader in searcher.segment_readers() {
            let held = reader
                .inverted_index(index.fields.covers)
                .and_then(|inverted| Ok(inverted.doc_freq(&district)?))
                .expect("doc freq");
            assert!(held > 0 && u64::from(held) * 64 < u64::from(reader.max_doc()));
        }
    }

    #[test]
    fn each_hit_is_judged_against_the_place_as_its_own_catchment_judges_it() {
        let index = Index::in_memory(Synonyms::default()).expect("index");
        // Every kind of catchment, some listings with two, and listings placed by their
        // venues' districts, over three segments written in turn.
        let docs: Vec<ServiceDoc> = (0..300usize)
            .map(|i| {
                let catchment = |k: usize| match k % 8 {
                    0 => Catchment::National,
                    1 => Catchment::PostcodePrefix("GL".into()),
                    2 => Catchment::PostcodePrefix("GL50".into()),
                    3 => Catchment::Sectors(vec!["GL50 1".into(), "GL50 2".into()]),
                    4 => Catchment::AdministrativeArea("E07000078".into()),
                    5 => Catchment::AdministrativeArea("E10000013".into()),
                    6 => Catchment::PostcodePrefix("BS1".into()),
                    _ => Catchment::Sectors(vec!["GL51 9".into()]),
                };
                let catchments = match i % 11 {
                    0 => Vec::new(),
                    1 | 2 => vec![catchment(i), catchment(i / 3)],
                    _ => vec![catchment(i)],
                };
                ServiceDoc {
                    id: Uuid::new_v4(),
                    name: format!("Service {i}"),
                    status: "ACTIVE".to_owned(),
                    location_districts: if i % 2 == 0 {
                        vec!["GL50".into()]
                    } else {
                        vec!["GL51".into()]
                    },
                    catchments,
                    ..ServiceDoc::default()
                }
            })
            .collect();
        index.apply(&docs[..100], &[], 1).expect("apply");
        index.apply(&docs[100..180], &[], 2).expect("apply");
        index.apply(&docs[180..], &[], 3).expect("apply");
        assert_eq!(index.searcher().segment_readers().len(), 3);
        let place = Coverage {
            area: "GL".into(),
            district: "GL50".into(),
            sector: Some("GL50 1".into()),
            codes: vec!["E07000078".into(), "E10000013".into()],
        };
        let judged = index
            .search(&SearchRequest {
                first: docs.len(),
                coverage_of: Some(place.clone()),
                ..request(Filter::default())
            })
            .expect("search");
        assert_eq!(judged.hits.len(), docs.len());
        let mut kinds = BTreeSet::new();
        for hit in &judged.hits {
            let doc = docs.iter().find(|d| d.id == hit.id).expect("a listing");
            let expected = doc.coverage(&place);
            if let Some(through) = &expected.through {
                let kind = format!("{through:?}");
                kinds.insert(kind[..kind.find('(').unwrap_or(kind.len())].to_owned());
            }
            kinds.insert(format!("known: {}", expected.known));
            assert_eq!(hit.coverage.as_ref(), Some(&expected), "{}", doc.name);
        }
        // Through a sector, a district (stated and by venue), an area, an administrative area
        // and the nation; and listings of both kinds.
        assert_eq!(kinds.len(), 8, "{kinds:?}");
    }

    #[test]
    fn a_radius_keeps_the_same_listings_from_crowded_cells_as_measuring_each_one() {
        // Thousands of listings in a few dozen cells of the grid, so that many cells lie
        // within a radius whole, and one on each corner of the cells near the middle; radii
        // through those corners and just short of them, and through other listings.
        let index = Index::in_memory(Synonyms::default()).expect("index");
        let mut rng = fastrand::Rng::with_seed(11);
        let (lat, lon) = (53.41, -2.23);
        let cell = crate::collector::CELL_DEGREES;
        let (row, column) = ((lat / cell).floor(), (lon / cell).floor());
        let corners: Vec<(f64, f64)> = (-3..=3)
            .flat_map(|r| (-4..=4).map(move |c| (f64::from(r), f64::from(c))))
            .map(|(r, c)| ((row + r) * cell, (column + c) * cell))
            .collect();
        let docs: Vec<ServiceDoc> = (0..2_500)
            .map(|_| (lat + rng.f64() * 0.3 - 0.15, lon + rng.f64() * 0.5 - 0.25))
            .chain(corners.iter().copied())
            .enumerate()
            .map(|(i, point)| ServiceDoc {
                id: Uuid::new_v4(),
                name: format!("Service {i}"),
                status: "ACTIVE".to_owned(),
                locations: vec![point],
                ..ServiceDoc::default()
            })
            .collect();
        index.apply(&docs, &[], 1).expect("apply");
        // The distance to a location as the index holds it (to a millionth of a degree).
        let at = |(a, b): (f64, f64)| {
            let (a, b) = crate::schema::unpack_location(crate::schema::pack_location(a, b));
            crate::geo::distance_km(lat, lon, a, b)
        };
        let mut radii = vec![1.0, 4.0, 7.5, 12.0, 30.0];
        radii.extend(
            corners
                .iter()
                .flat_map(|corner| [at(*corner), at(*corner) * (1.0 - 1e-7)]),
        );
        radii.extend(docs.iter().step_by(97).map(|d| at(d.locations[0])));
        for radius in radii {
            let within = docs.iter().filter(|d| at(d.locations[0]) <= radius).count();
            let found = index
                .search(&SearchRequest {
                    near: Some(crate::Near {
                        latitude: lat,
                        longitude: lon,
                        radius_km: Some(radius),
                        coverage: None,
                    }),
                    sort: Sort::Distance,
                    first: 1,
                    ..request(Filter::default())
                })
                .expect("search");
            assert_eq!(found.total_count, within as u64, "{radius} km");
        }
    }

    #[test]
    fn a_radius_keeps_every_listing_within_it_and_no_other() {
        let index = Index::in_memory(Synonyms::default()).expect("index");
        let mut rng = fastrand::Rng::with_seed(7);
        // Listings scattered around a point on cell edges and across them, some with two
        // locations, some with none (national: kept by their catchment), and some on the
        // corners of the grid's cells.
        let (lat, lon) = (51.9, -2.1);
        let cell = crate::collector::CELL_DEGREES;
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "a cell"
        )]
        let (row, column) = (((lat + 90.0) / cell) as u32, ((lon + 180.0) / cell) as u32);
        let docs: Vec<ServiceDoc> = (0..600)
            .map(|i| {
                let mut point = || {
                    if i >= 400 {
                        let r = row - 25 + rng.u32(..50);
                        let c = column - 35 + rng.u32(..70);
                        (f64::from(r) * cell - 90.0, f64::from(c) * cell - 180.0)
                    } else {
                        (lat + rng.f64() * 0.8 - 0.4, lon + rng.f64() * 1.2 - 0.6)
                    }
                };
                let locations = match i % 5 {
                    0 => Vec::new(),
                    1 => vec![point(), point()],
                    _ => vec![point()],
                };
                ServiceDoc {
                    id: Uuid::new_v4(),
                    name: format!("Service {i} baby"),
                    description: ["baby", "baby baby group", "group"][i % 3].to_owned(),
                    status: "ACTIVE".to_owned(),
                    catchments: if locations.is_empty() && i % 10 == 0 {
                        vec![Catchment::National]
                    } else {
                        Vec::new()
                    },
                    locations,
                    ..ServiceDoc::default()
                }
            })
            .collect();
        index.apply(&docs[..250], &[], 1).expect("apply");
        index.apply(&docs[250..], &[], 2).expect("apply");
        // The distance to a location as the index holds it (to a millionth of a degree).
        let km = |(a, b): &(f64, f64)| {
            let (a, b) = crate::schema::unpack_location(crate::schema::pack_location(*a, *b));
            crate::geo::distance_km(lat, lon, a, b)
        };
        // Round radii, and radii that some listings lie exactly at.
        let mut radii = vec![0.5, 3.0, 9.5, 20.0, 45.0];
        radii.extend(
            docs.iter()
                .skip(3)
                .step_by(47)
                .flat_map(|d| d.locations.iter().map(km)),
        );
        let place = Coverage {
            area: "GL".into(),
            district: "GL50".into(),
            sector: None,
            codes: Vec::new(),
        };
        for radius in radii {
            let mut within: Vec<Uuid> = docs
                .iter()
                .filter(|d| {
                    if d.locations.is_empty() {
                        d.covers(&place)
                    } else {
                        d.locations.iter().any(|point| km(point) <= radius)
                    }
                })
                .map(|d| d.id)
                .collect();
            within.sort();
            for (text, sort) in [
                (None, Sort::Distance),
                (Some("baby"), Sort::Distance),
                (None, Sort::Relevance),
                (Some("baby"), Sort::Relevance),
            ] {
                // The whole list (a page of 600), whose start every shorter page must be.
                let mut whole: Vec<Uuid> = Vec::new();
                for first in [600, 3] {
                    let found = index
                        .search(&within_radius(
                            (text, sort, first),
                            (lat, lon, radius),
                            &place,
                        ))
                        .expect("search");
                    assert_eq!(
                        found.total_count,
                        within.len() as u64,
                        "{radius} km {text:?} {sort:?}"
                    );
                    assert!(
                        found
                            .hits
                            .iter()
                            .all(|h| h.distance_km.is_none_or(|km| km <= radius))
                    );
                    let ids: Vec<Uuid> = found.hits.iter().map(|h| h.id).collect();
                    if first == 600 {
                        whole.clone_from(&ids);
                        let mut ids = ids;
                        ids.sort();
                        assert_eq!(ids, within, "{radius} km {text:?} {sort:?}");
                    } else {
                        assert_eq!(
                            ids,
                            whole[..whole.len().min(first)],
                            "{radius} km {text:?} {sort:?}, first {first}"
                        );
                    }
                }
            }
        }
    }

    /// Lists `docs` in name order in pages of several sizes, by their status.
    fn pages_in_name_order_are_every_listing_by_name(index: &Index, docs: &[ServiceDoc]) {
        for statuses in [vec![], vec!["ACTIVE".to_owned(), "INACTIVE".to_owned()]] {
            let mut expected: Vec<(String, u128)> = docs
                .iter()
                .filter(|d| statuses.contains(&d.status) || d.status == "ACTIVE")
                .map(|d| (d.name.to_lowercase(), d.id.as_u128()))
                .collect();
            expected.sort();
            let ids: Vec<u128> = expected.iter().map(|(_, id)| *id).collect();
            for first in [1, 3, 50] {
                let mut walked = Vec::new();
                let mut after = None;
                loop {
                    let found = index
                        .search(&SearchRequest {
                            sort: Sort::Name,
                            first,
                            after: after.clone(),
                            facets: false,
                            ..request(Filter {
                                statuses: statuses.clone(),
                                ..Filter::default()
                            })
                        })
                        .expect("search");
                    assert_eq!(found.total_count, ids.len() as u64);
                    walked.extend(found.hits.iter().map(|h| h.id.as_u128()));
                    if !found.has_next_page {
                        break;
                    }
                    after = found.hits.last().map(|h| h.cursor.clone());
                }
                assert_eq!(walked, ids, "pages of {first} of {statuses:?}");
            }
        }
    }

    #[test]
    fn a_listing_without_a_location_is_found_by_its_catchment_beside_segments_all_located() {
        let index = Index::in_memory(Synonyms::default()).expect("index");
        let (lat, lon) = (51.9, -2.1);
        let located = |i: u32, km: f64| ServiceDoc {
            id: Uuid::new_v4(),
            name: format!("Located {i} baby"),
            status: "ACTIVE".to_owned(),
            // Due north of the place: a degree of latitude is about 111 km.
            locations: vec![(lat + km / 111.0, lon)],
            ..ServiceDoc::default()
        };
        let unlocated = |i: u32, catchment: &str| ServiceDoc {
            id: Uuid::new_v4(),
            name: format!("Unlocated {i} baby"),
            status: "ACTIVE".to_owned(),
            catchments: vec![Catchment::PostcodePrefix(catchment.into())],
            ..ServiceDoc::default()
        };
        // A segment whose listings all have a location (some within 5 km, some beyond), one
        // whose listings have none (some covering the place), and another all located.
        let first: Vec<ServiceDoc> = (0..40).map(|i| located(i, f64::from(i % 10))).collect();
        let second: Vec<ServiceDoc> = (0..12)
            .map(|i| unlocated(i, if i % 3 == 0 { "GL50" } else { "BS1" }))
            .collect();
        let third: Vec<ServiceDoc> = (40..50).map(|i| located(i, f64::from(i % 10))).collect();
        index.apply(&first, &[], 1).expect("apply");
        index.apply(&second, &[], 2).expect("apply");
        index.apply(&third, &[], 3).expect("apply");
        assert_eq!(index.searcher().segment_readers().len(), 3);
        let place = Coverage {
            area: "GL".into(),
            district: "GL50".into(),
            sector: None,
            codes: Vec::new(),
        };
        let mut expected: Vec<Uuid> = first
            .iter()
            .chain(&third)
            .filter(|d| d.name.starts_with("Located") && d.locations[0].0 - lat < 4.5 / 111.0)
            .chain(second.iter().filter(|d| d.covers(&place)))
            .map(|d| d.id)
            .collect();
        expected.sort();
        assert_eq!(expected.len(), 25 + 4);
        for (text, sort) in [
            (None, Sort::Distance),
            (Some("baby"), Sort::Distance),
            (None, Sort::Relevance),
            (Some("baby"), Sort::Relevance),
        ] {
            let found = index
                .search(&within_radius((text, sort, 100), (lat, lon, 4.5), &place))
                .expect("search");
            let mut ids: Vec<Uuid> = found.hits.iter().map(|h| h.id).collect();
            ids.sort();
            assert_eq!(ids, expected, "{text:?} {sort:?}");
            assert_eq!(
                found.total_count,
                expected.len() as u64,
                "{text:?} {sort:?}"
            );
        }
    }
}

#[cfg(test)]
mod persistence_tests {
    use super::*;

    #[test]
    fn the_applied_sequence_survives_a_reopen_and_a_schema_change_rebuilds() {
        let dir = tempfile::tempdir().expect("tempdir");
        let doc = ServiceDoc {
            id: Uuid::new_v4(),
            name: "A".into(),
            status: "ACTIVE".into(),
            ..ServiceDoc::default()
        };
        {
            let index = Index::open(dir.path(), Synonyms::default()).expect("open");
            assert_eq!(index.last_seq(), None, "a new index needs a build");
            index.apply(&[doc], &[], 42).expect("apply");
        }
        {
            let index = Index::open(dir.path(), Synonyms::default()).expect("reopen");
            assert_eq!(index.last_seq(), Some(42));
            assert_eq!(index.num_docs(), 1);
        }
        // An index written under another schema version is thrown away.
        let meta = dir.path().join("meta.json");
        let text = std::fs::read_to_string(&meta).expect("meta");
        let old = format!("\\\"schema\\\":{SCHEMA_VERSION}");
        assert!(text.contains(&old), "{text}");
        std::fs::write(&meta, text.replace(&old, "\\\"schema\\\":0")).expect("write");
        let index = Index::open(dir.path(), Synonyms::default()).expect("reopen");
        assert_eq!(index.last_seq(), None);
        assert_eq!(index.num_docs(), 0);
    }

    fn numbered(n: usize) -> ServiceDoc {
        ServiceDoc {
            id: Uuid::new_v4(),
            name: format!("Service {n}"),
            description: format!("Postnatal support group number {n}"),
            status: "ACTIVE".into(),
            card: format!("card {n}").into_bytes(),
            card_details: format!("details {n}").into_bytes(),
            ..ServiceDoc::default()
        }
    }

    #[test]
    fn a_description_is_read_without_the_details_stored_after_it() {
        let index = Index::in_memory(Synonyms::default()).expect("index");
        let doc = numbered(7);
        index
            .apply(std::slice::from_ref(&doc), &[], 1)
            .expect("apply");
        let searcher = index.reader.searcher();
        let address = DocAddress::new(0, 0);
        let StoredDescription(mut described) = searcher.doc(address).expect("doc");
        assert_eq!(
            described.take(index.fields.description).as_deref(),
            Some(doc.description.as_str())
        );
        assert_eq!(
            described.take(index.fields.card_details),
            None,
            "left unread"
        );
        let mut whole: StoredFields = searcher.doc(address).expect("doc");
        assert_eq!(
            whole.take(index.fields.card_details).map(card_bytes),
            Some(doc.card_details)
        );
    }

    #[test]
    fn a_streamed_rebuild_ends_in_one_segment_and_survives_a_reopen() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let index = Index::open(dir.path(), Synonyms::default()).expect("open");
            // Several commits' worth of segments first, then a rebuild over them.
            for n in 0..3 {
                index.apply(&[numbered(n)], &[], n as i64).expect("apply");
            }
            let docs = (0..500).map(numbered).map(Ok::<_, String>);
            let count = index
                .rebuild_from(docs, 7)
                .expect("rebuild")
                .expect("complete");
            assert_eq!(count, 500);
            assert_eq!(index.reader.searcher().segment_readers().len(), 1);
            assert_eq!(index.num_docs(), 500);
        }
        let index = Index::open(dir.path(), Synonyms::default()).expect("reopen");
        assert_eq!(index.last_seq(), Some(7));
        assert_eq!(index.num_docs(), 500);
        assert_eq!(index.reader.searcher().segment_readers().len(), 1);
    }

    #[test]
    fn listings_are_kept_in_place_order_by_rebuilds_and_commits() {
        let placed = |n: usize| ServiceDoc {
            locations: match n % 5 {
                0 => Vec::new(),
                k => (0..k.min(2))
                    .map(|i| {
                        let step = |m: usize| f64::from(u32::try_from(m % 97).expect("small"));
                        (
                            50.0 + step(n * 37 + i) / 10.0,
                            -5.0 + step(n * 53 + i) / 15.0,
                        )
                    })
                    .collect(),
            },
            ..numbered(n)
        };
        let in_place_order = |index: &Index, docs: &[ServiceDoc]| {
            let searcher = index.searcher();
            for reader in searcher.segment_readers() {
                let columns = index.columns.get(reader).expect("columns");
                let order = reader
                    .fast_fields()
                    .u64(schema::PLACE_ORDER)
                    .expect("column");
                let mut last = 0;
                for doc in 0..reader.max_doc() {
                    let id = Uuid::from_u128(columns.id(doc));
                    let listing = docs.iter().find(|d| d.id == id).expect("a listing");
                    let own = schema::place_order(listing.locations.first().copied());
                    assert_eq!(order.first(doc), Some(own));
                    assert!(own >= last, "document {doc} of {}", reader.max_doc());
                    last = own;
                }
            }
        };
        let index = Index::in_memory(Synonyms::default()).expect("index");
        let docs: Vec<ServiceDoc> = (0..400).map(placed).collect();
        index.rebuild(docs.clone(), 1).expect("rebuild");
        in_place_order(&index, &docs);
        // Commits of the change feed write segments of their own, in place order too.
        let more: Vec<ServiceDoc> = (400..460).map(placed).collect();
        for (n, chunk) in more.chunks(20).enumerate() {
            index.apply(chunk, &[], 2 + n as i64).expect("apply");
        }
        let all: Vec<ServiceDoc> = docs.into_iter().chain(more).collect();
        in_place_order(&index, &all);
    }

    #[test]
    fn a_rebuild_whose_documents_fail_commits_nothing() {
        let index = Index::in_memory(Synonyms::default()).expect("index");
        let kept = numbered(1);
        index
            .apply(std::slice::from_ref(&kept), &[], 5)
            .expect("apply");
        let docs = (10..20)
            .map(numbered)
            .map(Ok)
            .chain([Err("the database went away")]);
        let outcome = index.rebuild_from(docs, 9).expect("no index error");
        assert_eq!(outcome, Err("the database went away"));
        assert_eq!(index.last_seq(), Some(5));
        assert_eq!(index.num_docs(), 1);
        assert!(index.contains(kept.id).expect("contains"));
        // The writer still works: the next change commits only itself.
        index.apply(&[numbered(2)], &[], 6).expect("apply after");
        assert_eq!(index.num_docs(), 2);
    }

    #[test]
    fn hits_and_lookups_by_id_hand_back_the_card() {
        let index = Index::in_memory(Synonyms::default()).expect("index");
        let with = ServiceDoc {
            alternate_name: Some("Also known as".into()),
            ..numbered(1)
        };
        let without = ServiceDoc {
            card: Vec::new(),
            ..numbered(2)
        };
        // A card is the caller's bytes, whatever they are, its details too.
        let binary = ServiceDoc {
            card: (0..=255).chain([0xC3, 0xA9, 0, 0xFF]).collect(),
            card_details: (0..=255).rev().collect(),
            ..numbered(3)
        };
        // A card without details hands back empty ones.
        let headed = ServiceDoc {
            card_details: Vec::new(),
            ..numbered(4)
        };
        index
            .apply(
                &[
                    with.clone(),
                    without.clone(),
                    binary.clone(),
                    headed.clone(),
                ],
                &[],
                1,
            )
            .expect("apply");
        let read = |id, cards| index.card(id, cards).expect("card");
        let parts = |id, cards| read(id, cards).map(|card| (card.bytes, card.details));
        assert_eq!(
            parts(binary.id, Cards::Whole),
            Some((binary.card.clone(), Some(binary.card_details.clone())))
        );
        for cards in [Cards::None, Cards::Heads, Cards::Described] {
            assert_eq!(parts(binary.id, cards), Some((binary.card.clone(), None)));
        }
        assert_eq!(
            parts(headed.id, Cards::Whole),
            Some((headed.card.clone(), Some(Vec::new())))
        );
        index.apply(&[], &[binary.id], 2).expect("remove");
        assert_eq!(read(binary.id, Cards::Whole), None);
        // The names come back with the head alone as with the whole card; the description
        // when it is asked for.
        for cards in [Cards::Heads, Cards::Described, Cards::Whole] {
            let stored = read(with.id, cards).expect("a card");
            assert_eq!(stored.bytes, b"card 1".to_vec());
            assert_eq!(
                stored.details,
                cards.details().then(|| b"details 1".to_vec())
            );
            assert_eq!(
                (
                    stored.name.as_str(),
                    stored.alternate_name.as_deref(),
                    stored.description.as_deref()
                ),
                (
                    with.name.as_str(),
                    Some("Also known as"),
                    cards.description().then_some(with.description.as_str())
                )
            );
        }
        assert_eq!(read(without.id, Cards::Whole), None);
        assert_eq!(read(Uuid::new_v4(), Cards::Heads), None);
        // A replaced listing hands back its new card, not the deleted document's.
        let replaced = ServiceDoc {
            card: b"card 1, edited".to_vec(),
            card_details: b"details 1, edited".to_vec(),
            ..with.clone()
        };
        index.apply(&[replaced], &[], 3).expect("apply");
        assert_eq!(
            parts(with.id, Cards::Whole),
            Some((
                b"card 1, edited".to_vec(),
                Some(b"details 1, edited".to_vec())
            ))
        );
        let asked = |cards: Cards, highlights: bool| {
            index
                .search(&SearchRequest {
                    text: Some("postnatal".into()),
                    first: 10,
                    cards,
                    highlights,
                    ..SearchRequest::default()
                })
                .expect("search")
                .hits
        };
        for highlights in [false, true] {
            for cards in [Cards::Heads, Cards::Described, Cards::Whole] {
                let hits = asked(cards, highlights);
                assert_eq!(hits.len(), 3);
                for hit in &hits {
                    // The description is read for a card that asks for it, and for highlights
                    // (and then handed on with the card).
                    if let Some(card) = &hit.card {
                        assert_eq!(
                            card.description.is_some(),
                            cards.description() || highlights,
                            "{cards:?}"
                        );
                    }
                    let expected = if hit.id == with.id {
                        Some((
                            b"card 1, edited".to_vec(),
                            (cards == Cards::Whole).then(|| b"details 1, edited".to_vec()),
                        ))
                    } else if hit.id == headed.id {
                        Some((b"card 4".to_vec(), (cards == Cards::Whole).then(Vec::new)))
                    } else {
                        None
                    };
                    let card = hit.card.as_ref();
                    assert_eq!(
                        card.map(|card| (card.bytes.clone(), card.details.clone())),
                        expected
                    );
                    assert_eq!(hit.highlights.is_empty(), !highlights);
                }
            }
            let hits = asked(Cards::None, highlights);
            assert!(hits.iter().all(|hit| hit.card.is_none()));
            assert_eq!(
                hits.iter().all(|hit| !hit.highlights.is_empty()),
                highlights
            );
        }
    }
}

#[cfg(test)]
mod healing_tests {
    use std::path::{Path, PathBuf};

    use super::*;
    use crate::dir::{KEEP_DAMAGED, building_dir, damaged_copies, swap_in};

    fn docs(n: usize) -> Vec<ServiceDoc> {
        (0..n)
            .map(|i| ServiceDoc {
                id: Uuid::new_v4(),
                name: format!("Service {i}"),
                description: format!("Postnatal support group number {i}"),
                status: "ACTIVE".into(),
                ..ServiceDoc::default()
            })
            .collect()
    }

    /// A written index in `<tempdir>/index`.
    fn written() -> (tempfile::TempDir, PathBuf) {
        let root = tempfile::tempdir().expect("tempdir");
        let dir = root.path().join("index");
        let index = Index::open(&dir, Synonyms::default()).expect("open");
        index.rebuild(docs(20), 5).expect("rebuild");
        index.apply(&docs(3), &[], 6).expect("apply");
        (root, dir)
    }

    fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
        let found: Vec<PathBuf> = std::fs::read_dir(dir)
            .expect("read dir")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == ext))
            .collect();
        assert!(!found.is_empty(), "no .{ext} file");
        found
    }

    /// Opens the damaged index and checks it was set aside and replaced by an empty one.
    fn assert_healed(dir: &Path) {
        let index = Index::open(dir, Synonyms::default()).expect("open a damaged index");
        assert_eq!(index.last_seq(), None, "a rebuild is asked for");
        assert_eq!(index.num_docs(), 0);
        let copies = damaged_copies(dir).expect("copies");
        assert_eq!(copies.len(), 1, "{copies:?}");
        assert!(copies[0].is_dir());
    }

    /// A copy of the index's files in `dir` (not its locks) made in `to`; returns `to`. A
    /// file gone since the directory was listed was garbage its index collected meanwhile.
    fn copy_of(dir: &Path, to: &Path) -> PathBuf {
        std::fs::create_dir(to).expect("mkdir");
        for name in names(dir) {
            if !name.ends_with(".lock") {
                match std::fs::copy(dir.join(&name), to.join(&name)) {
                    Ok(_) => {}
                    Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
                    Err(err) => panic!("cannot copy {name}: {err}"),
                }
            }
        }
        to.to_path_buf()
    }

    /// The files of `dir` by name.
    fn names(dir: &Path) -> std::collections::BTreeSet<String> {
        std::fs::read_dir(dir)
            .expect("read dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn files_of_a_commit_that_never_landed_do_not_block_the_same_commit_again() {
        // A process killed inside a commit leaves its new files (a deletion bitset named after
        // the opstamp) listed as managed, but meta.json still names the commit before. The
        // changes applied again after a restart commit at that same opstamp.
        let (root, dir) = written();
        // Five: replacing one of them leaves a deletion file rather than a merge (a segment is
        // merged away once a quarter of it is replaced).
        let again = docs(5);
        let index = Index::open(&dir, Synonyms::default()).expect("open");
        index.apply(&again, &[], 7).expect("apply");
        drop(index);
        let crashed = copy_of(&dir, &root.path().join("crashed"));
        let index = Index::open(&dir, Synonyms::default()).expect("open");
        index
            .apply(&again[..1], &[], 8)
            .expect("apply one of them again");
        drop(index);
        let before = names(&crashed);
        let left: Vec<String> = names(&dir)
            .into_iter()
            .filter(|n| !before.contains(n) && n != "meta.json" && !n.ends_with(".lock"))
            .collect();
        assert!(left.iter().any(|n| n.ends_with(".del")), "{left:?}");
        let managed_path = crashed.join(".managed.json");
        let mut managed: Vec<String> =
            serde_json::from_slice(&std::fs::read(&managed_path).expect("managed")).expect("json");
        for name in &left {
            std::fs::copy(dir.join(name), crashed.join(name)).expect("copy");
            managed.push(name.clone());
        }
        std::fs::write(&managed_path, serde_json::to_vec(&managed).expect("json")).expect("write");

        let index = Index::open(&crashed, Synonyms::default()).expect("open after the crash");
        assert_eq!(index.last_seq(), Some(7));
        index
            .apply(&again[..1], &[], 8)
            .expect("the same commit again, over the leftover files");
        assert_eq!(index.num_docs(), 28);
    }

    #[test]
    fn a_dropped_index_has_finished_its_merges() {
        let (_root, dir) = written();
        let index = Index::open(&dir, Synonyms::default()).expect("open");
        let three = docs(3);
        index.apply(&three, &[], 7).expect("apply");
        // Replacing two of the three sends their segment to a merge, which absorbs the deletes.
        index.apply(&three[..2], &[], 8).expect("apply again");
        drop(index);
        let after_drop = names(&dir);
        assert!(
            !after_drop.iter().any(|n| n.ends_with(".del")),
            "the merge had not finished: {after_drop:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
        assert_eq!(names(&dir), after_drop, "files changed after the drop");
        let index = Index::open(&dir, Synonyms::default()).expect("reopen");
        assert_eq!((index.num_docs(), index.last_seq()), (26, Some(8)));
    }

    #[test]
    fn each_commit_is_whole_in_the_directory_before_the_index_is_let_go() {
        // Commits do not wait for the disk (see `crate::dir`), but each one's files are
        // written and closed, and `meta.json` replaced, before it returns: a copy of the
        // directory taken while the index is still open, as a process killed there would leave
        // it, opens at the last commit. One deletion of eight leaves the segment unmerged, so
        // no merge moves files while they are copied.
        let (root, dir) = written();
        let index = Index::open(&dir, Synonyms::default()).expect("open");
        let added = docs(8);
        index.apply(&added, &[], 7).expect("apply");
        index.apply(&[], &[added[0].id], 8).expect("delete");
        let copy = copy_of(&dir, &root.path().join("copy"));
        let copied = Index::open(&copy, Synonyms::default()).expect("open the copy");
        assert_eq!((copied.num_docs(), copied.last_seq()), (30, Some(8)));
        assert!(damaged_copies(&copy).expect("copies").is_empty());
        drop(index);
    }

    #[test]
    fn a_readable_index_opens_as_it_was() {
        let (_root, dir) = written();
        let index = Index::open(&dir, Synonyms::default()).expect("open");
        assert_eq!(index.last_seq(), Some(6));
        assert_eq!(index.num_docs(), 23);
        assert!(damaged_copies(&dir).expect("copies").is_empty());
    }

    #[test]
    fn each_kind_of_segment_file_damage_is_found_on_open() {
        for ext in ["term", "idx", "pos", "store", "fast", "fieldnorm"] {
            for delete in [false, true] {
                let (_root, dir) = written();
                let file = &files(&dir, ext)[0];
                if delete {
                    std::fs::remove_file(file).expect("delete");
                } else {
                    let len = std::fs::metadata(file).expect("metadata").len();
                    std::fs::OpenOptions::new()
                        .write(true)
                        .open(file)
                        .and_then(|f| f.set_len(len - 1))
                        .expect("truncate");
                }
                assert_healed(&dir);
            }
            // Empty, as a crash of the machine can leave a file written but not yet on disk.
            let (_root, dir) = written();
            std::fs::write(&files(&dir, ext)[0], b"").expect("empty");
            assert_healed(&dir);
        }
    }

    #[test]
    fn a_flipped_byte_is_found_by_its_checksum() {
        let (_root, dir) = written();
        let file = &files(&dir, "store")[0];
        let mut bytes = std::fs::read(file).expect("read");
        bytes[0] ^= 0xff;
        std::fs::write(file, bytes).expect("write");
        assert_healed(&dir);
    }

    #[test]
    fn a_damaged_or_lost_meta_json_is_found_on_open() {
        let (_root, dir) = written();
        std::fs::write(dir.join("meta.json"), b"\0\xff not json").expect("damage");
        assert_healed(&dir);

        let (_root, dir) = written();
        std::fs::remove_file(dir.join("meta.json")).expect("delete");
        let index = Index::open(&dir, Synonyms::default()).expect("open");
        assert_eq!(index.last_seq(), None);
        assert_eq!(damaged_copies(&dir).expect("copies").len(), 1);
    }

    #[test]
    fn only_the_newest_damaged_copies_are_kept() {
        let (_root, dir) = written();
        for round in 0..KEEP_DAMAGED + 2 {
            {
                let index = Index::open(&dir, Synonyms::default()).expect("open");
                index.rebuild(docs(2), 1).expect("rebuild");
            }
            std::fs::write(dir.join("meta.json"), b"garbage").expect("damage");
            drop(Index::open(&dir, Synonyms::default()).expect("open"));
            assert_eq!(
                damaged_copies(&dir).expect("copies").len(),
                (round + 1).min(KEEP_DAMAGED)
            );
        }
    }

    #[test]
    fn an_index_in_use_is_neither_opened_nor_moved() {
        let (_root, dir) = written();
        let first = Index::open(&dir, Synonyms::default()).expect("open");
        std::fs::write(dir.join("meta.json"), b"garbage").expect("damage");
        let second = Index::open(&dir, Synonyms::default());
        assert!(
            matches!(second, Err(SearchError::InUse(_))),
            "{:?}",
            second.err()
        );
        assert!(damaged_copies(&dir).expect("copies").is_empty());
        assert!(crate::dir::ensure_unused(&dir).is_err());
        drop(first);
        assert!(crate::dir::ensure_unused(&dir).is_ok());
    }

    #[test]
    fn a_lock_held_for_a_moment_elsewhere_is_waited_for() {
        // As a child process holds the lock, until it runs its program, when it was started
        // while the lock's file was open.
        let (_root, dir) = written();
        let lock_file = std::fs::OpenOptions::new()
            .write(true)
            .open(dir.join(tantivy::directory::INDEX_WRITER_LOCK.filepath.as_path()))
            .expect("the lock file");
        lock_file.lock().expect("lock");
        let holder = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(300));
            drop(lock_file);
        });
        let opened = Index::open(&dir, Synonyms::default());
        holder.join().expect("the holder");
        let index = opened.expect("opened once the lock is free");
        assert_eq!((index.last_seq(), index.num_docs()), (Some(6), 23));
    }

    #[test]
    fn a_built_index_is_swapped_in_whatever_the_old_one_is() {
        let build = |dir: &Path, n: usize| {
            let building = building_dir(dir).expect("building dir");
            let index = Index::create_fresh(&building, Synonyms::default()).expect("create");
            index.rebuild(docs(n), 9).expect("rebuild");
            drop(index);
            swap_in(&building, dir).expect("swap")
        };
        // Readable: replaced and deleted.
        let (root, dir) = written();
        assert_eq!(build(&dir, 4), None);
        let index = Index::open(&dir, Synonyms::default()).expect("open");
        assert_eq!((index.last_seq(), index.num_docs()), (Some(9), 4));
        drop(index);
        assert_eq!(std::fs::read_dir(root.path()).expect("ls").count(), 1);
        // Damaged: replaced and kept aside.
        std::fs::remove_file(&files(&dir, "term")[0]).expect("delete");
        let kept = build(&dir, 5).expect("the damaged index is kept");
        assert!(kept.exists());
        let index = Index::open(&dir, Synonyms::default()).expect("open");
        assert_eq!((index.last_seq(), index.num_docs()), (Some(9), 5));
        // In use: refused.
        let building = building_dir(&dir).expect("building dir");
        drop(Index::create_fresh(&building, Synonyms::default()).expect("create"));
        assert!(matches!(
            swap_in(&building, &dir),
            Err(SearchError::InUse(_))
        ));
        drop(index);
        // Missing: moved in.
        std::fs::remove_dir_all(&dir).expect("delete");
        assert_eq!(build(&dir, 6), None);
        let index = Index::open(&dir, Synonyms::default()).expect("open");
        assert_eq!((index.last_seq(), index.num_docs()), (Some(9), 6));
    }
}
