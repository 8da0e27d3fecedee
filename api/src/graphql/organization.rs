//! The `Organization` type, the `organization(s)` queries and the organisation mutations with
//! their `OrganizationInput`.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::Utc;
use entity::organization;

use super::{
    input::{id_arg, opt_email, opt_phone, opt_url},
    loaders::Loaders,
    pagination::{Page, PageInfo, connection, name_after, name_cursor, page_after, page_size},
    parse_id, searchable,
    service::{ServiceConnection, prefetch, service_connection},
    state,
};
use crate::{
    auth::Caller,
    error::{ApiError, ApiResult},
    store, validate,
};

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

/// An organisation's details.
#[derive(Clone, Debug, InputObject)]
pub struct OrganizationInput {
    /// Its name.
    pub name: String,
    /// What it does.
    pub description: Option<String>,
    /// Its email address.
    pub email: Option<String>,
    /// Its website.
    pub website: Option<String>,
    /// Its main phone number.
    pub phone: Option<String>,
    /// Its registered charity number.
    pub charity_number: Option<String>,
    /// Its company number.
    pub company_number: Option<String>,
}

impl OrganizationInput {
    fn into_model(self) -> ApiResult<organization::Model> {
        let now = Utc::now();
        Ok(organization::Model {
            id: uuid::Uuid::nil(),
            name: validate::text("input.name", &self.name, 2, 300)?,
            description: validate::optional_text(
                "input.description",
                self.description.as_deref(),
                5_000,
            )?,
            email: opt_email("input.email", self.email.as_deref())?,
            website: opt_url("input.website", self.website.as_deref())?,
            phone: opt_phone("input.phone", self.phone.as_deref())?,
            charity_number: validate::optional_text(
                "input.charityNumber",
                self.charity_number.as_deref(),
                32,
            )?,
            company_number: validate::optional_text(
                "input.companyNumber",
                self.company_number.as_deref(),
                32,
            )?,
            extra: None,
            created_at: now,
            updated_at: now,
        })
    }
}

/// Organisation mutations.
#[derive(Default)]
pub struct OrganizationMutation;

#[Object]
impl OrganizationMutation {
    /// Creates an organisation (admins).
    async fn create_organization(
        &self,
        ctx: &Context<'_>,
        input: OrganizationInput,
    ) -> async_graphql::Result<Organization> {
        let caller = ctx.data::<Caller>()?;
        caller.require_admin()?;
        let model = input.into_model()?;
        let (saved, seq) =
            store::editing::save_organization(&state(ctx)?.db, caller, None, model).await?;
        searchable(ctx, seq).await?;
        Ok(Organization(saved))
    }

    /// Updates an organisation (admins, or its editors).
    async fn update_organization(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: OrganizationInput,
    ) -> async_graphql::Result<Organization> {
        let caller = ctx.data::<Caller>()?;
        let id = id_arg(&id, "id")?;
        caller.require_editor_of(id)?;
        let model = input.into_model()?;
        let (saved, seq) =
            store::editing::save_organization(&state(ctx)?.db, caller, Some(id), model).await?;
        searchable(ctx, seq).await?;
        Ok(Organization(saved))
    }
}
