//! The `Service` type and its nested types, the `service(s)` queries with their connection, and
//! the listing mutations (create, update, archive, verify); `ServiceInput` is in `input`.

mod input;

use async_graphql::{Context, ID, Lookahead, Object, SimpleObject};
use entity::{
    Visibility as StoredVisibility, contact, location, phone, schedule, service, service_area,
    taxonomy_term,
};
use uuid::Uuid;

use self::input::ServiceInput;
use super::{
    enums::{
        Audience, DeliveryMode, EligibilityField, LevelOfNeed, ServiceAreaKind, ServiceStatus,
        ValueSource, Visibility,
    },
    event::Event,
    filter::ServiceFilter,
    input::id_arg,
    loaders::Loaders,
    loaders::children,
    organization::Organization,
    pagination::{Page, PageInfo, connection, name_after, name_cursor, page_size},
    parse_id,
    scalars::{Date, DateTime},
    searchable, state,
    taxonomy::TaxonomyTerm,
};
use crate::{
    auth::Caller,
    error::ApiError,
    store::{
        self,
        listing::{
            Parts,
            card::{self, Card, HeadRead},
        },
    },
    validate,
};

/// A listed service: who runs it, who it is for, how to refer, where and when.
#[derive(Clone, Debug)]
pub struct Service(pub service::Model);

/// Who a service is for.
#[derive(Clone, Debug, SimpleObject)]
pub struct Eligibility {
    /// Open from pregnancy.
    pub from_pregnancy: bool,
    /// The infant's youngest age in months; null means no lower bound.
    pub min_age_months: Option<f64>,
    /// The infant's oldest age in months; null means no upper bound.
    pub max_age_months: Option<f64>,
    /// Who in the family the service is for.
    pub audiences: Vec<Audience>,
    /// Further eligibility in words.
    pub description: Option<String>,
    /// Where each eligibility value came from (from pregnancy, ages, audiences, languages,
    /// level of need and referral route): given, read from the words, or unknown.
    pub provenance: Vec<EligibilityProvenance>,
}

/// Where one eligibility value came from.
#[derive(Clone, Debug, SimpleObject)]
pub struct EligibilityProvenance {
    /// The value.
    pub field: EligibilityField,
    /// Given as a field, read from the listing's words, or unknown.
    pub source: ValueSource,
    /// For TEXT, the words it was read from.
    pub phrase: Option<String>,
}

/// The provenance of each eligibility value of a service row.
pub fn provenance(row: &service::Model) -> Vec<EligibilityProvenance> {
    let sources = row.eligibility_sources.clone().unwrap_or_default();
    EligibilityField::ALL
        .into_iter()
        .map(|field| {
            let found = sources.of(field.key());
            EligibilityProvenance {
                field,
                source: found.source.into(),
                phrase: found.phrase,
            }
        })
        .collect()
}

/// How to refer a family.
#[derive(Clone, Debug, SimpleObject)]
pub struct Referral {
    /// Families may refer themselves.
    pub self_referral: bool,
    /// Professionals may refer.
    pub professional_referral: bool,
    /// How to refer, in words.
    pub instructions: Option<String>,
}

/// Ids in the service's code lists are validated on write; unknown codes are skipped on read.
fn codes<T: Copy>(list: &entity::StringList, parse: impl Fn(&str) -> Option<T>) -> Vec<T> {
    list.0.iter().filter_map(|code| parse(code)).collect()
}

/// Whether a row of this visibility is shown to `caller`.
fn visible(caller: &Caller, visibility: StoredVisibility) -> bool {
    visibility == StoredVisibility::Public || caller.sees_professional()
}

#[Object]
impl Service {
    /// The service's id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The service's name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Another name families may know it by.
    async fn alternate_name(&self) -> Option<&str> {
        self.0.alternate_name.as_deref()
    }
    /// What the service offers, in words.
    async fn description(&self) -> &str {
        &self.0.description
    }
    /// The service's web page.
    async fn url(&self) -> Option<&str> {
        self.0.url.as_deref()
    }
    /// The service's email address.
    async fn email(&self) -> Option<&str> {
        self.0.email.as_deref()
    }
    /// Whether the service is running.
    async fn status(&self) -> ServiceStatus {
        self.0.status.into()
    }
    /// Universal, targeted or specialist.
    async fn level_of_need(&self) -> LevelOfNeed {
        self.0.level_of_need.into()
    }
    /// Who the service is for.
    async fn eligibility(&self) -> Eligibility {
        Eligibility {
            from_pregnancy: self.0.from_pregnancy,
            min_age_months: self.0.min_age_months,
            max_age_months: self.0.max_age_months,
            audiences: codes(&self.0.audiences, entity::Audience::parse)
                .into_iter()
                .map(Audience::from)
                .collect(),
            description: self.0.eligibility_description.clone(),
            provenance: provenance(&self.0),
        }
    }
    /// How to refer.
    async fn referral(&self) -> Referral {
        Referral {
            self_referral: self.0.self_referral,
            professional_referral: self.0.professional_referral,
            instructions: self.0.referral_instructions.clone(),
        }
    }
    /// How the service is delivered.
    async fn delivery_modes(&self) -> Vec<DeliveryMode> {
        codes(&self.0.delivery_modes, entity::DeliveryMode::parse)
            .into_iter()
            .map(DeliveryMode::from)
            .collect()
    }
    /// Languages the service is offered in (ISO 639-1 codes).
    async fn languages(&self) -> &[String] {
        &self.0.languages.0
    }
    /// Free at the point of use.
    async fn free(&self) -> bool {
        self.0.free
    }
    /// What it costs, when not free.
    async fn fees_description(&self) -> Option<&str> {
        self.0.fees_description.as_deref()
    }
    /// Who funds the service.
    async fn funding_source(&self) -> Option<&str> {
        self.0.funding_source.as_deref()
    }
    /// When the current funding ends.
    async fn funding_ends_on(&self) -> Option<Date> {
        self.0.funding_ends_on.map(Date)
    }
    /// When the listing was last verified.
    async fn assured_date(&self) -> Option<Date> {
        self.0.assured_date.map(Date)
    }
    /// Who last verified the listing.
    async fn assurer(&self) -> Option<&str> {
        self.0.assurer.as_deref()
    }
    /// When the listing last changed.
    async fn last_modified(&self) -> DateTime {
        DateTime(self.0.updated_at)
    }
    /// The listing's version, for optimistic concurrency.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// Who runs the service.
    async fn organization(&self, ctx: &Context<'_>) -> async_graphql::Result<Organization> {
        let loaders = ctx.data::<Loaders>()?;
        let found = loaders
            .organization
            .load_one(self.0.organization_id)
            .await
            .map_err(ApiError::from)?;
        let model = found.ok_or_else(|| {
            ApiError::Internal(anyhow::anyhow!("service {} has no organisation", self.0.id))
        })?;
        Ok(Organization(model))
    }
    /// Where the service is delivered.
    #[graphql(complexity = "CHILD_ROWS * child_complexity + 1")]
    async fn locations(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Location>> {
        let rows = children(&ctx.data::<Loaders>()?.locations, self.0.id).await?;
        Ok(rows.into_iter().map(Location).collect())
    }
    /// The catchment: where families must live to use the service.
    #[graphql(complexity = "CHILD_ROWS * child_complexity + 1")]
    async fn service_areas(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ServiceArea>> {
        let rows = children(&ctx.data::<Loaders>()?.service_areas, self.0.id).await?;
        Ok(rows.into_iter().map(ServiceArea).collect())
    }
    /// Named contacts; PROFESSIONAL ones only for authenticated callers.
    #[graphql(complexity = "CHILD_ROWS * child_complexity + 1")]
    async fn contacts(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Contact>> {
        let caller = ctx.data::<Caller>()?;
        let rows = children(&ctx.data::<Loaders>()?.contacts, self.0.id).await?;
        Ok(rows
            .into_iter()
            .filter(|row| visible(caller, row.visibility))
            .map(Contact)
            .collect())
    }
    /// Phone lines; PROFESSIONAL ones only for authenticated callers.
    #[graphql(complexity = "CHILD_ROWS * child_complexity + 1")]
    async fn phones(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Phone>> {
        let caller = ctx.data::<Caller>()?;
        let rows = children(&ctx.data::<Loaders>()?.phones, self.0.id).await?;
        Ok(rows
            .into_iter()
            .filter(|row| visible(caller, row.visibility))
            .map(Phone)
            .collect())
    }
    /// Weekly opening hours.
    #[graphql(complexity = "CHILD_ROWS * child_complexity + 1")]
    async fn schedules(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Schedule>> {
        let rows = children(&ctx.data::<Loaders>()?.schedules, self.0.id).await?;
        Ok(rows.into_iter().map(Schedule).collect())
    }
    /// The service's categories.
    #[graphql(complexity = "CHILD_ROWS * child_complexity + 1")]
    async fn taxonomy_terms(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<TaxonomyTerm>> {
        let rows = children(&ctx.data::<Loaders>()?.terms, self.0.id).await?;
        Ok(rows.into_iter().map(TaxonomyTerm).collect())
    }
    /// Dated sessions and pop-ups that end after `from` and start before `to`.
    async fn events(
        &self,
        ctx: &Context<'_>,
        from: Option<DateTime>,
        to: Option<DateTime>,
    ) -> async_graphql::Result<Vec<Event>> {
        let rows = children(&ctx.data::<Loaders>()?.events, self.0.id).await?;
        Ok(rows
            .into_iter()
            .filter(|row| from.is_none_or(|from| row.ends_at > from.0))
            .filter(|row| to.is_none_or(|to| row.starts_at < to.0))
            .map(Event)
            .collect())
    }
}

/// A catchment: national, a postcode area or district, or a point and radius.
#[derive(Clone, Debug)]
pub struct ServiceArea(pub service_area::Model);

#[Object]
impl ServiceArea {
    /// Which kind of catchment.
    async fn kind(&self) -> ServiceAreaKind {
        self.0.kind.into()
    }
    /// A human name such as "Gloucestershire".
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The postcode area or district ("GL", "GL50"), for POSTCODE_PREFIX.
    async fn postcode_prefix(&self) -> Option<&str> {
        self.0.postcode_prefix.as_deref()
    }
    /// The centre's latitude, for RADIUS.
    async fn latitude(&self) -> Option<f64> {
        self.0.latitude
    }
    /// The centre's longitude, for RADIUS.
    async fn longitude(&self) -> Option<f64> {
        self.0.longitude
    }
    /// The radius in kilometres, for RADIUS.
    async fn radius_km(&self) -> Option<f64> {
        self.0.radius_km
    }
    /// The ONS (GSS) code of the area ("E08000009"), for ADMINISTRATIVE_AREA.
    async fn area_code(&self) -> Option<&str> {
        self.0.area_code.as_deref()
    }
    /// The area's name in the ONS code list ("Trafford"), for ADMINISTRATIVE_AREA.
    async fn area_name(&self) -> Option<&str> {
        let code = self.0.area_code.as_deref()?;
        search::areas::embedded().get(code).map(|a| a.name.as_str())
    }
    /// The GeoJSON `Polygon` or `MultiPolygon` as given, for POLYGON.
    async fn extent(&self) -> Option<&str> {
        self.0.extent.as_deref()
    }
}

/// A place where a service is delivered.
#[derive(Clone, Debug)]
pub struct Location(pub location::Model);

#[Object]
impl Location {
    /// The location's id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The venue's name.
    async fn name(&self) -> Option<&str> {
        self.0.name.as_deref()
    }
    /// The first line of the address.
    async fn address1(&self) -> Option<&str> {
        self.0.address_1.as_deref()
    }
    /// The town or city.
    async fn city(&self) -> Option<&str> {
        self.0.city.as_deref()
    }
    /// The postcode.
    async fn postcode(&self) -> Option<&str> {
        self.0.postcode.as_deref()
    }
    /// WGS84 latitude.
    async fn latitude(&self) -> Option<f64> {
        self.0.latitude
    }
    /// WGS84 longitude.
    async fn longitude(&self) -> Option<f64> {
        self.0.longitude
    }
    /// Access information (step-free access, parking, baby change).
    async fn accessibility(&self) -> Option<&str> {
        self.0.accessibility.as_deref()
    }
}

/// A named contact.
#[derive(Clone, Debug)]
pub struct Contact(pub contact::Model);

#[Object]
impl Contact {
    /// The person's name.
    async fn name(&self) -> Option<&str> {
        self.0.name.as_deref()
    }
    /// Their role.
    async fn title(&self) -> Option<&str> {
        self.0.title.as_deref()
    }
    /// Their email address.
    async fn email(&self) -> Option<&str> {
        self.0.email.as_deref()
    }
    /// Their phone number.
    async fn phone(&self) -> Option<&str> {
        self.0.phone.as_deref()
    }
    /// Who may see this contact.
    async fn visibility(&self) -> Visibility {
        self.0.visibility.into()
    }
}

/// A phone line.
#[derive(Clone, Debug)]
pub struct Phone(pub phone::Model);

#[Object]
impl Phone {
    /// The number.
    async fn number(&self) -> &str {
        &self.0.number
    }
    /// What the line is for.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// Who may see this line.
    async fn visibility(&self) -> Visibility {
        self.0.visibility.into()
    }
}

/// Weekly opening hours.
#[derive(Clone, Debug)]
pub struct Schedule(pub schedule::Model);

#[Object]
impl Schedule {
    /// 1 = Monday .. 7 = Sunday.
    async fn weekday(&self) -> Option<i32> {
        self.0.weekday
    }
    /// Opening time, "HH:MM" UK local time.
    async fn opens_at(&self) -> Option<&str> {
        self.0.opens_at.as_deref()
    }
    /// Closing time, "HH:MM" UK local time.
    async fn closes_at(&self) -> Option<&str> {
        self.0.closes_at.as_deref()
    }
    /// Notes such as "drop-in, no appointment needed".
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
}

/// What a service's child list (locations, phones, schedules, ...) counts as in the query
/// complexity: a listing's usual number of rows, so that nesting lists multiplies the cost.
const CHILD_ROWS: usize = 2;

/// A page of services.
#[derive(Clone, Debug, SimpleObject)]
pub struct ServiceConnection {
    /// How many services match in all.
    pub total_count: i64,
    /// This page.
    pub edges: Vec<ServiceEdge>,
    /// Paging.
    pub page_info: PageInfo,
}

/// A service with its cursor.
#[derive(Clone, Debug, SimpleObject)]
pub struct ServiceEdge {
    /// Pass as `after` to continue after this service.
    pub cursor: String,
    /// The service.
    pub node: Service,
}

impl From<Page<ServiceEdge>> for ServiceConnection {
    fn from(page: Page<ServiceEdge>) -> Self {
        Self {
            total_count: page.total_count,
            edges: page.edges,
            page_info: page.page_info,
        }
    }
}

/// Loads, in one statement per relation, every relation the query selects under `node` for a
/// page of services, so that the page costs the same number of statements whatever its size
/// (batching by timing alone can split a large page into several batches). The listing's parts
/// come from [`store::listing::load_with`] and are fed to the request's loaders; the
/// organisation, the terms and the other children are loaded side by side, as the three do not
/// depend on one another.
pub async fn prefetch(
    ctx: &Context<'_>,
    node: Lookahead<'_>,
    rows: &[service::Model],
) -> async_graphql::Result<()> {
    prefetch_parts(ctx, node, rows, None).await
}

/// Feeds the request's loaders with listings read from their cards (holding `parts` of
/// them), then loads what the query selects beyond those parts (contacts, opening times,
/// events, a term's children), as [`prefetch`] does. Gives back the cards' service rows.
pub async fn prefetch_cards(
    ctx: &Context<'_>,
    node: Lookahead<'_>,
    cards: Vec<Card>,
    parts: Parts,
) -> async_graphql::Result<Vec<service::Model>> {
    if cards.is_empty() {
        return Ok(Vec::new());
    }
    ctx.data::<Loaders>()?.feed_cards(&cards, parts).await;
    let mut terms = Vec::new();
    let rows: Vec<service::Model> = cards
        .into_iter()
        .map(|card| {
            terms.extend(card.terms);
            card.service
        })
        .collect();
    prefetch_parts(ctx, node, &rows, Some((terms, parts))).await?;
    Ok(rows)
}

/// Whether a selection under a service needs its description: it shows it, or its rows are
/// fed to the service loader (see `feeds_service_loader`), which answers with them whole.
pub fn description_selected(node: Lookahead<'_>) -> bool {
    node.field("description").exists() || feeds_service_loader(&node)
}

/// Whether a page's own service rows are fed to the service loader: a listing's events name
/// it back (`Event.service`, read through that loader), so only a selection of `events` makes
/// them worth a place there.
fn feeds_service_loader(node: &Lookahead<'_>) -> bool {
    node.field("events").exists()
}

/// The parts of a listing a selection under `node` shows (those a card can hold).
pub fn selected_parts(node: Lookahead<'_>) -> Parts {
    let selected = |field: &str| node.field(field).exists();
    Parts {
        organization: selected("organization"),
        areas: selected("serviceAreas"),
        locations: selected("locations"),
        phones: selected("phones"),
        terms: selected("taxonomyTerms"),
        ..Parts::NONE
    }
}

/// The fields of a listing that show none of the texts [`HeadRead::WithoutTexts`] passes over
/// (the rest read only the row's id, organisation, numbers, flags and days, or what is stored
/// beside the card).
const SHOWN_WITHOUT_HEAD_TEXTS: [&str; 19] = [
    "__typename",
    "id",
    "name",
    "alternateName",
    "description",
    "status",
    "levelOfNeed",
    "free",
    "fundingEndsOn",
    "assuredDate",
    "lastModified",
    "version",
    "organization",
    "locations",
    "serviceAreas",
    "contacts",
    "phones",
    "schedules",
    "taxonomyTerms",
];

/// How much of each card's head a selection under `node` needs: all of it, unless every
/// field it selects is one of [`SHOWN_WITHOUT_HEAD_TEXTS`].
pub fn head_read(node: Lookahead<'_>) -> HeadRead {
    let without_texts = node.selection_fields().iter().all(|node| {
        node.selection_set()
            .all(|field| SHOWN_WITHOUT_HEAD_TEXTS.contains(&field.name()))
    });
    if without_texts {
        HeadRead::WithoutTexts
    } else {
        HeadRead::Whole
    }
}

async fn prefetch_parts(
    ctx: &Context<'_>,
    node: Lookahead<'_>,
    rows: &[service::Model],
    carded: Option<(Vec<taxonomy_term::Model>, Parts)>,
) -> async_graphql::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let shared = state(ctx)?;
    let db = &shared.db;
    let loaders = ctx.data::<Loaders>()?;
    let ids: Vec<Uuid> = rows.iter().map(|row| row.id).collect();
    let selected = |field: &str| node.field(field).exists();
    if feeds_service_loader(&node) {
        loaders
            .service
            .feed_many(rows.iter().map(|row| (row.id, row.clone())))
            .await;
    }
    // Parts already fed from cards are not loaded again.
    let known = carded.as_ref().map_or(Parts::NONE, |(_, parts)| *parts);
    // The listings with `parts`, fed to the loaders.
    let load = |parts: Parts| async move {
        if parts == Parts::NONE {
            return Ok(Vec::new());
        }
        let records = store::listing::load_with(db, rows.to_vec(), parts).await?;
        loaders.feed(&records, parts).await;
        Ok::<_, ApiError>(records)
    };
    let organizations = async {
        load(Parts {
            organization: selected("organization") && !known.organization,
            ..Parts::NONE
        })
        .await
        .map(drop)
    };
    let children = async {
        load(Parts {
            areas: selected("serviceAreas") && !known.areas,
            locations: selected("locations") && !known.locations,
            contacts: selected("contacts") && !known.contacts,
            phones: selected("phones") && !known.phones,
            schedules: selected("schedules") && !known.schedules,
            ..Parts::NONE
        })
        .await?;
        // Events are not part of a listing: their own loader reads them.
        if selected("events") {
            loaders.events.load_many(ids.iter().copied()).await?;
        }
        Ok::<_, ApiError>(())
    };
    let terms = async {
        let terms_field = node.field("taxonomyTerms");
        let term_rows: Vec<taxonomy_term::Model> = match carded {
            Some((terms, parts)) if parts.terms => terms,
            _ => load(Parts {
                terms: terms_field.exists(),
                ..Parts::NONE
            })
            .await?
            .into_iter()
            .flat_map(|record| record.terms.into_iter().map(|t| t.term))
            .collect(),
        };
        if terms_field.field("parent").exists() {
            // Terms are held in memory; the loader reads the table only for one not yet there.
            let parents: Vec<Uuid> = term_rows.iter().filter_map(|t| t.parent_id).collect();
            let taxonomy = shared.indexer.taxonomy();
            loaders
                .taxonomy_term
                .feed_many(
                    parents
                        .iter()
                        .filter_map(|id| taxonomy.get(id).map(|t| (*id, t.clone()))),
                )
                .await;
            loaders.taxonomy_term.load_many(parents).await?;
        }
        if terms_field.field("children").exists() {
            loaders
                .term_children
                .load_many(term_rows.iter().map(|t| t.id))
                .await?;
        }
        Ok::<_, ApiError>(())
    };
    let (a, b, c) = tokio::join!(organizations, children, terms);
    a.and(b).and(c)?;
    Ok(())
}

/// The cursor of a service in name order.
fn service_cursor(row: &service::Model) -> String {
    name_cursor(&row.name, row.id)
}

/// Builds a connection from services in name order.
pub fn service_connection(
    rows: Vec<service::Model>,
    has_next_page: bool,
    total_count: u64,
    after_given: bool,
) -> ServiceConnection {
    connection(
        rows,
        service_cursor,
        |cursor, row| ServiceEdge {
            cursor,
            node: Service(row),
        },
        has_next_page,
        after_given,
        total_count,
    )
    .into()
}

/// A page of the store's listings in name order, with the selection's relations prefetched.
async fn listed(
    ctx: &Context<'_>,
    filter: &store::service::ServiceFilter,
    first: u64,
    after: Option<String>,
) -> async_graphql::Result<ServiceConnection> {
    let after_key = name_after(after.as_deref())?;
    let count = ctx.look_ahead().field("totalCount").exists();
    let page =
        store::service::list(&state(ctx)?.db, filter, first, after_key.as_ref(), count).await?;
    prefetch(
        ctx,
        ctx.look_ahead().field("edges").field("node"),
        &page.rows,
    )
    .await?;
    // Without `totalCount` in the selection nothing was counted and nothing is shown.
    Ok(service_connection(
        page.rows,
        page.has_next_page,
        page.total_count.unwrap_or_default(),
        after.is_some(),
    ))
}

/// `services` from the search index: its matches in name order (the same filters and order as
/// the database's list, with the index's cursors), as cards.
async fn services_from_index(
    ctx: &Context<'_>,
    filter: ServiceFilter,
    first: u64,
    after: Option<String>,
) -> async_graphql::Result<ServiceConnection> {
    let today = super::search::today();
    let request = search::SearchRequest {
        text: None,
        filter: search::Filter {
            // "Only services open from pregnancy", as the database's list reads it.
            pregnancy_confirmed: true,
            ..filter.into_search(ctx, today)?
        },
        near: None,
        sort: search::Sort::Name,
        first: usize::try_from(first).unwrap_or_default(),
        after: after.clone(),
        today,
        facets: false,
        highlights: false,
        coverage_of: None,
        cards: super::search::page_cards(ctx),
    };
    let mut results = super::search::run_search(ctx, request).await?;
    let rows = super::search::page_rows(ctx, &mut results.hits, false).await?;
    let found: Vec<(String, service::Model)> = results
        .hits
        .into_iter()
        .zip(rows)
        .filter_map(|(hit, row)| row.map(|row| (hit.cursor, row.service)))
        .collect();
    Ok(connection(
        found,
        |(cursor, _)| cursor.clone(),
        |cursor, (_, row)| ServiceEdge {
            cursor,
            node: Service(row),
        },
        results.has_next_page,
        after.is_some(),
        results.total_count,
    )
    .into())
}

/// Service queries.
#[derive(Default)]
pub struct ServiceQuery;

#[Object]
impl ServiceQuery {
    /// One service by id; null when there is none.
    async fn service(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Service>> {
        let id = parse_id(&id, "id")?;
        let caller = ctx.data::<Caller>()?;
        let shared = state(ctx)?;
        // Readers are answered from the listing's card in the search index (current to the
        // last applied change); those who edit listings read the database.
        if !caller.edits() {
            let wanted = selected_parts(ctx.look_ahead());
            let description = description_selected(ctx.look_ahead());
            let card = shared
                .indexer
                .index()
                .card(id, card::to_read(wanted, description))
                .map_err(|err| ApiError::Internal(err.into()))?;
            if let Some((card, parts)) =
                card.and_then(|card| Card::decode_parts(card, wanted, description))
            {
                if !caller.sees_every_status()
                    && card.service.status != entity::ServiceStatus::Active
                {
                    return Ok(None);
                }
                let rows = prefetch_cards(ctx, ctx.look_ahead(), vec![card], parts).await?;
                return Ok(rows.into_iter().next().map(Service));
            }
        }
        let found = store::service::get(&shared.db, id).await?;
        Ok(found
            .filter(|s| caller.sees_every_status() || s.status == entity::ServiceStatus::Active)
            .map(Service))
    }

    /// Services in name order, narrowed by `filter` (statuses default to ACTIVE).
    #[graphql(complexity = "first.unwrap_or(20).clamp(0, 100) as usize * child_complexity + 1")]
    async fn services(
        &self,
        ctx: &Context<'_>,
        filter: Option<ServiceFilter>,
        #[graphql(default = 20)] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<ServiceConnection> {
        let first = page_size(first.unwrap_or(20))?;
        let filter = filter.unwrap_or_default();
        let caller = ctx.data::<Caller>()?;
        filter.check_access(caller)?;
        // Readers are answered from the search index (current to the last applied change), as
        // are catchments, which only the index matches; those who edit listings read the
        // database.
        if filter.covers_postcode.is_some() || !caller.edits() {
            return services_from_index(ctx, filter, first, after).await;
        }
        listed(ctx, &filter.into_store()?, first, after).await
    }
}

#[Object]
impl ReviewQuery {
    /// Listings whose eligibility was read from their words or is unknown, of every status, in
    /// name order, for an admin to confirm or correct (each listing's
    /// `eligibility.provenance` says which values and from what words) (admins).
    #[graphql(complexity = "first.unwrap_or(20).clamp(0, 100) as usize * child_complexity + 1")]
    async fn eligibility_review(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<ServiceConnection> {
        ctx.data::<Caller>()?.require_admin()?;
        let first = page_size(first.unwrap_or(20))?;
        let filter = store::service::ServiceFilter {
            statuses: vec![
                entity::ServiceStatus::Active,
                entity::ServiceStatus::Inactive,
                entity::ServiceStatus::TemporarilyClosed,
                entity::ServiceStatus::Defunct,
            ],
            eligibility_to_review: true,
            ..store::service::ServiceFilter::default()
        };
        listed(ctx, &filter, first, after).await
    }
}

/// The admins' review of eligibility read from words.
#[derive(Default)]
pub struct ReviewQuery;

/// Service mutations.
#[derive(Default)]
pub struct ServiceMutation;

#[Object]
impl ServiceMutation {
    /// Creates a listing (admins, or editors of its organisation).
    async fn create_service(
        &self,
        ctx: &Context<'_>,
        input: ServiceInput,
    ) -> async_graphql::Result<Service> {
        let caller = ctx.data::<Caller>()?;
        caller.require_editor_of(id_arg(&input.organization_id, "input.organizationId")?)?;
        let draft = input.into_draft(ctx).await?;
        let (saved, seq) = store::editing::create_service(&state(ctx)?.db, caller, draft).await?;
        searchable(ctx, seq).await?;
        Ok(Service(saved))
    }

    /// Replaces a listing; CONFLICT when it changed since `expectedVersion`.
    async fn update_service(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: i32,
        input: ServiceInput,
    ) -> async_graphql::Result<Service> {
        let caller = ctx.data::<Caller>()?;
        caller.require_authenticated()?;
        let id = id_arg(&id, "id")?;
        let draft = input.into_draft(ctx).await?;
        let (saved, seq) =
            store::editing::update_service(&state(ctx)?.db, caller, id, expected_version, draft)
                .await?;
        searchable(ctx, seq).await?;
        Ok(Service(saved))
    }

    /// Takes a listing out of the directory (status DEFUNCT); CONFLICT when it changed since
    /// `expectedVersion`.
    async fn archive_service(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: i32,
    ) -> async_graphql::Result<Service> {
        let caller = ctx.data::<Caller>()?;
        caller.require_authenticated()?;
        let id = id_arg(&id, "id")?;
        let (saved, seq) =
            store::editing::archive_service(&state(ctx)?.db, caller, id, expected_version).await?;
        searchable(ctx, seq).await?;
        Ok(Service(saved))
    }

    /// Confirms eligibility values as they stand (those read from the listing's words or
    /// unknown become given), without changing them; CONFLICT when `expectedVersion` is given
    /// and the listing changed since. Changing a value through `updateService` makes it given
    /// too.
    async fn confirm_eligibility(
        &self,
        ctx: &Context<'_>,
        service_id: ID,
        fields: Vec<EligibilityField>,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<Service> {
        let caller = ctx.data::<Caller>()?;
        caller.require_authenticated()?;
        let id = id_arg(&service_id, "serviceId")?;
        validate::list_len("fields", fields.len(), EligibilityField::ALL.len())?;
        let keys: Vec<&'static str> = fields.iter().map(|f| f.key()).collect();
        let (saved, seq) = store::editing::confirm_eligibility(
            &state(ctx)?.db,
            caller,
            id,
            expected_version,
            &keys,
        )
        .await?;
        searchable(ctx, seq).await?;
        Ok(Service(saved))
    }

    /// Records that a listing was checked today (sets `assuredDate` and the assurer).
    async fn verify_service(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Service> {
        let caller = ctx.data::<Caller>()?;
        caller.require_authenticated()?;
        let id = id_arg(&id, "id")?;
        let (saved, seq) = store::editing::verify_service(&state(ctx)?.db, caller, id).await?;
        searchable(ctx, seq).await?;
        Ok(Service(saved))
    }
}
