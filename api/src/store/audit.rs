//! The audit log: who did what to which record, written in the transaction of the action itself.
//! Every audit row is built here, whoever writes it (editing, accounts and tokens, reports,
//! imports).

use chrono::Utc;
use entity::audit_event;
use sea_orm::{ActiveModelTrait, ConnectionTrait, IntoActiveModel};
use serde_json::Value;
use uuid::Uuid;

use super::Result;
use crate::auth::Caller;

/// Who acts, as the audit log records it.
#[derive(Clone, Debug)]
pub struct Actor {
    /// The user or token id; none for the command line.
    pub id: Option<Uuid>,
    /// A readable label: an email address, `token NAME`, "command line" or "system".
    pub label: String,
}

impl Actor {
    /// Imports run from the command line (labelled "system").
    pub fn system() -> Self {
        Self {
            id: None,
            label: "system".to_owned(),
        }
    }

    /// Account and token commands of the `signpost` binary.
    pub fn command_line() -> Self {
        Self {
            id: None,
            label: "command line".to_owned(),
        }
    }
}

impl From<&Caller> for Actor {
    fn from(caller: &Caller) -> Self {
        Self {
            id: caller.actor_id(),
            label: caller.label(),
        }
    }
}

/// One audit row: `actor` did `action` (such as "service.update") to the `entity` record `id`,
/// which was `before` and became `after`.
pub fn row(
    actor: &Actor,
    action: &str,
    entity: &str,
    id: Uuid,
    before: Option<Value>,
    after: Option<Value>,
) -> audit_event::ActiveModel {
    audit_event::Model {
        id: Uuid::new_v4(),
        actor_id: actor.id,
        actor: actor.label.clone(),
        action: action.to_owned(),
        entity: entity.to_owned(),
        entity_id: id,
        before,
        after,
        at: Utc::now(),
    }
    .into_active_model()
}

/// Writes one audit row (see [`row`]) on `txn`, the transaction of the action.
pub async fn record(
    txn: &impl ConnectionTrait,
    actor: &Actor,
    action: &str,
    entity: &str,
    id: Uuid,
    before: Option<Value>,
    after: Option<Value>,
) -> Result<()> {
    row(actor, action, entity, id, before, after)
        .insert(txn)
        .await?;
    Ok(())
}
