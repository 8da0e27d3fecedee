//! `listing_report`: a "this listing is wrong" report, filed by anyone (signed in or not).

use sea_orm::entity::prelude::*;

/// A report row.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "listing_report")]
pub struct Model {
    /// The report's id, by which staff resolve it.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The listing reported as wrong.
    pub service_id: Uuid,
    /// What the reporter says is wrong, in their words (5 to 2,000 characters).
    #[sea_orm(column_type = "Text")]
    pub message: String,
    /// What kind of problem: OUT_OF_DATE, CLOSED, WRONG_CATCHMENT, WRONG_CONTACT_DETAILS or
    /// OTHER; null for reports filed without one.
    pub kind: Option<String>,
    /// The signed-in user or partner token that reported it; null for an anonymous report.
    pub reporter_id: Option<Uuid>,
    /// The reporter's IP address, when the server knows it.
    pub reporter_address: Option<String>,
    /// When it was filed.
    pub created_at: DateTimeUtc,
    /// When staff resolved it; null while it is open.
    pub resolved_at: Option<DateTimeUtc>,
    /// The admin who resolved it; null while it is open.
    pub resolved_by: Option<Uuid>,
    /// What was done about it, as the resolver wrote it; optional.
    #[sea_orm(column_type = "Text", nullable)]
    pub resolution_note: Option<String>,
}

/// No relations are declared: the store loads related rows by their id columns.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
