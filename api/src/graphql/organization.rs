//! The `Organization` type and the `organization(s)` queries.

use async_graphql::{Context, ID, Object, SimpleObject};
use entity::organization;

use super::{
    loaders::Loaders,
    pagination::{Page, PageInfo, connection, name_after, name_cursor, page_after, page_size},
    parse_id,
    service::{ServiceConnection, prefetch, service_connection},
    state,
};
use crate::{error::ApiError, store};

/// An organisation that runs services.
#[derive(Clone, Debug)]
pub struct Organization(pub organization::Model);

#[Object]
impl Organization {
    /// The organisation's id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Its name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// What it does.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// Its website.
    async fn website(&self) -> Option<&str> {
        self.0.website.as_deref()
    }
    /// Its email address.
    async fn email(&self) -> Option<&str> {
        self.0.email.as_deref()
    }
    /// Its main phone number.
    async fn phone(&self) -> Option<&str> {
        self.0.phone.as_deref()
    }
    /// Its registered charity number.
    async fn charity_number(&self) -> Option<&str> {
        self.0.charity_number.as_deref()
    }
    /// Its active services, in name order.
    #[graphql(complexity = "first.unwrap_or(20).clamp(0, 100) as usize * child_complexity + 1")]
    async fn services(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<ServiceConnection> {
        let first = usize::try_from(page_size(first.unwrap_or(20))?).unwrap_or_default();
        let after_key = name_after(after.as_deref())?;
        let all = ctx
            .data::<Loaders>()?
            .organization_services
            .load_one(self.0.id)
            .await
            .map_err(ApiError::from)?
            .unwrap_or_default();
        let total = all.len() as u64;
        let (page, has_next) = page_after(all, first, |row| {
            after_key
                .as_ref()
                .is_some_and(|key| (row.name.as_str(), row.id) <= (key.key.as_str(), key.id))
        });
        Ok(service_connection(page, has_next, total, after.is_some()))
    }
}

/// A page of organisations.
#[derive(Clone, Debug, SimpleObject)]
pub struct OrganizationConnection {
    /// How many organisations there are.
    pub total_count: i64,
    /// This page.
    pub edges: Vec<OrganizationEdge>,
    /// Paging.
    pub page_info: PageInfo,
}

/// An organisation with its cursor.
#[derive(Clone, Debug, SimpleObject)]
pub struct OrganizationEdge {
    /// Pass as `after` to continue after this organisation.
    pub cursor: String,
    /// The organisation.
    pub node: Organization,
}

impl From<Page<OrganizationEdge>> for OrganizationConnection {
    fn from(page: Page<OrganizationEdge>) -> Self {
        Self {
            total_count: page.total_count,
            edges: page.edges,
            page_info: page.page_info,
        }
    }
}

/// Organisation queries.
#[derive(Default)]
pub struct OrganizationQuery;

#[Object]
impl OrganizationQuery {
    /// One organisation by id; null when there is none.
    async fn organization(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<Organization>> {
        let id = parse_id(&id, "id")?;
        Ok(store::organization::get(&state(ctx)?.db, id)
            .await?
            .map(Organization))
    }

    /// Organisations in name order.
    #[graphql(complexity = "first.unwrap_or(20).clamp(0, 100) as usize * child_complexity + 1")]
    async fn organizations(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<OrganizationConnection> {
        let first = page_size(first.unwrap_or(20))?;
        let after_key = name_after(after.as_deref())?;
        let (rows, has_next, total) =
            store::organization::list(&state(ctx)?.db, first, after_key.as_ref()).await?;
        let services = ctx
            .look_ahead()
            .field("edges")
            .field("node")
            .field("services");
        if services.exists() {
            // One statement for every organisation's services, and one per relation for them all.
            let by_org = ctx
                .data::<Loaders>()?
                .organization_services
                .load_many(rows.iter().map(|row| row.id))
                .await
                .map_err(ApiError::from)?;
            let all: Vec<_> = by_org.into_values().flatten().collect();
            prefetch(ctx, services.field("edges").field("node"), &all).await?;
        }
        Ok(connection(
            rows,
            |row| name_cursor(&row.name, row.id),
            |cursor, row| OrganizationEdge {
                cursor,
                node: Organization(row),
            },
            has_next,
            after.is_some(),
            total,
        )
        .into())
    }
}
