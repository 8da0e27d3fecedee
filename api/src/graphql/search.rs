//! `search` and `suggest`: the signposting queries, answered by the search index.

use std::{collections::HashMap, sync::Arc};

use async_graphql::{Context, Enum, ID, Object, SimpleObject};
use entity::{organization, service};
use search::{FamilyFilter, SearchRequest, Sort, Unconfirmed, eligibility::Family};

use super::{
    enums::Audience,
    filter::ServiceFilter,
    loaders::Loaders,
    pagination::{PageInfo, connection, page_size},
    place::NearInput,
    plain::{self, Edges},
    service::{Service, description_selected, head_read, prefetch, prefetch_cards, selected_parts},
    state,
};
use crate::{
    error::{ApiError, ApiResult},
    store::listing::card::{self, Card},
};

/// How search results are ordered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum, Default)]
pub enum SearchSort {
    /// Best match first, gently preferring nearer and recently verified listings.
    #[default]
    Relevance,
    /// Nearest first (needs `near`); services without a location last.
    Distance,
    /// Most recently verified first.
    RecentlyVerified,
    /// By name.
    Name,
}

/// A highlighted snippet.
#[derive(Clone, Debug, SimpleObject)]
pub struct Highlight {
    /// The field: "name" or "description".
    pub field: String,
    /// HTML-escaped text with matches marked `<b>..</b>`.
    pub snippet: String,
}

/// An eligibility criterion a search filtered on that a listing does not confirm: the listing
/// says nothing of it, so the service is kept, ranked below those known to fit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
pub enum UnconfirmedCriterion {
    /// Whether it takes families in pregnancy.
    Pregnancy,
    /// Whether the baby's age is in its range.
    Age,
    /// Whether its catchment covers the postcode (its catchment could not be read; it is
    /// placed by its venues).
    Catchment,
}

impl From<Unconfirmed> for UnconfirmedCriterion {
    fn from(value: Unconfirmed) -> Self {
        match value {
            Unconfirmed::Pregnancy => Self::Pregnancy,
            Unconfirmed::Age => Self::Age,
            Unconfirmed::Catchment => Self::Catchment,
        }
    }
}

/// What a search read from its words about the family, and applied as filters unless the
/// search said `interpret: false` or gave the same filter itself.
#[derive(Clone, Debug, SimpleObject)]
pub struct SearchInterpretation {
    /// Whether the reading was applied (false with `interpret: false`: then this says what
    /// would have been).
    pub applied: bool,
    /// Who the search is for: services limited to other audiences are left out.
    pub audiences: Vec<Audience>,
    /// The family is expecting: services known not to take pregnancies are left out.
    pub pregnant: bool,
    /// The family's baby has died: bereavement services are shown (they are left out of other
    /// searches).
    pub bereaved: bool,
    /// The baby's age in months: services whose range excludes it are left out.
    pub infant_age_months: Option<f64>,
    /// Languages the family speaks (ISO 639 codes): groups for speakers of other languages
    /// only are left out.
    pub languages: Vec<String>,
    /// The words that were read.
    pub phrases: Vec<String>,
}

/// Infant ages read from words above this many months are taken as someone else's age.
const MAX_READ_AGE_MONTHS: f64 = 60.0;

/// Which filters the search gave itself (they win over what the words say).
struct Explicit {
    pregnant: bool,
    age: bool,
    audiences: bool,
    languages: bool,
}

impl Explicit {
    fn of(filter: &ServiceFilter) -> Self {
        Self {
            pregnant: filter.pregnant.is_some(),
            age: filter.infant_age_months.is_some(),
            audiences: filter.audiences.as_ref().is_some_and(|a| !a.is_empty()),
            languages: filter.languages.as_ref().is_some_and(|l| !l.is_empty()),
        }
    }

    /// What of `family` applies given these explicit filters. The baby's age is not read in
    /// a pregnancy (weeks of pregnancy) or a bereavement (the age at the loss).
    fn interpretation(&self, family: Family, applied: bool) -> SearchInterpretation {
        let pregnant = family.pregnant.as_ref().is_some_and(|p| p.value);
        let bereaved = family.bereaved.as_ref().is_some_and(|b| b.value);
        let mut phrases: Vec<String> = Vec::new();
        let mut said = |phrase: &str| {
            if !phrases.iter().any(|p| p == phrase) {
                phrases.push(phrase.to_owned());
            }
        };
        family.audiences.iter().for_each(|a| said(&a.phrase));
        family.pregnant.iter().for_each(|p| said(&p.phrase));
        family.bereaved.iter().for_each(|b| said(&b.phrase));
        family
            .infant_age_months
            .iter()
            .for_each(|a| said(&a.phrase));
        family.languages.iter().for_each(|l| said(&l.phrase));
        SearchInterpretation {
            applied,
            audiences: if self.audiences {
                Vec::new()
            } else {
                family
                    .audiences
                    .iter()
                    .filter_map(|code| entity::Audience::parse(&code.value).map(Into::into))
                    .collect()
            },
            pregnant: !self.pregnant && pregnant,
            bereaved,
            infant_age_months: family
                .infant_age_months
                .map(|age| age.value)
                .filter(|age| !self.age && !pregnant && !bereaved && *age <= MAX_READ_AGE_MONTHS)
                .map(|age| (age * 10.0).round() / 10.0),
            languages: if self.languages {
                Vec::new()
            } else {
                family.languages.into_iter().map(|l| l.value).collect()
            },
            phrases,
        }
    }
}

/// Narrows `filter` by what was read.
fn apply(filter: &mut search::Filter, reading: &SearchInterpretation) {
    filter.pregnant |= reading.pregnant;
    if reading.infant_age_months.is_some() {
        filter.infant_age_months = reading.infant_age_months;
    }
    filter.family = Some(FamilyFilter {
        audiences: reading
            .audiences
            .iter()
            .map(|a| entity::Audience::from(*a).as_str().to_owned())
            .collect(),
        bereaved: reading.bereaved,
        languages: reading.languages.clone(),
    });
}

/// The kind of area through which a catchment covers a postcode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
pub enum CoverageKind {
    /// The whole United Kingdom.
    National,
    /// A country of the UK (England, Scotland, Wales, Northern Ireland).
    Country,
    /// A region, county or local authority (district, unitary authority, metropolitan
    /// district, London borough).
    AdministrativeArea,
    /// A postcode area ("M").
    PostcodeArea,
    /// A postcode district ("M16").
    PostcodeDistrict,
    /// A postcode sector ("M16 0"), also for polygon and radius catchments, which are held as
    /// the sectors they contain.
    PostcodeSector,
    /// The listing states no catchment (or none that could be read): it is taken to serve the
    /// postcode district of one of its venues, and that district holds the postcode.
    VenueDistrict,
}

/// Whether a service's catchment covers the postcode a search names (`filter.coversPostcode`,
/// or else `near.postcode`).
#[derive(Clone, Debug, SimpleObject)]
pub struct Coverage {
    /// Whether the service takes families from the postcode. The same rule as
    /// `filter.coversPostcode`: every service that filter keeps says true here, every other
    /// false. With `known` false this comes from where its venues are, not from the listing.
    pub covered: bool,
    /// Whether the listing states a catchment that was read. False: it states none, or one
    /// that could not be read (then `unconfirmed` holds CATCHMENT in a `coversPostcode`
    /// search); the service is placed by its venues' postcode districts, and whether it takes
    /// the family is best checked with it.
    pub known: bool,
    /// The name of the narrowest area of the catchment that holds the postcode ("Trafford",
    /// "England", "postcode sector M16 0"); null when not covered.
    pub area: Option<String>,
    /// What kind of area `area` is; null when not covered.
    pub kind: Option<CoverageKind>,
}

impl From<search::HitCoverage> for Coverage {
    fn from(value: search::HitCoverage) -> Self {
        use search::CoveredBy;
        let kind = value.through.as_ref().map(|through| match through {
            CoveredBy::National => CoverageKind::National,
            CoveredBy::Country(_) => CoverageKind::Country,
            CoveredBy::AdministrativeArea(_) => CoverageKind::AdministrativeArea,
            CoveredBy::PostcodeArea(_) => CoverageKind::PostcodeArea,
            CoveredBy::PostcodeDistrict(_) => CoverageKind::PostcodeDistrict,
            CoveredBy::PostcodeSector(_) => CoverageKind::PostcodeSector,
            CoveredBy::VenueDistrict(_) => CoverageKind::VenueDistrict,
        });
        Self {
            covered: value.covered,
            known: value.known,
            area: value.through.as_ref().map(search::CoveredBy::name),
            kind,
        }
    }
}

/// A search hit.
#[derive(Clone, Debug, SimpleObject)]
pub struct SearchEdge {
    /// Pass as `after` for the next page.
    pub cursor: String,
    /// The ranking score (higher is better).
    pub score: f64,
    /// Kilometres to the service's nearest location, when `near` is given and it has one.
    pub distance_km: Option<f64>,
    /// Where the text matched.
    pub highlights: Vec<Highlight>,
    /// Criteria the search filtered on that the listing does not confirm (it says nothing of
    /// them): the service may fit; check with it.
    pub unconfirmed: Vec<UnconfirmedCriterion>,
    /// Whether the service's catchment covers the postcode the search names
    /// (`filter.coversPostcode`, or else `near.postcode`), for "all services" searches too;
    /// null when it names none (`near` by latitude and longitude names no postcode).
    pub coverage: Option<Coverage>,
    /// The service.
    pub node: Service,
    /// The service's organisation when the page read it with the service (from its card).
    #[graphql(skip)]
    pub organization: Option<Arc<organization::Model>>,
}

/// A facet value and how many results have it.
#[derive(Clone, Debug, SimpleObject)]
pub struct FacetCount {
    /// The value to filter by (an id or an enum value).
    pub value: String,
    /// A label to show.
    pub label: String,
    /// How many results have it.
    pub count: i64,
}

/// Facet counts over the whole filtered result set.
#[derive(Clone, Debug, SimpleObject)]
pub struct SearchFacets {
    /// Taxonomy terms (ancestors included).
    pub categories: Vec<FacetCount>,
    /// Levels of need.
    pub level_of_need: Vec<FacetCount>,
    /// Audiences.
    pub audiences: Vec<FacetCount>,
    /// Delivery modes.
    pub delivery_modes: Vec<FacetCount>,
    /// SELF and PROFESSIONAL referral.
    pub referral_routes: Vec<FacetCount>,
    /// Languages the services are offered in: ISO 639-1 codes (the values
    /// `filter.languages` takes), labelled with their English names.
    pub languages: Vec<FacetCount>,
}

/// What a suggestion names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
pub enum SuggestionKind {
    /// A taxonomy term (its id filters by `filter.categories`).
    Category,
    /// An active service (its id fetches it with `service(id:)`).
    Service,
}

/// A completion of what was typed.
#[derive(Clone, Debug, SimpleObject)]
pub struct Suggestion {
    /// The text to put in the search box.
    pub text: String,
    /// What it names.
    pub kind: SuggestionKind,
    /// The taxonomy term's or the service's id.
    pub id: Option<ID>,
}

/// A page of search results.
#[derive(Clone, Debug, SimpleObject)]
pub struct SearchResults {
    /// How many services match in all.
    pub total_count: i64,
    /// This page.
    pub edges: Edges,
    /// Paging.
    pub page_info: PageInfo,
    /// Facet counts over all matches.
    pub facets: SearchFacets,
    /// What the search read from its words about the family; null without text.
    pub interpretation: Option<SearchInterpretation>,
}

fn label(code: &str) -> String {
    match code {
        "SELF" => "Self-referral".to_owned(),
        "PROFESSIONAL" => "Professional referral".to_owned(),
        other => {
            let words = other.to_lowercase().replace('_', " ");
            let mut chars = words.chars();
            chars
                .next()
                .map(|c| c.to_uppercase().collect::<String>() + chars.as_str())
                .unwrap_or_default()
        }
    }
}

fn counts(values: Vec<(String, u64)>, labels: &HashMap<String, String>) -> Vec<FacetCount> {
    values
        .into_iter()
        .map(|(value, count)| FacetCount {
            label: labels.get(&value).cloned().unwrap_or_else(|| label(&value)),
            value,
            count: i64::try_from(count).unwrap_or(i64::MAX),
        })
        .collect()
}

/// Today in days since 1970-01-01.
pub fn today() -> i64 {
    search::day_number(chrono::Utc::now().date_naive())
}

/// Runs a search (on the request's thread while searches are cheap; see
/// [`crate::indexing::Indexer::read`]).
pub async fn run_search(
    ctx: &Context<'_>,
    request: SearchRequest,
) -> ApiResult<search::SearchResults> {
    state(ctx)
        .map_err(|_| ApiError::Internal(anyhow::anyhow!("no state")))?
        .indexer
        .read(move |index| index.search(&request))
        .await
        .map_err(ApiError::Internal)?
        .map_err(|err| match err {
            search::SearchError::BadCursor => {
                ApiError::bad_input("after is not a cursor from this search")
            }
            other => ApiError::Internal(other.into()),
        })
}

/// What of each hit's card a page reads: the card's head unless the selection under
/// `edges { node }` shows one of its lists or the description.
pub(super) fn page_cards(ctx: &Context<'_>) -> search::Cards {
    let node = || ctx.look_ahead().field("edges").field("node");
    card::to_read(selected_parts(node()), description_selected(node()))
}

/// The service rows of a page of hits, one for each hit in the hits' order (`None` for a hit
/// whose service is gone), read from their cards (the query's other selections under `node`
/// loaded beside them); hits without a readable card are read from the database. Each hit's
/// card is taken: its texts move into the row rather than being copied. With `plain_edges`
/// (the page's edges are answered from the rows, see [`plain::answers`]) the cards' rows and
/// organisations are kept as they are instead of being fed to the loaders.
pub(super) async fn page_rows(
    ctx: &Context<'_>,
    hits: &mut [search::Hit],
    plain_edges: bool,
) -> async_graphql::Result<Vec<Option<PageRow>>> {
    let node = || ctx.look_ahead().field("edges").field("node");
    // Only what the selection shows is read back from the cards.
    let wanted = selected_parts(node());
    let description = description_selected(node());
    let head = head_read(node());
    // The cards read, and each one's place on the page; the same for the hits read below.
    let mut carded = Vec::with_capacity(hits.len());
    let mut carded_at = Vec::with_capacity(hits.len());
    let mut missing = Vec::new();
    let mut missing_at = Vec::new();
    for (at, hit) in hits.iter_mut().enumerate() {
        match hit
            .card
            .take()
            .and_then(|card| Card::decode_page(card, wanted, description, head))
        {
            Some((card, _)) if card.service.id == hit.id => {
                carded.push(card);
                carded_at.push(at);
            }
            _ => {
                missing.push(hit.id);
                missing_at.push(at);
            }
        }
    }
    let mut page = if plain_edges {
        // The page's edges are answered from the rows and organisations themselves: nothing
        // is fed to the loaders.
        placed(
            hits.len(),
            carded_at.into_iter().zip(carded).map(|(at, card)| {
                let row = PageRow {
                    service: card.service,
                    organization: card.organization.map(Arc::new),
                };
                (at, row)
            }),
        )
    } else {
        // One row for each card, in their order.
        let rows = prefetch_cards(ctx, node(), carded, card::read_for(wanted)).await?;
        placed(
            hits.len(),
            carded_at.into_iter().zip(rows.into_iter().map(PageRow::of)),
        )
    };
    if !missing.is_empty() {
        let place: HashMap<uuid::Uuid, usize> = missing.iter().copied().zip(missing_at).collect();
        let loaded = ctx
            .data::<Loaders>()?
            .service
            .load_many(missing)
            .await
            .map_err(ApiError::from)?;
        let rows: Vec<service::Model> = loaded.into_values().collect();
        prefetch(ctx, node(), &rows).await?;
        for row in rows {
            if let Some(slot) = place.get(&row.id).and_then(|&at| page.get_mut(at)) {
                *slot = Some(PageRow::of(row));
            }
        }
    }
    Ok(page)
}

/// `len` places, each holding the row `found` gives for it (the last one given), if any.
fn placed<T>(len: usize, found: impl IntoIterator<Item = (usize, T)>) -> Vec<Option<T>> {
    let mut page: Vec<Option<T>> = std::iter::repeat_with(|| None).take(len).collect();
    for (at, row) in found {
        if let Some(place) = page.get_mut(at) {
            *place = Some(row);
        }
    }
    page
}

/// The service row of a hit on a page, and (for a page whose edges are answered in one pass,
/// see [`plain`]) the organisation its card holds.
pub(super) struct PageRow {
    pub service: service::Model,
    pub organization: Option<Arc<organization::Model>>,
}

impl PageRow {
    /// A row without its organisation (read through the loaders).
    fn of(service: service::Model) -> Self {
        Self {
            service,
            organization: None,
        }
    }
}

/// Search queries.
#[derive(Default)]
pub struct SearchQuery;

/// What one search counts in the query complexity before its results: a search is the
/// costliest thing a field can ask for, so a document (or an alias flood) may hold only a few.
const SEARCH_COST: usize = 1_000;

#[Object]
impl SearchQuery {
    /// Finds services: free text with synonyms and typo tolerance, exact filters (statuses
    /// default to ACTIVE), distance from a place, facets and highlights. With `interpret` (the
    /// default), who the family is is read from the text (a father, a pregnancy, the baby's
    /// age, a language, a bereavement) and filters the results, filters given here winning;
    /// `interpretation` says what was read. `interpret: false`: the words only rank.
    #[graphql(
        complexity = "first.unwrap_or(20).clamp(0, 100) as usize * child_complexity + SEARCH_COST"
    )]
    #[expect(clippy::too_many_arguments, reason = "the contract's arguments")]
    async fn search(
        &self,
        ctx: &Context<'_>,
        text: Option<String>,
        filter: Option<ServiceFilter>,
        near: Option<NearInput>,
        #[graphql(default_with = "Some(SearchSort::Relevance)")] sort: Option<SearchSort>,
        #[graphql(default = 20)] first: Option<i32>,
        after: Option<String>,
        #[graphql(default_with = "Some(true)")] interpret: Option<bool>,
    ) -> async_graphql::Result<SearchResults> {
        let first = usize::try_from(page_size(first.unwrap_or(20))?).unwrap_or_default();
        if text.as_ref().is_some_and(|t| t.chars().count() > 500) {
            return Err(ApiError::bad_input("text must be at most 500 characters").into());
        }
        let sort = sort.unwrap_or_default();
        let today = today();
        let filter = filter.unwrap_or_default();
        filter.check_access(ctx.data::<crate::auth::Caller>()?)?;
        let explicit = Explicit::of(&filter);
        let mut filter = filter.into_search(ctx, today)?;
        let interpret = interpret.unwrap_or(true);
        let interpretation =
            text.as_deref()
                .filter(|t| !t.trim().is_empty())
                .map(|t| -> async_graphql::Result<_> {
                    Ok(explicit
                        .interpretation(state(ctx)?.eligibility_rules.read_family(t), interpret))
                })
                .transpose()?;
        if let Some(reading) = interpretation.as_ref().filter(|_| interpret) {
            apply(&mut filter, reading);
        }
        let near_postcode = near.as_ref().is_some_and(|n| n.postcode.is_some());
        let near = near.map(|n| n.resolve(ctx)).transpose()?;
        let page_selected =
            ctx.look_ahead().field("edges").exists() || ctx.look_ahead().field("pageInfo").exists();
        // The postcode the search names: the filter's, or else the one `near` was given.
        let coverage_of = if ctx.look_ahead().field("edges").field("coverage").exists() {
            filter.covers.clone().or_else(|| {
                near.as_ref()
                    .filter(|_| near_postcode)
                    .and_then(|n| n.coverage.clone())
            })
        } else {
            None
        };
        if sort == SearchSort::Distance && near.is_none() {
            return Err(ApiError::bad_input("sort DISTANCE needs near").into());
        }
        let request = SearchRequest {
            text,
            filter,
            near,
            sort: match sort {
                SearchSort::Relevance => Sort::Relevance,
                SearchSort::Distance => Sort::Distance,
                SearchSort::RecentlyVerified => Sort::RecentlyVerified,
                SearchSort::Name => Sort::Name,
            },
            first,
            after: after.clone(),
            today,
            // Only what the selection asks for: facets and highlights cost per match and hit.
            facets: ctx.look_ahead().field("facets").exists(),
            highlights: ctx.look_ahead().field("edges").field("highlights").exists(),
            coverage_of,
            // The page's listings are read from their cards, which also tell that a hit still
            // exists; a selection without the page (`totalCount`, facets) reads none.
            cards: if page_selected {
                page_cards(ctx)
            } else {
                search::Cards::None
            },
        };
        let shared = state(ctx)?;
        let mut results = run_search(ctx, request).await?;
        let rows = if page_selected {
            page_rows(ctx, &mut results.hits, plain::answers(&ctx.item.node)).await?
        } else {
            Vec::new()
        };
        // A service deleted since the index was read is simply skipped.
        let found = results
            .hits
            .into_iter()
            .zip(rows)
            .filter_map(|(hit, row)| row.map(|row| (hit, row)));
        let page = connection(
            found,
            |(hit, _)| hit.cursor.clone(),
            |cursor, (hit, row)| SearchEdge {
                cursor,
                score: f64::from(hit.score),
                distance_km: hit.distance_km.map(|d| (d * 100.0).round() / 100.0),
                highlights: hit
                    .highlights
                    .into_iter()
                    .map(|h| Highlight {
                        field: h.field,
                        snippet: h.snippet,
                    })
                    .collect(),
                unconfirmed: hit.unconfirmed.into_iter().map(Into::into).collect(),
                coverage: hit.coverage.map(Into::into),
                organization: row.organization,
                node: Service(row.service),
            },
            results.has_next_page,
            after.is_some(),
            results.total_count,
        );
        let term_labels: HashMap<String, String> = if ctx
            .look_ahead()
            .field("facets")
            .field("categories")
            .exists()
        {
            let taxonomy = shared.indexer.taxonomy();
            results
                .facets
                .categories
                .iter()
                .filter_map(|(id, _)| {
                    let term = taxonomy.get(&id.parse().ok()?)?;
                    Some((id.clone(), term.name.clone()))
                })
                .collect()
        } else {
            HashMap::new()
        };
        let none = HashMap::new();
        Ok(SearchResults {
            total_count: page.total_count,
            edges: Edges(page.edges),
            page_info: page.page_info,
            facets: SearchFacets {
                categories: counts(results.facets.categories, &term_labels),
                level_of_need: counts(results.facets.level_of_need, &none),
                audiences: counts(results.facets.audiences, &none),
                delivery_modes: counts(results.facets.delivery_modes, &none),
                referral_routes: counts(results.facets.referral_routes, &none),
                languages: results
                    .facets
                    .languages
                    .into_iter()
                    .map(|(value, count)| FacetCount {
                        label: entity::codes::language_by_code(&value)
                            .map_or_else(|| value.clone(), |l| l.english.to_owned()),
                        value,
                        count: i64::try_from(count).unwrap_or(i64::MAX),
                    })
                    .collect(),
            },
            interpretation,
        })
    }

    /// Completes a prefix with taxonomy terms and names of active services (the texts of
    /// `suggestions`).
    async fn suggest(
        &self,
        ctx: &Context<'_>,
        prefix: String,
        #[graphql(default = 8)] limit: Option<i32>,
    ) -> async_graphql::Result<Vec<String>> {
        Ok(suggestions(ctx, prefix, limit)
            .await?
            .into_iter()
            .map(|s| s.text)
            .collect())
    }

    /// Completes a prefix, saying what each completion names: taxonomy terms (CATEGORY) first,
    /// then names of active services (SERVICE), each with its id. The same completions, in the
    /// same order, as `suggest`.
    async fn suggestions(
        &self,
        ctx: &Context<'_>,
        prefix: String,
        #[graphql(default = 8)] limit: Option<i32>,
    ) -> async_graphql::Result<Vec<Suggestion>> {
        Ok(suggestions(ctx, prefix, limit)
            .await?
            .into_iter()
            .map(|s| Suggestion {
                text: s.text,
                kind: match s.kind {
                    search::SuggestionKind::Category => SuggestionKind::Category,
                    search::SuggestionKind::Service => SuggestionKind::Service,
                },
                id: Some(ID(s.id.to_string())),
            })
            .collect())
    }
}

/// The completions of `prefix`, its input checked.
async fn suggestions(
    ctx: &Context<'_>,
    prefix: String,
    limit: Option<i32>,
) -> async_graphql::Result<Vec<search::Suggestion>> {
    let limit = limit.unwrap_or(8);
    if !(1..=50).contains(&limit) {
        return Err(ApiError::bad_input("limit must be between 1 and 50").into());
    }
    if prefix.chars().count() > 100 {
        return Err(ApiError::bad_input("prefix must be at most 100 characters").into());
    }
    let limit = usize::try_from(limit).unwrap_or(8);
    // Completions compare numbers the index keeps in memory and read a few names: cheaper
    // than a hand-off to the blocking pool, so they run here.
    let found = state(ctx)?
        .indexer
        .index()
        .suggestions(&prefix, limit)
        .map_err(|err| ApiError::Internal(err.into()))?;
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::placed;

    #[test]
    fn rows_are_placed_at_their_hits_places_and_a_place_without_one_stays_empty() {
        let page = placed(5, [(3, "d"), (0, "a"), (1, "b"), (9, "beyond the page")]);
        assert_eq!(page, vec![Some("a"), Some("b"), None, Some("d"), None]);
        assert_eq!(placed::<&str>(2, []), vec![None, None]);
        assert!(placed(0, [(0, "a")]).is_empty());
    }
}
