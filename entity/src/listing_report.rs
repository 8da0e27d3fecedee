//! `listing_report`: a professional's "this listing is wrong" report.

use sea_orm::entity::prelude::*;

/// A report row.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "listing_report")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub service_id: Uuid,
    #[sea_orm(column_type = "Text")]
    pub message: String,
    pub reporter_id: Option<Uuid>,
    pub reporter_address: Option<String>,
    pub created_at: DateTimeUtc,
    pub resolved_at: Option<DateTimeUtc>,
    pub resolved_by: Option<Uuid>,
    #[sea_orm(column_type = "Text", nullable)]
    pub resolution_note: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
