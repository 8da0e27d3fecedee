//! Signpost's integration tests: one binary, each test with its own server and database.

mod accounts;
mod attacks;
mod browse;
mod catchments;
mod changes;
mod connections;
mod database_faults;
mod demo;
mod editing;
mod eligibility;
mod filters;
mod fuzz;
mod independent;
mod index_faults;
mod interpretation;
mod openreferral;
mod openreferral_import;
mod operators;
mod property;
mod protection;
mod relevance;
mod schema;
mod search;
mod statements;
mod sync;
mod web;
