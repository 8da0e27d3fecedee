//! Signpost's integration tests: one binary, each test with its own server and database.

mod browse;
mod filters;
mod protection;
mod schema;
mod statements;
