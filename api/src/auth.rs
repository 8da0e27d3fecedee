//! Who is calling: verified from `Authorization: Bearer <JWT>` by the HTTP layer, read by
//! resolvers through [`Caller`].

use std::path::Path;

use anyhow::Context;
use axum::http::HeaderValue;
use chrono::Utc;
use entity::Role;
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use crate::{
    config::Settings,
    error::ApiError,
    store::{self, accounts},
};

/// The caller of one request. Its `require_*` checks answer with the store's error, as the store
/// makes them too before it writes; each face converts that error like any other.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Caller {
    /// No credentials: active listings and public fields only.
    #[default]
    Anonymous,
    /// A signed-in admin, organisation editor or professional.
    Staff {
        /// The user's id.
        user_id: Uuid,
        /// The user's email address.
        email: String,
        /// ADMIN, EDITOR or PROFESSIONAL.
        role: Role,
        /// The organisation an editor edits.
        organization_id: Option<Uuid>,
    },
    /// A partner application's token.
    Partner {
        /// The token's id (the `api_token` row).
        token_id: Uuid,
        /// The token's name.
        name: String,
    },
}

impl Caller {
    /// Whether the caller edits listings (an admin or an organisation editor): such callers
    /// read listings from the database rather than from the search index's cards.
    pub fn edits(&self) -> bool {
        matches!(
            self,
            Caller::Staff {
                role: Role::Admin | Role::Editor,
                ..
            }
        )
    }

    /// Whether PROFESSIONAL contacts and phone lines, and listings of every status, are shown.
    pub fn sees_professional(&self) -> bool {
        !matches!(self, Caller::Anonymous)
    }

    /// Whether listings of every status (not only ACTIVE ones) are shown: partners, admins and
    /// editors; a professional reads what the public reads plus professional-only lines.
    pub fn sees_every_status(&self) -> bool {
        !matches!(
            self,
            Caller::Anonymous
                | Caller::Staff {
                    role: Role::Professional,
                    ..
                }
        )
    }

    /// Whether the caller is a signed-in professional (read-only).
    pub fn is_professional(&self) -> bool {
        matches!(
            self,
            Caller::Staff {
                role: Role::Professional,
                ..
            }
        )
    }

    /// Whether the caller is an admin.
    pub fn is_admin(&self) -> bool {
        matches!(
            self,
            Caller::Staff {
                role: Role::Admin,
                ..
            }
        )
    }

    /// A label for the audit log.
    pub fn label(&self) -> String {
        match self {
            Caller::Anonymous => "anonymous".to_owned(),
            Caller::Staff { email, .. } => email.clone(),
            Caller::Partner { name, .. } => format!("token {name}"),
        }
    }

    /// The actor id for the audit log.
    pub fn actor_id(&self) -> Option<Uuid> {
        match self {
            Caller::Anonymous => None,
            Caller::Staff { user_id, .. } => Some(*user_id),
            Caller::Partner { token_id, .. } => Some(*token_id),
        }
    }

    /// Admins only.
    pub fn require_admin(&self) -> store::Result<()> {
        match self {
            Caller::Anonymous => Err(store::Error::Unauthenticated(
                "sign in as an admin to do this".into(),
            )),
            _ if self.is_admin() => Ok(()),
            _ => Err(store::Error::Forbidden("only admins may do this".into())),
        }
    }

    /// Admins, or editors of `organization`.
    pub fn require_editor_of(&self, organization: Uuid) -> store::Result<()> {
        match self {
            Caller::Anonymous => Err(store::Error::Unauthenticated(
                "sign in to edit listings".into(),
            )),
            Caller::Staff {
                role: Role::Admin, ..
            } => Ok(()),
            Caller::Staff {
                role: Role::Editor,
                organization_id: Some(own),
                ..
            } if *own == organization => Ok(()),
            _ => Err(store::Error::Forbidden(
                "you may edit your own organisation's listings only".into(),
            )),
        }
    }

    /// Partners, editors and admins (a professional's sign-in reads pages only).
    pub fn require_authenticated(&self) -> store::Result<()> {
        match self {
            Caller::Anonymous => Err(store::Error::Unauthenticated(
                "a partner token or a sign-in is needed".into(),
            )),
            _ if self.is_professional() => Err(store::Error::Forbidden(
                "a professional's sign-in reads professional-only lines only".into(),
            )),
            _ => Ok(()),
        }
    }
}

/// Verifies bearer tokens and finds who they belong to.
pub struct Authenticator {
    keys: jwt::JwtKeys,
    db: DatabaseConnection,
}

/// How long a login token lasts.
pub const LOGIN_LIFETIME: std::time::Duration = std::time::Duration::from_secs(3600);

impl Authenticator {
    /// Keys from the settings: the configured secret or the data directory's, and the optional
    /// identity provider key.
    pub fn from_settings(settings: &Settings, db: DatabaseConnection) -> anyhow::Result<Self> {
        let secret = match &settings.jwt_secret {
            Some(secret) => secret.as_bytes().to_vec(),
            None => jwt::load_or_create_secret(&settings.data_dir)
                .context("cannot read or create the JWT secret")?,
        };
        let public_key = match &settings.jwt_public_key {
            Some(value) if value.trim_start().starts_with("-----BEGIN") => Some(value.clone()),
            Some(path) => Some(
                std::fs::read_to_string(Path::new(path))
                    .with_context(|| format!("cannot read SIGNPOST_JWT_PUBLIC_KEY file {path}"))?,
            ),
            None => None,
        };
        let keys = jwt::JwtKeys::new(
            &secret,
            &settings.jwt_issuer,
            &settings.jwt_audience,
            public_key.as_deref(),
        )
        .context("the JWT settings are not usable")?;
        Ok(Self { keys, db })
    }

    /// The signing keys.
    pub fn keys(&self) -> &jwt::JwtKeys {
        &self.keys
    }

    /// The caller of a request with this `Authorization` header. A header that is present but
    /// does not carry a valid, current token is an error, never anonymous access.
    pub async fn authenticate(&self, header: Option<&HeaderValue>) -> Result<Caller, ApiError> {
        let Some(header) = header else {
            return Ok(Caller::Anonymous);
        };
        let unauthenticated = |why: &str| ApiError::Unauthenticated(why.to_owned());
        let value = header
            .to_str()
            .map_err(|_| unauthenticated("the authorization header is not valid"))?;
        // The scheme is case-insensitive (RFC 7235); the token follows after white space.
        let token = value
            .trim_start()
            .split_once([' ', '\t'])
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| unauthenticated("send the token as Authorization: Bearer <token>"))?;
        let claims = self
            .keys
            .verify(token)
            .map_err(|err| ApiError::Unauthenticated(format!("the token is not valid: {err}")))?;
        match claims.role.as_str() {
            "PARTNER" => {
                let jti: Uuid = claims
                    .jti
                    .parse()
                    .map_err(|_| unauthenticated("the token is not valid"))?;
                let found = accounts::token_by_jti(&self.db, jti)
                    .await?
                    .ok_or_else(|| unauthenticated("the token is not known here"))?;
                if found.revoked_at.is_some() {
                    return Err(unauthenticated("the token has been revoked"));
                }
                if found.expires_at <= Utc::now() {
                    return Err(unauthenticated("the token has expired"));
                }
                Ok(Caller::Partner {
                    token_id: found.id,
                    name: found.name,
                })
            }
            "ADMIN" | "EDITOR" | "PROFESSIONAL" => {
                let user_id: Uuid = claims
                    .sub
                    .parse()
                    .map_err(|_| unauthenticated("the token's user is not known here"))?;
                let user = accounts::user(&self.db, user_id)
                    .await?
                    .ok_or_else(|| unauthenticated("the token's user is not known here"))?;
                if user.disabled {
                    return Err(unauthenticated("this account is disabled"));
                }
                // The database, not the token, says what the user may do now.
                Ok(Caller::Staff {
                    user_id: user.id,
                    email: user.email,
                    role: user.role,
                    organization_id: user.organization_id,
                })
            }
            _ => Err(unauthenticated("the token's role is not known")),
        }
    }
}

pub mod jwt;
pub mod password;
