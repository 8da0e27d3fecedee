//! The `TaxonomyTerm` type and the `taxonomyTerms` query.

use async_graphql::{Context, ID, Object};
use entity::taxonomy_term;

use super::{
    loaders::{Loaders, children},
    state,
};
use crate::{error::ApiError, store};

/// A category in the first 1001 days vocabulary.
#[derive(Clone, Debug)]
pub struct TaxonomyTerm(pub taxonomy_term::Model);

#[Object]
impl TaxonomyTerm {
    /// The term's id (use it in `ServiceFilter.categories`).
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// A stable short code.
    async fn code(&self) -> Option<&str> {
        self.0.code.as_deref()
    }
    /// The term's name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// What the term covers.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// The broader term, if any.
    async fn parent(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<TaxonomyTerm>> {
        let Some(parent) = self.0.parent_id else {
            return Ok(None);
        };
        let found = ctx
            .data::<Loaders>()?
            .taxonomy_term
            .load_one(parent)
            .await
            .map_err(ApiError::from)?;
        Ok(found.map(TaxonomyTerm))
    }
    /// The narrower terms.
    #[graphql(complexity = "5 * child_complexity + 1")]
    async fn children(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<TaxonomyTerm>> {
        let rows = children(&ctx.data::<Loaders>()?.term_children, self.0.id).await?;
        Ok(rows.into_iter().map(TaxonomyTerm).collect())
    }
}

/// Taxonomy queries.
#[derive(Default)]
pub struct TaxonomyQuery;

#[Object]
impl TaxonomyQuery {
    /// Every taxonomy term, top-level terms first (follow `children` for the tree).
    #[graphql(complexity = "50 * child_complexity + 1")]
    async fn taxonomy_terms(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<TaxonomyTerm>> {
        let mut terms = store::taxonomy::all_terms(&state(ctx)?.db).await?;
        terms.sort_by_key(|term| term.parent_id.is_some());
        Ok(terms.into_iter().map(TaxonomyTerm).collect())
    }
}
