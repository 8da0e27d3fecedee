//! What the load generator drives: anything that can open connections and answer queries.

use anyhow::Result;

use crate::model::Query;

/// A system under measurement.
#[async_trait::async_trait]
pub trait Target: Send + Sync + 'static {
    /// One client connection (HTTP keep-alive, or a database session).
    type Conn: Send + 'static;

    /// A short name for the report.
    fn name(&self) -> &str;

    /// Opens one connection.
    async fn connect(&self) -> Result<Self::Conn>;

    /// Answers one query; returns the ids of the results in order (empty for queries that
    /// return no list of services, such as suggestions). A wrong answer is an error.
    async fn run(&self, conn: &mut Self::Conn, query: &Query) -> Result<Vec<String>>;
}
