//! `taxonomy`: a vocabulary of terms (HSDS `taxonomy`).

use sea_orm::entity::prelude::*;

/// A taxonomy row.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "taxonomy")]
pub struct Model {
    /// The vocabulary's id (HSDS `taxonomy.id`).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The vocabulary's name, such as "Signpost first 1001 days".
    pub name: String,
    /// What the vocabulary covers, in words.
    #[sea_orm(column_type = "Text", nullable)]
    pub description: Option<String>,
    /// Where the vocabulary is published (HSDS `uri`).
    pub uri: Option<String>,
    /// The vocabulary's version (HSDS `version`), such as "1.0".
    pub version: Option<String>,
}

/// No relations are declared: the store loads related rows by their id columns.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
