//! The `ServiceFilter` input and both of its conversions: to the store's filter for listings
//! in name order, and to the search index's filter (which resolves `coversPostcode`).

use async_graphql::{Context, ID, InputObject};
use entity::codes::MAX_AGE_MONTHS;

use super::{
    enums::{Audience, DeliveryMode, LevelOfNeed, ServiceStatus},
    parse_id,
    place::{coverage_of, resolve_postcode},
};
use crate::{
    auth::Caller,
    error::{ApiError, ApiResult},
    store,
};

/// Narrows a service listing; every given criterion must hold, and within a list any value may match.
#[derive(Clone, Debug, Default, InputObject)]
pub struct ServiceFilter {
    /// Taxonomy term ids; a term matches its descendants too.
    pub categories: Option<Vec<ID>>,
    /// Levels of need.
    pub level_of_need: Option<Vec<LevelOfNeed>>,
    /// Who in the family the service is for.
    pub audiences: Option<Vec<Audience>>,
    /// How the service is delivered.
    pub delivery_modes: Option<Vec<DeliveryMode>>,
    /// The service's age range contains this infant age (months, 0 to 60).
    pub infant_age_months: Option<f64>,
    /// True: only services open from pregnancy.
    pub pregnant: Option<bool>,
    /// True: only services taking self-referrals.
    pub self_referral: Option<bool>,
    /// True: only free services.
    pub free_only: Option<bool>,
    /// ISO 639-1 language codes.
    pub languages: Option<Vec<String>>,
    /// The service's catchment covers this postcode.
    pub covers_postcode: Option<String>,
    /// Services of this organisation.
    pub organization_id: Option<ID>,
    /// Only listings verified within this many days.
    pub verified_within_days: Option<i32>,
    /// Statuses; default [ACTIVE].
    pub statuses: Option<Vec<ServiceStatus>>,
}

/// The most days `verifiedWithinDays` may reach back (a hundred years).
pub const MAX_VERIFIED_WITHIN_DAYS: u32 = 36_500;
/// The most distinct values one filter list may hold.
pub const MAX_FILTER_VALUES: usize = 50;

/// A filter list without repeats; more than [`MAX_FILTER_VALUES`] distinct values are refused
/// (each becomes a term of the query, and databases bound how many one statement may hold).
fn distinct<T: PartialEq>(items: impl IntoIterator<Item = T>, field: &str) -> ApiResult<Vec<T>> {
    let mut out: Vec<T> = Vec::new();
    for item in items {
        if !out.contains(&item) {
            if out.len() == MAX_FILTER_VALUES {
                return Err(ApiError::bad_input(format!(
                    "{field} may hold at most {MAX_FILTER_VALUES} different values"
                )));
            }
            out.push(item);
        }
    }
    Ok(out)
}

impl ServiceFilter {
    /// Anonymous callers see ACTIVE listings only; asking for others needs credentials.
    pub fn check_access(&self, caller: &Caller) -> ApiResult<()> {
        let asks_hidden = self
            .statuses
            .iter()
            .flatten()
            .any(|s| *s != ServiceStatus::Active);
        if asks_hidden && !caller.sees_every_status() {
            return Err(ApiError::Unauthenticated(
                "filter.statuses: only ACTIVE listings are public; use a partner token or sign in"
                    .into(),
            ));
        }
        Ok(())
    }

    /// Validates the input and converts it to the store's filter.
    pub fn into_store(self) -> ApiResult<store::service::ServiceFilter> {
        if let Some(age) = self.infant_age_months
            && !(0.0..=MAX_AGE_MONTHS).contains(&age)
        {
            return Err(ApiError::bad_input(format!(
                "filter.infantAgeMonths must be between 0 and {MAX_AGE_MONTHS}"
            )));
        }
        let verified_within_days = match self.verified_within_days {
            Some(days) => Some(
                u32::try_from(days)
                    .ok()
                    .filter(|days| *days <= MAX_VERIFIED_WITHIN_DAYS)
                    .ok_or_else(|| {
                        ApiError::bad_input(format!(
                            "filter.verifiedWithinDays must be from 0 to {MAX_VERIFIED_WITHIN_DAYS}"
                        ))
                    })?,
            ),
            None => None,
        };
        let languages = self
            .languages
            .unwrap_or_default()
            .into_iter()
            .map(|code| {
                let code = code.trim().to_ascii_lowercase();
                if code.len() == 2 && code.bytes().all(|b| b.is_ascii_lowercase()) {
                    Ok(code)
                } else {
                    Err(ApiError::bad_input(
                        "filter.languages must hold ISO 639-1 codes such as \"en\"",
                    ))
                }
            })
            .collect::<ApiResult<Vec<_>>>()?;
        let categories = self
            .categories
            .unwrap_or_default()
            .iter()
            .map(|id| parse_id(id, "filter.categories"))
            .collect::<ApiResult<Vec<_>>>()?;
        Ok(store::service::ServiceFilter {
            categories: distinct(categories, "filter.categories")?,
            level_of_need: distinct(
                self.level_of_need
                    .unwrap_or_default()
                    .into_iter()
                    .map(Into::into),
                "filter.levelOfNeed",
            )?,
            audiences: distinct(
                self.audiences
                    .unwrap_or_default()
                    .into_iter()
                    .map(Into::into),
                "filter.audiences",
            )?,
            delivery_modes: distinct(
                self.delivery_modes
                    .unwrap_or_default()
                    .into_iter()
                    .map(Into::into),
                "filter.deliveryModes",
            )?,
            infant_age_months: self.infant_age_months,
            pregnant: self.pregnant.unwrap_or(false),
            self_referral: self.self_referral.unwrap_or(false),
            free_only: self.free_only.unwrap_or(false),
            languages: distinct(languages, "filter.languages")?,
            organization_id: self
                .organization_id
                .as_ref()
                .map(|id| parse_id(id, "filter.organizationId"))
                .transpose()?,
            verified_within_days,
            statuses: distinct(
                self.statuses
                    .unwrap_or_default()
                    .into_iter()
                    .map(Into::into),
                "filter.statuses",
            )?,
            eligibility_to_review: false,
        })
    }

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
            pregnancy_confirmed: false,
            self_referral: stored.self_referral,
            free_only: stored.free_only,
            languages: stored.languages,
            covers,
            organization_id: stored.organization_id,
            verified_since_day: stored
                .verified_within_days
                .map(|days| today - i64::from(days)),
            statuses: stored.statuses.iter().map(|s| entity_code(*s)).collect(),
            family: None,
        })
    }
}

/// The stored code of an enum value, as the search index holds it.
fn entity_code<T: sea_orm::ActiveEnum<Value = String>>(value: T) -> String {
    value.to_value()
}
