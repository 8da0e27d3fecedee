//! `taxonomy_term`: a hierarchical category (HSDS `taxonomy_term`).

use sea_orm::entity::prelude::*;

/// A taxonomy term row.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "taxonomy_term")]
pub struct Model {
    /// The term's id (HSDS `taxonomy_term.id`); attributes and category filters name it.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The vocabulary the term belongs to; null when a feed names none.
    pub taxonomy_id: Option<Uuid>,
    /// The term's code within its vocabulary (HSDS `code`), such as `perinatal-mental-health`.
    pub code: Option<String>,
    /// The term itself, as families and professionals read it.
    pub name: String,
    /// What the term covers, in words.
    #[sea_orm(column_type = "Text", nullable)]
    pub description: Option<String>,
    /// The parent term in the hierarchy; null for a top-level term.
    pub parent_id: Option<Uuid>,
    /// Listing order, then by name; imports give new terms 0 and keep stored positions.
    pub position: i32,
}

/// No relations are declared: the store loads related rows by their id columns.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
