//! The checked-in SDL is the server's schema.

use signpost_api::graphql::sdl;

#[test]
fn schema_file_matches_the_server_schema() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../schema.graphql");
    let checked_in = std::fs::read_to_string(path).expect("schema.graphql is readable");
    let served = sdl();
    assert!(
        checked_in == served,
        "schema.graphql differs from the server's schema: run `cargo run -q -- schema > schema.graphql`"
    );
}

#[test]
fn schema_keeps_the_contract_names() {
    let served = sdl();
    for name in [
        "type Service {",
        "type Organization {",
        "type Event {",
        "type TaxonomyTerm {",
        "type ServiceConnection {",
        "type PageInfo {",
        "input ServiceFilter {",
        "enum LevelOfNeed {",
        "enum Audience {",
        "enum DeliveryMode {",
        "scalar Date",
        "scalar DateTime",
        "services(filter: ServiceFilter, first: Int = 20, after: String): ServiceConnection!",
        "events(near: NearInput, from: DateTime, to: DateTime, first: Int = 20, after: String): EventConnection!",
        // The contract's arguments, in order; arguments added after them keep the contract.
        "search(text: String, filter: ServiceFilter, near: NearInput, sort: SearchSort = RELEVANCE, first: Int = 20, after: String, interpret: Boolean = true): SearchResults!",
        "suggest(prefix: String!, limit: Int = 8): [String!]!",
        "geocode(postcode: String!): GeoPoint!",
        "type SearchFacets {",
        "enum GeoPrecision {",
        // Added for the web client and partner apps.
        "suggestions(prefix: String!, limit: Int = 8): [Suggestion!]!",
        "coverage: Coverage",
        "languages: [FacetCount!]!",
    ] {
        assert!(served.contains(name), "the schema lacks {name}");
    }
}
