//! Signpost's database entities.
//!
//! Table and column names follow Open Referral HSDS 3 / Open Referral UK where the concept exists
//! there (`organization`, `service`, `service_area`, `location`, `service_at_location`, `contact`,
//! `phone`, `schedule`, `taxonomy`, `taxonomy_term`, `attribute`); the first 1001 days extensions
//! (level of need, eligibility, referral routes, delivery modes) live on `service`.
//! These are storage models only: the GraphQL types are in the `api` crate.

#![warn(missing_docs)]

pub mod api_token;
pub mod app_user;
pub mod attribute;
pub mod audit_event;
pub mod change;
pub mod codes;
pub mod contact;
pub mod enums;
pub mod event;
pub mod listing_report;
pub mod location;
pub mod organization;
pub mod phone;
pub mod schedule;
pub mod service;
pub mod service_area;
pub mod service_at_location;
pub mod taxonomy;
pub mod taxonomy_term;

pub use enums::*;
