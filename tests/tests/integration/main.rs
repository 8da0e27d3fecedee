//! Signpost's integration tests: one binary, each test with its own server and database.

mod browse;
mod changes;
mod filters;
mod property;
mod protection;
mod relevance;
mod schema;
mod search;
mod statements;
mod sync;
