//! `audit_event`: who changed what, with the record before and after.

use sea_orm::entity::prelude::*;

/// An audit row.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_event")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The user or token id, or null for the system (seeding, imports from the command line).
    pub actor_id: Option<Uuid>,
    /// A readable actor label such as an email address or "system".
    pub actor: String,
    pub action: String,
    pub entity: String,
    pub entity_id: Uuid,
    pub before: Option<Json>,
    pub after: Option<Json>,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
