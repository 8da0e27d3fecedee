//! `api_token`: partner tokens, by their JWT id, so they can be revoked.

use sea_orm::entity::prelude::*;

use crate::enums::Role;

/// An issued token; the token itself is never stored.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "api_token")]
pub struct Model {
    /// The token's own id: its JWT subject, the id it is revoked by and its audit actor id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The JWT id (`jti` claim) the token carries; a presented token is looked up by it.
    #[sea_orm(unique)]
    pub jti: Uuid,
    /// What the token is for, as its issuer named it; its calls are audited as `token NAME`.
    pub name: String,
    /// Always PARTNER: staff sign in with accounts, not tokens.
    pub role: Role,
    /// The user who issued it; null when it was issued from the command line.
    pub created_by: Option<Uuid>,
    /// When it was issued.
    pub created_at: DateTimeUtc,
    /// When it stops being accepted (at most 730 days after issue).
    pub expires_at: DateTimeUtc,
    /// When it was revoked; null while it has not been.
    pub revoked_at: Option<DateTimeUtc>,
}

/// No relations are declared: the store loads related rows by their id columns.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
