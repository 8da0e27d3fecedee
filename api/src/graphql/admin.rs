//! Admin and reports: the audit log, listing reports (filed by anyone, limited per address or
//! account, resolved by admins) and the limiter on filing them.

use std::sync::Arc;

use async_graphql::{Context, Enum, ID, Json, Object, SimpleObject};
use governor::DefaultKeyedRateLimiter;

use super::{
    input::id_arg,
    pagination::{PageInfo, connection, decode_after, encode_cursor, page_size},
    scalars::DateTime,
    service::Service,
    state,
};
use crate::{auth::Caller, error::ApiError, http::ClientAddress, store, validate};

/// One audit record.
#[derive(Clone, Debug, SimpleObject)]
pub struct AuditEvent {
    /// The record's id.
    pub id: ID,
    /// Who did it (an email address, a token name or "system").
    pub actor: String,
    /// What was done, such as "service.update".
    pub action: String,
    /// The kind of record.
    pub entity: String,
    /// The record's id.
    pub entity_id: ID,
    /// The record before.
    pub before: Option<Json<serde_json::Value>>,
    /// The record after.
    pub after: Option<Json<serde_json::Value>>,
    /// When.
    pub at: DateTime,
}

/// What kind of problem a listing report is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
pub enum ReportKind {
    /// Details are out of date.
    OutOfDate,
    /// The service has closed.
    Closed,
    /// The catchment (where families must live) is wrong.
    WrongCatchment,
    /// A phone number, email address or other contact detail is wrong.
    WrongContactDetails,
    /// Something else.
    Other,
}

impl ReportKind {
    /// The stored code, as GraphQL spells it.
    pub fn code(self) -> &'static str {
        match self {
            Self::OutOfDate => "OUT_OF_DATE",
            Self::Closed => "CLOSED",
            Self::WrongCatchment => "WRONG_CATCHMENT",
            Self::WrongContactDetails => "WRONG_CONTACT_DETAILS",
            Self::Other => "OTHER",
        }
    }

    /// The kind of a stored code; none for reports filed without one.
    fn from_code(code: &str) -> Option<Self> {
        [
            Self::OutOfDate,
            Self::Closed,
            Self::WrongCatchment,
            Self::WrongContactDetails,
            Self::Other,
        ]
        .into_iter()
        .find(|kind| kind.code() == code)
    }
}

/// A report that a listing is wrong.
#[derive(Clone, Debug, SimpleObject)]
pub struct ListingReport {
    /// The report's id.
    pub id: ID,
    /// The listing.
    pub service_id: ID,
    /// What is wrong.
    pub message: String,
    /// What kind of problem it is; null for reports filed without a kind.
    pub kind: Option<ReportKind>,
    /// When it was reported.
    pub created_at: DateTime,
    /// When it was resolved.
    pub resolved_at: Option<DateTime>,
    /// How it was resolved.
    pub resolution_note: Option<String>,
}

impl From<entity::listing_report::Model> for ListingReport {
    fn from(r: entity::listing_report::Model) -> Self {
        Self {
            id: ID(r.id.to_string()),
            service_id: ID(r.service_id.to_string()),
            kind: r.kind.as_deref().and_then(ReportKind::from_code),
            message: r.message,
            created_at: DateTime(r.created_at),
            resolved_at: r.resolved_at.map(DateTime),
            resolution_note: r.resolution_note,
        }
    }
}

/// A listing whose feed gave catchments the import could not read.
#[derive(Clone, Debug, SimpleObject)]
pub struct UnreadCatchmentEdge {
    /// Pass as `after` to continue after this listing.
    pub cursor: String,
    /// The listing.
    pub node: Service,
    /// The service areas as the feed gave them (HSDS `service_area` objects), kept as text.
    pub areas: Json<Vec<serde_json::Value>>,
}

/// A page of listings with unread catchments.
#[derive(Clone, Debug, SimpleObject)]
pub struct UnreadCatchmentConnection {
    /// How many listings have unread catchments in all.
    pub total_count: i64,
    /// This page.
    pub edges: Vec<UnreadCatchmentEdge>,
    /// Paging.
    pub page_info: PageInfo,
}

/// Admin queries over edits.
#[derive(Default)]
pub struct AdminQuery;

#[Object]
impl AdminQuery {
    /// The audit history of a listing or organisation, oldest first (admins).
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        entity_id: ID,
    ) -> async_graphql::Result<Vec<AuditEvent>> {
        ctx.data::<Caller>()?.require_admin()?;
        let id = id_arg(&entity_id, "entityId")?;
        let rows = store::editing::audit_log(&state(ctx)?.db, id).await?;
        Ok(rows
            .into_iter()
            .map(|r| AuditEvent {
                id: ID(r.id.to_string()),
                actor: r.actor,
                action: r.action,
                entity: r.entity,
                entity_id: ID(r.entity_id.to_string()),
                before: r.before.map(Json),
                after: r.after.map(Json),
                at: DateTime(r.at),
            })
            .collect())
    }

    /// Listings whose feed gave catchments the import could not read (kept as text, and
    /// searched by their venues' districts until an editor sets them), in id order (admins).
    async fn unread_catchments(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: i32,
        after: Option<String>,
    ) -> async_graphql::Result<UnreadCatchmentConnection> {
        ctx.data::<Caller>()?.require_admin()?;
        let limit = usize::try_from(page_size(first)?).unwrap_or_default();
        let after_id = decode_after(after.as_deref(), 1, |mut parts| parts.pop()?.parse().ok())?;
        let (rows, more, total) =
            store::service::with_unread_catchments(&state(ctx)?.db, after_id, limit).await?;
        let page = connection(
            rows,
            |row| encode_cursor(&[&row.id.to_string()]),
            |cursor, row| UnreadCatchmentEdge {
                cursor,
                areas: Json(
                    row.extra
                        .as_ref()
                        .and_then(|extra| extra.get("unmapped_service_areas"))
                        .and_then(|areas| areas.as_array())
                        .cloned()
                        .unwrap_or_default(),
                ),
                node: Service(row),
            },
            more,
            after.is_some(),
            total,
        );
        Ok(UnreadCatchmentConnection {
            total_count: page.total_count,
            edges: page.edges,
            page_info: page.page_info,
        })
    }

    /// Reports that listings are wrong, newest first; open ones unless `includeResolved` (admins).
    async fn listing_reports(
        &self,
        ctx: &Context<'_>,
        #[graphql(default)] include_resolved: bool,
    ) -> async_graphql::Result<Vec<ListingReport>> {
        ctx.data::<Caller>()?.require_admin()?;
        let rows = store::editing::reports(&state(ctx)?.db, include_resolved).await?;
        Ok(rows.into_iter().map(ListingReport::from).collect())
    }
}

/// Limits listing reports from one address.
pub struct ReportLimiter(pub Arc<DefaultKeyedRateLimiter<String>>);

impl Default for ReportLimiter {
    /// 10 reports an hour from one address or account.
    fn default() -> Self {
        let reports = governor::Quota::per_hour(std::num::NonZeroU32::MIN.saturating_add(9));
        Self(Arc::new(governor::RateLimiter::keyed(reports)))
    }
}

/// Listing report mutations.
#[derive(Default)]
pub struct ReportMutation;

#[Object]
impl ReportMutation {
    /// Tells the directory team a listing is wrong (anyone; limited per address), with the
    /// kind of problem when the reporter chose one.
    async fn report_listing_problem(
        &self,
        ctx: &Context<'_>,
        service_id: ID,
        message: String,
        kind: Option<ReportKind>,
    ) -> async_graphql::Result<bool> {
        let caller = ctx.data::<Caller>()?;
        let service_id = id_arg(&service_id, "serviceId")?;
        let message = validate::text("message", &message, 5, 2_000)?;
        let address = ctx
            .data_opt::<ClientAddress>()
            .map(|a| a.0.ip().to_string());
        if let Some(limiter) = ctx.data_opt::<ReportLimiter>() {
            let key = caller
                .actor_id()
                .map(|id| id.to_string())
                .or_else(|| address.clone())
                .unwrap_or_default();
            if limiter.0.check_key(&key).is_err() {
                return Err(
                    ApiError::RateLimited("too many reports; try again later".into()).into(),
                );
            }
        }
        store::editing::report_problem(
            &state(ctx)?.db,
            caller,
            service_id,
            kind.map(ReportKind::code),
            message,
            address,
        )
        .await?;
        Ok(true)
    }

    /// Marks a listing report resolved (admins).
    async fn resolve_listing_report(
        &self,
        ctx: &Context<'_>,
        id: ID,
        note: Option<String>,
    ) -> async_graphql::Result<ListingReport> {
        let caller = ctx.data::<Caller>()?;
        caller.require_admin()?;
        let id = id_arg(&id, "id")?;
        let note = validate::optional_text("note", note.as_deref(), 2_000)?;
        let db = &state(ctx)?.db;
        let resolved = store::editing::resolve_report(db, caller, id, note).await?;
        Ok(resolved.into())
    }
}
