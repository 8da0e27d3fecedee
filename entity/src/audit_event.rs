//! `audit_event`: who changed what, with the record before and after.

use sea_orm::entity::prelude::*;

/// An audit row.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_event")]
pub struct Model {
    /// The audit row's own id (a random v4 UUID).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The user or token id, or null for the system (seeding, imports from the command line).
    pub actor_id: Option<Uuid>,
    /// A readable actor label such as an email address or "system".
    pub actor: String,
    /// What was done, as `entity.verb`: `service.update`, `token.revoke`, `location.import`...
    pub action: String,
    /// The table of the record acted on (`service`, `organization`, `api_token`, ...).
    pub entity: String,
    /// The id of the record acted on; a record's history is looked up by it.
    pub entity_id: Uuid,
    /// The record before the action, as JSON; null for a creation or when none is kept.
    pub before: Option<Json>,
    /// The record after, as JSON (a service import keeps the feed's object); null when none kept.
    pub after: Option<Json>,
    /// When the action was written, in the action's own transaction.
    pub at: DateTimeUtc,
}

/// No relations are declared: the store loads related rows by their id columns.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
