//! The command line of the `signpost` binary.

use clap::{Parser, Subcommand};

use crate::{Application, config::Settings, db, seed, shutdown_signal};

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
    /// Rebuild the search index from the database (stop servers on this data directory first).
    Reindex,
    /// Load full OS Code-Point Open CSVs (.csv or .csv.gz, searched recursively) for
    /// full-postcode precision; restart the server to use them.
    ImportPostcodes {
        /// The directory holding the CSV files.
        dir: std::path::PathBuf,
    },
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
        Command::Schema => {
            print!("{}", crate::graphql::sdl());
            Ok(())
        }
    }
}
