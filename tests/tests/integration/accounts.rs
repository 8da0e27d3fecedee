//! Authentication, roles and tokens through the real server: who may do what, which tokens are
//! refused (always with HTTP 401, never as anonymous access), logins and their limits, partner
//! tokens and their revocation, and the `signpost` command line end to end.

use std::{
    fmt::Write as _,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, TimeDelta, Utc};
use entity::{Role, api_token, app_user, audit_event, listing_report, organization};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::header::HeaderValue;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, EntityTrait, IntoActiveModel, ModelTrait, PaginatorTrait,
};
use serde_json::{Value, json};
use signpost_api::{
    auth::jwt::SECRET_FILE,
    config::Settings,
    store::{accounts, audit::Actor},
};
use tests::{Options, TestApp, TestDatabase, first_error, signpost_binary};
use uuid::Uuid;

/// The password `TestApp::sign_in_new` gives its accounts.
const PASSWORD: &str = "correct horse battery staple";

const ME: &str = "{ me { id role name } }";
const LOGIN: &str = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token expiresAt user { id role name } } }";
const CREATE_ORGANIZATION: &str =
    "mutation($input: OrganizationInput!) { createOrganization(input: $input) { id } }";
const CREATE_SERVICE: &str =
    "mutation($input: ServiceInput!) { createService(input: $input) { id version } }";
const UPDATE_SERVICE: &str = "mutation($id: ID!, $v: Int!, $input: ServiceInput!) { updateService(id: $id, expectedVersion: $v, input: $input) { id version organization { id } } }";
const LINES: &str = "query($id: ID!) { service(id: $id) { phones { number visibility } contacts { name visibility } } }";

// ---------------------------------------------------------------------------------------------
// Helpers

fn uuid(id: &str) -> Uuid {
    Uuid::parse_str(id).expect("an id")
}

fn text(value: &Value) -> String {
    value.as_str().expect("a string").to_owned()
}

/// A minimal valid listing of `organization`.
fn service_input(organization: &str, name: &str) -> Value {
    json!({
        "organizationId": organization,
        "name": name,
        "description": "A weekly drop-in group for parents and their babies.",
        "levelOfNeed": "UNIVERSAL",
        "eligibility": {},
        "referral": { "selfReferral": true, "professionalReferral": true },
    })
}

/// A listing with one PUBLIC and one PROFESSIONAL phone line and contact.
fn service_with_lines(organization: &str, name: &str) -> Value {
    let mut input = service_input(organization, name);
    input["phones"] = json!([
        { "number": "0161 496 0000", "description": "Bookings", "visibility": "PUBLIC" },
        { "number": "0161 496 0999", "description": "Referrers' line", "visibility": "PROFESSIONAL" },
    ]);
    input["contacts"] = json!([
        { "name": "Front desk", "visibility": "PUBLIC" },
        { "name": "Duty practitioner", "visibility": "PROFESSIONAL" },
    ]);
    input
}

async fn create_organization(app: &TestApp, admin: &str, name: &str) -> String {
    let data = app
        .data_as(
            Some(admin),
            CREATE_ORGANIZATION,
            json!({ "input": { "name": name } }),
        )
        .await;
    text(&data["createOrganization"]["id"])
}

async fn create_service(app: &TestApp, admin: &str, input: Value) -> String {
    let data = app
        .data_as(Some(admin), CREATE_SERVICE, json!({ "input": input }))
        .await;
    text(&data["createService"]["id"])
}

/// A listing's current version, from the database.
async fn version(app: &TestApp, id: &str) -> i32 {
    entity::service::Entity::find_by_id(uuid(id))
        .one(&app.db)
        .await
        .expect("query")
        .expect("the service")
        .version
}

/// Issues a partner token directly with the server's keys (as the CLI does).
async fn issue_partner(app: &TestApp, name: &str) -> accounts::IssuedToken {
    let auth = signpost_api::auth::Authenticator::from_settings(&app.settings(), app.db.clone())
        .expect("the server's keys");
    accounts::issue_token(&app.db, &Actor::command_line(), auth.keys(), name, 30)
        .await
        .expect("a partner token")
}

/// `me` with `token`: the HTTP status and the body.
async fn me(app: &TestApp, token: &str) -> (u16, Value) {
    app.post_as(Some(token), ME, json!({})).await
}

/// `me` with `token` must answer as `role`.
async fn assert_me(app: &TestApp, token: &str, role: &str) -> Value {
    let data = app.data_as(Some(token), ME, json!({})).await;
    assert_eq!(data["me"]["role"], role, "{data}");
    data["me"].clone()
}

/// The response must be a refusal of the credentials: HTTP 401, UNAUTHENTICATED, no data.
fn assert_refused(case: &str, status: u16, body: &Value) {
    assert_eq!(
        status, 401,
        "{case}: expected HTTP 401, got {status}: {body}"
    );
    assert_eq!(first_error(body).0, "UNAUTHENTICATED", "{case}: {body}");
    assert!(
        body.get("data").is_none_or(Value::is_null),
        "{case}: a refused request carries no data: {body}"
    );
}

/// POSTs `me` with a raw `Authorization` header.
async fn me_with_header(app: &TestApp, value: HeaderValue) -> (u16, Value) {
    let response = app
        .client
        .post(app.url("/graphql"))
        .header(reqwest::header::AUTHORIZATION, value)
        .json(&json!({ "query": ME }))
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON body"))
}

async fn login(app: &TestApp, email: &str, password: &str) -> Value {
    app.graphql(LOGIN, json!({ "e": email, "p": password }))
        .await
}

// ---------------------------------------------------------------------------------------------
// 1. Who may do what

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    Anonymous,
    Partner,
    EditorOwn,
    EditorOther,
    Admin,
    Disabled,
    Revoked,
}

const CALLERS: [Who; 7] = [
    Who::Anonymous,
    Who::Partner,
    Who::EditorOwn,
    Who::EditorOther,
    Who::Admin,
    Who::Disabled,
    Who::Revoked,
];

impl Who {
    fn label(self) -> &'static str {
        match self {
            Who::Anonymous => "anonymous",
            Who::Partner => "partner",
            Who::EditorOwn => "editor (own org)",
            Who::EditorOther => "editor (other org)",
            Who::Admin => "admin",
            Who::Disabled => "disabled user",
            Who::Revoked => "revoked token",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    CreateOrganization,
    UpdateOrganization,
    CreateService,
    UpdateService,
    /// updateService moving the own organisation's listing into another organisation.
    MoveService,
    ArchiveService,
    VerifyService,
    CreateEvent,
    IssueApiToken,
    RevokeApiToken,
    CreateUser,
    ResolveListingReport,
    ReportListingProblem,
    AuditLog,
    ListingReports,
    ApiTokens,
    /// PROFESSIONAL phone lines and contacts of an ACTIVE listing.
    ProfessionalLines,
    /// `services(filter: {statuses: [INACTIVE]})`.
    InactiveListings,
    /// `search(filter: {statuses: [INACTIVE]})`.
    InactiveSearch,
    /// `service(id)` of a DEFUNCT listing.
    DefunctListing,
    /// The partner sync feed.
    Changes,
}

const OPERATIONS: [Op; 21] = [
    Op::CreateOrganization,
    Op::UpdateOrganization,
    Op::CreateService,
    Op::UpdateService,
    Op::MoveService,
    Op::ArchiveService,
    Op::VerifyService,
    Op::CreateEvent,
    Op::IssueApiToken,
    Op::RevokeApiToken,
    Op::CreateUser,
    Op::ResolveListingReport,
    Op::ReportListingProblem,
    Op::AuditLog,
    Op::ListingReports,
    Op::ApiTokens,
    Op::ProfessionalLines,
    Op::InactiveListings,
    Op::InactiveSearch,
    Op::DefunctListing,
    Op::Changes,
];

// What a cell shows.
const OK: &str = "ok";
const UNAUTHENTICATED: &str = "UNAUTHENTICATED";
const FORBIDDEN: &str = "FORBIDDEN";
const HTTP_401: &str = "401";
const ALL_LINES: &str = "all lines";
const PUBLIC_LINES: &str = "public only";
const LISTED: &str = "listed";
const NULL: &str = "null";

impl Op {
    fn label(self) -> &'static str {
        match self {
            Op::CreateOrganization => "createOrganization",
            Op::UpdateOrganization => "updateOrganization (own org)",
            Op::CreateService => "createService (own org)",
            Op::UpdateService => "updateService (own org)",
            Op::MoveService => "updateService (move to other org)",
            Op::ArchiveService => "archiveService (own org)",
            Op::VerifyService => "verifyService (own org)",
            Op::CreateEvent => "createEvent (own org)",
            Op::IssueApiToken => "issueApiToken",
            Op::RevokeApiToken => "revokeApiToken",
            Op::CreateUser => "createUser",
            Op::ResolveListingReport => "resolveListingReport",
            Op::ReportListingProblem => "reportListingProblem",
            Op::AuditLog => "auditLog",
            Op::ListingReports => "listingReports",
            Op::ApiTokens => "apiTokens",
            Op::ProfessionalLines => "PROFESSIONAL phones/contacts",
            Op::InactiveListings => "services(statuses: [INACTIVE])",
            Op::InactiveSearch => "search(statuses: [INACTIVE])",
            Op::DefunctListing => "service(id) of a DEFUNCT listing",
            Op::Changes => "changes (sync feed)",
        }
    }

    fn query(self) -> &'static str {
        match self {
            Op::CreateOrganization => CREATE_ORGANIZATION,
            Op::UpdateOrganization => {
                "mutation($id: ID!, $input: OrganizationInput!) { updateOrganization(id: $id, input: $input) { id } }"
            }
            Op::CreateService => CREATE_SERVICE,
            Op::UpdateService | Op::MoveService => UPDATE_SERVICE,
            Op::ArchiveService => {
                "mutation($id: ID!, $v: Int!) { archiveService(id: $id, expectedVersion: $v) { id status } }"
            }
            Op::VerifyService => "mutation($id: ID!) { verifyService(id: $id) { id assuredDate } }",
            Op::CreateEvent => {
                "mutation($input: EventInput!) { createEvent(input: $input) { id } }"
            }
            Op::IssueApiToken => {
                "mutation($name: String!) { issueApiToken(name: $name, expiresInDays: 7) { id token } }"
            }
            Op::RevokeApiToken => "mutation($id: ID!) { revokeApiToken(id: $id) }",
            Op::CreateUser => {
                "mutation($input: UserInput!) { createUser(input: $input) { id role } }"
            }
            Op::ResolveListingReport => {
                "mutation($id: ID!) { resolveListingReport(id: $id, note: \"Corrected\") { id resolvedAt } }"
            }
            Op::ReportListingProblem => {
                "mutation($id: ID!) { reportListingProblem(serviceId: $id, message: \"The phone number is out of date.\") }"
            }
            Op::AuditLog => "query($id: ID!) { auditLog(entityId: $id) { action actor } }",
            Op::ListingReports => "{ listingReports(includeResolved: true) { id } }",
            Op::ApiTokens => "{ apiTokens { id name } }",
            Op::ProfessionalLines => LINES,
            Op::InactiveListings => {
                "query($org: ID!) { services(filter: { statuses: [INACTIVE], organizationId: $org }) { edges { node { id status } } } }"
            }
            Op::InactiveSearch => {
                "query($org: ID!) { search(filter: { statuses: [INACTIVE], organizationId: $org }) { edges { node { id status } } } }"
            }
            Op::DefunctListing => "query($id: ID!) { service(id: $id) { id status } }",
            Op::Changes => "{ changes(first: 5) { totalCount } }",
        }
    }

    /// Whether the operation is a write (refusals must leave no trace).
    fn writes(self) -> bool {
        !matches!(
            self,
            Op::AuditLog
                | Op::ListingReports
                | Op::ApiTokens
                | Op::ProfessionalLines
                | Op::InactiveListings
                | Op::InactiveSearch
                | Op::DefunctListing
                | Op::Changes
        )
    }

    /// What `who` must get.
    fn expected(self, who: Who) -> &'static str {
        let own_org = matches!(
            self,
            Op::UpdateOrganization
                | Op::CreateService
                | Op::UpdateService
                | Op::ArchiveService
                | Op::VerifyService
                | Op::CreateEvent
        );
        let signed_in_read = match self {
            Op::ProfessionalLines => Some(ALL_LINES),
            Op::InactiveListings | Op::InactiveSearch | Op::DefunctListing => Some(LISTED),
            Op::Changes => Some(OK),
            _ => None,
        };
        match who {
            Who::Disabled | Who::Revoked => HTTP_401,
            Who::Admin => signed_in_read.unwrap_or(OK),
            Who::Anonymous => match self {
                Op::ReportListingProblem => OK,
                Op::ProfessionalLines => PUBLIC_LINES,
                Op::DefunctListing => NULL,
                _ => UNAUTHENTICATED,
            },
            Who::Partner | Who::EditorOther => match self {
                Op::ReportListingProblem => OK,
                _ => signed_in_read.unwrap_or(FORBIDDEN),
            },
            Who::EditorOwn => match self {
                Op::ReportListingProblem => OK,
                _ if own_org => OK,
                _ => signed_in_read.unwrap_or(FORBIDDEN),
            },
        }
    }
}

/// The directory the matrix works on.
struct Fixture {
    admin: String,
    /// The organisation the editor edits.
    own: String,
    /// Another organisation.
    other: String,
    /// An ACTIVE listing of `own` with PUBLIC and PROFESSIONAL lines.
    lines: String,
    /// An ACTIVE listing of `own` verified and given events by the callers.
    shared: String,
    /// An INACTIVE listing of `own`.
    inactive: String,
    /// A DEFUNCT listing of `own`.
    defunct: String,
}

/// The variables for one cell, making whatever the cell uses up (a fresh listing, token or
/// report) so no cell depends on another.
async fn variables(app: &TestApp, fx: &Fixture, op: Op, cell: usize) -> Value {
    match op {
        Op::CreateOrganization => {
            json!({ "input": { "name": format!("Matrix organisation {cell}") } })
        }
        Op::UpdateOrganization => {
            json!({ "id": fx.own, "input": { "name": "Riverside Family Hub", "description": format!("Edit {cell}") } })
        }
        Op::CreateService => {
            json!({ "input": service_input(&fx.own, &format!("Matrix group {cell}")) })
        }
        Op::UpdateService | Op::MoveService => {
            let id = create_service(
                app,
                &fx.admin,
                service_input(&fx.own, &format!("Update target {cell}")),
            )
            .await;
            let target = if op == Op::MoveService {
                &fx.other
            } else {
                &fx.own
            };
            json!({
                "id": id,
                "v": version(app, &id).await,
                "input": service_input(target, &format!("Updated group {cell}")),
            })
        }
        Op::ArchiveService => {
            let id = create_service(
                app,
                &fx.admin,
                service_input(&fx.own, &format!("Archive target {cell}")),
            )
            .await;
            json!({ "id": id, "v": version(app, &id).await })
        }
        Op::VerifyService => json!({ "id": fx.shared }),
        Op::CreateEvent => {
            let starts = Utc::now() + TimeDelta::days(3);
            json!({ "input": {
                "serviceId": fx.shared,
                "title": format!("Baby massage taster {cell}"),
                "startsAt": starts.to_rfc3339(),
                "endsAt": (starts + TimeDelta::hours(1)).to_rfc3339(),
            } })
        }
        Op::IssueApiToken => json!({ "name": format!("Matrix partner {cell}") }),
        Op::RevokeApiToken => {
            let issued = issue_partner(app, &format!("Revocation target {cell}")).await;
            json!({ "id": issued.id.to_string() })
        }
        Op::CreateUser => json!({ "input": {
            "email": format!("new-editor-{cell}@example.org"),
            "password": "a long enough password",
            "role": "EDITOR",
            "organizationId": fx.own,
        } }),
        Op::ResolveListingReport => {
            let report = listing_report::Model {
                id: Uuid::new_v4(),
                service_id: uuid(&fx.lines),
                message: format!("Report {cell}: the group moved"),
                kind: None,
                reporter_id: None,
                reporter_address: None,
                created_at: Utc::now(),
                resolved_at: None,
                resolved_by: None,
                resolution_note: None,
            }
            .into_active_model()
            .insert(&app.db)
            .await
            .expect("a report");
            json!({ "id": report.id.to_string() })
        }
        Op::ReportListingProblem | Op::ProfessionalLines => json!({ "id": fx.lines }),
        Op::AuditLog => json!({ "id": fx.own }),
        Op::ListingReports | Op::ApiTokens => json!({}),
        Op::InactiveListings | Op::InactiveSearch => json!({ "org": fx.own }),
        Op::Changes => json!({}),
        Op::DefunctListing => json!({ "id": fx.defunct }),
    }
}

/// What a response shows, in the table's words.
fn observe(op: Op, fx: &Fixture, status: u16, body: &Value) -> String {
    if status == 401 {
        let (code, _) = first_error(body);
        return if code == UNAUTHENTICATED && body.get("data").is_none_or(Value::is_null) {
            HTTP_401.to_owned()
        } else {
            format!("401 {code}")
        };
    }
    if status != 200 {
        return format!("HTTP {status}");
    }
    if body.get("errors").is_some() {
        return first_error(body).0;
    }
    let data = &body["data"];
    match op {
        Op::ProfessionalLines => {
            let visibilities = |list: &Value| -> Vec<String> {
                list.as_array()
                    .into_iter()
                    .flatten()
                    .map(|row| row["visibility"].as_str().unwrap_or_default().to_owned())
                    .collect()
            };
            let phones = visibilities(&data["service"]["phones"]);
            let contacts = visibilities(&data["service"]["contacts"]);
            let both = ["PUBLIC", "PROFESSIONAL"];
            if phones == both && contacts == both {
                ALL_LINES.to_owned()
            } else if phones == ["PUBLIC"] && contacts == ["PUBLIC"] {
                PUBLIC_LINES.to_owned()
            } else {
                format!("phones {phones:?}, contacts {contacts:?}")
            }
        }
        Op::InactiveListings | Op::InactiveSearch => {
            let field = if op == Op::InactiveSearch {
                "search"
            } else {
                "services"
            };
            let ids: Vec<&Value> = data[field]["edges"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|edge| &edge["node"]["id"])
                .collect();
            if ids == [&json!(fx.inactive)] {
                LISTED.to_owned()
            } else {
                format!("{ids:?}")
            }
        }
        Op::DefunctListing => match &data["service"] {
            Value::Null => NULL.to_owned(),
            found if found["id"] == json!(fx.defunct) && found["status"] == "DEFUNCT" => {
                LISTED.to_owned()
            }
            other => format!("{other}"),
        },
        _ if data
            .as_object()
            .is_some_and(|d| d.values().all(|v| !v.is_null())) =>
        {
            OK.to_owned()
        }
        _ => format!("{data}"),
    }
}

/// Row counts that any write leaves a mark in.
async fn footprint(app: &TestApp) -> [u64; 6] {
    let db = &app.db;
    [
        audit_event::Entity::find().count(db).await.expect("count"),
        listing_report::Entity::find()
            .count(db)
            .await
            .expect("count"),
        api_token::Entity::find().count(db).await.expect("count"),
        app_user::Entity::find().count(db).await.expect("count"),
        organization::Entity::find().count(db).await.expect("count"),
        entity::event::Entity::find()
            .count(db)
            .await
            .expect("count"),
    ]
}

/// Whether the record a refused revoke or resolve aimed at is unchanged.
async fn target_untouched(app: &TestApp, op: Op, variables: &Value) -> bool {
    match op {
        Op::RevokeApiToken => {
            api_token::Entity::find_by_id(uuid(variables["id"].as_str().unwrap_or_default()))
                .one(&app.db)
                .await
                .expect("query")
                .is_some_and(|token| token.revoked_at.is_none())
        }
        Op::ResolveListingReport => {
            listing_report::Entity::find_by_id(uuid(variables["id"].as_str().unwrap_or_default()))
                .one(&app.db)
                .await
                .expect("query")
                .is_some_and(|report| report.resolved_at.is_none())
        }
        _ => true,
    }
}

fn table(rows: &[(Op, Vec<String>)]) -> String {
    let first = OPERATIONS
        .iter()
        .map(|op| op.label().len())
        .max()
        .unwrap_or(0);
    let widths: Vec<usize> = CALLERS
        .iter()
        .enumerate()
        .map(|(i, who)| {
            rows.iter()
                .map(|(_, cells)| cells[i].len())
                .chain([who.label().len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = format!("| {:first$} |", "operation");
    for (who, width) in CALLERS.iter().zip(&widths) {
        let _ = write!(out, " {:width$} |", who.label());
    }
    let _ = write!(out, "\n|{}|", "-".repeat(first + 2));
    for width in &widths {
        let _ = write!(out, "{}|", "-".repeat(width + 2));
    }
    for (op, cells) in rows {
        let _ = write!(out, "\n| {:first$} |", op.label());
        for (cell, width) in cells.iter().zip(&widths) {
            let _ = write!(out, " {cell:width$} |");
        }
    }
    out
}

#[tokio::test]
async fn every_role_gets_exactly_its_rights() {
    let app = TestApp::spawn_with(Options { seed_demo: false }).await;
    let admin = app.admin_token().await;
    let own = create_organization(&app, &admin, "Riverside Family Hub").await;
    let other = create_organization(&app, &admin, "Hillside Children's Centre").await;
    let lines = create_service(
        &app,
        &admin,
        service_with_lines(&own, "Riverside baby group"),
    )
    .await;
    let shared = create_service(&app, &admin, service_input(&own, "Riverside stay and play")).await;
    let mut inactive = service_input(&own, "Riverside dads' group");
    inactive["status"] = json!("INACTIVE");
    let inactive = create_service(&app, &admin, inactive).await;
    let mut defunct = service_input(&own, "Riverside breastfeeding cafe");
    defunct["status"] = json!("DEFUNCT");
    let defunct = create_service(&app, &admin, defunct).await;
    let fx = Fixture {
        admin: admin.clone(),
        own: own.clone(),
        other: other.clone(),
        lines,
        shared,
        inactive,
        defunct,
    };

    let partner = app.partner_token().await;
    let editor_own = app
        .sign_in_new("editor-own@example.org", Role::Editor, Some(uuid(&own)))
        .await;
    let editor_other = app
        .sign_in_new("editor-other@example.org", Role::Editor, Some(uuid(&other)))
        .await;

    // A disabled admin: signed in while enabled, then disabled in the database.
    let disabled = app
        .sign_in_new("disabled-admin@example.org", Role::Admin, None)
        .await;
    let before = assert_me(&app, &disabled, "ADMIN").await;
    let user = app_user::Entity::find_by_id(uuid(&text(&before["id"])))
        .one(&app.db)
        .await
        .expect("query")
        .expect("the user");
    let mut active = user.into_active_model();
    active.disabled = Set(true);
    active.update(&app.db).await.expect("disable");

    // A partner token that worked, revoked through the API.
    let issued = app
        .data_as(
            Some(&admin),
            "mutation { issueApiToken(name: \"Soon revoked\", expiresInDays: 30) { id token } }",
            json!({}),
        )
        .await;
    let revoked = text(&issued["issueApiToken"]["token"]);
    assert_me(&app, &revoked, "PARTNER").await;
    let done = app
        .data_as(
            Some(&admin),
            "mutation($id: ID!) { revokeApiToken(id: $id) }",
            json!({ "id": issued["issueApiToken"]["id"] }),
        )
        .await;
    assert_eq!(done["revokeApiToken"], true);

    let token = |who: Who| -> Option<&str> {
        match who {
            Who::Anonymous => None,
            Who::Partner => Some(&partner),
            Who::EditorOwn => Some(&editor_own),
            Who::EditorOther => Some(&editor_other),
            Who::Admin => Some(&admin),
            Who::Disabled => Some(&disabled),
            Who::Revoked => Some(&revoked),
        }
    };

    let mut rows = Vec::new();
    let mut wrong = Vec::new();
    let mut cell = 0;
    for op in OPERATIONS {
        let mut cells = Vec::new();
        for who in CALLERS {
            cell += 1;
            let vars = variables(&app, &fx, op, cell).await;
            let before = footprint(&app).await;
            let (status, body) = app.post_as(token(who), op.query(), vars.clone()).await;
            let seen = observe(op, &fx, status, &body);
            let expected = op.expected(who);
            if seen != expected {
                wrong.push(format!(
                    "{} as {}: expected {expected}, got {seen}: {body}",
                    op.label(),
                    who.label()
                ));
            }
            if op.writes() && seen != OK {
                if footprint(&app).await != before {
                    wrong.push(format!(
                        "{} as {}: refused, yet rows were written",
                        op.label(),
                        who.label()
                    ));
                }
                if !target_untouched(&app, op, &vars).await {
                    wrong.push(format!(
                        "{} as {}: refused, yet the target changed",
                        op.label(),
                        who.label()
                    ));
                }
            }
            cells.push(seen);
        }
        rows.push((op, cells));
    }
    let table = table(&rows);
    println!("{table}");
    assert!(wrong.is_empty(), "{table}\n\n{}", wrong.join("\n"));

    // The editor's writes really landed in their own organisation only.
    let log = app
        .data_as(
            Some(&admin),
            "query($id: ID!) { auditLog(entityId: $id) { action actor } }",
            json!({ "id": own }),
        )
        .await;
    let actors: Vec<&str> = log["auditLog"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|event| event["actor"].as_str())
        .collect();
    assert!(actors.contains(&"editor-own@example.org"), "{log}");
    assert!(!actors.contains(&"editor-other@example.org"), "{log}");
}

// ---------------------------------------------------------------------------------------------
// 2. Tokens that must be refused

// Test-only keys (the same as in `api/src/auth/jwt.rs`'s tests).
const RSA_PRIVATE_PEM: &str = "\
-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDjKVw/hgijSqlD
G1QC3VzbeE6m0RUW/47Vp+kb2QRTfyJmZfCV+g2Q9ezhEN5L6fCX8/lL8fSIkQSO
/ZlfopnEqTZK1PqT+HDNi6U/tkfaQlcdT2U6M9zbv/EPWkpEk4YbvhRxxBv3+XSR
IR7ejksAdehrljdVrcNVHYqIzF2cvjR6VeswLGHvpoL8GYIs+MVLD9BblWESgjGa
Vfg8VMiQ//ERDvpZc/biwq68b1+od+eiiNz9OgEnWjuo0OM6KaBiUDm/6S22sP8y
p4u+0YYO39GV8nSE2OgoITOWIW/BH884Mqq9iucsUk/M4qmTTNPadUIDgswvcebj
VdBeLiNlAgMBAAECggEALqWM45+AsRVxDg5z0TXHLms1TXSkXcljOZUGHZmSFZpH
BFt9DLMhK4oQl0P5PgH/TZjEMdfw1MVguAM0Bkszw8pSk4nKHe4XreG18JAcD6Ht
VR+7Y/kH6pku5W3vT8cydApzlMwGSUTQrsesGNwD40eTD1q0qLOqp5UOIFrFA105
fe+5FnTLgLW3eQwhPPOXTMwBkDJXi08KyKfBtEjcIMaE12sm9991KYEMX3NNC+Ce
V5R+2Ilgp9d0CaG1qA7KCNDFw2aTbQXnEUm0JWSk3QzxpveP/R2vfUhtMVnb6bEt
k93aDXqhYaXoB3yXSoSbIP5eupa4WetbVKZI1ryjMQKBgQD5Qj30Da7E92ThBjQt
hVUSDn7r4ioxkxfS9jG5tzYzOvIp8yDTjK4+/X1gXggzXDei1RW+1NlH8wmEl4of
b237FUr2Zh60hMVXDEyAVkziYVGcdMShSBrsp7bnS8eBjCOCbBEDpyVhH3hFYAno
vZDrBLTmJzGrSoKwKmksFetjFQKBgQDpTiCI1/jnS5lpyqVu9h65LbGvZwVfX910
O5L7Sfj5B81O7xjV33pFCxG1vx1mK5/UL4JMlhX4jMNY0tvhpbw6mNCKbgUHKHNa
IovFnh41NerLscFiLHXWbWiZyGXrThkoIDxrO05mUfR5TzFuTIlGCd5JV86io6oO
tpKqYOoTEQKBgCikcnGe4YZgSGSgnFVnzi05i9xubi7TKylM12LOytmjnOTWLd4Q
rEC9GHpkGrY1LSUx1W/eSOeAa2bhRrZFdwtft29hy1Pn6j19VeP/Ll4jPClkqMMb
fLhlyF8Cbi9jaE7VzBhqYp/pf7TgKf13G3AWvmBgt6qUZabP44I6uLzZAoGAcwyB
4rmOFpEjQBYcapGYKP0tiC+naJbfn/fYzW53BmcgiXJCrwUbSHzi6Nsr5jxQ/tPG
z3mbsAvKMT0aDTYrkkHVZM5IUHVUHPi4MGV+xAKonHY1xPHj0i/1yxAVomnK4gyz
frWqPa7gfgndeGTptM4c/dH9JhrLO6IwxTAxfeECgYEAiT6tvfhhopN8jD6NqfxZ
pCuRpP495+Sd2VAtcz/y5KalM55sSx0nwMrxZWrfu513gNFjjWpN6dT7JV/yJaDQ
U8QxuTr+chRlY751KWTP0XhKddVkmQ7JNaueYcYOeMPcrz2WuXsVSVydabMcaRCQ
r1WMiZB8wr7RSN+Fpq5bJtw=
-----END PRIVATE KEY-----
";
const RSA_PUBLIC_PEM: &str = "\
-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA4ylcP4YIo0qpQxtUAt1c
23hOptEVFv+O1afpG9kEU38iZmXwlfoNkPXs4RDeS+nwl/P5S/H0iJEEjv2ZX6KZ
xKk2StT6k/hwzYulP7ZH2kJXHU9lOjPc27/xD1pKRJOGG74UccQb9/l0kSEe3o5L
AHXoa5Y3Va3DVR2KiMxdnL40elXrMCxh76aC/BmCLPjFSw/QW5VhEoIxmlX4PFTI
kP/xEQ76WXP24sKuvG9fqHfnoojc/ToBJ1o7qNDjOimgYlA5v+kttrD/MqeLvtGG
Dt/RlfJ0hNjoKCEzliFvwR/PODKqvYrnLFJPzOKpk0zT2nVCA4LML3Hm41XQXi4j
ZQIDAQAB
-----END PUBLIC KEY-----
";
const ED_PRIVATE_PEM: &str = "\
-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIOrQ++dldUYfbmm2Rp4akfT0NeJ8QmrKozBO+EJImR1M
-----END PRIVATE KEY-----
";

/// Claims the server would accept, for `sub` as `role`.
fn claims(settings: &Settings, sub: &str, role: &str, jti: &str) -> Value {
    let now = Utc::now().timestamp();
    json!({
        "sub": sub,
        "role": role,
        "jti": jti,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "exp": now + 600,
        "nbf": now,
        "iat": now,
    })
}

fn sign(algorithm: Algorithm, claims: &Value, key: &EncodingKey) -> String {
    jsonwebtoken::encode(&Header::new(algorithm), claims, key).expect("a signed token")
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

#[tokio::test]
async fn bad_tokens_are_refused_never_anonymous() {
    // The server also accepts an identity provider's RS256 tokens.
    let app = TestApp::spawn_with_settings(Options { seed_demo: false }, |settings| {
        settings.jwt_public_key = Some(RSA_PUBLIC_PEM.to_owned());
    })
    .await;
    let settings = app.settings();
    let secret = std::fs::read(app.data_dir.path().join(SECRET_FILE)).expect("the server's secret");
    let hs256 = EncodingKey::from_secret(&secret);
    let rsa = EncodingKey::from_rsa_pem(RSA_PRIVATE_PEM.as_bytes()).expect("the RSA test key");

    let admin_login = app.admin_token().await;
    let admin_id = text(&assert_me(&app, &admin_login, "ADMIN").await["id"]);
    let partner = issue_partner(&app, "Token tests").await;
    let partner_jti = api_token::Entity::find_by_id(partner.id)
        .one(&app.db)
        .await
        .expect("query")
        .expect("the token's row")
        .jti
        .to_string();
    let admin_claims = claims(&settings, &admin_id, "ADMIN", &Uuid::new_v4().to_string());
    let partner_claims = claims(&settings, &partner.id.to_string(), "PARTNER", &partner_jti);

    // Controls: the same claims, properly signed, are accepted; so each refusal below is for
    // the one thing wrong with its token.
    assert_me(
        &app,
        &sign(Algorithm::HS256, &admin_claims, &hs256),
        "ADMIN",
    )
    .await;
    assert_me(&app, &sign(Algorithm::RS256, &admin_claims, &rsa), "ADMIN").await;
    assert_me(
        &app,
        &sign(Algorithm::HS256, &partner_claims, &hs256),
        "PARTNER",
    )
    .await;
    assert_me(&app, &partner.token, "PARTNER").await;

    let mut cases: Vec<(&str, String)> = Vec::new();

    // A forged signature: flipped bits, another secret, or a payload changed under the old one.
    let genuine = sign(Algorithm::HS256, &admin_claims, &hs256);
    let (message, signature) = genuine.rsplit_once('.').expect("three segments");
    let mut flipped = URL_SAFE_NO_PAD.decode(signature).expect("base64");
    flipped[0] ^= 1;
    cases.push(("flipped signature", format!("{message}.{}", b64(&flipped))));
    cases.push(("empty signature", format!("{message}.")));
    cases.push((
        "another secret",
        sign(
            Algorithm::HS256,
            &admin_claims,
            &EncodingKey::from_secret(&[7u8; 64]),
        ),
    ));
    let partner_token = sign(Algorithm::HS256, &partner_claims, &hs256);
    let parts: Vec<&str> = partner_token.split('.').collect();
    let mut elevated = partner_claims.clone();
    elevated["role"] = json!("ADMIN");
    elevated["sub"] = json!(admin_id);
    cases.push((
        "payload changed under a valid signature",
        format!(
            "{}.{}.{}",
            parts[0],
            b64(&serde_json::to_vec(&elevated).expect("json")),
            parts[2]
        ),
    ));

    // Time, audience and issuer.
    let now = Utc::now().timestamp();
    let mut expired = admin_claims.clone();
    expired["exp"] = json!(now - 120);
    expired["nbf"] = json!(now - 3_600);
    expired["iat"] = json!(now - 3_600);
    cases.push(("expired", sign(Algorithm::HS256, &expired, &hs256)));
    let mut early = admin_claims.clone();
    early["nbf"] = json!(now + 120);
    early["iat"] = json!(now + 120);
    early["exp"] = json!(now + 3_600);
    cases.push(("not yet valid", sign(Algorithm::HS256, &early, &hs256)));
    let mut audience = admin_claims.clone();
    audience["aud"] = json!("another-api");
    cases.push(("wrong audience", sign(Algorithm::HS256, &audience, &hs256)));
    let mut issuer = admin_claims.clone();
    issuer["iss"] = json!("https://issuer.example");
    cases.push(("wrong issuer", sign(Algorithm::HS256, &issuer, &hs256)));
    let mut endless = admin_claims.clone();
    endless.as_object_mut().expect("claims").remove("exp");
    cases.push(("no expiry", sign(Algorithm::HS256, &endless, &hs256)));
    let mut root = admin_claims.clone();
    root["role"] = json!("ROOT");
    cases.push(("unknown role", sign(Algorithm::HS256, &root, &hs256)));

    // Algorithms: none, another HMAC, a key type not configured, and the public key as an HMAC
    // secret.
    let payload = b64(&serde_json::to_vec(&admin_claims).expect("json"));
    for header in [
        json!({ "alg": "none", "typ": "JWT" }),
        json!({ "alg": "None", "typ": "JWT" }),
        json!({ "alg": "NONE" }),
    ] {
        let header = b64(&serde_json::to_vec(&header).expect("json"));
        cases.push(("alg none", format!("{header}.{payload}.")));
        cases.push((
            "alg none with a signature",
            format!("{header}.{payload}.{}", parts[2]),
        ));
    }
    cases.push(("HS512", sign(Algorithm::HS512, &admin_claims, &hs256)));
    cases.push((
        "EdDSA without an Ed25519 key configured",
        sign(
            Algorithm::EdDSA,
            &admin_claims,
            &EncodingKey::from_ed_pem(ED_PRIVATE_PEM.as_bytes()).expect("the Ed25519 test key"),
        ),
    ));
    cases.push((
        "HS256 signed with the public key's PEM",
        sign(
            Algorithm::HS256,
            &admin_claims,
            &EncodingKey::from_secret(RSA_PUBLIC_PEM.as_bytes()),
        ),
    ));
    cases.push((
        "HS256 signed with the public key's PEM, trimmed",
        sign(
            Algorithm::HS256,
            &admin_claims,
            &EncodingKey::from_secret(RSA_PUBLIC_PEM.trim().as_bytes()),
        ),
    ));

    // Who the token names: nobody, or a partner token with no row.
    let unknown = claims(&settings, &Uuid::new_v4().to_string(), "ADMIN", "x");
    cases.push(("unknown user", sign(Algorithm::HS256, &unknown, &hs256)));
    let not_a_uuid = claims(&settings, "admin", "ADMIN", "x");
    cases.push((
        "user id not an id",
        sign(Algorithm::HS256, &not_a_uuid, &hs256),
    ));
    let unknown_jti = claims(
        &settings,
        &partner.id.to_string(),
        "PARTNER",
        &Uuid::new_v4().to_string(),
    );
    cases.push((
        "partner token without a row",
        sign(Algorithm::HS256, &unknown_jti, &hs256),
    ));
    cases.push(("malformed", "not-a-token".to_owned()));
    cases.push(("three empty segments", "..".to_owned()));

    for (case, token) in &cases {
        let (status, body) = me(&app, token).await;
        assert_refused(case, status, &body);
    }

    // Headers that are not `Bearer <token>`.
    let valid = sign(Algorithm::HS256, &admin_claims, &hs256);
    for value in [
        HeaderValue::from_static("garbage"),
        HeaderValue::from_static("Bearer"),
        HeaderValue::from_static("Bearer "),
        HeaderValue::from_static("Bearer     "),
        HeaderValue::from_static("Basic YWRtaW46cGFzc3dvcmQ="),
        HeaderValue::from_str(&valid).expect("a header"),
        HeaderValue::from_str(&format!("Token {valid}")).expect("a header"),
        HeaderValue::from_str(&format!("Bearer {valid} {valid}")).expect("a header"),
        HeaderValue::from_bytes(b"Bearer \xff\xfe\xfd").expect("a header"),
    ] {
        let shown = format!("{value:?}");
        let (status, body) = me_with_header(&app, value).await;
        assert_refused(&shown, status, &body);
    }

    // GET is refused the same way.
    let response = app
        .client
        .get(app.url("/graphql?query=%7B%20me%20%7B%20id%20%7D%20%7D"))
        .bearer_auth("not-a-token")
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    let body: Value = response.json().await.expect("JSON");
    assert_refused("GET", status, &body);

    // Accounts and tokens removed after the token was issued.
    let editor_org = create_organization(&app, &admin_login, "Deleted editor's hub").await;
    let editor = app
        .sign_in_new("leaver@example.org", Role::Editor, Some(uuid(&editor_org)))
        .await;
    let editor_id = text(&assert_me(&app, &editor, "EDITOR").await["id"]);
    app_user::Entity::find_by_id(uuid(&editor_id))
        .one(&app.db)
        .await
        .expect("query")
        .expect("the editor")
        .delete(&app.db)
        .await
        .expect("delete the editor");
    let (status, body) = me(&app, &editor).await;
    assert_refused("deleted user", status, &body);

    api_token::Entity::find_by_id(partner.id)
        .one(&app.db)
        .await
        .expect("query")
        .expect("the token's row")
        .delete(&app.db)
        .await
        .expect("delete the token's row");
    let (status, body) = me(&app, &partner.token).await;
    assert_refused("partner token whose row was deleted", status, &body);

    // Nothing above was taken for anonymous access, which still works without a header.
    let data = app.data(ME, json!({})).await;
    assert!(data["me"].is_null());
}

// ---------------------------------------------------------------------------------------------
// 3. Logins

/// The login's error: (code, message).
async fn failed_login(app: &TestApp, email: &str, password: &str) -> (String, String) {
    let body = login(app, email, password).await;
    assert!(body["data"].is_null(), "{body}");
    first_error(&body)
}

async fn user_row(app: &TestApp, id: Uuid) -> app_user::Model {
    app_user::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .expect("query")
        .expect("the user")
}

#[tokio::test]
async fn logins_are_checked_slowed_and_locked() {
    let app = TestApp::spawn_with(Options { seed_demo: false }).await;
    let email = "health.visitor@example.org";
    let user = accounts::create_user(
        &app.db,
        &Actor::command_line(),
        email,
        PASSWORD,
        Role::Admin,
        None,
    )
    .await
    .expect("the user");

    // A login gives a token for about an hour, and `me` with it is the user.
    let started = Utc::now();
    let body = login(&app, "Health.Visitor@Example.org", PASSWORD).await;
    let payload = &body["data"]["login"];
    assert_eq!(payload["user"]["id"], user.id.to_string(), "{body}");
    assert_eq!(payload["user"]["role"], "ADMIN");
    assert_eq!(payload["user"]["name"], email);
    let token = text(&payload["token"]);
    let expires: DateTime<Utc> = text(&payload["expiresAt"]).parse().expect("a DateTime");
    let lifetime = expires - started;
    assert!(
        (TimeDelta::minutes(59)..=TimeDelta::minutes(61)).contains(&lifetime),
        "the token lasts {lifetime}"
    );
    let segment = token.split('.').nth(1).expect("a payload");
    let claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segment).expect("base64")).expect("JSON");
    assert_eq!(
        claims["exp"],
        expires.timestamp(),
        "expiresAt is the token's exp"
    );
    let who = assert_me(&app, &token, "ADMIN").await;
    assert_eq!(who["id"], user.id.to_string());
    assert_eq!(who["name"], email);

    // Unknown email and wrong password: the same answer.
    let unknown = failed_login(&app, "nobody@example.org", PASSWORD).await;
    let wrong = failed_login(&app, email, "not the password at all").await;
    assert_eq!(unknown.0, UNAUTHENTICATED);
    assert_eq!(unknown, wrong);
    assert_eq!(failed_login(&app, "not an email", PASSWORD).await, unknown);
    assert_eq!(failed_login(&app, email, "").await, unknown);

    // Failures count against the account; a success clears them.
    assert_eq!(user_row(&app, user.id).await.failed_logins, 2);
    assert!(login(&app, email, PASSWORD).await["data"]["login"]["token"].is_string());
    assert_eq!(user_row(&app, user.id).await.failed_logins, 0);

    // Failures 4 to 6 each wait longer than the one before; the 6th locks the account.
    for attempt in 1..=6_i32 {
        let started = Instant::now();
        let refused = failed_login(&app, email, "a wrong guess, again").await;
        let took = started.elapsed();
        assert_eq!(refused, unknown, "attempt {attempt}");
        if attempt >= 4 {
            let least = Duration::from_millis(500 * u64::try_from(attempt - 3).expect("positive"));
            assert!(
                took >= least,
                "attempt {attempt} took {took:?}, less than {least:?}"
            );
        }
        let row = user_row(&app, user.id).await;
        if attempt < 6 {
            assert_eq!(row.failed_logins, attempt);
            assert!(row.locked_until.is_none());
        } else {
            let until = row.locked_until.expect("locked after 6 failures");
            assert!(
                until > Utc::now() + TimeDelta::minutes(14),
                "locked until {until}"
            );
        }
    }
    let (code, message) = failed_login(&app, email, "a wrong guess, again").await;
    assert_eq!(code, "RATE_LIMITED", "{message}");
    let (code, _) = failed_login(&app, email, PASSWORD).await;
    assert_eq!(
        code, "RATE_LIMITED",
        "the right password is refused while locked"
    );
    // The lock is the account's: others still sign in.
    assert_eq!(
        failed_login(&app, "nobody@example.org", PASSWORD).await,
        unknown
    );
    app.sign_in_new("colleague@example.org", Role::Admin, None)
        .await;

    // Once the lock has passed, the right password works again and clears the count.
    let mut active = user_row(&app, user.id).await.into_active_model();
    active.locked_until = Set(Some(Utc::now() - TimeDelta::seconds(1)));
    active.update(&app.db).await.expect("unlock");
    assert!(login(&app, email, PASSWORD).await["data"]["login"]["token"].is_string());
    let row = user_row(&app, user.id).await;
    assert_eq!((row.failed_logins, row.locked_until), (0, None));

    // A disabled account gets the same answer as a wrong password, even with the right one.
    let mut active = row.into_active_model();
    active.disabled = Set(true);
    active.update(&app.db).await.expect("disable");
    assert_eq!(failed_login(&app, email, PASSWORD).await, unknown);
}

#[tokio::test]
async fn concurrent_guesses_cannot_outrun_the_lock() {
    let app = TestApp::spawn_with(Options { seed_demo: false }).await;
    let email = "practice.manager@example.org";
    let user = accounts::create_user(
        &app.db,
        &Actor::command_line(),
        email,
        PASSWORD,
        Role::Admin,
        None,
    )
    .await
    .expect("the user");

    // Twenty wrong guesses at once: no more may be checked than one after another.
    let mut guesses = tokio::task::JoinSet::new();
    for i in 0..20 {
        let request = app
            .client
            .post(app.url("/graphql"))
            .json(&json!({ "query": LOGIN, "variables": { "e": email, "p": format!("guess number {i}") } }));
        guesses.spawn(async move {
            let body: Value = request
                .send()
                .await
                .expect("request")
                .json()
                .await
                .expect("JSON");
            first_error(&body).0
        });
    }
    let mut codes = Vec::new();
    while let Some(code) = guesses.join_next().await {
        codes.push(code.expect("a guess"));
    }
    codes.sort();
    let checked = codes.iter().filter(|c| *c == UNAUTHENTICATED).count();
    let limited = codes.iter().filter(|c| *c == "RATE_LIMITED").count();
    assert_eq!((checked, limited), (6, 14), "{codes:?}");
    let row = user_row(&app, user.id).await;
    assert!(
        row.locked_until.is_some_and(|until| until > Utc::now()),
        "{row:?}"
    );
    let (code, _) = failed_login(&app, email, PASSWORD).await;
    assert_eq!(
        code, "RATE_LIMITED",
        "the right password is refused while locked"
    );
}

// ---------------------------------------------------------------------------------------------
// 4. Partner tokens through GraphQL

#[tokio::test]
async fn issued_tokens_read_and_revocation_is_immediate_everywhere() {
    let app = TestApp::spawn_with(Options { seed_demo: false }).await;
    let admin = app.admin_token().await;
    let org = create_organization(&app, &admin, "Riverside Family Hub").await;
    let listing = create_service(
        &app,
        &admin,
        service_with_lines(&org, "Riverside baby group"),
    )
    .await;

    let started = Utc::now();
    let issued = app
        .data_as(
            Some(&admin),
            "mutation { issueApiToken(name: \"Health visiting app\", expiresInDays: 30) { id token expiresAt } }",
            json!({}),
        )
        .await;
    let issued = &issued["issueApiToken"];
    let id = text(&issued["id"]);
    let token = text(&issued["token"]);
    let expires: DateTime<Utc> = text(&issued["expiresAt"]).parse().expect("a DateTime");
    let lifetime = expires - started;
    assert!(
        (TimeDelta::days(30) - TimeDelta::minutes(1)..=TimeDelta::days(30) + TimeDelta::minutes(1))
            .contains(&lifetime),
        "the token lasts {lifetime}"
    );

    // It reads, professional lines included; anonymous callers see the public ones only.
    let who = assert_me(&app, &token, "PARTNER").await;
    assert_eq!(who["id"], id);
    assert_eq!(who["name"], "Health visiting app");
    let line_counts = |data: &Value| {
        (
            data["service"]["phones"].as_array().map_or(0, Vec::len),
            data["service"]["contacts"].as_array().map_or(0, Vec::len),
        )
    };
    let seen = app
        .data_as(Some(&token), LINES, json!({ "id": listing }))
        .await;
    assert_eq!(line_counts(&seen), (2, 2), "{seen}");
    let public = app.data(LINES, json!({ "id": listing })).await;
    assert_eq!(line_counts(&public), (1, 1), "{public}");

    // Admins see it listed, not revoked.
    let tokens = |data: &Value| -> Vec<Value> {
        data["apiTokens"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|t| t["id"] == json!(id))
            .cloned()
            .collect()
    };
    let listed = app
        .data_as(
            Some(&admin),
            "{ apiTokens { id name createdAt expiresAt revokedAt } }",
            json!({}),
        )
        .await;
    let found = tokens(&listed);
    assert_eq!(found.len(), 1, "{listed}");
    assert_eq!(found[0]["name"], "Health visiting app");
    assert_eq!(found[0]["expiresAt"], issued["expiresAt"]);
    assert!(found[0]["revokedAt"].is_null());
    assert!(
        !listed.to_string().contains(&token),
        "the token itself is never listed"
    );

    // A second instance on the same database accepts it too.
    let second = app.second_instance().await;
    assert_me(&second, &token, "PARTNER").await;

    let revoked = app
        .data_as(
            Some(&admin),
            "mutation($id: ID!) { revokeApiToken(id: $id) }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(revoked["revokeApiToken"], true);
    let revoked_at = Instant::now();

    // Refused at once here...
    let (status, body) = me(&app, &token).await;
    assert_refused("revoked, this instance", status, &body);
    let (status, body) = app
        .post_as(Some(&token), LINES, json!({ "id": listing }))
        .await;
    assert_refused("revoked, reading", status, &body);
    // ...and on the other instance within a second.
    let mut last = (0, Value::Null);
    while revoked_at.elapsed() < Duration::from_secs(1) {
        last = me(&second, &token).await;
        if last.0 == 401 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_refused("revoked, second instance", last.0, &last.1);

    let again = app
        .data_as(
            Some(&admin),
            "mutation($id: ID!) { revokeApiToken(id: $id) }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(again["revokeApiToken"], false, "already revoked");
    let listed = app
        .data_as(Some(&admin), "{ apiTokens { id revokedAt } }", json!({}))
        .await;
    assert!(tokens(&listed)[0]["revokedAt"].is_string(), "{listed}");
    let (code, _) = first_error(
        &app.graphql_as(
            Some(&admin),
            "mutation($id: ID!) { revokeApiToken(id: $id) }",
            json!({ "id": Uuid::new_v4().to_string() }),
        )
        .await,
    );
    assert_eq!(code, "NOT_FOUND");

    // Lifetimes are bounded.
    for days in [0, -1, 731] {
        let body = app
            .graphql_as(
                Some(&admin),
                "mutation($d: Int!) { issueApiToken(name: \"Bad\", expiresInDays: $d) { id } }",
                json!({ "d": days }),
            )
            .await;
        assert_eq!(first_error(&body).0, "BAD_USER_INPUT", "{days} days");
    }
}

// ---------------------------------------------------------------------------------------------
// 5. The command line, end to end

/// What one command printed.
struct Output {
    success: bool,
    stdout: String,
    stderr: String,
}

/// Runs `signpost args` on `data_dir` (SQLite), with `stdin`, off the async runtime.
async fn signpost(
    binary: &std::path::Path,
    data_dir: &std::path::Path,
    args: &[&str],
    stdin: &str,
) -> Output {
    run(
        tests::configured_command(binary, data_dir, None),
        args,
        stdin,
    )
    .await
}

/// Runs `command` with `args`, feeding it `stdin`, off the async runtime.
async fn run(mut command: Command, args: &[&str], stdin: &str) -> Output {
    command
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let stdin = stdin.to_owned();
    let output = tokio::task::spawn_blocking(move || {
        use std::io::Write as _;
        let mut child = command.spawn().expect("signpost starts");
        if let Some(mut pipe) = child.stdin.take() {
            pipe.write_all(stdin.as_bytes()).expect("write stdin");
        }
        child.wait_with_output().expect("signpost finishes")
    })
    .await
    .expect("the command's task");
    Output {
        success: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn succeeded(what: &str, output: &Output) {
    assert!(
        output.success,
        "{what} failed\nstdout: {}\nstderr: {}",
        output.stdout, output.stderr
    );
}

#[tokio::test]
async fn the_command_line_sets_up_accounts_and_tokens() {
    let binary = signpost_binary();
    let data_dir = tempfile::tempdir().expect("a data directory");
    let dir = data_dir.path();

    let migrated = signpost(&binary, dir, &["migrate"], "").await;
    succeeded("migrate", &migrated);
    assert_eq!(migrated.stdout.trim(), "migrations applied");

    let admin_password = "a long admin pass phrase";
    let added = signpost(
        &binary,
        dir,
        &[
            "user",
            "add",
            "--email",
            "admin@example.org",
            "--role",
            "admin",
            "--password-stdin",
        ],
        &format!("{admin_password}\n"),
    )
    .await;
    succeeded("user add", &added);
    assert!(
        added.stdout.contains("admin@example.org"),
        "{}",
        added.stdout
    );
    assert!(!added.stdout.contains(admin_password) && !added.stderr.contains(admin_password));
    // The password only comes on standard input, and must be long enough.
    let short = signpost(
        &binary,
        dir,
        &[
            "user",
            "add",
            "--email",
            "short@example.org",
            "--role",
            "admin",
            "--password-stdin",
        ],
        "short\n",
    )
    .await;
    assert!(!short.success, "a short password is refused");
    let argument = signpost(
        &binary,
        dir,
        &[
            "user",
            "add",
            "--email",
            "arg@example.org",
            "--role",
            "admin",
        ],
        "",
    )
    .await;
    assert!(!argument.success, "--password-stdin is required");

    let issued = signpost(
        &binary,
        dir,
        &["token", "issue", "--name", "partner", "--days", "30"],
        "",
    )
    .await;
    succeeded("token issue", &issued);
    let lines: Vec<&str> = issued.stdout.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "the token alone on stdout: {:?}",
        issued.stdout
    );
    let partner = lines[0].to_owned();
    assert_eq!(partner.split('.').count(), 3, "a JWT: {partner}");
    let token_id = issued
        .stderr
        .split_whitespace()
        .find_map(|word| Uuid::parse_str(word).ok())
        .expect("the token's id on stderr");

    // A server on that data directory.
    let settings = Settings {
        data_dir: dir.to_path_buf(),
        bind: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        seed_demo: false,
        ..Settings::default()
    };
    let app = TestApp::spawn_on(settings, data_dir).await;

    let body = login(&app, "admin@example.org", admin_password).await;
    let admin = text(&body["data"]["login"]["token"]);
    assert_me(&app, &admin, "ADMIN").await;
    let own = create_organization(&app, &admin, "Riverside Family Hub").await;
    let other = create_organization(&app, &admin, "Hillside Children's Centre").await;
    let own_listing = create_service(
        &app,
        &admin,
        service_with_lines(&own, "Riverside baby group"),
    )
    .await;
    let other_listing = create_service(
        &app,
        &admin,
        service_input(&other, "Hillside stay and play"),
    )
    .await;

    let created = app
        .data_as(
            Some(&admin),
            "mutation($input: UserInput!) { createUser(input: $input) { id role name organization { id } } }",
            json!({ "input": {
                "email": "editor@riverside.example.org",
                "password": "the editor's pass phrase",
                "role": "EDITOR",
                "organizationId": own,
            } }),
        )
        .await;
    assert_eq!(created["createUser"]["role"], "EDITOR");
    assert_eq!(created["createUser"]["organization"]["id"], json!(own));

    let body = login(
        &app,
        "editor@riverside.example.org",
        "the editor's pass phrase",
    )
    .await;
    let editor = text(&body["data"]["login"]["token"]);
    let who = assert_me(&app, &editor, "EDITOR").await;
    assert_eq!(who["name"], "editor@riverside.example.org");

    // The editor edits their own organisation's listing...
    let updated = app
        .data_as(
            Some(&editor),
            UPDATE_SERVICE,
            json!({
                "id": own_listing,
                "v": version(&app, &own_listing).await,
                "input": service_with_lines(&own, "Riverside baby and toddler group"),
            }),
        )
        .await;
    assert_eq!(updated["updateService"]["id"], json!(own_listing));
    let renamed = app
        .data(
            "query($id: ID!) { service(id: $id) { name } }",
            json!({ "id": own_listing }),
        )
        .await;
    assert_eq!(
        renamed["service"]["name"],
        "Riverside baby and toddler group"
    );
    // ...and nothing else.
    let refusals = [
        (
            UPDATE_SERVICE,
            json!({
                "id": other_listing,
                "v": version(&app, &other_listing).await,
                "input": service_input(&other, "Taken over"),
            }),
        ),
        (
            UPDATE_SERVICE,
            json!({
                "id": own_listing,
                "v": version(&app, &own_listing).await,
                "input": service_input(&other, "Moved away"),
            }),
        ),
        (
            CREATE_SERVICE,
            json!({ "input": service_input(&other, "Planted listing") }),
        ),
        (
            "mutation($id: ID!, $v: Int!) { archiveService(id: $id, expectedVersion: $v) { id } }",
            json!({ "id": other_listing, "v": version(&app, &other_listing).await }),
        ),
        (
            "mutation($id: ID!) { updateOrganization(id: $id, input: { name: \"Taken over\" }) { id } }",
            json!({ "id": other }),
        ),
        (
            CREATE_ORGANIZATION,
            json!({ "input": { "name": "Editor's own charity" } }),
        ),
        (
            "mutation($input: UserInput!) { createUser(input: $input) { id } }",
            json!({ "input": { "email": "friend@example.org", "password": "a long enough password", "role": "ADMIN" } }),
        ),
        (
            "mutation { issueApiToken(name: \"Mine\", expiresInDays: 1) { id } }",
            json!({}),
        ),
    ];
    for (query, variables) in refusals {
        let body = app.graphql_as(Some(&editor), query, variables).await;
        assert_eq!(first_error(&body).0, FORBIDDEN, "{query}: {body}");
    }
    let untouched = app
        .data(
            "query($id: ID!) { service(id: $id) { name organization { id } } }",
            json!({ "id": other_listing }),
        )
        .await;
    assert_eq!(untouched["service"]["name"], "Hillside stay and play");

    // The CLI's partner token reads professional lines, until the CLI revokes it.
    assert_me(&app, &partner, "PARTNER").await;
    let seen = app
        .data_as(Some(&partner), LINES, json!({ "id": own_listing }))
        .await;
    assert_eq!(
        seen["service"]["phones"].as_array().map(Vec::len),
        Some(2),
        "{seen}"
    );
    let revoked = signpost(
        &binary,
        app.data_dir.path(),
        &["token", "revoke", &token_id.to_string()],
        "",
    )
    .await;
    succeeded("token revoke", &revoked);
    assert_eq!(revoked.stdout.trim(), "revoked");
    let (status, body) = me(&app, &partner).await;
    assert_refused("revoked by the CLI", status, &body);
    let again = signpost(
        &binary,
        app.data_dir.path(),
        &["token", "revoke", &token_id.to_string()],
        "",
    )
    .await;
    succeeded("token revoke, again", &again);
    assert_eq!(again.stdout.trim(), "already revoked");
    let unknown = signpost(
        &binary,
        app.data_dir.path(),
        &["token", "revoke", &Uuid::new_v4().to_string()],
        "",
    )
    .await;
    assert!(!unknown.success, "revoking an unknown token fails");
}

/// Runs `signpost args` on `database` (SQLite or the test's PostgreSQL database), with `stdin`,
/// off the async runtime.
async fn signpost_on(
    database: &TestDatabase,
    binary: &std::path::Path,
    args: &[&str],
    stdin: &str,
) -> Output {
    run(database.command(binary), args, stdin).await
}

#[tokio::test]
async fn the_command_lines_account_and_token_actions_are_audited() {
    let binary = signpost_binary();
    let mut database = TestDatabase::create().await;
    let password = "a long admin pass phrase";
    let added = signpost_on(
        &database,
        &binary,
        &[
            "user",
            "add",
            "--email",
            "cli.admin@example.org",
            "--role",
            "admin",
            "--password-stdin",
        ],
        &format!("{password}\n"),
    )
    .await;
    succeeded("user add", &added);
    let user_id = added
        .stdout
        .split_whitespace()
        .find_map(|word| Uuid::parse_str(word).ok())
        .expect("the user's id on stdout");
    let issued = signpost_on(
        &database,
        &binary,
        &[
            "token",
            "issue",
            "--name",
            "audited partner",
            "--days",
            "30",
        ],
        "",
    )
    .await;
    succeeded("token issue", &issued);
    let token_id = issued
        .stderr
        .split_whitespace()
        .find_map(|word| Uuid::parse_str(word).ok())
        .expect("the token's id on stderr");
    let revoked = signpost_on(
        &database,
        &binary,
        &["token", "revoke", &token_id.to_string()],
        "",
    )
    .await;
    succeeded("token revoke", &revoked);
    assert_eq!(revoked.stdout.trim(), "revoked");

    // A server on the same data directory and database.
    let data_dir = std::mem::replace(
        &mut database.data_dir,
        tempfile::tempdir().expect("a spare directory"),
    );
    let settings = Settings {
        data_dir: data_dir.path().to_path_buf(),
        bind: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        seed_demo: false,
        database_url: database.database_url.clone(),
        ..Settings::default()
    };
    let app = TestApp::spawn_on(settings, data_dir).await;
    let body = login(&app, "cli.admin@example.org", password).await;
    let admin = text(&body["data"]["login"]["token"]);
    let log = |id: Uuid| audit_log(&app, &admin, json!(id));
    let user_log = log(user_id).await;
    assert_eq!(user_log.len(), 1, "{user_log:?}");
    assert_eq!(user_log[0]["action"], "user.create");
    assert_eq!(user_log[0]["actor"], "command line");
    assert_eq!(user_log[0]["entity"], "app_user");
    assert_eq!(user_log[0]["entityId"], json!(user_id));
    assert_eq!(user_log[0]["after"]["email"], "cli.admin@example.org");
    assert_eq!(user_log[0]["after"]["role"], "ADMIN");
    assert!(
        user_log[0]["after"].get("password_hash").is_none(),
        "no password hash in the audit log"
    );
    let token_log = log(token_id).await;
    let seen: Vec<(&str, &str, &str)> = token_log
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap_or_default(),
                e["actor"].as_str().unwrap_or_default(),
                e["entity"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("token.issue", "command line", "api_token"),
            ("token.revoke", "command line", "api_token"),
        ]
    );
    assert_eq!(token_log[0]["after"]["name"], "audited partner");
}

#[tokio::test]
async fn account_actions_are_audited() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let org = app
        .data_as(
            Some(&admin),
            "{ organizations(first: 1) { edges { node { id } } } }",
            json!({}),
        )
        .await["organizations"]["edges"][0]["node"]["id"]
        .clone();
    let user = app
        .data_as(
            Some(&admin),
            "mutation($org: ID!) { createUser(input: { email: \"audited.editor@example.org\", password: \"a long enough password\", role: EDITOR, organizationId: $org }) { id } }",
            json!({ "org": org }),
        )
        .await["createUser"]["id"]
        .clone();
    let token = app
        .data_as(
            Some(&admin),
            "mutation { issueApiToken(name: \"audited partner\", expiresInDays: 10) { id } }",
            json!({}),
        )
        .await["issueApiToken"]["id"]
        .clone();
    app.data_as(
        Some(&admin),
        "mutation($id: ID!) { revokeApiToken(id: $id) }",
        json!({ "id": token }),
    )
    .await;
    let log = |id: Value| audit_log(&app, &admin, id);
    let user_log = log(user).await;
    assert_eq!(user_log.len(), 1);
    assert_eq!(user_log[0]["action"], "user.create");
    assert!(user_log[0]["after"]["email"] == "audited.editor@example.org");
    assert!(
        user_log[0]["after"].get("password_hash").is_none(),
        "no password hash in the audit log"
    );
    let actions: Vec<String> = log(token)
        .await
        .iter()
        .filter_map(|e| e["action"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(actions, ["token.issue", "token.revoke"]);
}

#[tokio::test]
async fn a_flood_of_bad_tokens_is_rate_limited() {
    let app = TestApp::spawn_with_settings(tests::Options::default(), |settings| {
        settings.rate_limit_anonymous = 5
    })
    .await;
    let mut statuses = Vec::new();
    for _ in 0..8 {
        let (status, _) = app
            .post_as(Some("not-a-token"), "{ me { name } }", json!({}))
            .await;
        statuses.push(status);
    }
    assert_eq!(&statuses[..5], &[401; 5]);
    assert!(statuses[5..].iter().all(|s| *s == 429), "{statuses:?}");
}

#[tokio::test]
async fn an_address_without_an_account_locks_like_one_with() {
    let app = TestApp::spawn().await;
    let known = format!("known-{}@example.org", uuid::Uuid::new_v4().simple());
    let unknown = format!("unknown-{}@example.org", uuid::Uuid::new_v4().simple());
    app.sign_in_new(&known, Role::Admin, None).await;
    let login = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }";
    for email in [&known, &unknown] {
        let mut codes = Vec::new();
        for _ in 0..7 {
            let body = app
                .graphql(login, json!({ "e": email, "p": "a wrong password guess" }))
                .await;
            codes.push(first_error(&body).0);
        }
        assert_eq!(&codes[..6], &["UNAUTHENTICATED"; 6], "{email}: {codes:?}");
        assert_eq!(codes[6], "RATE_LIMITED", "{email}: {codes:?}");
    }
}

/// The audit log of one entity, as `token` (an admin's) reads it.
async fn audit_log(app: &TestApp, token: &str, id: Value) -> Vec<Value> {
    let data = app
        .data_as(
            Some(token),
            "query($id: ID!) { auditLog(entityId: $id) { action actor entity entityId after } }",
            json!({ "id": id }),
        )
        .await;
    data["auditLog"].as_array().cloned().unwrap_or_default()
}
