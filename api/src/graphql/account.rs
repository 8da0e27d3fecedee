//! Who is calling (`me`), logins, staff accounts and partner tokens.

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use entity::Role as StoredRole;

use super::{organization::Organization, parse_id, scalars::DateTime, state};
use crate::{auth::Caller, error::ApiError, store, store::audit::Actor};

/// A role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
#[graphql(remote = "entity::Role")]
pub enum Role {
    /// May change everything.
    Admin,
    /// May change their own organisation's listings.
    Editor,
    /// A partner application that reads with a token.
    Partner,
    /// A health visitor, midwife or family-hub worker who signs in to the web pages: reads
    /// professional-only lines, changes nothing.
    Professional,
}

/// The caller.
#[derive(Clone, Debug, SimpleObject)]
#[graphql(complex)]
pub struct Viewer {
    /// The user's or token's id.
    pub id: ID,
    /// The role.
    pub role: Role,
    /// The email address (staff) or the token's name (partners).
    pub name: String,
    #[graphql(skip)]
    pub organization_id: Option<uuid::Uuid>,
}

#[async_graphql::ComplexObject]
impl Viewer {
    /// The organisation an editor edits.
    async fn organization(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Organization>> {
        let Some(id) = self.organization_id else {
            return Ok(None);
        };
        Ok(store::organization::get(&state(ctx)?.db, id)
            .await?
            .map(Organization))
    }
}

impl Viewer {
    fn of(caller: &Caller) -> Option<Self> {
        match caller {
            Caller::Anonymous => None,
            Caller::Staff {
                user_id,
                email,
                role,
                organization_id,
            } => Some(Self {
                id: ID(user_id.to_string()),
                role: (*role).into(),
                name: email.clone(),
                organization_id: *organization_id,
            }),
            Caller::Partner { token_id, name } => Some(Self {
                id: ID(token_id.to_string()),
                role: Role::Partner,
                name: name.clone(),
                organization_id: None,
            }),
        }
    }
}

/// A successful login.
#[derive(Clone, Debug, SimpleObject)]
pub struct AuthPayload {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    /// When the token stops working (an hour after login).
    pub expires_at: DateTime,
    /// Who signed in.
    pub user: Viewer,
}

/// A new partner token, shown once.
#[derive(Clone, Debug, SimpleObject)]
pub struct IssuedToken {
    /// The token's id, for revoking it.
    pub id: ID,
    /// The token; it is not stored and cannot be shown again.
    pub token: String,
    /// When it stops working.
    pub expires_at: DateTime,
}

/// A partner token as listed to admins.
#[derive(Clone, Debug, SimpleObject)]
pub struct ApiTokenInfo {
    /// The token's id.
    pub id: ID,
    /// Its name.
    pub name: String,
    /// When it was issued.
    pub created_at: DateTime,
    /// When it stops working.
    pub expires_at: DateTime,
    /// When it was revoked.
    pub revoked_at: Option<DateTime>,
}

/// A new staff account.
#[derive(Clone, Debug, InputObject)]
pub struct UserInput {
    /// The sign-in email address.
    pub email: String,
    /// At least 12 characters.
    pub password: String,
    /// ADMIN, EDITOR or PROFESSIONAL.
    pub role: Role,
    /// The organisation an editor edits.
    pub organization_id: Option<ID>,
}

/// Account queries.
#[derive(Default)]
pub struct AccountQuery;

#[Object]
impl AccountQuery {
    /// Who is calling; null when anonymous.
    async fn me(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Viewer>> {
        Ok(Viewer::of(ctx.data::<Caller>()?))
    }

    /// Partner tokens, newest first (admins).
    #[graphql(complexity = "100 * child_complexity + 1")]
    async fn api_tokens(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ApiTokenInfo>> {
        ctx.data::<Caller>()?.require_admin()?;
        let tokens = store::accounts::tokens(&state(ctx)?.db).await?;
        Ok(tokens
            .into_iter()
            .map(|t| ApiTokenInfo {
                id: ID(t.id.to_string()),
                name: t.name,
                created_at: DateTime(t.created_at),
                expires_at: DateTime(t.expires_at),
                revoked_at: t.revoked_at.map(DateTime),
            })
            .collect())
    }
}

/// Account mutations.
#[derive(Default)]
pub struct AccountMutation;

#[Object]
impl AccountMutation {
    /// Signs in; the token lasts an hour.
    async fn login(
        &self,
        ctx: &Context<'_>,
        email: String,
        password: String,
    ) -> async_graphql::Result<AuthPayload> {
        let shared = state(ctx)?;
        let address = ctx
            .data_opt::<crate::http::ClientAddress>()
            .map(|address| address.0.ip());
        let login =
            store::accounts::login(&shared.db, shared.auth.keys(), &email, &password, address)
                .await?;
        let caller = Caller::Staff {
            user_id: login.user.id,
            email: login.user.email.clone(),
            role: login.user.role,
            organization_id: login.user.organization_id,
        };
        let user =
            Viewer::of(&caller).ok_or_else(|| ApiError::Internal(anyhow::anyhow!("no viewer")))?;
        Ok(AuthPayload {
            token: login.token,
            expires_at: DateTime(login.expires_at),
            user,
        })
    }

    /// Creates a staff account (admins).
    async fn create_user(
        &self,
        ctx: &Context<'_>,
        input: UserInput,
    ) -> async_graphql::Result<Viewer> {
        let caller = ctx.data::<Caller>()?;
        caller.require_admin()?;
        let organization = input
            .organization_id
            .as_ref()
            .map(|id| parse_id(id, "input.organizationId"))
            .transpose()?;
        let user = store::accounts::create_user(
            &state(ctx)?.db,
            &Actor::from(caller),
            &input.email,
            &input.password,
            StoredRole::from(input.role),
            organization,
        )
        .await?;
        Ok(Viewer {
            id: ID(user.id.to_string()),
            role: user.role.into(),
            name: user.email,
            organization_id: user.organization_id,
        })
    }

    /// Issues a partner token (admins).
    async fn issue_api_token(
        &self,
        ctx: &Context<'_>,
        name: String,
        expires_in_days: i32,
    ) -> async_graphql::Result<IssuedToken> {
        let caller = ctx.data::<Caller>()?;
        caller.require_admin()?;
        let shared = state(ctx)?;
        let issued = store::accounts::issue_token(
            &shared.db,
            &Actor::from(caller),
            shared.auth.keys(),
            &name,
            expires_in_days,
        )
        .await?;
        Ok(IssuedToken {
            id: ID(issued.id.to_string()),
            token: issued.token,
            expires_at: DateTime(issued.expires_at),
        })
    }

    /// Revokes a partner token at once, on every instance (admins); false when already revoked.
    async fn revoke_api_token(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<bool> {
        let caller = ctx.data::<Caller>()?;
        caller.require_admin()?;
        let id = parse_id(&id, "id")?;
        Ok(store::accounts::revoke_token(&state(ctx)?.db, &Actor::from(caller), id).await?)
    }
}
