//! The store's error: what a database action can end in. Each face turns it into its own answer
//! (GraphQL's `extensions.code` in `crate::error`, the REST face's status code in
//! `crate::openreferral`); the store itself knows neither.

use sea_orm::{DbErr, RuntimeErr, sqlx};

/// Why a store action failed. Messages meant for people are lowercase without a trailing
/// period and, for input at fault, start with the field's name (`"email: not an email address"`).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input is not acceptable; the message names the field.
    #[error("{0}")]
    Invalid(String),
    /// No credentials, or credentials that are not right.
    #[error("{0}")]
    Unauthenticated(String),
    /// The caller may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// The record does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The record changed meanwhile, or would clash with another.
    #[error("{0}")]
    Conflict(String),
    /// Too many attempts (failed logins) in a short time; later ones may succeed.
    #[error("{0}")]
    TooManyAttempts(String),
    /// The database could not be reached just now (see [`db_unavailable`]); the same action may
    /// succeed when retried.
    #[error("the database is unavailable; try again shortly")]
    Unavailable(#[source] DbErr),
    /// The database refused or failed the statement (bad SQL, a violated constraint, a value
    /// that does not decode).
    #[error("internal error")]
    Database(#[source] DbErr),
    /// Anything else that failed (hashing a password, signing a token).
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

/// The result of a store action.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An invalid-input error; the message names the field.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::Invalid(message.into())
    }
}

impl From<DbErr> for Error {
    /// [`Error::Unavailable`] when the database could not be reached (see [`db_unavailable`]),
    /// [`Error::Database`] otherwise. Every database error the store meets is classified here.
    fn from(err: DbErr) -> Self {
        if db_unavailable(&err) {
            Self::Unavailable(err)
        } else {
            Self::Database(err)
        }
    }
}

/// Whether a database error means the database could not be reached, so that the same request
/// may succeed later: no pooled connection within the acquire timeout, a closed pool, a failed
/// or broken connection (refused, reset, closed, any I/O or TLS error), a PostgreSQL connection
/// exception (SQLSTATE class 08), a server shutting down or starting (57P01-57P03) or out of
/// connections (53300), and SQLite's busy database. Constraint violations, bad SQL, decoding
/// failures and the like are not: they stay database errors (or conflicts, where mapped).
pub fn db_unavailable(err: &DbErr) -> bool {
    match err {
        DbErr::ConnectionAcquire(_) => true,
        DbErr::Conn(RuntimeErr::SqlxError(err))
        | DbErr::Exec(RuntimeErr::SqlxError(err))
        | DbErr::Query(RuntimeErr::SqlxError(err)) => sqlx_unavailable(err),
        // sea-orm's own connection errors ("Disconnected" after the connection was closed).
        DbErr::Conn(RuntimeErr::Internal(_)) => true,
        _ => false,
    }
}

fn sqlx_unavailable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => {
            let Some(code) = db.code() else {
                return false;
            };
            if db
                .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
                .is_some()
            {
                code.starts_with("08") || matches!(&*code, "57P01" | "57P02" | "57P03" | "53300")
            } else if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                // The primary result code is the low byte of the extended one: SQLITE_BUSY.
                code.parse::<i32>().is_ok_and(|code| code & 0xff == 5)
            } else {
                false
            }
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use sea_orm::{ConnAcquireErr, DbErr, RuntimeErr, sqlx};

    use super::{Error, db_unavailable};

    #[test]
    fn pool_timeouts_and_lost_connections_are_unavailable() {
        assert!(db_unavailable(&DbErr::ConnectionAcquire(
            ConnAcquireErr::Timeout
        )));
        assert!(db_unavailable(&DbErr::Query(RuntimeErr::SqlxError(
            sqlx::Error::PoolTimedOut.into()
        ))));
        assert!(matches!(
            Error::from(DbErr::ConnectionAcquire(ConnAcquireErr::Timeout)),
            Error::Unavailable(_)
        ));
    }

    #[test]
    fn other_database_errors_are_not() {
        let err = DbErr::RecordNotFound("gone".into());
        assert!(!db_unavailable(&err));
        assert!(matches!(Error::from(err), Error::Database(_)));
        assert!(matches!(
            Error::from(DbErr::Query(RuntimeErr::SqlxError(
                sqlx::Error::RowNotFound.into()
            ))),
            Error::Database(_)
        ));
    }
}
