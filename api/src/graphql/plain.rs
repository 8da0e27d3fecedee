//! A search page's edges answered in one pass over the selection, when it asks only for what
//! the page already holds: the hit's own fields and the service's and its organisation's
//! plain fields (no arguments, directives or fragments). Such a page is built straight into the
//! response, without the future, lookup and merge async-graphql's executor spends on every
//! field of every edge; any other selection is resolved field by field as usual, with the same
//! answer.

use std::borrow::Cow;

use async_graphql::{
    ContextSelectionSet, InputType, Name, OutputType, Positioned, ScalarType, ServerResult, Value,
    indexmap::IndexMap,
    parser::types::{Field, Selection, SelectionSet},
    registry::Registry,
};
use entity::{organization, service};

use super::{
    enums::{LevelOfNeed, ServiceStatus},
    organization::Organization,
    scalars::{Date, DateTime},
    search::{Coverage, Highlight, SearchEdge},
    service::{Referral, Service},
};

/// The edges of a search page: `[SearchEdge!]!` in the schema.
#[derive(Clone, Debug, Default)]
pub struct Edges(pub Vec<SearchEdge>);

impl OutputType for Edges {
    fn type_name() -> Cow<'static, str> {
        <Vec<SearchEdge> as OutputType>::type_name()
    }

    fn qualified_type_name() -> String {
        <Vec<SearchEdge> as OutputType>::qualified_type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        <Vec<SearchEdge> as OutputType>::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        match edges_value(&self.0, &field.node.selection_set.node) {
            Some(value) => Ok(value),
            None => OutputType::resolve(&self.0, ctx, field).await,
        }
    }
}

/// The edges as `selection` asks for them, or `None` when it asks for more than this module
/// answers (or an edge lacks what it asks for: a listing read without its organisation).
pub fn edges_value(edges: &[SearchEdge], selection: &SelectionSet) -> Option<Value> {
    let plan = plan(selection, EdgeField::of)?;
    edges
        .iter()
        .map(|edge| object(&plan, |field| field.value(edge)))
        .collect::<Option<Vec<_>>>()
        .map(Value::List)
}

/// Whether every `edges` of a `search` field's selection is answered here, so that its page
/// need not feed the loaders the executor reads through (none may sit in a fragment).
pub fn answers(search: &Field) -> bool {
    search
        .selection_set
        .node
        .items
        .iter()
        .all(|item| match &item.node {
            Selection::Field(field) => {
                let field = &field.node;
                field.name.node != "edges"
                    || (field.directives.is_empty()
                        && plan(&field.selection_set.node, EdgeField::of).is_some())
            }
            Selection::FragmentSpread(_) | Selection::InlineFragment(_) => false,
        })
}

/// What a selection set asks for: each field's response key and what it is.
type Plan<F> = Vec<(Name, F)>;

/// The plan of `selection`, each field read by `field`; `None` for a fragment, a directive,
/// an argument, a response key asked twice (which the executor merges) or a field `field`
/// does not know.
fn plan<F>(selection: &SelectionSet, field: impl Fn(&Field) -> Option<F>) -> Option<Plan<F>> {
    let mut planned: Plan<F> = Vec::with_capacity(selection.items.len());
    for item in &selection.items {
        let Selection::Field(asked) = &item.node else {
            return None;
        };
        let asked = &asked.node;
        if !asked.directives.is_empty() || !asked.arguments.is_empty() {
            return None;
        }
        let key = &asked.response_key().node;
        if planned.iter().any(|(seen, _)| seen == key) {
            return None;
        }
        planned.push((key.clone(), field(asked)?));
    }
    Some(planned)
}

/// An object of the planned fields, each valued by `value`.
fn object<F>(plan: &Plan<F>, value: impl Fn(&F) -> Option<Value>) -> Option<Value> {
    let mut fields = IndexMap::with_capacity(plan.len());
    for (key, field) in plan {
        fields.insert(key.clone(), value(field)?);
    }
    Some(Value::Object(fields))
}

/// The plan of a field's own selection (an object-valued field).
fn nested<F>(field: &Field, read: impl Fn(&Field) -> Option<F>) -> Option<Plan<F>> {
    plan(&field.selection_set.node, read)
}

fn text(value: &str) -> Value {
    Value::String(value.to_owned())
}

fn optional_text(value: Option<&str>) -> Value {
    value.map_or(Value::Null, text)
}

fn typename<T: OutputType>() -> Value {
    Value::String(T::type_name().into_owned())
}

/// A field of `SearchEdge`.
enum EdgeField {
    Typename,
    Cursor,
    Score,
    DistanceKm,
    Unconfirmed,
    Highlights(Plan<HighlightField>),
    Coverage(Plan<CoverageField>),
    Node(Plan<ServiceField>),
}

impl EdgeField {
    fn of(field: &Field) -> Option<Self> {
        Some(match field.name.node.as_str() {
            "__typename" => Self::Typename,
            "cursor" => Self::Cursor,
            "score" => Self::Score,
            "distanceKm" => Self::DistanceKm,
            "unconfirmed" => Self::Unconfirmed,
            "highlights" => Self::Highlights(nested(field, HighlightField::of)?),
            "coverage" => Self::Coverage(nested(field, CoverageField::of)?),
            "node" => Self::Node(nested(field, ServiceField::of)?),
            _ => return None,
        })
    }

    fn value(&self, edge: &SearchEdge) -> Option<Value> {
        Some(match self {
            Self::Typename => typename::<SearchEdge>(),
            Self::Cursor => text(&edge.cursor),
            Self::Score => ScalarType::to_value(&edge.score),
            Self::DistanceKm => edge
                .distance_km
                .map_or(Value::Null, |d| ScalarType::to_value(&d)),
            Self::Unconfirmed => {
                Value::List(edge.unconfirmed.iter().map(InputType::to_value).collect())
            }
            Self::Highlights(plan) => Value::List(
                edge.highlights
                    .iter()
                    .map(|highlight| object(plan, |field| Some(field.value(highlight))))
                    .collect::<Option<Vec<_>>>()?,
            ),
            Self::Coverage(plan) => match &edge.coverage {
                Some(coverage) => object(plan, |field| Some(field.value(coverage)))?,
                None => Value::Null,
            },
            Self::Node(plan) => {
                let service = &edge.node.0;
                let organization = edge.organization.as_deref();
                object(plan, |field| field.value(service, organization))?
            }
        })
    }
}

/// A field of `Highlight`.
enum HighlightField {
    Typename,
    Field,
    Snippet,
}

impl HighlightField {
    fn of(field: &Field) -> Option<Self> {
        Some(match field.name.node.as_str() {
            "__typename" => Self::Typename,
            "field" => Self::Field,
            "snippet" => Self::Snippet,
            _ => return None,
        })
    }

    fn value(&self, highlight: &Highlight) -> Value {
        match self {
            Self::Typename => typename::<Highlight>(),
            Self::Field => text(&highlight.field),
            Self::Snippet => text(&highlight.snippet),
        }
    }
}

/// A field of `Coverage`.
enum CoverageField {
    Typename,
    Covered,
    Known,
    Area,
    Kind,
}

impl CoverageField {
    fn of(field: &Field) -> Option<Self> {
        Some(match field.name.node.as_str() {
            "__typename" => Self::Typename,
            "covered" => Self::Covered,
            "known" => Self::Known,
            "area" => Self::Area,
            "kind" => Self::Kind,
            _ => return None,
        })
    }

    fn value(&self, coverage: &Coverage) -> Value {
        match self {
            Self::Typename => typename::<Coverage>(),
            Self::Covered => Value::Boolean(coverage.covered),
            Self::Known => Value::Boolean(coverage.known),
            Self::Area => optional_text(coverage.area.as_deref()),
            Self::Kind => coverage
                .kind
                .map_or(Value::Null, |kind| InputType::to_value(&kind)),
        }
    }
}

/// A field of `Service` read from its row alone (or its organisation's).
enum ServiceField {
    Typename,
    Id,
    Name,
    AlternateName,
    Description,
    Url,
    Email,
    Status,
    LevelOfNeed,
    Referral(Plan<ReferralField>),
    Languages,
    Free,
    FeesDescription,
    FundingSource,
    FundingEndsOn,
    AssuredDate,
    Assurer,
    LastModified,
    Version,
    Organization(Plan<OrganizationField>),
}

impl ServiceField {
    fn of(field: &Field) -> Option<Self> {
        Some(match field.name.node.as_str() {
            "__typename" => Self::Typename,
            "id" => Self::Id,
            "name" => Self::Name,
            "alternateName" => Self::AlternateName,
            "description" => Self::Description,
            "url" => Self::Url,
            "email" => Self::Email,
            "status" => Self::Status,
            "levelOfNeed" => Self::LevelOfNeed,
            "referral" => Self::Referral(nested(field, ReferralField::of)?),
            "languages" => Self::Languages,
            "free" => Self::Free,
            "feesDescription" => Self::FeesDescription,
            "fundingSource" => Self::FundingSource,
            "fundingEndsOn" => Self::FundingEndsOn,
            "assuredDate" => Self::AssuredDate,
            "assurer" => Self::Assurer,
            "lastModified" => Self::LastModified,
            "version" => Self::Version,
            "organization" => Self::Organization(nested(field, OrganizationField::of)?),
            _ => return None,
        })
    }

    fn value(
        &self,
        row: &service::Model,
        organization: Option<&organization::Model>,
    ) -> Option<Value> {
        Some(match self {
            Self::Typename => typename::<Service>(),
            Self::Id => Value::String(row.id.to_string()),
            Self::Name => text(&row.name),
            Self::AlternateName => optional_text(row.alternate_name.as_deref()),
            Self::Description => text(&row.description),
            Self::Url => optional_text(row.url.as_deref()),
            Self::Email => optional_text(row.email.as_deref()),
            Self::Status => InputType::to_value(&ServiceStatus::from(row.status)),
            Self::LevelOfNeed => InputType::to_value(&LevelOfNeed::from(row.level_of_need)),
            Self::Referral(plan) => object(plan, |field| Some(field.value(row)))?,
            Self::Languages => Value::List(row.languages.0.iter().map(|l| text(l)).collect()),
            Self::Free => Value::Boolean(row.free),
            Self::FeesDescription => optional_text(row.fees_description.as_deref()),
            Self::FundingSource => optional_text(row.funding_source.as_deref()),
            Self::FundingEndsOn => row
                .funding_ends_on
                .map_or(Value::Null, |d| ScalarType::to_value(&Date(d))),
            Self::AssuredDate => row
                .assured_date
                .map_or(Value::Null, |d| ScalarType::to_value(&Date(d))),
            Self::Assurer => optional_text(row.assurer.as_deref()),
            Self::LastModified => ScalarType::to_value(&DateTime(row.updated_at)),
            Self::Version => ScalarType::to_value(&row.version),
            Self::Organization(plan) => {
                // Only the listing's own organisation answers (a row read without it is left
                // to the executor, which loads it).
                let organization = organization.filter(|o| o.id == row.organization_id)?;
                object(plan, |field| Some(field.value(organization)))?
            }
        })
    }
}

/// A field of `Referral`.
enum ReferralField {
    Typename,
    SelfReferral,
    ProfessionalReferral,
    Instructions,
}

impl ReferralField {
    fn of(field: &Field) -> Option<Self> {
        Some(match field.name.node.as_str() {
            "__typename" => Self::Typename,
            "selfReferral" => Self::SelfReferral,
            "professionalReferral" => Self::ProfessionalReferral,
            "instructions" => Self::Instructions,
            _ => return None,
        })
    }

    fn value(&self, row: &service::Model) -> Value {
        match self {
            Self::Typename => typename::<Referral>(),
            Self::SelfReferral => Value::Boolean(row.self_referral),
            Self::ProfessionalReferral => Value::Boolean(row.professional_referral),
            Self::Instructions => optional_text(row.referral_instructions.as_deref()),
        }
    }
}

/// A field of `Organization` read from its row alone.
enum OrganizationField {
    Typename,
    Id,
    Name,
    Description,
    Website,
    Email,
    Phone,
    CharityNumber,
}

impl OrganizationField {
    fn of(field: &Field) -> Option<Self> {
        Some(match field.name.node.as_str() {
            "__typename" => Self::Typename,
            "id" => Self::Id,
            "name" => Self::Name,
            "description" => Self::Description,
            "website" => Self::Website,
            "email" => Self::Email,
            "phone" => Self::Phone,
            "charityNumber" => Self::CharityNumber,
            _ => return None,
        })
    }

    fn value(&self, row: &organization::Model) -> Value {
        match self {
            Self::Typename => typename::<Organization>(),
            Self::Id => Value::String(row.id.to_string()),
            Self::Name => text(&row.name),
            Self::Description => optional_text(row.description.as_deref()),
            Self::Website => optional_text(row.website.as_deref()),
            Self::Email => optional_text(row.email.as_deref()),
            Self::Phone => optional_text(row.phone.as_deref()),
            Self::CharityNumber => optional_text(row.charity_number.as_deref()),
        }
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::parser::{
        parse_query,
        types::{DocumentOperations, Selection, SelectionSet},
    };

    use super::{EdgeField, plan};

    /// The selection under `search { edges }` of a query.
    fn edges(query: &str) -> SelectionSet {
        let document = parse_query(query).expect("a query");
        let DocumentOperations::Single(operation) = document.operations else {
            panic!("one operation");
        };
        let field = |set: &SelectionSet, name: &str| {
            set.items
                .iter()
                .find_map(|item| match &item.node {
                    Selection::Field(field) if field.node.name.node == name => {
                        Some(field.node.selection_set.node.clone())
                    }
                    _ => None,
                })
                .expect(name)
        };
        field(
            &field(&operation.node.selection_set.node, "search"),
            "edges",
        )
    }

    fn planned(query: &str) -> bool {
        plan(&edges(query), EdgeField::of).is_some()
    }

    #[test]
    fn plain_fields_are_answered_in_one_pass_and_anything_else_by_the_executor() {
        // The benchmark's page, and the same with aliases and type names.
        assert!(planned(
            "{ search { totalCount edges { distanceKm node { id name organization { name } } } } }"
        ));
        assert!(planned(
            "{ search { edges { __typename km: distanceKm score cursor unconfirmed \
             highlights { field snippet } coverage { covered known area kind } \
             node { __typename id n: name status levelOfNeed referral { selfReferral } \
             assuredDate lastModified version organization { id name website } } } } }"
        ));
        for executed in [
            // Fragments, directives and a response key asked twice.
            "{ search { edges { ... on SearchEdge { score } } } }",
            "{ search { edges { ...F } } } fragment F on SearchEdge { score }",
            "{ search { edges { score @include(if: true) } } }",
            "{ search { edges { node { name @skip(if: false) } } } }",
            "{ search { edges { node { id } node { name } } } }",
            "{ search { edges { a: score a: cursor } } }",
            // Fields read through loaders or with arguments.
            "{ search { edges { node { locations { name } } } } }",
            "{ search { edges { node { eligibility { fromPregnancy } } } } }",
            "{ search { edges { node { organization { services { totalCount } } } } } }",
            "{ search { edges { node { ... on Service { id } } } } }",
        ] {
            assert!(!planned(executed), "{executed}");
        }
    }
}
