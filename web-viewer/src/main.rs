//! `wangge`: the command line of the Wangge grid-governance engine.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};

use web_viewer::cli;

#[derive(Parser)]
#[command(
    name = "wangge",
    version,
    about = "Wangge 网格: grid-governance map and analytics engine"
)]
struct Cli {
    /// DuckDB store file.
    #[arg(
        long,
        global = true,
        env = "WANGGE_DB",
        default_value = "wangge.duckdb"
    )]
    db: PathBuf,
    /// Key file that encrypts ID numbers and phones (default: the store's
    /// path with `.key` appended; created by `wangge key init`).
    #[arg(long, global = true, env = "WANGGE_KEY_FILE", value_name = "FILE")]
    key: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate the demo town into the store.
    Demo(cli::demo::DemoArgs),
    /// Import elements from GeoJSON, CSV, OSM PBF or foreign incident CSV.
    Import(Box<cli::import::ImportArgs>),
    /// Export elements as GeoJSON or CSV.
    Export(cli::export::ExportArgs),
    /// Counts per element and grid level, extent, store version.
    Info(cli::info::InfoArgs),
    /// Serve the API, tiles and the viewer (generates the demo town first when the store is empty).
    Serve(cli::serve::ServeArgs),
    /// Vector tiles: `tiles export --out town.pmtiles`.
    Tiles(cli::tiles::TilesArgs),
    /// Propose new grids of min..max households (re-gridding recommender).
    Regrid(cli::regrid::RegridArgs),
    /// Analytics reports: indicators, hotspots, coverage.
    Report(cli::report::ReportArgs),
    /// Accounts: add, passwd, disable, enable, list.
    User(cli::user::UserArgs),
    /// Kiosk tokens for big screens and embeds: add, revoke, list.
    Token(cli::user::TokenArgs),
    /// Print the audit log (reveals, exports, log-ins, adoptions).
    Audit(cli::user::AuditArgs),
    /// The key file of ID numbers and phones: init, rotate, show.
    Key(cli::key::KeyArgs),
    /// Print the event taxonomy.
    Taxonomy,
}

/// A command whose output pipe closes (`wangge info | head`) ends quietly
/// with status 141 (128 + SIGPIPE, what a shell reports for a tool killed
/// by a closed pipe), as other command-line tools do, instead of printing a
/// panic. Rust ignores SIGPIPE, so `println!` panics on a closed stdout;
/// this workspace forbids `unsafe`, so the signal's default action is not
/// restored: the panic is recognised instead. The server does not install
/// it (a client hanging up is an error on that socket, not the process's).
fn quiet_on_closed_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let msg = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if msg.starts_with("failed printing to stdout") && msg.contains("Broken pipe") {
            std::process::exit(141);
        }
        default(info);
    }));
}

fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,tower_http=warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    // Everything this process creates (the store, its WAL, exports) is
    // readable by its owner only.
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    let args = Cli::parse();
    if !matches!(args.command, Command::Serve(_)) {
        quiet_on_closed_pipe();
    }
    if let Some(key) = args.key {
        cli::key::use_key_file(key);
    }
    match args.command {
        Command::Demo(a) => cli::demo::run(&args.db, a),
        Command::Import(a) => cli::import::run(&args.db, *a),
        Command::Export(a) => cli::export::run(&args.db, a),
        Command::Info(a) => cli::info::run(&args.db, a),
        Command::Serve(a) => cli::serve::run(&args.db, a),
        Command::Tiles(a) => cli::tiles::run(&args.db, a),
        Command::Regrid(a) => cli::regrid::run(&args.db, a),
        Command::Report(a) => cli::report::run(&args.db, a),
        Command::User(a) => cli::user::run(&args.db, a),
        Command::Token(a) => cli::user::run_token(&args.db, a),
        Command::Audit(a) => cli::user::run_audit(&args.db, a),
        Command::Key(a) => cli::key::run(&args.db, a),
        Command::Taxonomy => {
            for c in geo_core::taxonomy::CATEGORIES {
                println!("{}\t{}\t{}\t{} h", c.code, c.name_zh, c.name_en, c.limit_h);
            }
            Ok(())
        }
    }
}
