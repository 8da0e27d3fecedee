//! PostgreSQL's own full-text search as a reference: the same documents in one table with a
//! weighted `tsvector`, GIN indexes, and one SQL statement per query.
//!
//! Known differences from Signpost: no typo tolerance (every word is a prefix match, so a cut
//! word is found but a misspelt one is not), no synonyms, every word must match (stemmed or as
//! written), ranking is
//! `ts_rank_cd` (with a gentle distance factor when a place is given without a radius) rather
//! than BM25 with freshness and age hints, a circle catchment is tested against its centre and
//! radius rather than the postcode sectors inside it, and names sort in the database collation.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use sqlx::{AssertSqlSafe, Connection, PgConnection, Row};

use crate::{
    load::Target,
    model::{PAGE, PeerDoc, Place, Query},
};

/// The table the documents are loaded into.
const TABLE: &str = "bench_fts_service";

/// Rows per INSERT while loading.
const BATCH: usize = 1_000;

/// How many completions a suggestion query returns.
const SUGGESTIONS: i64 = 8;

/// Separates the elements of a nested list bound as one text (a two-dimensional array of
/// ragged rows cannot be bound and unnested as such).
const SEP: char = '\u{1f}';

/// The distance, for ranking only, of a service without a location.
const NO_LOCATION_KM: f64 = 50.0;

/// PostgreSQL full-text search over a loaded copy of the directory.
pub struct PgFts {
    url: String,
}

/// One bound parameter.
enum Bind {
    Text(String),
    F64(f64),
    I64(i64),
}

/// A statement being built: SQL made only of fixed fragments and numbered parameters, and the
/// values bound to them.
#[derive(Default)]
struct Statement {
    binds: Vec<Bind>,
}

impl Statement {
    /// Adds a parameter and returns its placeholder, cast to its type.
    fn param(&mut self, bind: Bind) -> String {
        let cast = match bind {
            Bind::Text(_) => "text",
            Bind::F64(_) => "float8",
            Bind::I64(_) => "int8",
        };
        self.binds.push(bind);
        format!("${}::{cast}", self.binds.len())
    }

    fn text(&mut self, value: &str) -> String {
        self.param(Bind::Text(value.to_owned()))
    }

    fn f64(&mut self, value: f64) -> String {
        self.param(Bind::F64(value))
    }

    /// Runs `sql` with the bound values and returns the rows.
    async fn fetch(
        self,
        conn: &mut PgConnection,
        sql: String,
    ) -> Result<Vec<sqlx::postgres::PgRow>> {
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for bind in self.binds {
            query = match bind {
                Bind::Text(value) => query.bind(value),
                Bind::F64(value) => query.bind(value),
                Bind::I64(value) => query.bind(value),
            };
        }
        Ok(query.fetch_all(&mut *conn).await?)
    }
}

/// Great-circle distance in km between two points given as SQL expressions (haversine, mean
/// Earth radius 6371 km).
fn haversine(lat1: &str, lon1: &str, lat2: &str, lon2: &str) -> String {
    format!(
        "(12742.0 * asin(sqrt(least(1.0, \
         power(sin(radians({lat2} - {lat1}) / 2), 2) \
         + cos(radians({lat1})) * cos(radians({lat2})) * power(sin(radians({lon2} - {lon1}) / 2), 2)))))"
    )
}

/// The tsquery text for free text: each alphanumeric word, lower-cased, as a prefix, all
/// required. `None` when the text has no word. It is parsed twice, stemmed and as written, and
/// either may match.
fn tsquery_text(text: &str) -> Option<String> {
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| format!("{}:*", w.to_lowercase()))
        .collect();
    (!words.is_empty()).then(|| words.join(" & "))
}

/// The filters shared by keyword and distance queries, as `AND ...` clauses; also returns the
/// distance expression when a place is given.
fn filters(
    st: &mut Statement,
    category: Option<&str>,
    infant_age_months: Option<f64>,
    near: Option<&Place>,
    radius_km: Option<f64>,
) -> (String, Option<String>) {
    let mut clauses = String::new();
    if let Some(category) = category {
        // `@>` rather than `= ANY` so that the GIN index on term_ids can serve it.
        let c = st.text(category);
        clauses.push_str(&format!(" AND term_ids @> ARRAY[{c}]"));
    }
    if let Some(age) = infant_age_months {
        let a = st.f64(age);
        clauses.push_str(&format!(
            " AND (min_age IS NULL OR min_age <= {a}) AND (max_age IS NULL OR max_age >= {a})"
        ));
    }
    let distance = near.map(|place| {
        let lat = st.f64(place.latitude);
        let lon = st.f64(place.longitude);
        let distance = haversine(&lat, &lon, "lat", "lon");
        if let Some(radius) = radius_km {
            let r = st.f64(radius);
            let district = st.text(&place.district);
            let area = st.text(&place.area);
            let to_circle = haversine(&lat, &lon, "radius_lat", "radius_lon");
            clauses.push_str(&format!(
                " AND ((lat IS NOT NULL AND {distance} <= {r}) OR (lat IS NULL AND (national \
                 OR covers && ARRAY[{district}, {area}] \
                 OR (radius_km IS NOT NULL AND {to_circle} <= radius_km))))"
            ));
        }
        distance
    });
    (clauses, distance)
}

/// The ids of the rows, in order.
fn ids(rows: &[sqlx::postgres::PgRow]) -> Result<Vec<String>> {
    rows.iter()
        .map(|row| row.try_get::<String, _>("id").map_err(Into::into))
        .collect()
}

/// Drops the benchmark table.
pub async fn drop_table(url: &str) -> Result<()> {
    let mut conn = PgConnection::connect(url)
        .await
        .with_context(|| format!("cannot connect to {url}"))?;
    sqlx::query("DROP TABLE IF EXISTS bench_fts_service")
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    Ok(())
}

/// One column of a batch, to bind as an array.
fn column<T>(batch: &[PeerDoc], value: impl Fn(&PeerDoc) -> T) -> Vec<T> {
    batch.iter().map(value).collect()
}

/// Binds a list of lists as one text per row, its elements separated by [`SEP`].
fn joined(lists: impl Iterator<Item = Vec<String>>) -> Result<Vec<String>> {
    lists
        .map(|list| {
            if list.iter().any(|s| s.contains(SEP)) {
                bail!("a list element contains the separator U+001F");
            }
            Ok(list.join(&SEP.to_string()))
        })
        .collect()
}

impl PgFts {
    /// Connects to `url`, (re)creates the table, loads `docs`, builds the indexes and analyses
    /// the table; returns the time all of that took.
    pub async fn load(url: &str, docs: &[PeerDoc]) -> Result<(PgFts, Duration)> {
        let mut conn = PgConnection::connect(url)
            .await
            .with_context(|| format!("cannot connect to {url}"))?;
        let started = Instant::now();
        sqlx::query("DROP TABLE IF EXISTS bench_fts_service")
            .execute(&mut conn)
            .await?;
        // `array_to_string` is not immutable, so the term names are also stored joined, for
        // the generated column. Each field is indexed stemmed ('english') and as written
        // ('simple'): a word cut short ("swimm") is not a prefix of its stem ("swim") but is
        // one of the word as written ("swimming").
        sqlx::query(
            "CREATE TABLE bench_fts_service (
                id text PRIMARY KEY,
                name text NOT NULL,
                organization text NOT NULL,
                description text NOT NULL,
                term_names text[] NOT NULL,
                term_text text NOT NULL,
                term_ids text[] NOT NULL,
                min_age float8,
                max_age float8,
                from_pregnancy bool NOT NULL,
                level text NOT NULL,
                self_referral bool NOT NULL,
                lat float8,
                lon float8,
                covers text[] NOT NULL,
                radius_lat float8,
                radius_lon float8,
                radius_km float8,
                national bool NOT NULL,
                active bool NOT NULL,
                tsv tsvector GENERATED ALWAYS AS (
                    setweight(to_tsvector('english', name) || to_tsvector('simple', name), 'A')
                    || setweight(to_tsvector('english', organization)
                        || to_tsvector('simple', organization), 'C')
                    || setweight(to_tsvector('english', term_text)
                        || to_tsvector('simple', term_text), 'B')
                    || setweight(to_tsvector('english', description)
                        || to_tsvector('simple', description), 'D')
                ) STORED
            )",
        )
        .execute(&mut conn)
        .await?;
        for batch in docs.chunks(BATCH) {
            sqlx::query(
                "INSERT INTO bench_fts_service (id, name, organization, description, term_names,
                    term_text, term_ids, min_age, max_age, from_pregnancy, level, self_referral,
                    lat, lon, covers, radius_lat, radius_lon, radius_km, national, active)
                 SELECT id, name, organization, description,
                    string_to_array(term_names, chr(31)), replace(term_names, chr(31), ' '),
                    string_to_array(term_ids, chr(31)), min_age, max_age, from_pregnancy, level,
                    self_referral, lat, lon, string_to_array(covers, chr(31)),
                    radius_lat, radius_lon, radius_km, national, active
                 FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                    $6::text[], $7::float8[], $8::float8[], $9::bool[], $10::text[], $11::bool[],
                    $12::float8[], $13::float8[], $14::text[], $15::float8[], $16::float8[],
                    $17::float8[], $18::bool[], $19::bool[])
                    AS t(id, name, organization, description, term_names, term_ids, min_age,
                    max_age, from_pregnancy, level, self_referral, lat, lon, covers, radius_lat,
                    radius_lon, radius_km, national, active)",
            )
            .bind(column(batch, |d| d.id.clone()))
            .bind(column(batch, |d| d.name.clone()))
            .bind(column(batch, |d| d.organization.clone()))
            .bind(column(batch, |d| d.description.clone()))
            .bind(joined(batch.iter().map(|d| d.term_names.clone()))?)
            .bind(joined(batch.iter().map(|d| d.term_ids.clone()))?)
            .bind(column(batch, |d| d.min_age_months))
            .bind(column(batch, |d| d.max_age_months))
            .bind(column(batch, |d| d.from_pregnancy))
            .bind(column(batch, |d| d.level_of_need.clone()))
            .bind(column(batch, |d| d.self_referral))
            .bind(column(batch, |d| d.latitude))
            .bind(column(batch, |d| d.longitude))
            .bind(joined(batch.iter().map(|d| d.covers_prefixes.clone()))?)
            .bind(column(batch, |d| d.covers_radius.map(|c| c.0)))
            .bind(column(batch, |d| d.covers_radius.map(|c| c.1)))
            .bind(column(batch, |d| d.covers_radius.map(|c| c.2)))
            .bind(column(batch, |d| d.national))
            .bind(column(batch, |d| d.active))
            .execute(&mut conn)
            .await
            .context("loading a batch into PostgreSQL")?;
        }
        for sql in [
            "CREATE INDEX bench_fts_service_tsv ON bench_fts_service USING GIN (tsv)",
            "CREATE INDEX bench_fts_service_terms ON bench_fts_service USING GIN (term_ids)",
            "CREATE INDEX bench_fts_service_name ON bench_fts_service (name, id)",
            "ANALYZE bench_fts_service",
        ] {
            sqlx::query(sql).execute(&mut conn).await?;
        }
        let took = started.elapsed();
        conn.close().await?;
        Ok((
            PgFts {
                url: url.to_owned(),
            },
            took,
        ))
    }
}

#[async_trait::async_trait]
impl Target for PgFts {
    type Conn = PgConnection;

    fn name(&self) -> &str {
        "PostgreSQL FTS"
    }

    async fn connect(&self) -> Result<PgConnection> {
        PgConnection::connect(&self.url)
            .await
            .with_context(|| format!("cannot connect to {}", self.url))
    }

    async fn run(&self, conn: &mut PgConnection, query: &Query) -> Result<Vec<String>> {
        let mut st = Statement::default();
        match query {
            Query::Keyword {
                text,
                category,
                infant_age_months,
                near,
                radius_km,
            } => {
                let Some(words) = tsquery_text(text) else {
                    return Ok(Vec::new());
                };
                let q = st.text(&words);
                let (clauses, distance) = filters(
                    &mut st,
                    category.as_deref(),
                    *infant_age_months,
                    near.as_ref(),
                    *radius_km,
                );
                let rank = match (&distance, radius_km) {
                    (Some(distance), None) => format!(
                        "ts_rank_cd(tsv, q) / (1 + coalesce({distance}, {NO_LOCATION_KM:.1}) / 50.0)"
                    ),
                    _ => "ts_rank_cd(tsv, q)".to_owned(),
                };
                let sql = format!(
                    "SELECT id, name, organization FROM {TABLE}, \
                     tsquery_or(to_tsquery('english', {q}), to_tsquery('simple', {q})) AS q \
                     WHERE active AND tsv @@ q{clauses} \
                     ORDER BY {rank} DESC, id LIMIT {PAGE}"
                );
                ids(&st.fetch(conn, sql).await?)
            }
            Query::Distance {
                category,
                infant_age_months,
                near,
                radius_km,
            } => {
                let (clauses, distance) = filters(
                    &mut st,
                    category.as_deref(),
                    *infant_age_months,
                    Some(near),
                    Some(*radius_km),
                );
                let distance = distance.context("a distance query without a place")?;
                let sql = format!(
                    "SELECT id, name, organization FROM {TABLE} WHERE active{clauses} \
                     ORDER BY {distance} ASC NULLS LAST, id LIMIT {PAGE}"
                );
                ids(&st.fetch(conn, sql).await?)
            }
            Query::Fetch { id } => {
                let row = sqlx::query(
                    "SELECT id, name, description, organization, level, term_ids, term_names, \
                     lat, lon, min_age, max_age, from_pregnancy, self_referral \
                     FROM bench_fts_service WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(&mut *conn)
                .await?
                .with_context(|| format!("service {id} not found"))?;
                let found: String = row.try_get("id")?;
                // Decode what an answer would carry, as a client would.
                let _: String = row.try_get("name")?;
                let _: String = row.try_get("description")?;
                let _: Vec<String> = row.try_get("term_ids")?;
                let _: Option<f64> = row.try_get("lat")?;
                if &found != id {
                    bail!("asked for {id}, got {found}");
                }
                Ok(vec![found])
            }
            Query::Listing { category, page } => {
                let mut clauses = String::new();
                if let Some(category) = category {
                    let c = st.text(category);
                    clauses.push_str(&format!(" AND term_ids @> ARRAY[{c}]"));
                }
                let offset = st.param(Bind::I64(i64::from(*page) * PAGE as i64));
                let sql = format!(
                    "SELECT id, name, organization, level, term_names, lat, lon FROM {TABLE} \
                     WHERE active{clauses} ORDER BY name, id LIMIT {PAGE} OFFSET {offset}"
                );
                let rows = st.fetch(conn, sql).await?;
                if rows.len() > PAGE {
                    bail!("a page of {} services", rows.len());
                }
                ids(&rows)
            }
            Query::Suggest { prefix } => {
                let words: Vec<String> = prefix
                    .split(|c: char| !c.is_alphanumeric())
                    .filter(|w| !w.is_empty())
                    .map(|w| format!("{}:*A", w.to_lowercase()))
                    .collect();
                if words.is_empty() {
                    return Ok(Vec::new());
                }
                let q = st.text(&words.join(" & "));
                let sql = format!(
                    "SELECT DISTINCT name FROM {TABLE} \
                     WHERE active \
                     AND tsv @@ (to_tsquery('english', {q}) || to_tsquery('simple', {q})) \
                     ORDER BY name LIMIT {SUGGESTIONS}"
                );
                let rows = st.fetch(conn, sql).await?;
                for row in &rows {
                    let _: String = row.try_get("name")?;
                }
                Ok(Vec::new())
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Names of the sample services; the one at index `i` lies about 1.1 km × `i` north of
    /// [`place`] when it has a location.
    const NAMES: [&str; 30] = [
        "Baby Massage Class",
        "Toddler Swimming Sessions",
        "Breastfeeding Support Group",
        "Speech and Language Therapy",
        "Stay and Play",
        "Parenting Course",
        "Dads Club",
        "Childrens Centre Drop-in",
        "Health Visitor Clinic",
        "Infant Feeding Team",
        "Music and Rhyme Time",
        "Perinatal Mental Health",
        "Family Support Worker",
        "Sensory Play Room",
        "Baby Sign Language",
        "Young Parents Group",
        "Twins and Multiples",
        "Home Start Volunteers",
        "Food Bank Referral",
        "Housing Advice Service",
        "Debt Advice Line",
        "Portage Home Visiting",
        "Early Years Library",
        "Postnatal Yoga",
        "Antenatal Classes",
        "National Parent Helpline",
        "Cheltenham Family Hub",
        "Bristol Outreach Team",
        "Countywide Nurse Service",
        "Closed Baby Cafe",
    ];

    /// The id of sample service `i`.
    pub(crate) fn id(i: usize) -> String {
        format!("svc-{i:02}")
    }

    /// Thirty services: 0-24 located in a line going north from [`place`]; 25 national; 26
    /// covering GL50; 27 covering BS1; 28 covering a 10 km circle around the place; 29
    /// inactive. Even ones carry `term-even`, odd ones `term-odd`, all `term-parent`; 3 is for
    /// 0-12 months, 5 for 24-60 months. Every description says "A friendly service for families".
    pub(crate) fn sample_docs() -> Vec<PeerDoc> {
        NAMES
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let located = i < 25 || i == 29;
                let step = f64::from(u8::try_from(i).unwrap_or(u8::MAX));
                PeerDoc {
                    id: id(i),
                    name: (*name).to_owned(),
                    organization: format!("Organisation {}", i % 4),
                    description: "A friendly service for families in the county.".to_owned(),
                    term_names: vec![
                        if i % 2 == 0 {
                            "Early help"
                        } else {
                            "Wellbeing"
                        }
                        .to_owned(),
                    ],
                    term_ids: vec![
                        "term-parent".to_owned(),
                        if i % 2 == 0 { "term-even" } else { "term-odd" }.to_owned(),
                    ],
                    min_age_months: match i {
                        3 => Some(0.0),
                        5 => Some(24.0),
                        _ => None,
                    },
                    max_age_months: match i {
                        3 => Some(12.0),
                        5 => Some(60.0),
                        _ => None,
                    },
                    from_pregnancy: i == 24,
                    level_of_need: "universal".to_owned(),
                    self_referral: true,
                    latitude: located.then_some(51.90 + 0.01 * step),
                    longitude: located.then_some(-2.07),
                    covers_prefixes: match i {
                        26 => vec!["GL50".to_owned()],
                        27 => vec!["BS1".to_owned()],
                        _ => Vec::new(),
                    },
                    covers_radius: (i == 28).then_some((51.91, -2.08, 10.0)),
                    national: i == 25,
                    active: i != 29,
                }
            })
            .collect()
    }

    /// The place the sample queries are made from.
    pub(crate) fn place() -> Place {
        Place {
            postcode: "GL50 3".to_owned(),
            district: "GL50".to_owned(),
            area: "GL".to_owned(),
            latitude: 51.90,
            longitude: -2.07,
        }
    }

    fn keyword(text: &str) -> Query {
        Query::Keyword {
            text: text.to_owned(),
            category: None,
            infant_age_months: None,
            near: None,
            radius_km: None,
        }
    }

    #[tokio::test]
    #[ignore = "needs PostgreSQL on 127.0.0.1:5432"]
    async fn peers_postgres_answers_every_query_kind() -> Result<()> {
        let url = std::env::var("BENCH_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
        let docs = sample_docs();
        let (pg, _) = PgFts::load(&url, &docs).await?;
        let mut conn = pg.connect().await?;

        let found = pg.run(&mut conn, &keyword("massage")).await?;
        assert_eq!(found.first(), Some(&id(0)));
        // A word cut short, and a stemmed form.
        assert_eq!(pg.run(&mut conn, &keyword("swimm")).await?, vec![id(1)]);
        assert_eq!(pg.run(&mut conn, &keyword("massages")).await?, vec![id(0)]);
        assert_eq!(
            pg.run(&mut conn, &keyword("baby sign")).await?,
            vec![id(14)]
        );
        // The name outranks the description.
        let found = pg.run(&mut conn, &keyword("family")).await?;
        assert!(found.len() > 2);
        assert!(found[..2].contains(&id(12)) && found[..2].contains(&id(26)));
        assert!(pg.run(&mut conn, &keyword("?!")).await?.is_empty());
        // The inactive service is never found.
        assert!(!pg.run(&mut conn, &keyword("cafe")).await?.contains(&id(29)));

        let filtered = Query::Keyword {
            text: "families".to_owned(),
            category: Some("term-odd".to_owned()),
            infant_age_months: Some(6.0),
            near: None,
            radius_km: None,
        };
        let found = pg.run(&mut conn, &filtered).await?;
        let odd_fits: Vec<String> = (1..29).step_by(2).filter(|&i| i != 5).map(id).collect();
        let mut sorted = found.clone();
        sorted.sort();
        assert_eq!(sorted, odd_fits);

        let within = Query::Keyword {
            text: "families".to_owned(),
            category: None,
            infant_age_months: None,
            near: Some(place()),
            radius_km: Some(5.0),
        };
        let mut found = pg.run(&mut conn, &within).await?;
        found.sort();
        assert_eq!(found, [0, 1, 2, 3, 4, 25, 26, 28].map(id));

        // Without a radius, nearer is preferred among equal matches.
        let nearer = Query::Keyword {
            text: "friendly".to_owned(),
            category: None,
            infant_age_months: None,
            near: Some(place()),
            radius_km: None,
        };
        let found = pg.run(&mut conn, &nearer).await?;
        assert_eq!(found.len(), PAGE);
        assert_eq!(found[..3], [0, 1, 2].map(id));

        let distance = Query::Distance {
            category: None,
            infant_age_months: None,
            near: place(),
            radius_km: 5.0,
        };
        assert_eq!(
            pg.run(&mut conn, &distance).await?,
            [0, 1, 2, 3, 4, 25, 26, 28].map(id)
        );
        let distance = Query::Distance {
            category: Some("term-even".to_owned()),
            infant_age_months: Some(30.0),
            near: place(),
            radius_km: 12.0,
        };
        assert_eq!(
            pg.run(&mut conn, &distance).await?,
            [0, 2, 4, 6, 8, 10, 26, 28].map(id)
        );

        let fetch = Query::Fetch { id: id(7) };
        assert_eq!(pg.run(&mut conn, &fetch).await?, vec![id(7)]);
        let missing = Query::Fetch {
            id: "svc-99".to_owned(),
        };
        assert!(pg.run(&mut conn, &missing).await.is_err());

        let mut by_name: Vec<(&str, String)> = docs
            .iter()
            .filter(|d| d.active)
            .map(|d| (d.name.as_str(), d.id.clone()))
            .collect();
        by_name.sort();
        let first = pg
            .run(
                &mut conn,
                &Query::Listing {
                    category: None,
                    page: 0,
                },
            )
            .await?;
        let second = pg
            .run(
                &mut conn,
                &Query::Listing {
                    category: None,
                    page: 1,
                },
            )
            .await?;
        assert_eq!(first.len(), PAGE);
        assert_eq!(second.len(), 29 - PAGE);
        let listed: Vec<String> = first.into_iter().chain(second).collect();
        assert_eq!(
            listed,
            by_name.into_iter().map(|(_, id)| id).collect::<Vec<_>>()
        );
        let even = pg
            .run(
                &mut conn,
                &Query::Listing {
                    category: Some("term-even".to_owned()),
                    page: 0,
                },
            )
            .await?;
        assert_eq!(even.len(), 15);
        assert!(even.iter().all(|i| {
            docs.iter()
                .any(|d| &d.id == i && d.term_ids.contains(&"term-even".to_owned()))
        }));

        let suggest = Query::Suggest {
            prefix: "bab".to_owned(),
        };
        assert!(pg.run(&mut conn, &suggest).await?.is_empty());

        drop(conn);
        drop_table(&url).await
    }
}
