//! Taxonomy terms: the hierarchy and its descendants.

use std::collections::{HashMap, HashSet};

use entity::taxonomy_term;
use sea_orm::{DatabaseConnection, EntityTrait, QueryOrder};
use uuid::Uuid;

use super::Result;

/// Every taxonomy term, parents before children where positions agree.
pub async fn all_terms(db: &DatabaseConnection) -> Result<Vec<taxonomy_term::Model>> {
    Ok(taxonomy_term::Entity::find()
        .order_by_asc(taxonomy_term::Column::Position)
        .order_by_asc(taxonomy_term::Column::Name)
        .all(db)
        .await?)
}

/// The given terms and all their descendants.
pub async fn with_descendants(db: &DatabaseConnection, roots: &[Uuid]) -> Result<Vec<Uuid>> {
    let terms = all_terms(db).await?;
    Ok(descendants(&terms, roots))
}

/// The given terms and all their descendants, from a loaded hierarchy (cycle-safe).
pub fn descendants(terms: &[taxonomy_term::Model], roots: &[Uuid]) -> Vec<Uuid> {
    let mut children: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for term in terms {
        if let Some(parent) = term.parent_id {
            children.entry(parent).or_default().push(term.id);
        }
    }
    let mut seen: HashSet<Uuid> = HashSet::new();
    let mut stack: Vec<Uuid> = roots.to_vec();
    while let Some(id) = stack.pop() {
        if seen.insert(id) {
            stack.extend(children.get(&id).into_iter().flatten().copied());
        }
    }
    let mut out: Vec<Uuid> = seen.into_iter().collect();
    out.sort();
    out
}
