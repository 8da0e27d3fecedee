//! `service`: a listing (HSDS `service` plus the first 1001 days extensions).

use sea_orm::entity::prelude::*;

use crate::enums::{LevelOfNeed, ServiceStatus, StringList};

/// A service row.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "service")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    pub name: String,
    pub alternate_name: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub description: String,
    pub url: Option<String>,
    pub email: Option<String>,
    pub status: ServiceStatus,
    /// The day the listing was last verified.
    pub assured_date: Option<Date>,
    pub assurer: Option<String>,
    /// Bumped on every change, for optimistic concurrency.
    pub version: i32,
    pub level_of_need: LevelOfNeed,
    pub from_pregnancy: bool,
    pub min_age_months: Option<f64>,
    pub max_age_months: Option<f64>,
    pub audiences: StringList,
    #[sea_orm(column_type = "Text", nullable)]
    pub eligibility_description: Option<String>,
    pub self_referral: bool,
    pub professional_referral: bool,
    #[sea_orm(column_type = "Text", nullable)]
    pub referral_instructions: Option<String>,
    pub delivery_modes: StringList,
    pub languages: StringList,
    pub free: bool,
    #[sea_orm(column_type = "Text", nullable)]
    pub fees_description: Option<String>,
    pub funding_source: Option<String>,
    pub funding_ends_on: Option<Date>,
    /// HSDS fields with no home in Signpost's model, kept for export.
    pub extra: Option<Json>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
