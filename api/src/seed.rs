//! The demo directory: sample listings kept in `data/demo-directory.json`, an HSDS 3 document with
//! Signpost's extension keys, loaded through the Open Referral importer into an empty database.
//! Contact details in it are fictitious.
//!
//! The document's dates are written for the day its top-level `reference_date` names. Seeding
//! moves them forward by the days from then to today, so that the listings look as fresh whenever
//! the server starts: each service's `assured_date` by whole days, and each event's `starts_at`
//! and `ends_at` by whole days at the same UK wall-clock time.

use anyhow::{Context, bail};
use chrono::{
    DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, SecondsFormat, TimeDelta, TimeZone,
    Utc, Weekday,
};
use entity::{organization, service};
use sea_orm::{DatabaseConnection, EntityTrait, PaginatorTrait};
use serde_json::Value;

use crate::hsds::import::{self, Actor};

/// The demo directory, compiled into the binary so it seeds from anywhere.
pub const DEMO_DIRECTORY: &str = include_str!("../../data/demo-directory.json");

/// Who the audit log says loaded the demo listings.
pub const DEMO_ACTOR: &str = "demo directory";

/// What a seed run did.
#[derive(Debug, PartialEq, Eq)]
pub enum SeedOutcome {
    /// The demo directory was loaded.
    Seeded {
        /// Organisations loaded.
        organizations: usize,
        /// Services loaded.
        services: usize,
        /// Events loaded.
        events: usize,
    },
    /// The database already held listings; nothing was written.
    AlreadyPopulated,
}

/// Loads the demo directory into `db` when it holds no organisations or services yet: its dates
/// moved to today, imported strictly (all or nothing, in one transaction) with an audit row by
/// [`DEMO_ACTOR`] and a change row for every organisation, service and event.
pub async fn seed_demo(db: &DatabaseConnection) -> anyhow::Result<SeedOutcome> {
    let mut document: Value =
        serde_json::from_str(DEMO_DIRECTORY).context("the demo directory file is not JSON")?;
    if organization::Entity::find().count(db).await? > 0
        || service::Entity::find().count(db).await? > 0
    {
        return Ok(SeedOutcome::AlreadyPopulated);
    }
    shift_dates(&mut document, Utc::now().date_naive())?;
    let actor = Actor {
        id: None,
        label: DEMO_ACTOR.to_owned(),
    };
    let report = import::import_document(db, &actor, &document, true).await?;
    if !report.failed.is_empty() {
        bail!(
            "the demo directory could not be imported: {}",
            import::summary(&report)
        );
    }
    let len = |value: Option<&Value>| value.and_then(Value::as_array).map_or(0, Vec::len);
    Ok(SeedOutcome::Seeded {
        organizations: len(document.get("organizations")),
        services: len(document.get("services")),
        events: document
            .get("services")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|service| len(service.get("events")))
            .sum(),
    })
}

/// Moves the dates of an HSDS document written for its `reference_date` to `today`: every
/// service's `assured_date`, and the `starts_at` and `ends_at` of the events of its `events`
/// extension, keeping their UK wall-clock time (and writing them in UTC).
pub fn shift_dates(document: &mut Value, today: NaiveDate) -> anyhow::Result<()> {
    let reference = document
        .get("reference_date")
        .and_then(Value::as_str)
        .context("the document names no reference_date")?;
    let reference = NaiveDate::parse_from_str(reference, "%Y-%m-%d")
        .with_context(|| format!("reference_date {reference} is not a date (YYYY-MM-DD)"))?;
    let shift = today.signed_duration_since(reference);
    let services = document
        .get_mut("services")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten();
    for service in services {
        if let Some(Value::String(date)) = service.get_mut("assured_date") {
            let assured = NaiveDate::parse_from_str(date, "%Y-%m-%d")
                .with_context(|| format!("assured_date {date} is not a date (YYYY-MM-DD)"))?;
            *date = (assured + shift).format("%Y-%m-%d").to_string();
        }
        let events = service
            .get_mut("events")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten();
        for event in events {
            for key in ["starts_at", "ends_at"] {
                if let Some(Value::String(time)) = event.get_mut(key) {
                    let at = DateTime::parse_from_rfc3339(time)
                        .with_context(|| format!("event {key} {time} is not an RFC 3339 time"))?;
                    let local = utc_to_uk_local(at.with_timezone(&Utc));
                    let moved = uk_local_to_utc(local.date() + shift, local.time());
                    *time = moved.to_rfc3339_opts(SecondsFormat::Secs, true);
                }
            }
        }
    }
    Ok(())
}

/// The last Sunday of a month, for the UK's summer time rules.
fn last_sunday(year: i32, month: u32) -> Option<NaiveDate> {
    let next_month = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)
    }?;
    let mut day = next_month.pred_opt()?;
    while day.weekday() != Weekday::Sun {
        day = day.pred_opt()?;
    }
    Some(day)
}

/// Whether British Summer Time is in force at `instant`: from 01:00 UTC on the last Sunday of
/// March to 01:00 UTC on the last Sunday of October.
fn is_summer_time(instant: DateTime<Utc>) -> bool {
    let year = instant.year();
    match (last_sunday(year, 3), last_sunday(year, 10)) {
        (Some(start), Some(end)) => {
            let one = NaiveTime::from_hms_opt(1, 0, 0).unwrap_or_default();
            let starts = Utc.from_utc_datetime(&start.and_time(one));
            let ends = Utc.from_utc_datetime(&end.and_time(one));
            instant >= starts && instant < ends
        }
        _ => false,
    }
}

/// Converts a UK wall-clock time to UTC (see [`is_summer_time`]).
pub fn uk_local_to_utc(day: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    let as_utc = Utc.from_utc_datetime(&NaiveDateTime::new(day, time));
    if is_summer_time(as_utc - TimeDelta::hours(1)) {
        as_utc - TimeDelta::hours(1)
    } else {
        as_utc
    }
}

/// The UK wall-clock time at `instant`.
fn utc_to_uk_local(instant: DateTime<Utc>) -> NaiveDateTime {
    let local = instant.naive_utc();
    if is_summer_time(instant) {
        local + TimeDelta::hours(1)
    } else {
        local
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
    }

    #[test]
    fn uk_times_follow_summer_time() {
        let noon = NaiveTime::from_hms_opt(12, 0, 0).unwrap_or_default();
        assert_eq!(
            uk_local_to_utc(day(2026, 1, 15), noon).to_rfc3339(),
            "2026-01-15T12:00:00+00:00"
        );
        assert_eq!(
            uk_local_to_utc(day(2026, 7, 15), noon).to_rfc3339(),
            "2026-07-15T11:00:00+00:00"
        );
        for at in [day(2026, 1, 15), day(2026, 7, 15), day(2026, 10, 25)] {
            assert_eq!(
                utc_to_uk_local(uk_local_to_utc(at, noon)),
                at.and_time(noon)
            );
        }
    }

    #[test]
    fn dates_move_by_the_days_since_the_reference_date() {
        let mut document = json!({
            "reference_date": "2026-03-20",
            "services": [
                { "id": "a", "assured_date": "2026-03-10", "events": [
                    { "starts_at": "2026-03-25T10:00:00+00:00", "ends_at": "2026-03-25T13:00:00Z" }
                ] },
                { "id": "b" }
            ]
        });
        // Ten days on, the event falls in summer time and keeps its UK wall-clock time.
        shift_dates(&mut document, day(2026, 3, 30)).expect("a shift");
        assert_eq!(document["services"][0]["assured_date"], "2026-03-20");
        let event = &document["services"][0]["events"][0];
        assert_eq!(event["starts_at"], "2026-04-04T09:00:00Z");
        assert_eq!(event["ends_at"], "2026-04-04T12:00:00Z");
        assert!(document["services"][1].get("assured_date").is_none());

        let mut undated = json!({ "services": [] });
        assert!(shift_dates(&mut undated, day(2026, 3, 30)).is_err());
    }

    #[test]
    fn the_demo_directory_is_an_hsds_document_with_a_reference_date() {
        let mut document: Value = serde_json::from_str(DEMO_DIRECTORY).expect("JSON");
        assert!(
            shift_dates(&mut document, Utc::now().date_naive()).is_ok(),
            "the demo directory's dates cannot be moved"
        );
        for key in ["taxonomies", "taxonomy_terms", "organizations", "locations"] {
            assert!(document[key].is_array(), "{key}");
        }
        assert!(
            document["services"]
                .as_array()
                .is_some_and(|services| !services.is_empty())
        );
    }
}
