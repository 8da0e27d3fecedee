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
    /// The same run by kind of query.
    #[serde(default)]
    pub classes: Vec<ClassFloor>,
}

/// The engine floor of one kind of search query.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ClassFloor {
    pub class: String,
    pub requests: u64,
    /// Mean time per search on the one thread (CPU time, as nothing else runs on it).
    pub mean_us: f64,
    pub p50_us: u64,
    pub p99_us: u64,
    /// The median number of matching services.
    pub median_matches: u64,
}

/// The kinds of search query the floor is broken down by.
const CLASSES: [&str; 5] = [
    "keyword",
    "keyword + category",
    "keyword + near",
    "keyword + radius",
    "distance + radius",
];

/// The kind of a search query (an index into [`CLASSES`]).
fn class_of(query: &Query) -> Option<usize> {
    match query {
        Query::Keyword {
            radius_km: Some(_),
            near: Some(_),
            ..
        } => Some(3),
        Query::Keyword { near: Some(_), .. } => Some(2),
        Query::Keyword {
            category: Some(_), ..
        } => Some(1),
        Query::Keyword { .. } => Some(0),
        Query::Distance { .. } => Some(4),
        _ => None,
    }
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
            cards: search::Cards::Heads,
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
            cards: search::Cards::Heads,
        }),
        _ => None,
    }
}

/// Opens the index the server built in `dir`. One this build's `search` crate does not read as
/// its own (another schema version: the benchmark and the server built from other commits) is
/// opened as a new, empty index, whose figures would mean nothing: that is an error.
fn open_built(dir: &Path) -> Result<Index> {
    let index = Index::open(dir, Synonyms::parse([search::synonyms::BUILT_IN]))?;
    anyhow::ensure!(
        index.last_seq().is_some() && index.num_docs() > 0,
        "the index in {} is empty or was not written by this build's search crate (schema \
         version {}): build the benchmark and the server from the same commit",
        dir.display(),
        search::SCHEMA_VERSION
    );
    Ok(index)
}

/// Opens the index in `dir` and runs the search queries in a loop for `duration`.
pub fn floor(
    dir: &Path,
    vocabulary: Vec<(String, uuid::Uuid)>,
    queries: &[Query],
    duration: Duration,
) -> Result<Floor> {
    let index = open_built(dir)?;
    index.set_vocabulary(vocabulary);
    let today = search::day_number(chrono::Utc::now().date_naive());
    let requests: Vec<(usize, SearchRequest)> = queries
        .iter()
        .filter_map(|q| Some((class_of(q)?, request(q, today)?)))
        .collect();
    anyhow::ensure!(!requests.is_empty(), "no search queries");
    // Warm up: every query once, noting how many services each matches.
    let mut matches = Vec::with_capacity(requests.len());
    for (_, r) in &requests {
        matches.push(index.search(r)?.total_count);
    }
    let pid = std::process::id();
    let cpu_before = crate::procs::cpu_seconds(pid)?;
    let start = Instant::now();
    let mut samples = Vec::new();
    let mut by_class: Vec<(Vec<u64>, Vec<u64>)> = vec![(Vec::new(), Vec::new()); CLASSES.len()];
    let mut i = 0;
    while start.elapsed() < duration {
        let at = i % requests.len();
        let (class, request) = &requests[at];
        let began = Instant::now();
        index.search(request)?;
        let took = began.elapsed().as_micros() as u64;
        samples.push(took);
        by_class[*class].0.push(took);
        by_class[*class].1.push(matches[at]);
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
        classes: CLASSES
            .iter()
            .zip(by_class)
            .filter(|(_, (took, _))| !took.is_empty())
            .map(|(class, (mut took, mut matched))| {
                took.sort_unstable();
                matched.sort_unstable();
                let at = |share: f64| took[((took.len() - 1) as f64 * share).round() as usize];
                ClassFloor {
                    class: (*class).to_owned(),
                    requests: took.len() as u64,
                    mean_us: took.iter().sum::<u64>() as f64 / took.len() as f64,
                    p50_us: at(0.5),
                    p99_us: at(0.99),
                    median_matches: matched[matched.len() / 2],
                }
            })
            .collect(),
    })
}

/// One search query's first page as the engine ranks it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Ranked {
    /// The query's place in the query file.
    pub query: usize,
    /// What was searched for (the text, or the kind of search without text).
    pub what: String,
    pub total: u64,
    /// The ids of the top ten, best first.
    pub top: Vec<Uuid>,
}

/// The first page of each of the first `count` search queries, for comparing two engines.
pub fn rankings(
    dir: &Path,
    vocabulary: Vec<(String, uuid::Uuid)>,
    queries: &[Query],
    count: usize,
    today: i64,
    passes: usize,
) -> Result<Vec<Ranked>> {
    let index = open_built(dir)?;
    index.set_vocabulary(vocabulary);
    let first = rank_pass(&index, queries, count, today)?;
    // Later passes find the words' scores and the filters' documents kept by the first: they
    // must rank the same.
    for pass in 2..=passes {
        let again = rank_pass(&index, queries, count, today)?;
        if let Some((was, now)) = first
            .iter()
            .zip(&again)
            .find(|(was, now)| was.top != now.top)
        {
            anyhow::bail!(
                "pass {pass} ranked query {} ({:?}) otherwise: {:?}, then {:?}",
                was.query,
                was.what,
                was.top,
                now.top
            );
        }
    }
    Ok(first)
}

/// One pass of [`rankings`] over an open index.
fn rank_pass(index: &Index, queries: &[Query], count: usize, today: i64) -> Result<Vec<Ranked>> {
    let mut out = Vec::new();
    for (at, query) in queries.iter().enumerate() {
        if out.len() == count {
            break;
        }
        let Some(mut request) = request(query, today) else {
            continue;
        };
        request.first = 10;
        request.cards = search::Cards::None;
        let results = index.search(&request)?;
        out.push(Ranked {
            query: at,
            what: match query {
                Query::Keyword { text, .. } => text.clone(),
                _ => CLASSES[class_of(query).unwrap_or(4)].to_owned(),
            },
            total: results.total_count,
            top: results.hits.iter().map(|hit| hit.id).collect(),
        });
    }
    Ok(out)
}

/// How far two engines' rankings of the same queries agree.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RankDiff {
    pub queries: usize,
    /// The mean share of the first engine's top ten the second also ranks in its top ten.
    pub overlap_at_10: f64,
    /// The share of queries whose top three are the same, in the same order.
    pub same_top_3: f64,
    /// The share of queries with the same number of matches.
    pub same_total: f64,
    /// Queries whose top three differ: (query, what, first engine's, second engine's).
    pub changed: Vec<(usize, String, Vec<Uuid>, Vec<Uuid>)>,
}

/// Compares two rankings of the same queries.
pub fn rank_diff(old: &[Ranked], new: &[Ranked]) -> Result<RankDiff> {
    anyhow::ensure!(
        old.len() == new.len() && old.iter().zip(new).all(|(a, b)| a.query == b.query),
        "the rankings are of different queries"
    );
    let mut diff = RankDiff {
        queries: old.len(),
        ..RankDiff::default()
    };
    if old.is_empty() {
        return Ok(diff);
    }
    let (mut overlap, mut same3, mut same_total) = (0.0, 0usize, 0usize);
    for (a, b) in old.iter().zip(new) {
        overlap += if a.top.is_empty() {
            if b.top.is_empty() { 1.0 } else { 0.0 }
        } else {
            a.top.iter().filter(|id| b.top.contains(id)).count() as f64 / a.top.len() as f64
        };
        let top3 = |r: &Ranked| r.top.iter().take(3).copied().collect::<Vec<_>>();
        if top3(a) == top3(b) {
            same3 += 1;
        } else {
            diff.changed
                .push((a.query, a.what.clone(), top3(a), top3(b)));
        }
        if a.total == b.total {
            same_total += 1;
        }
    }
    let n = old.len() as f64;
    diff.overlap_at_10 = overlap / n;
    diff.same_top_3 = same3 as f64 / n;
    diff.same_total = same_total as f64 / n;
    Ok(diff)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranked(query: usize, top: &[u128]) -> Ranked {
        Ranked {
            query,
            what: format!("q{query}"),
            total: top.len() as u64,
            top: top.iter().map(|n| Uuid::from_u128(*n)).collect(),
        }
    }

    #[test]
    fn rank_diffs_count_overlap_and_changed_top_threes() {
        let old = [ranked(0, &[1, 2, 3, 4]), ranked(5, &[7, 8, 9, 10])];
        let new = [ranked(0, &[1, 2, 3, 5]), ranked(5, &[8, 7, 9, 10])];
        let diff = rank_diff(&old, &new).expect("same queries");
        assert!((diff.overlap_at_10 - 0.875).abs() < 1e-9);
        assert!((diff.same_top_3 - 0.5).abs() < 1e-9);
        assert_eq!(diff.changed.len(), 1);
        assert_eq!(diff.changed[0].0, 5);
        assert!(rank_diff(&old, &new[..1]).is_err());
    }
}
