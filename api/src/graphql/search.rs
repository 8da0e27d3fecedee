//! `search`, `suggest` and `geocode`: the signposting queries, answered by the search index.

use std::collections::HashMap;

use async_graphql::{Context, Enum, InputObject, Object, SimpleObject};
use search::{
    Coverage, Near, SearchRequest, Sort,
    geo::{GeoError, GeoPoint, Precision},
};

use super::{
    loaders::Loaders,
    pagination::{PageInfo, page_size},
    service::{Service, ServiceFilter, prefetch},
    state,
};
use crate::error::{ApiError, ApiResult};

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

/// How exact a resolved position is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
pub enum GeoPrecision {
    /// The postcode's own position.
    FullPostcode,
    /// The centroid of the postcode's sector.
    Sector,
    /// The centroid of the postcode district.
    District,
}

/// A resolved postcode.
#[derive(Clone, Debug, SimpleObject)]
#[graphql(name = "GeoPoint")]
pub struct GeoPointOut {
    /// The postcode as resolved ("GL51 9AA", or the sector or district used).
    pub postcode: String,
    /// WGS84 latitude.
    pub latitude: f64,
    /// WGS84 longitude.
    pub longitude: f64,
    /// How exact the position is.
    pub precision: GeoPrecision,
}

/// A place to measure distance from: a postcode, or a latitude and longitude.
#[derive(Clone, Debug, Default, InputObject)]
pub struct NearInput {
    /// A UK postcode, sector or district.
    pub postcode: Option<String>,
    /// WGS84 latitude (with `longitude`, instead of a postcode).
    pub latitude: Option<f64>,
    /// WGS84 longitude.
    pub longitude: Option<f64>,
    /// Keep services within this many kilometres (of their nearest location).
    pub radius_km: Option<f64>,
}

/// The largest radius a search may ask for.
pub const MAX_RADIUS_KM: f64 = 1_000.0;

/// A postcode resolved, or a clear error naming the field.
pub fn resolve_postcode(ctx: &Context<'_>, postcode: &str, field: &str) -> ApiResult<GeoPoint> {
    let geo = state(ctx)
        .map_err(|_| ApiError::Internal(anyhow::anyhow!("no state")))?
        .indexer
        .geo()
        .clone();
    geo.resolve(postcode).map_err(|err| match err {
        GeoError::NotAPostcode => ApiError::bad_input(format!("{field}: not a UK postcode")),
        GeoError::UnknownPostcode => ApiError::bad_input(format!("{field}: unknown postcode")),
    })
}

/// Where a resolved postcode lies, for catchment matching.
pub fn coverage_of(point: &GeoPoint) -> Coverage {
    Coverage {
        area: point.parsed.area.clone(),
        district: point.parsed.outward.clone(),
        sector: point.parsed.sector(),
    }
}

impl NearInput {
    /// Validates and resolves the input.
    pub fn resolve(&self, ctx: &Context<'_>) -> ApiResult<Near> {
        if let Some(radius) = self.radius_km
            && !(radius > 0.0 && radius <= MAX_RADIUS_KM)
        {
            return Err(ApiError::bad_input(format!(
                "near.radiusKm must be above 0 and at most {MAX_RADIUS_KM}"
            )));
        }
        match (&self.postcode, self.latitude, self.longitude) {
            (Some(postcode), None, None) => {
                let point = resolve_postcode(ctx, postcode, "near.postcode")?;
                Ok(Near {
                    latitude: point.latitude,
                    longitude: point.longitude,
                    radius_km: self.radius_km,
                    coverage: Some(coverage_of(&point)),
                })
            }
            (None, Some(latitude), Some(longitude)) => {
                if !(-90.0..=90.0).contains(&latitude) || !(-180.0..=180.0).contains(&longitude) {
                    return Err(ApiError::bad_input(
                        "near.latitude and near.longitude must be WGS84 degrees",
                    ));
                }
                let geo = state(ctx)
                    .map_err(|_| ApiError::Internal(anyhow::anyhow!("no state")))?
                    .indexer
                    .geo()
                    .clone();
                let coverage = geo
                    .nearest_sector(latitude, longitude, 5.0)
                    .and_then(|sector| geo.resolve(&sector).ok().map(|point| coverage_of(&point)));
                Ok(Near {
                    latitude,
                    longitude,
                    radius_km: self.radius_km,
                    coverage,
                })
            }
            _ => Err(ApiError::bad_input(
                "near needs either postcode, or latitude and longitude",
            )),
        }
    }
}

impl ServiceFilter {
    /// Converts the filter for the search index.
    pub fn into_search(self, ctx: &Context<'_>, today: i64) -> ApiResult<search::Filter> {
        let covers = match &self.covers_postcode {
            Some(postcode) => Some(coverage_of(&resolve_postcode(
                ctx,
                postcode,
                "filter.coversPostcode",
            )?)),
            None => None,
        };
        let stored = ServiceFilter {
            covers_postcode: None,
            ..self
        }
        .into_store()?;
        Ok(search::Filter {
            categories: stored.categories,
            level_of_need: stored
                .level_of_need
                .iter()
                .map(|l| entity_code(*l))
                .collect(),
            audiences: stored
                .audiences
                .iter()
                .map(|a| a.as_str().to_owned())
                .collect(),
            delivery_modes: stored
                .delivery_modes
                .iter()
                .map(|m| m.as_str().to_owned())
                .collect(),
            infant_age_months: stored.infant_age_months,
            pregnant: stored.pregnant,
            self_referral: stored.self_referral,
            free_only: stored.free_only,
            languages: stored.languages,
            covers,
            organization_id: stored.organization_id,
            verified_since_day: stored
                .verified_within_days
                .map(|days| today - i64::from(days)),
            statuses: stored.statuses.iter().map(|s| entity_code(*s)).collect(),
        })
    }
}

fn entity_code<T: sea_orm::ActiveEnum<Value = String>>(value: T) -> String {
    value.to_value()
}

/// A highlighted snippet.
#[derive(Clone, Debug, SimpleObject)]
pub struct Highlight {
    /// The field: "name" or "description".
    pub field: String,
    /// HTML-escaped text with matches marked `<b>..</b>`.
    pub snippet: String,
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
    /// The service.
    pub node: Service,
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
}

/// A page of search results.
#[derive(Clone, Debug, SimpleObject)]
pub struct SearchResults {
    /// How many services match in all.
    pub total_count: i64,
    /// This page.
    pub edges: Vec<SearchEdge>,
    /// Paging.
    pub page_info: PageInfo,
    /// Facet counts over all matches.
    pub facets: SearchFacets,
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

/// Runs a search on the blocking pool.
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

/// Search queries.
#[derive(Default)]
pub struct SearchQuery;

/// What one search counts in the query complexity before its results: a search is the
/// costliest thing a field can ask for, so a document (or an alias flood) may hold only a few.
const SEARCH_COST: usize = 1_000;

#[Object]
impl SearchQuery {
    /// Finds services: free text with synonyms and typo tolerance, exact filters (statuses
    /// default to ACTIVE), distance from a place, facets and highlights.
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
    ) -> async_graphql::Result<SearchResults> {
        let first = usize::try_from(page_size(first.unwrap_or(20))?).unwrap_or_default();
        if text.as_ref().is_some_and(|t| t.chars().count() > 500) {
            return Err(ApiError::bad_input("text must be at most 500 characters").into());
        }
        let sort = sort.unwrap_or_default();
        let today = today();
        let filter = filter.unwrap_or_default();
        filter.check_access(ctx.data::<crate::auth::Caller>()?)?;
        let filter = filter.into_search(ctx, today)?;
        let near = near.map(|n| n.resolve(ctx)).transpose()?;
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
        };
        let shared = state(ctx)?;
        let results = run_search(ctx, request).await?;
        let loaders = ctx.data::<Loaders>()?;
        let ids: Vec<uuid::Uuid> = results.hits.iter().map(|h| h.id).collect();
        let rows = loaders
            .service
            .load_many(ids)
            .await
            .map_err(ApiError::from)?;
        let page_rows: Vec<_> = results
            .hits
            .iter()
            .filter_map(|h| rows.get(&h.id).cloned())
            .collect();
        prefetch(
            ctx,
            ctx.look_ahead().field("edges").field("node"),
            &page_rows,
        )
        .await?;
        let mut edges = Vec::with_capacity(results.hits.len());
        for hit in results.hits {
            // A service deleted since the index was read is simply skipped.
            let Some(row) = rows.get(&hit.id) else {
                continue;
            };
            edges.push(SearchEdge {
                cursor: hit.cursor,
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
                node: Service(row.clone()),
            });
        }
        let term_labels: HashMap<String, String> = if ctx
            .look_ahead()
            .field("facets")
            .field("categories")
            .exists()
        {
            crate::store::taxonomy::all_terms(&shared.db)
                .await?
                .into_iter()
                .map(|t| (t.id.to_string(), t.name))
                .collect()
        } else {
            HashMap::new()
        };
        let none = HashMap::new();
        let cursors: Vec<String> = edges.iter().map(|e| e.cursor.clone()).collect();
        Ok(SearchResults {
            total_count: i64::try_from(results.total_count).unwrap_or(i64::MAX),
            page_info: super::pagination::page_info(
                &cursors,
                results.has_next_page,
                after.is_some(),
            ),
            edges,
            facets: SearchFacets {
                categories: counts(results.facets.categories, &term_labels),
                level_of_need: counts(results.facets.level_of_need, &none),
                audiences: counts(results.facets.audiences, &none),
                delivery_modes: counts(results.facets.delivery_modes, &none),
                referral_routes: counts(results.facets.referral_routes, &none),
            },
        })
    }

    /// Completes a prefix with taxonomy terms and names of active services.
    async fn suggest(
        &self,
        ctx: &Context<'_>,
        prefix: String,
        #[graphql(default = 8)] limit: Option<i32>,
    ) -> async_graphql::Result<Vec<String>> {
        let limit = limit.unwrap_or(8);
        if !(1..=50).contains(&limit) {
            return Err(ApiError::bad_input("limit must be between 1 and 50").into());
        }
        if prefix.chars().count() > 100 {
            return Err(ApiError::bad_input("prefix must be at most 100 characters").into());
        }
        let limit = usize::try_from(limit).unwrap_or(8);
        let found = state(ctx)?
            .indexer
            .read(move |index| index.suggest(&prefix, limit))
            .await
            .map_err(ApiError::Internal)?
            .map_err(|err| ApiError::Internal(err.into()))?;
        Ok(found)
    }

    /// Resolves a UK postcode (or sector, or district) to a position, offline.
    async fn geocode(
        &self,
        ctx: &Context<'_>,
        postcode: String,
    ) -> async_graphql::Result<GeoPointOut> {
        let point = resolve_postcode(ctx, &postcode, "postcode")?;
        Ok(GeoPointOut {
            postcode: point.postcode,
            latitude: point.latitude,
            longitude: point.longitude,
            precision: match point.precision {
                Precision::FullPostcode => GeoPrecision::FullPostcode,
                Precision::Sector => GeoPrecision::Sector,
                Precision::District => GeoPrecision::District,
            },
        })
    }
}
