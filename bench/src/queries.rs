//! The query file: seeded, drawn from the generated directory, identical for every system.

use fastrand::Rng;
use serde::{Deserialize, Serialize};

use crate::{
    dataset::{Dataset, QUERY_TERMS, zipf},
    model::{Query, QueryClass},
};

/// The measured queries and the separate admin update phase.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct QueryFile {
    pub seed: u64,
    pub queries: Vec<Query>,
    /// Services the update phase edits, in order.
    pub updates: Vec<String>,
}

/// One edit away: a letter dropped, doubled or two swapped, inside a word of five or more.
fn typo(rng: &mut Rng, word: &str) -> String {
    let chars: Vec<char> = word.chars().collect();
    if chars.len() < 5 {
        return word.to_owned();
    }
    let at = rng.usize(1..chars.len() - 1);
    let mut out = chars.clone();
    match rng.u8(..3) {
        0 => {
            out.remove(at);
        }
        1 => out.insert(at, chars[at]),
        _ => out.swap(at, at + 1),
    }
    out.into_iter().collect()
}

/// Up to three words from the query vocabulary, sometimes with a typo, sometimes with the last
/// word cut to a prefix.
fn keywords(rng: &mut Rng, weights: &[f64]) -> String {
    let mut words: Vec<String> = Vec::new();
    let target = [1, 1, 2, 2, 2, 3][rng.usize(..6)];
    while words.len() < target {
        let phrase = QUERY_TERMS[Dataset::draw(rng, weights)];
        for w in phrase.split(' ') {
            if words.len() < target && !words.iter().any(|x| x == w) {
                words.push(w.to_owned());
            }
        }
    }
    let roll = rng.f64();
    if roll < 0.15 {
        let i = rng.usize(..words.len());
        words[i] = typo(rng, &words[i]);
    } else if roll < 0.30
        && let Some(last) = words.last_mut()
        && last.len() > 4
    {
        let keep = rng.usize(3..last.len());
        last.truncate(keep);
    }
    words.join(" ")
}

impl QueryFile {
    /// `count` queries in the mix: 45% keyword, 20% filter and distance, 15% fetch by id from a
    /// hot set, 10% nested listing pages, 10% suggestions; plus `updates` services to edit.
    pub fn generate(data: &Dataset, count: usize, updates: usize, seed: u64) -> QueryFile {
        let mut rng = Rng::with_seed(seed);
        let terms = zipf(QUERY_TERMS.len());
        let towns = data.town_weights();
        let active: Vec<&crate::dataset::Service> =
            data.services.iter().filter(|s| s.active).collect();
        let hot: Vec<String> = (0..200.min(active.len()))
            .map(|_| active[rng.usize(..active.len())].id.to_string())
            .collect();
        let hot_weights = zipf(hot.len());
        let category = |rng: &mut Rng| {
            (rng.f64() < 0.4).then(|| data.terms[rng.usize(..data.terms.len())].id.to_string())
        };
        let age = |rng: &mut Rng| (rng.f64() < 0.3).then(|| f64::from(rng.u8(..=24)));
        let mut queries = Vec::with_capacity(count);
        for _ in 0..count {
            let roll = rng.f64();
            let query = if roll < 0.45 {
                let near = (rng.f64() < 0.6).then(|| data.place(&mut rng, &towns));
                let radius_km = near.as_ref().and_then(|_| {
                    (rng.f64() < 0.5).then(|| [10.0, 15.0, 20.0, 30.0][rng.usize(..4)])
                });
                Query::Keyword {
                    text: keywords(&mut rng, &terms),
                    category: category(&mut rng),
                    infant_age_months: age(&mut rng),
                    near,
                    radius_km,
                }
            } else if roll < 0.65 {
                Query::Distance {
                    category: (rng.f64() < 0.8)
                        .then(|| data.terms[rng.usize(..data.terms.len())].id.to_string()),
                    infant_age_months: age(&mut rng),
                    near: data.place(&mut rng, &towns),
                    radius_km: [5.0, 10.0, 20.0][rng.usize(..3)],
                }
            } else if roll < 0.80 {
                Query::Fetch {
                    id: hot[Dataset::draw(&mut rng, &hot_weights)].clone(),
                }
            } else if roll < 0.90 {
                Query::Listing {
                    category: category(&mut rng),
                    page: [0, 0, 0, 1, 2, 4][rng.usize(..6)],
                }
            } else {
                let phrase = QUERY_TERMS[Dataset::draw(&mut rng, &terms)];
                let len = rng.usize(3..=phrase.len().clamp(3, 7));
                Query::Suggest {
                    prefix: phrase
                        .chars()
                        .take(len)
                        .collect::<String>()
                        .trim()
                        .to_owned(),
                }
            };
            queries.push(query);
        }
        let updates = (0..updates)
            .map(|_| active[rng.usize(..active.len())].id.to_string())
            .collect();
        QueryFile {
            seed,
            queries,
            updates,
        }
    }

    /// The queries of one class, in file order.
    pub fn of(&self, class: QueryClass) -> Vec<Query> {
        self.queries
            .iter()
            .filter(|q| q.class() == class)
            .cloned()
            .collect()
    }
}
