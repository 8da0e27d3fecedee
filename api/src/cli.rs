//! The command line of the `signpost` binary.

use clap::{Parser, Subcommand};

use crate::{Application, config::Settings, db, seed, shutdown_signal, store::audit::Actor};

/// Signpost: a GraphQL directory of first 1001 days services.
///
/// Configuration comes from environment variables (DATABASE_URL, SIGNPOST_DATA_DIR,
/// SIGNPOST_BIND, ...); see the README.
#[derive(Debug, Parser)]
#[command(name = "signpost", version, about)]
pub struct Cli {
    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (migrates, and seeds the demo directory into an empty database).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Load the demo directory (sample data) into an empty database.
    SeedDemo,
    /// Print the GraphQL schema (SDL).
    Schema,
    /// Write every service (all statuses, public contacts only) to standard output as a JSON
    /// array of fully nested Open Referral UK / HSDS 3 service objects, ordered by id.
    Export,
    /// Import an Open Referral (HSDS 3 / Open Referral UK) JSON document: an array of fully
    /// nested services, a page of `/services`, or an object of top-level arrays. Records are
    /// upserted by id; running servers pick the changes up from the change feed.
    Import {
        /// The JSON file (at most 50 MiB).
        file: std::path::PathBuf,
        /// All or nothing: write nothing when any record fails.
        #[arg(long)]
        strict: bool,
    },
    /// Rebuild the search index from the database (stop servers on this data directory first).
    Reindex,
    /// Manage staff accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage partner tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Load full OS Code-Point Open CSVs (.csv or .csv.gz, searched recursively) for
    /// full-postcode precision; restart the server to use them.
    ImportPostcodes {
        /// The directory holding the CSV files.
        dir: std::path::PathBuf,
    },
}

/// Staff account commands.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add an admin, an organisation editor or a professional (read-only: sees professional-only
    /// lines in the web pages); the password is read from standard input.
    Add {
        /// The sign-in email address.
        #[arg(long)]
        email: String,
        /// admin, editor or professional.
        #[arg(long, value_parser = ["admin", "editor", "professional"])]
        role: String,
        /// The organisation an editor edits.
        #[arg(long)]
        organization: Option<uuid::Uuid>,
        /// Read the password from standard input (the only way to give it).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
}

/// Partner token commands.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Issue a partner token and print it alone on standard output.
    Issue {
        /// A name for the token (the partner application).
        #[arg(long)]
        name: String,
        /// How many days it lasts.
        #[arg(long, default_value_t = 365)]
        days: i32,
    },
    /// Revoke a partner token by its id.
    Revoke {
        /// The token's id (printed to standard error when issued).
        id: uuid::Uuid,
    },
}

/// Opens the configured database, migrated.
async fn database(settings: &Settings) -> anyhow::Result<sea_orm::DatabaseConnection> {
    let db = db::connect(settings, Default::default()).await?;
    db::migrate(&db).await?;
    Ok(db)
}

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let settings = Settings::from_env()?;
            let app = Application::build(settings).await?;
            tracing::info!(address = %app.local_addr()?, "signpost is listening");
            app.run_until(shutdown_signal()).await
        }
        Command::Migrate => {
            let settings = Settings::from_env()?;
            let db = db::connect(&settings, Default::default()).await?;
            db::migrate(&db).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::SeedDemo => {
            let settings = Settings::from_env()?;
            let db = db::connect(&settings, Default::default()).await?;
            db::migrate(&db).await?;
            match seed::seed_demo(&db).await? {
                seed::SeedOutcome::Seeded {
                    organizations,
                    services,
                    events,
                } => println!(
                    "seeded the demo directory: {organizations} organisations, {services} services, {events} events"
                ),
                seed::SeedOutcome::AlreadyPopulated => {
                    println!("the database already holds listings; nothing seeded");
                }
            }
            Ok(())
        }
        Command::User(UserCommand::Add {
            email,
            role,
            organization,
            password_stdin: _,
        }) => {
            let settings = Settings::from_env()?;
            let db = database(&settings).await?;
            let mut password = String::new();
            std::io::stdin().read_line(&mut password)?;
            let password = password.trim_end_matches(['\r', '\n']);
            let role = match role.as_str() {
                "admin" => entity::Role::Admin,
                "professional" => entity::Role::Professional,
                _ => entity::Role::Editor,
            };
            let user = crate::store::accounts::create_user(
                &db,
                &Actor::command_line(),
                &email,
                password,
                role,
                organization,
            )
            .await
            .map_err(|err| anyhow::anyhow!("{err}"))?;
            println!("added {} ({:?}) with id {}", user.email, user.role, user.id);
            Ok(())
        }
        Command::Token(TokenCommand::Issue { name, days }) => {
            let settings = Settings::from_env()?;
            let db = database(&settings).await?;
            let auth = crate::auth::Authenticator::from_settings(&settings, db.clone())?;
            let issued = crate::store::accounts::issue_token(
                &db,
                &Actor::command_line(),
                auth.keys(),
                &name,
                days,
            )
            .await
            .map_err(|err| anyhow::anyhow!("{err}"))?;
            eprintln!(
                "token id {} expires {}",
                issued.id,
                issued.expires_at.to_rfc3339()
            );
            println!("{}", issued.token);
            Ok(())
        }
        Command::Token(TokenCommand::Revoke { id }) => {
            let settings = Settings::from_env()?;
            let db = database(&settings).await?;
            let revoked = crate::store::accounts::revoke_token(&db, &Actor::command_line(), id)
                .await
                .map_err(|err| anyhow::anyhow!("{err}"))?;
            println!(
                "{}",
                if revoked {
                    "revoked"
                } else {
                    "already revoked"
                }
            );
            Ok(())
        }
        Command::Reindex => {
            let started = std::time::Instant::now();
            let count = crate::reindex(&Settings::from_env()?).await?;
            println!(
                "indexed {count} services in {:.2} s",
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Command::ImportPostcodes { dir } => {
            let count = crate::import_postcodes(&Settings::from_env()?, dir).await?;
            println!("imported {count} postcodes; restart the server to use them");
            Ok(())
        }
        Command::Export => {
            let settings = Settings::from_env()?;
            let db = database(&settings).await?;
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            crate::hsds::encode::export(&db, &mut out).await?;
            std::io::Write::flush(&mut out)?;
            Ok(())
        }
        Command::Import { file, strict } => {
            let settings = Settings::from_env()?;
            let db = database(&settings).await?;
            let size = std::fs::metadata(&file)?.len();
            let limit = crate::hsds::import::CLI_MAX_BYTES;
            if usize::try_from(size).map_or(true, |size| size > limit) {
                anyhow::bail!(
                    "{} is {size} bytes; the import limit is {limit} bytes",
                    file.display()
                );
            }
            let bytes = std::fs::read(&file)?;
            let started = std::time::Instant::now();
            let rules = crate::eligibility_rules(&settings)?;
            let report = crate::hsds::import::import_bytes_with_rules(
                &db,
                &crate::hsds::import::Actor::system(),
                &bytes,
                strict,
                limit,
                &rules,
            )
            .await?;
            println!("finished in {:.2} s", started.elapsed().as_secs_f64());
            println!("{}", crate::hsds::import::summary(&report));
            if strict && !report.failed.is_empty() {
                anyhow::bail!("strict import: nothing was written");
            }
            Ok(())
        }
        Command::Schema => {
            print!("{}", crate::graphql::sdl());
            Ok(())
        }
    }
}
