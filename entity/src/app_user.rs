//! `app_user`: staff who sign in (admins and organisation editors).

use sea_orm::entity::prelude::*;

use crate::enums::Role;

/// A user row; the password is an argon2id PHC string.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "app_user")]
pub struct Model {
    /// The user's id: the subject of their sign-in tokens and their audit actor id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The sign-in email address, lower-cased; unique.
    #[sea_orm(unique)]
    pub email: String,
    /// The password as an argon2id PHC string; the password itself is never stored.
    pub password_hash: String,
    /// ADMIN or EDITOR, never PARTNER (partners hold an `api_token` instead).
    pub role: Role,
    /// The organisation an EDITOR may edit; null for an ADMIN.
    pub organization_id: Option<Uuid>,
    /// A disabled account can neither sign in nor use the tokens it already holds.
    pub disabled: bool,
    /// Failed sign-ins since the last success or lock; the sixth locks the account.
    pub failed_logins: i32,
    /// Sign-ins are refused until then (15 minutes after a lock); null or past when not locked.
    pub locked_until: Option<DateTimeUtc>,
    /// When the account was created.
    pub created_at: DateTimeUtc,
    /// When the account was created or last edited; failed sign-ins and locks do not touch it.
    pub updated_at: DateTimeUtc,
}

/// No relations are declared: the store loads related rows by their id columns.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
