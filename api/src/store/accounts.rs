//! Staff accounts, logins and partner tokens.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{LazyLock, Mutex},
};

use chrono::{Duration, Utc};
use entity::{Role, api_token, app_user};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder,
    sea_query::{Expr, ExprTrait as _},
};
use serde_json::json;
use uuid::Uuid;

use super::{
    Error, Result,
    audit::{self, Actor},
    begin_write,
};
use crate::{
    auth::{LOGIN_LIFETIME, jwt::JwtKeys, password},
    validate,
};

/// Failed logins after which each further attempt waits a little longer.
const SLOW_AFTER: i32 = 3;
/// Failed logins after which the account is locked for [`LOCK_MINUTES`].
const LOCK_AFTER: i32 = 6;
/// How long a locked account refuses logins.
const LOCK_MINUTES: i64 = 15;
/// The longest a partner token may last.
pub const MAX_TOKEN_DAYS: i32 = 730;

/// Creates a staff account (the password is hashed with argon2id), audited as `actor`'s
/// "user.create" in the same transaction.
pub async fn create_user(
    db: &DatabaseConnection,
    actor: &Actor,
    email: &str,
    password_text: &str,
    role: Role,
    organization_id: Option<Uuid>,
) -> Result<app_user::Model> {
    let email = validate::email("email", email)?.to_lowercase();
    if password_text.chars().count() < 12 {
        return Err(Error::invalid("password: must be at least 12 characters"));
    }
    if password_text.chars().count() > 1024 {
        return Err(Error::invalid("password: must be at most 1024 characters"));
    }
    match (role, organization_id) {
        (Role::Editor, None) => {
            return Err(Error::invalid(
                "organizationId: an editor needs an organisation",
            ));
        }
        (Role::Admin, Some(_)) => {
            return Err(Error::invalid(
                "organizationId: an admin has no organisation",
            ));
        }
        (Role::Professional, Some(_)) => {
            return Err(Error::invalid(
                "organizationId: a professional has no organisation",
            ));
        }
        (Role::Partner, _) => {
            return Err(Error::invalid("role: partners use tokens, not accounts"));
        }
        _ => {}
    }
    if let Some(org) = organization_id
        && entity::organization::Entity::find_by_id(org)
            .one(db)
            .await?
            .is_none()
    {
        return Err(Error::invalid("organizationId: no such organisation"));
    }
    if app_user::Entity::find()
        .filter(app_user::Column::Email.eq(&email))
        .one(db)
        .await?
        .is_some()
    {
        return Err(Error::Conflict(
            "email: an account with this email address exists".into(),
        ));
    }
    let hash = password::hash(password_text.to_owned())
        .await
        .map_err(Error::Internal)?;
    let now = Utc::now();
    let user = app_user::Model {
        id: Uuid::new_v4(),
        email,
        password_hash: hash,
        role,
        organization_id,
        disabled: false,
        failed_logins: 0,
        locked_until: None,
        created_at: now,
        updated_at: now,
    };
    let txn = begin_write(db).await?;
    let user = user.into_active_model().insert(&txn).await?;
    let after =
        json!({ "email": user.email, "role": user.role, "organization_id": user.organization_id });
    audit::record(
        &txn,
        actor,
        "user.create",
        "app_user",
        user.id,
        None,
        Some(after),
    )
    .await?;
    txn.commit().await?;
    Ok(user)
}

/// The staff account with this id, if any (the authenticator reads it on every signed-in
/// request: the database, not the token, says what the user may do now).
pub async fn user(db: &DatabaseConnection, id: Uuid) -> Result<Option<app_user::Model>> {
    Ok(app_user::Entity::find_by_id(id).one(db).await?)
}

/// The partner token whose JWT id is `jti`, if any (revoked and expired ones included).
pub async fn token_by_jti(db: &DatabaseConnection, jti: Uuid) -> Result<Option<api_token::Model>> {
    Ok(api_token::Entity::find()
        .filter(api_token::Column::Jti.eq(jti))
        .one(db)
        .await?)
}

/// Waits longer the more failures came before this attempt.
async fn slow_down(earlier_failures: i32) {
    if earlier_failures >= SLOW_AFTER {
        let wait = std::cmp::min(
            u64::try_from(earlier_failures - SLOW_AFTER + 1).unwrap_or(1),
            5,
        );
        tokio::time::sleep(std::time::Duration::from_millis(500 * wait)).await;
    }
}

/// Who is trying to sign in: the email address and the client's network address. Locks are
/// kept per pair, so that guesses from one place cannot lock the account's owner out elsewhere.
type Attempter = (String, Option<IpAddr>);

/// Failed logins of email addresses with no account (on this instance), by attempter: the
/// attempt count and the lock's end.
type UnknownFailures = HashMap<Attempter, (i32, Option<chrono::DateTime<Utc>>)>;
static UNKNOWN_FAILURES: LazyLock<Mutex<UnknownFailures>> = LazyLock::new(Mutex::default);
/// Attempters remembered at most; past that, entries whose lock has ended are forgotten.
const MAX_UNKNOWN: usize = 10_000;

/// Counts an attempt for an address with no account; `None` while it is locked.
fn unknown_attempt(who: &Attempter) -> Option<i32> {
    let now = Utc::now();
    let mut failures = UNKNOWN_FAILURES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if failures.len() >= MAX_UNKNOWN {
        failures.retain(|_, (_, until)| until.is_some_and(|until| until > now));
    }
    let entry = failures.entry(who.clone()).or_insert((0, None));
    match entry.1 {
        Some(until) if until > now => return None,
        Some(_) => *entry = (0, None),
        None => {}
    }
    entry.0 += 1;
    Some(entry.0)
}

fn lock_unknown(who: &Attempter) {
    let mut failures = UNKNOWN_FAILURES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    failures.insert(
        who.clone(),
        (0, Some(Utc::now() + Duration::minutes(LOCK_MINUTES))),
    );
}

/// Recent sign-in attempts on accounts that exist, by attempter (on this instance): how many,
/// and when the last one came. Forgotten [`LOCK_MINUTES`] after the last attempt.
type Attempts = HashMap<Attempter, (i32, chrono::DateTime<Utc>)>;
static ATTEMPTS: LazyLock<Mutex<Attempts>> = LazyLock::new(Mutex::default);

/// Counts an attempt on an existing account; returns how many came before it from the same
/// attempter within [`LOCK_MINUTES`].
fn count_attempt(who: &Attempter) -> i32 {
    let now = Utc::now();
    let window = Duration::minutes(LOCK_MINUTES);
    let mut attempts = ATTEMPTS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if attempts.len() >= MAX_UNKNOWN {
        attempts.retain(|_, (_, last)| *last + window > now);
    }
    let entry = attempts.entry(who.clone()).or_insert((0, now));
    if entry.1 + window <= now {
        entry.0 = 0;
    }
    let earlier = entry.0;
    *entry = (earlier.saturating_add(1), now);
    earlier
}

/// Forgets an attempter's attempts (after a successful sign-in).
fn clear_attempts(who: &Attempter) {
    ATTEMPTS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .remove(who);
}

/// A successful login.
pub struct Login {
    /// The signed session token.
    pub token: String,
    /// When the token stops being accepted.
    pub expires_at: chrono::DateTime<Utc>,
    /// The account signed in.
    pub user: app_user::Model,
}

/// Checks an email and password. Unknown emails and wrong passwords get the same answer and
/// take the same time; repeated failures slow down, then lock the account for a while.
///
/// Each attempt is counted before its password is checked, in one statement that also checks
/// the lock, so guesses sent at the same time cannot outrun the count: no more than
/// [`LOCK_AFTER`] wrong passwords are checked before the account locks, however many arrive
/// together.
///
/// A lock holds against the places the failures came from: an attempt from an address that has
/// not tried this account lately is still checked (once, without counting against the account,
/// whose lock stays), so nobody can lock an account's owner out from elsewhere.
pub async fn login(
    db: &DatabaseConnection,
    keys: &JwtKeys,
    email: &str,
    password_text: &str,
    address: Option<IpAddr>,
) -> Result<Login> {
    login_lasting(db, keys, email, password_text, address, LOGIN_LIFETIME).await
}

/// Like [`login`], with a token that lasts `lifetime` (the web pages' sign-in lasts a working
/// day).
pub async fn login_lasting(
    db: &DatabaseConnection,
    keys: &JwtKeys,
    email: &str,
    password_text: &str,
    address: Option<IpAddr>,
    lifetime: std::time::Duration,
) -> Result<Login> {
    let refused = || Error::Unauthenticated("the email address or password is not right".into());
    let locked = || Error::TooManyAttempts("too many failed logins; try again later".into());
    let email = email.trim().to_lowercase();
    let who: Attempter = (email.clone(), address);
    let user = app_user::Entity::find()
        .filter(app_user::Column::Email.eq(&email))
        .one(db)
        .await?;
    let Some(user) = user else {
        // Addresses with no account are counted, slowed and locked the same way, so neither
        // the answer nor its timing tells whether an account exists.
        let Some(attempt) = unknown_attempt(&who) else {
            return Err(locked());
        };
        if attempt > LOCK_AFTER {
            lock_unknown(&who);
            return Err(locked());
        }
        slow_down(attempt - 1).await;
        let _ = password::verify(password_text.to_owned(), password::dummy_hash().to_owned()).await;
        if attempt >= LOCK_AFTER {
            lock_unknown(&who);
        }
        return Err(refused());
    };
    let now = Utc::now();
    let earlier = count_attempt(&who);
    if user.locked_until.is_some_and(|until| until > now) {
        // Locked by failures: refused where attempts came from; checked once from elsewhere.
        if earlier > 0 {
            return Err(locked());
        }
        let matches = password::verify(password_text.to_owned(), user.password_hash.clone())
            .await
            .unwrap_or(false);
        if !matches || user.disabled {
            return Err(refused());
        }
        clear_attempts(&who);
        return issue_login(keys, user, lifetime);
    }
    // Count this attempt as a failure until the password proves right.
    let counted = app_user::Entity::update_many()
        .col_expr(
            app_user::Column::FailedLogins,
            Expr::col(app_user::Column::FailedLogins).add(1),
        )
        .filter(app_user::Column::Id.eq(user.id))
        .filter(
            Condition::any()
                .add(app_user::Column::LockedUntil.is_null())
                .add(app_user::Column::LockedUntil.lte(now)),
        )
        .exec_with_returning(db)
        .await?;
    let Some(attempt) = counted.first().map(|row| row.failed_logins) else {
        return Err(locked());
    };
    if attempt > LOCK_AFTER {
        // More attempts at once than may be checked: lock now (the attempt that reached the
        // limit may never finish) and check no password.
        lock(db, user.id).await?;
        return Err(locked());
    }
    slow_down(attempt - 1).await;
    let matches = password::verify(password_text.to_owned(), user.password_hash.clone())
        .await
        .unwrap_or(false);
    if !matches || user.disabled {
        // The attempt is counted already.
        if attempt >= LOCK_AFTER {
            lock(db, user.id).await?;
        }
        return Err(refused());
    }
    let mut active = user.clone().into_active_model();
    active.failed_logins = Set(0);
    active.locked_until = Set(None);
    let user = active.update(db).await?;
    clear_attempts(&who);
    issue_login(keys, user, lifetime)
}

/// A signed-in user's token.
fn issue_login(
    keys: &JwtKeys,
    user: app_user::Model,
    lifetime: std::time::Duration,
) -> Result<Login> {
    let refused = || Error::Unauthenticated("the email address or password is not right".into());
    let role = match user.role {
        Role::Admin => "ADMIN",
        Role::Editor => "EDITOR",
        Role::Professional => "PROFESSIONAL",
        Role::Partner => return Err(refused()),
    };
    let org = user.organization_id.map(|o| o.to_string());
    let (token, expires_at) = keys
        .issue(
            &user.id.to_string(),
            role,
            org.as_deref(),
            Some(&user.email),
            &Uuid::new_v4().to_string(),
            lifetime,
        )
        .map_err(|err| Error::Internal(err.into()))?;
    Ok(Login {
        token,
        expires_at,
        user,
    })
}

/// Locks an account for [`LOCK_MINUTES`] from now and starts its count again.
async fn lock(db: &DatabaseConnection, id: Uuid) -> Result<()> {
    app_user::Entity::update_many()
        .col_expr(
            app_user::Column::LockedUntil,
            Expr::value(Utc::now() + Duration::minutes(LOCK_MINUTES)),
        )
        .col_expr(app_user::Column::FailedLogins, Expr::value(0))
        .filter(app_user::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// A newly issued partner token (the token itself is shown once and never stored).
pub struct IssuedToken {
    /// The token's row id (the JWT's subject), by which it is listed and revoked.
    pub id: Uuid,
    /// The signed token, shown once.
    pub token: String,
    /// When it stops being accepted.
    pub expires_at: chrono::DateTime<Utc>,
}

/// Issues a PARTNER token that lasts `days`, created by `actor` and audited as its
/// "token.issue" in the same transaction.
pub async fn issue_token(
    db: &DatabaseConnection,
    actor: &Actor,
    keys: &JwtKeys,
    name: &str,
    days: i32,
) -> Result<IssuedToken> {
    let name = validate::text("name", name, 1, 200)?;
    if !(1..=MAX_TOKEN_DAYS).contains(&days) {
        return Err(Error::invalid(format!(
            "expiresInDays: must be between 1 and {MAX_TOKEN_DAYS}"
        )));
    }
    let id = Uuid::new_v4();
    let jti = Uuid::new_v4();
    let lifetime = std::time::Duration::from_secs(u64::try_from(days).unwrap_or(1) * 86_400);
    let (token, expires_at) = keys
        .issue(
            &id.to_string(),
            "PARTNER",
            None,
            Some(&name),
            &jti.to_string(),
            lifetime,
        )
        .map_err(|err| Error::Internal(err.into()))?;
    let row = api_token::Model {
        id,
        jti,
        name,
        role: Role::Partner,
        created_by: actor.id,
        created_at: Utc::now(),
        expires_at,
        revoked_at: None,
    };
    let txn = begin_write(db).await?;
    let row = row.into_active_model().insert(&txn).await?;
    let after = json!({ "name": row.name, "expires_at": row.expires_at });
    audit::record(
        &txn,
        actor,
        "token.issue",
        "api_token",
        id,
        None,
        Some(after),
    )
    .await?;
    txn.commit().await?;
    Ok(IssuedToken {
        id,
        token,
        expires_at,
    })
}

/// Revokes a partner token, audited as `actor`'s "token.revoke" in the same transaction; false
/// (and no audit row) when it was already revoked.
pub async fn revoke_token(db: &DatabaseConnection, actor: &Actor, id: Uuid) -> Result<bool> {
    let txn = begin_write(db).await?;
    let token = api_token::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or_else(|| Error::NotFound("no token with this id".into()))?;
    if token.revoked_at.is_some() {
        return Ok(false);
    }
    let mut active = token.into_active_model();
    active.revoked_at = Set(Some(Utc::now()));
    active.update(&txn).await?;
    audit::record(&txn, actor, "token.revoke", "api_token", id, None, None).await?;
    txn.commit().await?;
    Ok(true)
}

/// Every partner token, newest first.
pub async fn tokens(db: &DatabaseConnection) -> Result<Vec<api_token::Model>> {
    Ok(api_token::Entity::find()
        .order_by_desc(api_token::Column::CreatedAt)
        .all(db)
        .await?)
}
