//! `service`: a listing (HSDS `service` plus the first 1001 days extensions).

use sea_orm::entity::prelude::*;

use crate::enums::{EligibilitySources, LevelOfNeed, ServiceStatus, StringList};

/// A service row.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "service")]
pub struct Model {
    /// The listing's id (HSDS `service.id`); the search index, feed and audit log name it.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The organisation running the service; its editors may edit the listing.
    pub organization_id: Uuid,
    /// The service's public name (HSDS `name`).
    pub name: String,
    /// Another name families may know it by (HSDS `alternate_name`).
    pub alternate_name: Option<String>,
    /// What the service offers, in words (HSDS `description`).
    #[sea_orm(column_type = "Text")]
    pub description: String,
    /// The service's web page (HSDS `url`).
    pub url: Option<String>,
    /// The service's contact email address (HSDS `email`).
    pub email: Option<String>,
    /// The lifecycle status; archiving sets DEFUNCT, and searches show ACTIVE by default.
    pub status: ServiceStatus,
    /// The day the listing was last verified.
    pub assured_date: Option<Date>,
    /// Who last verified it: a staff email or `token NAME`, or a feed's `assurer_email`.
    pub assurer: Option<String>,
    /// Bumped on every change, for optimistic concurrency.
    pub version: i32,
    /// How much need the service is for (a Signpost extension to HSDS).
    pub level_of_need: LevelOfNeed,
    /// Whether families may use it from pregnancy, before the birth.
    pub from_pregnancy: bool,
    /// Youngest age in months (0 to 60 from editors; HSDS years × 12); null: no lower bound.
    pub min_age_months: Option<f64>,
    /// Oldest age in months (0 to 60 from editors; HSDS years × 12); null: no upper bound.
    pub max_age_months: Option<f64>,
    /// Who in the family it is for: [`crate::Audience`] codes (`MOTHERS`, `FATHERS`, ...).
    pub audiences: StringList,
    /// Further eligibility, in words (HSDS `eligibility_description`).
    #[sea_orm(column_type = "Text", nullable)]
    pub eligibility_description: Option<String>,
    /// Whether families may refer themselves.
    pub self_referral: bool,
    /// Whether professionals may refer (editors must allow at least one route).
    pub professional_referral: bool,
    /// How to refer, in words; exported as HSDS `application_process`.
    #[sea_orm(column_type = "Text", nullable)]
    pub referral_instructions: Option<String>,
    /// How it is delivered: [`crate::DeliveryMode`] codes (`HOME_VISIT`, `ONLINE`, ...).
    pub delivery_modes: StringList,
    /// Languages it is offered in, as lower-case ISO 639-1 codes (`en`, `cy`).
    pub languages: StringList,
    /// Free at the point of use; exported as an HSDS cost option of 0 GBP.
    pub free: bool,
    /// What it costs, in words, when not free (HSDS `fees_description`).
    #[sea_orm(column_type = "Text", nullable)]
    pub fees_description: Option<String>,
    /// Who funds it, in words; exported as HSDS `funding.source`.
    pub funding_source: Option<String>,
    /// The day its current funding ends, when known (a Signpost extension).
    pub funding_ends_on: Option<Date>,
    /// HSDS fields with no home in Signpost's model, kept for export.
    pub extra: Option<Json>,
    /// Where the eligibility values came from (given, read from the words, or unknown); null
    /// when every value is given, as on an editor's listing.
    pub eligibility_sources: Option<EligibilitySources>,
    /// When the listing was first stored.
    pub created_at: DateTimeUtc,
    /// When the listing last changed (HSDS `last_modified`; an import keeps the feed's).
    pub updated_at: DateTimeUtc,
}

/// No relations are declared: the store loads related rows by their id columns.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
