//! The engine floor: the same search queries straight against the `search` crate, in one
//! process on one thread, with no HTTP, GraphQL or database.

use std::{
    path::Path,
    str::FromStr,
    time::{Duration, Instant},
};

use anyhow::Result;
use search::{Coverage, Filter, Index, Near, SearchRequest, Sort, Synonyms};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    measure::{Latency, percentiles},
    model::{PAGE, Place, Query},
};

/// What the engine did on its own.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Floor {
    pub requests: u64,
    pub seconds: f64,
    pub per_second: f64,
    pub cpu_us_per_request: f64,
    pub latency: Latency,
}

fn near(place: &Place, radius_km: Option<f64>) -> Near {
    Near {
        latitude: place.latitude,
        longitude: place.longitude,
        radius_km,
        coverage: Some(Coverage {
            area: place.area.clone(),
            district: place.district.clone(),
            sector: Some(place.postcode.clone()),
            codes: Vec::new(),
        }),
    }
}

fn filter(category: &Option<String>, age: &Option<f64>) -> Filter {
    Filter {
        categories: category
            .iter()
            .filter_map(|c| Uuid::from_str(c).ok())
            .collect(),
        infant_age_months: *age,
        ..Filter::default()
    }
}

/// The search request Signpost's GraphQL layer builds for a query (None for other classes).
pub fn request(query: &Query, today: i64) -> Option<SearchRequest> {
    match query {
        Query::Keyword {
            text,
            category,
            infant_age_months,
            near: place,
            radius_km,
        } => Some(SearchRequest {
            text: Some(text.clone()),
            filter: filter(category, infant_age_months),
            near: place.as_ref().map(|p| near(p, *radius_km)),
            sort: Sort::Relevance,
            first: PAGE,
            after: None,
            today,
            facets: false,
            highlights: false,
            coverage_of: None,
            cards: true,
        }),
        Query::Distance {
            category,
            infant_age_months,
            near: place,
            radius_km,
        } => Some(SearchRequest {
            text: None,
            filter: filter(category, infant_age_months),
            near: Some(near(place, Some(*radius_km))),
            sort: Sort::Distance,
            first: PAGE,
            after: None,
            today,
            facets: false,
            highlights: false,
            coverage_of: None,
            cards: true,
        }),
        _ => None,
    }
}

/// Opens the index in `dir` and runs the search queries in a loop for `duration`.
pub fn floor(
    dir: &Path,
    vocabulary: Vec<(String, uuid::Uuid)>,
    queries: &[Query],
    duration: Duration,
) -> Result<Floor> {
    let index = Index::open(dir, Synonyms::parse([search::synonyms::BUILT_IN]))?;
    index.set_vocabulary(vocabulary);
    let today = search::day_number(chrono::Utc::now().date_naive());
    let requests: Vec<SearchRequest> = queries.iter().filter_map(|q| request(q, today)).collect();
    anyhow::ensure!(!requests.is_empty(), "no search queries");
    // Warm up: every query once.
    for r in &requests {
        index.search(r)?;
    }
    let pid = std::process::id();
    let cpu_before = crate::procs::cpu_seconds(pid)?;
    let start = Instant::now();
    let mut samples = Vec::new();
    let mut i = 0;
    while start.elapsed() < duration {
        let began = Instant::now();
        index.search(&requests[i % requests.len()])?;
        samples.push(began.elapsed().as_micros() as u64);
        i += 1;
    }
    let seconds = start.elapsed().as_secs_f64();
    let cpu = crate::procs::cpu_seconds(pid)? - cpu_before;
    let n = samples.len() as u64;
    Ok(Floor {
        requests: n,
        seconds,
        per_second: n as f64 / seconds,
        cpu_us_per_request: cpu * 1e6 / n.max(1) as f64,
        latency: percentiles(samples, 0, n as f64 / seconds),
    })
}
