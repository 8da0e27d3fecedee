//! The GraphQL schema: root types merged from one file per domain, limits and request data.

mod account;
mod admin;
mod changes;
pub mod enums;
mod event;
mod filter;
pub mod guard;
mod input;
pub mod loaders;
mod openreferral;
mod organization;
pub mod pagination;
mod place;
mod plain;
pub mod scalars;
pub mod search;
mod service;
mod taxonomy;

use async_graphql::{Context, EmptySubscription, ID, MergedObject, Schema};
use std::sync::Arc;

use sea_orm::DatabaseConnection;
use uuid::Uuid;

use crate::{
    error::{ApiError, ApiResult},
    indexing::Indexer,
};

/// The deepest selection nesting a query may have.
pub const MAX_DEPTH: usize = 15;
/// The most a query may cost; list fields cost their page size times their selection.
pub const MAX_COMPLEXITY: usize = 20_000;

/// The root query: one part per domain.
#[derive(MergedObject, Default)]
pub struct Query(
    service::ServiceQuery,
    service::ReviewQuery,
    organization::OrganizationQuery,
    taxonomy::TaxonomyQuery,
    event::EventQuery,
    search::SearchQuery,
    place::PlaceQuery,
    account::AccountQuery,
    admin::AdminQuery,
    changes::ChangesQuery,
);

/// The root mutation: one part per domain.
#[derive(MergedObject, Default)]
pub struct Mutation(
    account::AccountMutation,
    organization::OrganizationMutation,
    service::ServiceMutation,
    event::EventMutation,
    admin::ReportMutation,
    openreferral::OpenReferralMutation,
);

/// Signpost's schema type.
pub type SignpostSchema = Schema<Query, Mutation, EmptySubscription>;

/// What every resolver can reach.
pub struct Shared {
    /// The database.
    pub db: DatabaseConnection,
    /// The search index and the feed that keeps it current.
    pub indexer: Arc<Indexer>,
    /// Token signing and verification.
    pub auth: Arc<crate::auth::Authenticator>,
    /// How imports read eligibility from a listing's words.
    pub eligibility_rules: Arc<::search::eligibility::Rules>,
}

/// Builds the schema over `shared`.
pub fn build_schema(shared: Option<Shared>, production: bool) -> SignpostSchema {
    let mut builder = Schema::build(Query::default(), Mutation::default(), EmptySubscription)
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY);
    // No extensions: documents are checked (`guard`) and operations measured (`observe`) by
    // the HTTP layer around the schema, so that fields resolve without an extension chain.
    if let Some(shared) = shared {
        builder = builder.data(shared);
    }
    builder = builder.data(admin::ReportLimiter::default());
    if production {
        builder = builder.disable_suggestions();
    }
    builder.finish()
}

/// The SDL of the schema, as `signpost schema` prints it.
pub fn sdl() -> String {
    build_schema(None, false).sdl()
}

/// The shared state in a resolver.
pub(crate) fn state<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a Shared> {
    ctx.data::<Shared>()
}

/// Parses an id argument, naming the field when it is not a UUID.
pub(crate) fn parse_id(id: &ID, field: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(id.as_str())
        .map_err(|_| ApiError::bad_input(format!("{field} is not a valid id")))
}

/// Waits until a write at `seq` is searchable here.
async fn searchable(ctx: &Context<'_>, seq: i64) -> ApiResult<()> {
    let indexer = state(ctx)
        .map_err(|_| ApiError::Internal(anyhow::anyhow!("no state")))?
        .indexer
        .clone();
    indexer.wait_for(seq).await.map_err(ApiError::Internal)
}
