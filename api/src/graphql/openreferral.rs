//! The Open Referral import mutation (admins): an HSDS 3 / Open Referral UK document in, a
//! report out. The HTTP body limit bounds the document's size.

use async_graphql::{Context, Json, Object, SimpleObject};

use super::state;
use crate::{
    auth::Caller,
    error::ApiError,
    hsds::import::{self, Actor, DocumentError},
};

/// What an import did.
#[derive(Clone, Debug, SimpleObject)]
pub struct ImportReport {
    /// Records created or changed.
    pub imported: i32,
    /// Records that already held what the document says.
    pub unchanged: i32,
    /// Records that could not be imported.
    pub failed: Vec<ImportError>,
    /// What was imported but not read in full, such as a catchment kept as text (listed for
    /// admins by `unreadCatchments`), with the path of the field.
    pub warnings: Vec<ImportError>,
}

/// A record that could not be imported.
#[derive(Clone, Debug, SimpleObject)]
pub struct ImportError {
    /// A JSON Pointer to the record's field at fault, such as `/contents/3/organization/id`.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// The Open Referral mutations.
#[derive(Default)]
pub struct OpenReferralMutation;

#[Object]
impl OpenReferralMutation {
    /// Imports an Open Referral (HSDS 3 / Open Referral UK) document: an array of fully nested
    /// services, a page of `/services`, or an object of top-level arrays. Records are upserted
    /// by id; unchanged records are left alone. Records that cannot be imported are reported
    /// while the rest go in, unless `strict`, when nothing is written on any error. Returns
    /// once the imported listings are searchable on this instance (admins).
    async fn import_open_referral(
        &self,
        ctx: &Context<'_>,
        document: Json<serde_json::Value>,
        #[graphql(default_with = "Some(false)")] strict: Option<bool>,
    ) -> async_graphql::Result<ImportReport> {
        let caller = ctx.data::<Caller>()?;
        caller.require_admin()?;
        let shared = state(ctx)?;
        let actor = Actor {
            id: caller.actor_id(),
            label: caller.label(),
        };
        let report = import::import_document_with_rules(
            &shared.db,
            &actor,
            &document.0,
            strict.unwrap_or(false),
            &shared.eligibility_rules,
        )
        .await
        .map_err(|err| match err {
            DocumentError::Database(err) => ApiError::from(err),
            other => ApiError::bad_input(format!("document: {other}")),
        })?;
        if report.last_seq > 0 {
            shared
                .indexer
                .wait_for(report.last_seq)
                .await
                .map_err(ApiError::Internal)?;
        }
        let errors = |list: Vec<import::ImportError>| {
            list.into_iter()
                .map(|f| ImportError {
                    path: f.path,
                    message: f.message,
                })
                .collect()
        };
        Ok(ImportReport {
            imported: count(report.imported),
            unchanged: count(report.unchanged),
            failed: errors(report.failed),
            warnings: errors(report.warnings),
        })
    }
}
