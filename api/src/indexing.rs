//! Keeps the search index in step with the database by applying the `change` feed in order.
//! On start it replays what the index missed (or rebuilds it); then it follows the feed,
//! woken by PostgreSQL notifications and polling as the fallback.

use std::{
    collections::{BTreeSet, HashMap},
    panic::AssertUnwindSafe,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::Context;
use entity::{
    ServiceAreaKind, ValueSource, attribute, change, eligibility_field, location, organization,
    service, service_at_location, taxonomy_term,
};
use futures::StreamExt;
use sea_orm::{
    ActiveEnum, ColumnTrait, DatabaseConnection, DbBackend, EntityTrait, JoinType, QueryFilter,
    QueryOrder, QuerySelect,
};
use search::{Catchment, Index, ServiceDoc, geo::Geocoder};
use tokio::sync::{Mutex, Semaphore, watch};
use uuid::Uuid;

use crate::{
    feed,
    store::{find_by_ids, listing},
};

/// Changes applied per index commit while catching up.
const BATCH: u64 = 2_000;
/// The PostgreSQL channel the `change` trigger notifies.
pub const CHANNEL: &str = "signpost_changes";

/// Reads expected to take less than this run on the request's own thread; longer ones go to
/// the blocking pool, so that no request waits long behind one. Handing a read to the pool
/// costs a few context switches, a large share of a read that takes a fraction of this.
const INLINE_READ_BUDGET: Duration = Duration::from_millis(1);

/// The weight of the newest read in the running mean of read times: 1 / 2^this.
const READ_MEAN_SHIFT: u32 = 4;

/// Every taxonomy term by id.
pub type Taxonomy = Arc<HashMap<Uuid, taxonomy_term::Model>>;

/// Applies the change feed to this instance's index.
pub struct Indexer {
    db: DatabaseConnection,
    index: Arc<Index>,
    geo: Arc<Geocoder>,
    applied: watch::Sender<i64>,
    running: Mutex<()>,
    /// Every taxonomy term by id, as of the last applied change: the documents' ancestors,
    /// facet labels and terms' parents are read from here.
    taxonomy: std::sync::RwLock<Taxonomy>,
    /// Searches at once: as many as there are cores. They are CPU work, so more at once adds
    /// nothing but threads, each keeping its own allocations.
    readers: Semaphore,
    /// How long recent reads took: where the next one runs.
    read_times: ReadTimes,
}

/// The running mean of recent index reads' times (each new read weighs 1 / 2^
/// [`READ_MEAN_SHIFT`]), which tells whether the next read runs on the calling thread.
#[derive(Debug, Default)]
struct ReadTimes {
    mean_nanos: AtomicU64,
}

impl ReadTimes {
    /// Whether recent reads took less than [`INLINE_READ_BUDGET`] on average.
    fn cheap(&self) -> bool {
        u128::from(self.mean_nanos.load(Ordering::Relaxed)) < INLINE_READ_BUDGET.as_nanos()
    }

    /// Adds a read's time to the mean.
    fn record(&self, took: Duration) {
        let took = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        // Concurrent reads may lose one another's sample; the mean stays a mean of reads.
        let mean = self.mean_nanos.load(Ordering::Relaxed);
        let next = mean - (mean >> READ_MEAN_SHIFT) + (took >> READ_MEAN_SHIFT);
        self.mean_nanos.store(next, Ordering::Relaxed);
    }
}

impl Indexer {
    /// Brings the index up to date (rebuilding it when it has no usable state) and returns the
    /// indexer.
    pub async fn start(
        db: DatabaseConnection,
        index: Arc<Index>,
        geo: Arc<Geocoder>,
    ) -> anyhow::Result<Arc<Self>> {
        let (applied, _) = watch::channel(index.last_seq().unwrap_or(-1));
        let indexer = Arc::new(Self {
            db,
            index,
            geo,
            applied,
            running: Mutex::new(()),
            taxonomy: std::sync::RwLock::default(),
            readers: Semaphore::new(
                std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get),
            ),
            read_times: ReadTimes::default(),
        });
        indexer.reload_taxonomy().await?;
        if indexer.index.last_seq().is_none() {
            indexer.rebuild().await?;
        }
        indexer.catch_up().await?;
        Ok(indexer)
    }

    /// Closes the follower's database pool.
    pub async fn close(&self) {
        if let Err(err) = self.db.clone().close().await {
            tracing::warn!(error = %err, "closing the feed database pool failed");
        }
    }

    /// Every taxonomy term by id, as of the last applied change.
    pub fn taxonomy(&self) -> Taxonomy {
        self.taxonomy
            .read()
            .map_or_else(|poisoned| poisoned.into_inner().clone(), |t| t.clone())
    }

    /// Reads the taxonomy terms again.
    async fn reload_taxonomy(&self) -> anyhow::Result<Taxonomy> {
        let terms = all_terms(&self.db).await?;
        self.keep_taxonomy(&terms);
        Ok(terms)
    }

    /// Keeps `terms` as the taxonomy.
    fn keep_taxonomy(&self, terms: &Taxonomy) {
        match self.taxonomy.write() {
            Ok(mut held) => *held = terms.clone(),
            Err(poisoned) => *poisoned.into_inner() = terms.clone(),
        }
    }

    /// The search index.
    pub fn index(&self) -> &Arc<Index> {
        &self.index
    }

    /// Runs `read` against the index, at most one per core at a time: on the calling thread
    /// while recent reads took less than [`INLINE_READ_BUDGET`] on average, otherwise on the
    /// blocking pool. A read that panics is an error either way.
    pub async fn read<T: Send + 'static>(
        &self,
        read: impl FnOnce(&Index) -> T + Send + 'static,
    ) -> anyhow::Result<T> {
        let _permit = self.readers.acquire().await?;
        let timed = |index: &Index| {
            let started = Instant::now();
            let out = std::panic::catch_unwind(AssertUnwindSafe(|| read(index)));
            (out, started.elapsed())
        };
        let (out, took) = if self.read_times.cheap() {
            timed(&self.index)
        } else {
            let index = self.index.clone();
            tokio::task::spawn_blocking(move || timed(&index)).await?
        };
        self.read_times.record(took);
        out.map_err(|_| anyhow::anyhow!("an index read panicked"))
    }

    /// The geocoder.
    pub fn geo(&self) -> &Arc<Geocoder> {
        &self.geo
    }

    /// The last applied sequence number.
    pub fn applied(&self) -> i64 {
        *self.applied.borrow()
    }

    /// How many feed rows the index is behind the database.
    pub async fn lag(&self) -> anyhow::Result<i64> {
        Ok((feed::head(&self.db).await? - self.applied()).max(0))
    }

    /// Rebuilds the whole index from the database.
    pub async fn rebuild(&self) -> anyhow::Result<u64> {
        let _running = self.running.lock().await;
        let head = feed::head(&self.db).await?;
        // In place order, which the index keeps (see `places_in_order`): each segment the
        // writer flushes then holds a run of places after the previous one's, and the final
        // merge stacks them as they are instead of interleaving every column and stored card.
        let ids = places_in_order(&self.db).await?;
        let mut terms = self.reload_taxonomy().await?;
        // Each organisation is read once, by the first chunk that names it.
        let mut organizations = Organizations::new();
        // Listings stream to the writer a chunk at a time while the next chunk is read: its
        // thread makes their documents and hands them to the index. A failed read stops the
        // rebuild without committing anything.
        type Batch = anyhow::Result<(Vec<listing::ServiceRecord>, Taxonomy)>;
        let (send, mut receive) = tokio::sync::mpsc::channel::<Batch>(1);
        let index = self.index.clone();
        let geo = self.geo.clone();
        let writer = tokio::task::spawn_blocking(move || {
            let batches = std::iter::from_fn(move || receive.blocking_recv());
            let docs = batches.flat_map(|batch| match batch {
                Ok((records, terms)) => records
                    .into_iter()
                    .map(|record| Ok(doc_of(record, &geo, &terms)))
                    .collect::<Vec<_>>(),
                Err(err) => vec![Err(err)],
            });
            index.rebuild_from(docs, head)
        });
        // Chunks of 500 ids, two read at a time on two connections: each connection's rows
        // come from a thread of its own, so that one chunk's rows are read while the other's
        // are decoded and readied, instead of the reader waiting on one statement at a time.
        // Two chunks are read while one waits in the channel and one is indexed: about 2,000
        // listings are in memory at a time. At 100,000 listings (AMD EPYC, seven alternating
        // rounds) reading two at a time took a rebuild from 10.8-13.0 s (mean 12.1) to
        // 10.2-11.8 s (mean 10.9), faster in every round, peaking at 234-258 MiB against
        // 225-252 MiB; three at a time were no faster and peaked at 268-280 MiB. (Chunks of
        // 1,000, or a second chunk in the channel, made no rebuild faster and left more memory
        // for the final merge to add to.)
        let mut loads = futures::stream::iter(ids.chunks(500))
            .map(|chunk| listing::load_many(&self.db, chunk, DOC_PARTS))
            .buffered(2);
        while let Some(loaded) = loads.next().await {
            let batch = async {
                let mut records = loaded?;
                prepare(&self.db, &mut terms, &mut organizations, &mut records).await?;
                Ok((records, terms.clone()))
            }
            .await;
            let failed = batch.is_err();
            if send.send(batch).await.is_err() || failed {
                // The writer stopped (its error is below) or this read failed (sent to it).
                break;
            }
        }
        // A read still under way after a failure gives its connection back now, not once
        // the writer has stopped.
        drop(loads);
        drop(send);
        self.keep_taxonomy(&terms);
        let count = writer.await???;
        self.applied.send_replace(head);
        tracing::info!(services = count, seq = head, "rebuilt the search index");
        Ok(count)
    }

    /// Applies every change after the last applied one; returns the last applied sequence.
    pub async fn catch_up(&self) -> anyhow::Result<i64> {
        let _running = self.running.lock().await;
        loop {
            let from = self.applied();
            let batch = change::Entity::find()
                .filter(change::Column::Seq.gt(from))
                .order_by_asc(change::Column::Seq)
                .limit(BATCH)
                .all(&self.db)
                .await?;
            let Some(last) = batch.last().map(|c| c.seq) else {
                return Ok(from);
            };
            let ids = self.affected_services(&batch).await?;
            let mut terms = if batch.iter().any(|c| c.entity == "taxonomy_term") {
                self.reload_taxonomy().await?
            } else {
                self.taxonomy()
            };
            let mut docs = build_docs(
                &self.db,
                &self.geo,
                &mut terms,
                &mut Organizations::new(),
                &ids,
            )
            .await?;
            self.keep_taxonomy(&terms);
            let deletes: Vec<Uuid> = ids
                .iter()
                .filter(|id| !docs.contains_key(id))
                .copied()
                .collect();
            let upserts: Vec<ServiceDoc> = docs.drain().map(|(_, doc)| doc).collect();
            let index = self.index.clone();
            tokio::task::spawn_blocking(move || index.apply(&upserts, &deletes, last)).await??;
            self.applied.send_replace(last);
        }
    }

    /// The services whose index documents a batch of changes touches.
    async fn affected_services(&self, batch: &[change::Model]) -> anyhow::Result<Vec<Uuid>> {
        let mut ids = BTreeSet::new();
        let mut organizations = Vec::new();
        let mut locations = Vec::new();
        let mut terms = Vec::new();
        for row in batch {
            match row.entity.as_str() {
                "service" => {
                    ids.insert(row.entity_id);
                }
                "organization" => organizations.push(row.entity_id),
                "location" => locations.push(row.entity_id),
                "taxonomy_term" => terms.push(row.entity_id),
                _ => {}
            }
        }
        if !organizations.is_empty() {
            let found: Vec<Uuid> = service::Entity::find()
                .select_only()
                .column(service::Column::Id)
                .filter(service::Column::OrganizationId.is_in(organizations))
                .into_tuple()
                .all(&self.db)
                .await?;
            ids.extend(found);
        }
        if !locations.is_empty() {
            let found: Vec<Uuid> = service_at_location::Entity::find()
                .select_only()
                .column(service_at_location::Column::ServiceId)
                .filter(service_at_location::Column::LocationId.is_in(locations))
                .into_tuple()
                .all(&self.db)
                .await?;
            ids.extend(found);
        }
        if !terms.is_empty() {
            let found: Vec<Uuid> = attribute::Entity::find()
                .select_only()
                .column(attribute::Column::LinkId)
                .filter(attribute::Column::TaxonomyTermId.is_in(terms))
                .into_tuple()
                .all(&self.db)
                .await?;
            ids.extend(found);
        }
        Ok(ids.into_iter().collect())
    }

    /// Returns once changes up to `seq` are searchable here (read-your-writes).
    pub async fn wait_for(&self, seq: i64) -> anyhow::Result<()> {
        if self.applied() >= seq {
            return Ok(());
        }
        self.catch_up().await?;
        let mut applied = self.applied.subscribe();
        tokio::time::timeout(
            Duration::from_secs(10),
            applied.wait_for(|applied| *applied >= seq),
        )
        .await
        .context("the search index did not catch up in time")?
        .context("the indexer stopped")?;
        Ok(())
    }

    /// Follows the feed in the background until `shutdown` fires.
    pub fn follow(
        self: Arc<Self>,
        poll_interval: Duration,
        mut shutdown: watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut listener = self.listen().await;
            loop {
                if let Err(err) = self.catch_up().await {
                    tracing::error!(error = %err, "applying the change feed failed");
                }
                let notified = async {
                    match listener.as_mut() {
                        Some(listener) => listener.recv().await.is_ok(),
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    _ = shutdown.changed() => return,
                    ok = notified => {
                        if !ok {
                            // The notification connection broke: poll until it is back.
                            listener = self.listen().await;
                        }
                    }
                    () = tokio::time::sleep(poll_interval) => {}
                }
            }
        })
    }

    async fn listen(&self) -> Option<sea_orm::sqlx::postgres::PgListener> {
        if self.db.get_database_backend() != DbBackend::Postgres {
            return None;
        }
        let pool = self.db.get_postgres_connection_pool();
        match sea_orm::sqlx::postgres::PgListener::connect_with(pool).await {
            Ok(mut listener) => match listener.listen(CHANNEL).await {
                Ok(()) => Some(listener),
                Err(err) => {
                    tracing::warn!(error = %err, "cannot listen for changes; polling");
                    None
                }
            },
            Err(err) => {
                tracing::warn!(error = %err, "cannot listen for changes; polling");
                None
            }
        }
    }
}

/// Every taxonomy term by id, read from the database.
async fn all_terms(db: &DatabaseConnection) -> anyhow::Result<Taxonomy> {
    Ok(Arc::new(
        taxonomy_term::Entity::find()
            .all(db)
            .await?
            .into_iter()
            .map(|t| (t.id, t))
            .collect(),
    ))
}

/// Organisations by id, as read by [`build_docs`] and a rebuild.
pub type Organizations = HashMap<Uuid, organization::Model>;

/// What a document needs of a listing: the card's parts (organisation, catchments, places and
/// terms), but the organisation, which comes from an [`Organizations`] or is read by
/// [`prepare`].
const DOC_PARTS: listing::Parts = listing::Parts {
    organization: false,
    ..listing::card::PARTS
};

/// Builds the index documents of the given services (missing ones are left out).
/// `organizations` holds organisations already read, and takes those read here: a rebuild
/// keeps it across its chunks, so that an organisation running many services is read once;
/// applying changes starts each batch with none, so that a renamed organisation is read anew.
pub async fn build_docs(
    db: &DatabaseConnection,
    geo: &Geocoder,
    terms: &mut Taxonomy,
    organizations: &mut Organizations,
    ids: &[Uuid],
) -> anyhow::Result<HashMap<Uuid, ServiceDoc>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut records = listing::load_many(db, ids, DOC_PARTS).await?;
    prepare(db, terms, organizations, &mut records).await?;
    Ok(records
        .into_iter()
        .map(|record| (record.id(), doc_of(record, geo, terms)))
        .collect())
}

/// Readies listings read with [`DOC_PARTS`] for [`doc_of`]: gives each its organisation (from
/// `organizations`, or read into it) and reads the taxonomy again when a listing names a term
/// that `terms` does not hold.
async fn prepare(
    db: &DatabaseConnection,
    terms: &mut Taxonomy,
    organizations: &mut Organizations,
    records: &mut [listing::ServiceRecord],
) -> anyhow::Result<()> {
    let unread: BTreeSet<Uuid> = records
        .iter()
        .map(|r| r.service.organization_id)
        .filter(|id| !organizations.contains_key(id))
        .collect();
    if !unread.is_empty() {
        let unread: Vec<Uuid> = unread.into_iter().collect();
        for row in
            find_by_ids::<organization::Entity, _>(db, organization::Column::Id, &unread).await?
        {
            organizations.insert(row.id, row);
        }
    }
    for record in records.iter_mut() {
        record.organization = organizations.get(&record.service.organization_id).cloned();
    }
    // A term created since the terms were read (a new term is in the feed only once a listing
    // names it) is not in `terms`, nor may its parent be: read them all again.
    let known = |id: &Uuid| terms.contains_key(id);
    let unknown = records.iter().flat_map(|r| &r.terms).any(|attached| {
        !known(&attached.term.id) || attached.term.parent_id.is_some_and(|p| !known(&p))
    });
    if unknown {
        *terms = all_terms(db).await?;
    }
    Ok(())
}

/// Every service's id in the order the index keeps listings: by [`search::place_order`] of
/// the first of its venues that has a position (the one its document is placed by, see
/// [`doc_of`]), ids breaking ties; services without one come last.
pub async fn places_in_order(db: &DatabaseConnection) -> anyhow::Result<Vec<Uuid>> {
    let ids = crate::store::openreferral::all_service_ids(db).await?;
    // Each service's venues with a position, its first first (the listing's own order).
    let mut located: Vec<(Uuid, f64, f64)> = service_at_location::Entity::find()
        .select_only()
        .column(service_at_location::Column::ServiceId)
        .column(location::Column::Latitude)
        .column(location::Column::Longitude)
        .join(
            JoinType::InnerJoin,
            service_at_location::Entity::belongs_to(location::Entity)
                .from(service_at_location::Column::LocationId)
                .to(location::Column::Id)
                .into(),
        )
        .filter(location::Column::Latitude.is_not_null())
        .filter(location::Column::Longitude.is_not_null())
        .order_by_asc(service_at_location::Column::ServiceId)
        .order_by_asc(service_at_location::Column::Position)
        .order_by_asc(service_at_location::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    located.dedup_by_key(|(service, _, _)| *service);
    let first: HashMap<Uuid, (f64, f64)> = located
        .into_iter()
        .map(|(service, latitude, longitude)| (service, (latitude, longitude)))
        .collect();
    let mut ordered: Vec<(u64, Uuid)> = ids
        .into_iter()
        .map(|id| (search::place_order(first.get(&id).copied()), id))
        .collect();
    ordered.sort_unstable();
    Ok(ordered.into_iter().map(|(_, id)| id).collect())
}

/// The index document of a listing readied by [`prepare`] with `terms`.
fn doc_of(mut record: listing::ServiceRecord, geo: &Geocoder, terms: &Taxonomy) -> ServiceDoc {
    let mut categories = BTreeSet::new();
    for attached in &record.terms {
        let mut current = Some(attached.term.id);
        // Walk up to the root; the bound guards against a cycle in bad data.
        for _ in 0..16 {
            let Some(id) = current else { break };
            if !categories.insert(id) {
                break;
            }
            current = terms.get(&id).and_then(|t| t.parent_id);
        }
    }
    let taxonomy_names = categories
        .iter()
        .filter_map(|id| terms.get(id).map(|t| t.name.clone()))
        .collect();
    let catchments: Vec<Catchment> = record
        .areas
        .iter()
        .filter_map(|area| match area.kind {
            ServiceAreaKind::National => Some(Catchment::National),
            ServiceAreaKind::PostcodePrefix => {
                let prefix = area.postcode_prefix.as_deref()?;
                match search::geo::normalise_sector(prefix) {
                    Some(sector) => Some(Catchment::Sectors(vec![sector])),
                    None => search::geo::normalise_prefix(prefix).map(Catchment::PostcodePrefix),
                }
            }
            ServiceAreaKind::AdministrativeArea => {
                area.area_code.clone().map(Catchment::AdministrativeArea)
            }
            ServiceAreaKind::Polygon => area
                .extent
                .as_deref()
                .and_then(|extent| geo.sectors_in_geojson(extent))
                .map(Catchment::Sectors),
            ServiceAreaKind::Radius => match (area.latitude, area.longitude, area.radius_km) {
                (Some(lat), Some(lon), Some(radius)) => {
                    Some(Catchment::Sectors(geo.sectors_within(lat, lon, radius)))
                }
                _ => None,
            },
        })
        .collect();
    let here = record.locations.iter().map(|place| &place.location);
    let location_districts = here
        .clone()
        .filter_map(|l| l.postcode.as_deref())
        .filter_map(|p| search::geo::Postcode::parse(p).ok())
        .map(|p| p.outward)
        .collect();
    let points = here
        .filter_map(|l| Some((l.latitude?, l.longitude?)))
        .collect();
    let organization_name = record
        .organization
        .as_ref()
        .map(|o| o.name.clone())
        .unwrap_or_default();
    let svc = &mut record.service;
    // Values a feed left unsaid are unknown, not no: searches keep such services, lower.
    let unknown = |field: &str| {
        svc.eligibility_sources
            .as_ref()
            .is_some_and(|sources| sources.source(field) == ValueSource::Unknown)
    };
    let pregnancy_unknown = unknown(eligibility_field::FROM_PREGNANCY);
    let ages_unknown =
        unknown(eligibility_field::MIN_AGE_MONTHS) && unknown(eligibility_field::MAX_AGE_MONTHS);
    // A feed's catchment that could not be read: the service is placed by its venues, and
    // the search says so.
    let catchment_unknown = catchments.is_empty()
        && svc
            .extra
            .as_ref()
            .is_some_and(|extra| extra.get("unmapped_service_areas").is_some());
    // The texts move into the document: the card holds none of them.
    let name = std::mem::take(&mut svc.name);
    let alternate_name = svc.alternate_name.take();
    let description = std::mem::take(&mut svc.description);
    let svc = &record.service;
    let mut doc = ServiceDoc {
        id: svc.id,
        organization_id: svc.organization_id,
        name,
        alternate_name,
        description,
        organization_name,
        taxonomy_names,
        categories: categories.into_iter().collect(),
        status: svc.status.to_value(),
        level_of_need: svc.level_of_need.to_value(),
        audiences: svc.audiences.0.clone(),
        delivery_modes: svc.delivery_modes.0.clone(),
        from_pregnancy: svc.from_pregnancy,
        pregnancy_unknown,
        ages_unknown,
        catchment_unknown,
        min_age_months: svc.min_age_months,
        max_age_months: svc.max_age_months,
        self_referral: svc.self_referral,
        professional_referral: svc.professional_referral,
        free: svc.free,
        languages: svc.languages.0.clone(),
        assured_date: svc.assured_date,
        catchments,
        location_districts,
        locations: points,
        card: Vec::new(),
        card_details: Vec::new(),
    };
    // The card comes last: the listing's rows move into it.
    (doc.card, doc.card_details) = listing::card::Card::of(record).encode();
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_run_inline_only_while_recent_ones_were_cheap() {
        let times = ReadTimes::default();
        assert!(times.cheap(), "with no reads yet");
        for _ in 0..100 {
            times.record(Duration::from_micros(200));
        }
        assert!(times.cheap(), "after reads well within the budget");
        // Reads grow slow (a larger index, a heavier query mix): a few move the mean over.
        let mut slow = 0;
        while times.cheap() {
            times.record(Duration::from_millis(5));
            slow += 1;
            assert!(slow < 10, "still inline after {slow} reads of 5 ms");
        }
        // Once the mean is theirs, one cheap read does not bring reads back; a run of them does.
        for _ in 0..100 {
            times.record(Duration::from_millis(5));
        }
        times.record(Duration::from_micros(100));
        assert!(!times.cheap());
        for _ in 0..100 {
            times.record(Duration::from_micros(100));
        }
        assert!(times.cheap());
        // A read longer than the mean can hold does not overflow it.
        times.record(Duration::MAX);
        assert!(!times.cheap());
    }
}
