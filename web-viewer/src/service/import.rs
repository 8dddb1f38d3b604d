//! Importing a file into the store: element files (GeoJSON/CSV/Shapefile/
//! Excel), OpenStreetMap PBF and foreign incident CSV, all-or-nothing. The
//! one code path of `wangge import` (on its own connection) and of
//! `POST /api/v1/imports` (on the server's write connection): both parse the
//! same options ([`ImportSpec`]) and answer the same [`ImportOutcome`].

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use analytics::events::EventRules;
use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, FromArgMatches};
use geo_core::assign::ElementRef;
use geo_core::crs::Crs;
use geo_core::io::{import, ElementKind, Encoding, Format, ImportOptions};
use geo_core::model::{BuildingUse, EventSource};
use geo_core::store::{GridImport, Provenance, Store};
use geo_core::Dataset;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use wangge_data::estimate::{default_units, estimate_all, EstimateParams};
use wangge_data::incidents::{read_events, CategoryMap, IncidentOptions, ResolutionRule};
use wangge_data::osm::{read_pbf, OsmOptions};

use crate::ingest::{assign, grid_index, BatchRefs};

/// What to import and how: the arguments of `wangge import` (the CLI adds
/// `--json` and `--server`), and the query of `POST /api/v1/imports`
/// ([`ImportSpec::from_query`]).
#[derive(Args, Debug, Clone)]
pub struct ImportSpec {
    /// Element kind (communities, grids, compounds, buildings, units, households,
    /// persons, places, events, sentiments, organisations, roads) or `osm`.
    pub kind: String,
    /// The file (GeoJSON, CSV — UTF-8 or GBK —, a Shapefile `.shp` with its
    /// `.dbf`/`.prj`/`.cpg` beside it or a `.zip` of them, an Excel register
    /// `.xlsx`/`.xls`, .osm.pbf, or .csv.gz for events).
    pub file: PathBuf,
    /// CRS of the file's coordinates: wgs84 (also cgcs2000), gcj02, bd09,
    /// epsg3857 (Web Mercator metres). A GeoJSON `crs` member naming
    /// EPSG:3857 is honoured without it; one naming another projection is refused.
    #[arg(long, default_value = "wgs84")]
    pub crs: String,
    /// Text encoding: auto, utf8, gbk.
    #[arg(long, default_value = "auto")]
    pub encoding: String,
    /// Column names of the file for our fields: `name=姓名,national_id=身份证号`.
    #[arg(long)]
    pub map: Option<String>,
    /// Repair invalid polygons (and report every repair) instead of refusing them.
    #[arg(long)]
    pub repair: bool,
    /// Union pieces that share an `id` (tile-cut extracts).
    #[arg(long)]
    pub merge_by_id: bool,
    /// Accept negative record IDs `-n` (OSM relations in tile extracts) as `2^60 + n`.
    #[arg(long)]
    pub negative_ids: bool,
    /// 9-digit town code to number communities whose file has no division code.
    #[arg(long)]
    pub division_prefix: Option<String>,
    /// Print what would be stored and every problem found; store nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Time column (foreign incident CSV: `import events --time-col ...`).
    #[arg(long)]
    pub time_col: Option<String>,
    /// Longitude column (foreign incident CSV).
    #[arg(long)]
    pub lon_col: Option<String>,
    /// Latitude column (foreign incident CSV).
    #[arg(long)]
    pub lat_col: Option<String>,
    /// Category column (foreign incident CSV).
    #[arg(long)]
    pub category_col: Option<String>,
    /// Description column (foreign incident CSV).
    #[arg(long)]
    pub description_col: Option<String>,
    /// TOML map of foreign categories onto the taxonomy (foreign incident CSV).
    #[arg(long)]
    pub category_map: Option<PathBuf>,
    /// Time zone of the foreign times.
    #[arg(long, default_value = "Asia/Shanghai")]
    pub tz: String,
    /// Resolution or status column (foreign incident CSV): rows it marks
    /// closed get status `closed`, the others `reported`. Without it every
    /// event comes in `reported`.
    #[arg(long)]
    pub resolution_col: Option<String>,
    /// Values of --resolution-col meaning "not resolved", replacing the
    /// defaults (NONE, OPEN, PENDING, UNRESOLVED, 未办结, 处理中, 待处理 and
    /// empty); every other value means closed. Repeat the option or separate
    /// values with `|`.
    #[arg(long, value_delimiter = '|')]
    pub open_values: Vec<String>,
    /// Values of --resolution-col meaning closed; every other value is then
    /// open. Repeat the option or separate values with `|`.
    #[arg(long, value_delimiter = '|')]
    pub closed_values: Vec<String>,
    /// Source of every imported event: patrol, hotline (default), resident
    /// or sensor (foreign incident CSV).
    #[arg(long)]
    pub source: Option<String>,
    /// Event rules (TOML) that give imported open events without a handler
    /// or deadline theirs, as at intake; built-in when absent.
    #[arg(long)]
    pub dispatch_rules: Option<PathBuf>,
    /// Gross floor area per dwelling for household estimation (OSM, or
    /// --estimate-households), m², 10–1,000; default 90.
    #[arg(long)]
    pub dwelling_m2: Option<f64>,
    /// Storey height for household estimation from building height (OSM,
    /// or --estimate-households), m, 2–10; default 3.
    #[arg(long)]
    pub floor_height_m: Option<f64>,
    /// Estimate households (and units) of every building from its
    /// footprint, floors (levels, else height / --floor-height-m) and use,
    /// as for OSM; buildings with a counted household number keep it.
    /// Buildings imports only.
    #[arg(long)]
    pub estimate_households: bool,
    /// What the values of the use column mean, before the built-in names:
    /// `宿舍=residential,底商住宅=mixed` (uses: residential, mixed, commercial,
    /// industrial, education, health, government, other). The column itself
    /// is mapped with `--map use=用途`.
    #[arg(long)]
    pub use_values: Option<String>,
    /// IDs of a file that is not a register (buildings, compounds, places,
    /// roads, organisations): `file` (default) reads the id column; `auto`
    /// numbers the features 1, 2, … in file order (the same file gives the
    /// same IDs), `auto:N` from N (when IDs 1… are taken).
    #[arg(long, default_value = "file")]
    pub ids: String,
    /// Split a building given as a MultiPolygon into one building per part
    /// (largest first; the first keeps the file's counts). Needs `--ids auto`.
    #[arg(long)]
    pub explode: bool,
    /// Sheet of an Excel register (`.xlsx`/`.xls`) to read; the first when absent.
    #[arg(long)]
    pub sheet: Option<String>,
    /// Do not make default units for buildings that have households but no
    /// units (when a units file follows).
    #[arg(long)]
    pub no_default_units: bool,
    /// Foreign incident CSV: store the good rows and skip the bad ones
    /// (counted per problem in the report); without it one bad row stops
    /// the import, and the error counts them all.
    #[arg(long)]
    pub skip_bad_rows: bool,
    /// With --skip-bad-rows: write every skipped row, its fields as read
    /// plus `reject_line`, `reject_problem`, `reject_column`, `reject_reason`,
    /// to this CSV file (UTF-8; created or replaced, readable by its owner only).
    #[arg(long)]
    pub rejects: Option<PathBuf>,
    /// Foreign incident CSV: the address column, so that rows without
    /// coordinates but with an address are told apart (there is no
    /// geocoder: such rows are bad rows of their own).
    #[arg(long)]
    pub address_col: Option<String>,
}

fn parse_map(s: &str) -> Result<HashMap<String, String>> {
    s.split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|p| {
            p.split_once('=')
                .map(|(a, b)| (a.trim().to_string(), b.trim().to_string()))
                .ok_or_else(|| anyhow!("--map entry {p:?} is not ours=theirs"))
        })
        .collect()
}

impl ImportSpec {
    /// Parses `import <kind> <FILE> [options]` as the command line does
    /// (`argv[0]` is the subcommand's name).
    pub fn from_argv<I, T>(argv: I) -> Result<ImportSpec, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let m =
            ImportSpec::augment_args(clap::Command::new("import")).try_get_matches_from(argv)?;
        ImportSpec::from_arg_matches(&m)
    }

    /// The spec of an upload: `kind`, the saved `file`, and the query's
    /// `(name, value)` pairs, each an option of `wangge import` by its long
    /// name (`dry_run` or `dry-run`; a flag is on for `1`, `true`, `on`,
    /// `yes` or an empty value, off for `0`, `false`, `off`, `no`), parsed
    /// by the same parser as the command line, so an option means the same
    /// and is refused in the same words. Options naming files of the
    /// caller's machine (`rejects`, `dispatch-rules`, `category-map`) are
    /// refused here: the route handles them.
    pub fn from_query(
        kind: &str,
        file: &Path,
        pairs: &[(String, String)],
    ) -> Result<ImportSpec, String> {
        const FLAGS: &[&str] = &[
            "repair",
            "merge-by-id",
            "negative-ids",
            "dry-run",
            "estimate-households",
            "explode",
            "no-default-units",
            "skip-bad-rows",
        ];
        const FILES: &[&str] = &["rejects", "dispatch-rules", "category-map", "json", "file"];
        let mut argv: Vec<std::ffi::OsString> =
            vec!["import".into(), kind.into(), file.as_os_str().to_owned()];
        for (k, v) in pairs {
            let name = k.trim().replace('_', "-");
            if FILES.contains(&name.as_str()) {
                return Err(format!("{k}: not an option of an upload"));
            }
            if FLAGS.contains(&name.as_str()) {
                match v.trim().to_ascii_lowercase().as_str() {
                    "" | "1" | "true" | "on" | "yes" => argv.push(format!("--{name}").into()),
                    "0" | "false" | "off" | "no" => {}
                    other => return Err(format!("{k}={other:?}: expected 1 or 0")),
                }
            } else if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            {
                return Err(format!("{k:?} is not an option of wangge import"));
            } else {
                argv.push(format!("--{name}={v}").into());
            }
        }
        ImportSpec::from_argv(argv).map_err(|e| {
            let text = e.render().to_string();
            text.lines()
                .next()
                .unwrap_or("bad options")
                .trim_start_matches("error: ")
                .to_string()
        })
    }
}

/// Where an import writes its words and who it is.
pub struct ImportRun<'a> {
    /// The dry-run report (stdout of the CLI).
    pub out: &'a mut dyn Write,
    /// Messages: warnings, problems, the summary line (stderr of the CLI).
    pub err: &'a mut dyn Write,
    /// Show progress bars on the terminal (the CLI; never the server).
    pub bars: bool,
    /// Who imports, for the grid version a grids import makes (`cli`, or
    /// the account of an upload).
    pub actor: String,
}

/// What `wangge import` did; with `--json` it is printed on stdout as one
/// JSON object (the shape is in `docs/import.md`, "Summaries as JSON").
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ImportOutcome {
    /// Element kind imported (`osm` for an OpenStreetMap extract).
    pub kind: String,
    /// The file, as given.
    pub file: String,
    /// True when nothing was stored (`--dry-run`).
    pub dry_run: bool,
    /// Elements read from the file.
    pub elements: usize,
    /// Rows written (0 for a dry run).
    pub rows: u64,
    /// Point-located elements.
    pub located: u64,
    /// Of those, inside no grid (a wrong `--crs` shows here).
    pub outside_every_grid: u64,
    /// First and last ID given by `--ids auto`.
    pub numbered_ids: Option<[u64; 2]>,
    /// Default units made for buildings with households but no units.
    pub default_units: Option<DefaultUnitsMade>,
    /// Open events given a handler and deadline by the event rules.
    pub dispatched: usize,
    /// A foreign incident CSV: what was read, skipped and why.
    pub incidents: Option<IncidentSummary>,
    /// The grid version a grids or communities import made.
    pub grid_version: Option<geo_core::store::VersionReport>,
    /// Wall time of the whole command, seconds.
    pub seconds: f64,
}

/// Default units made by an import ([`ImportOutcome::default_units`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DefaultUnitsMade {
    /// Buildings that got units.
    pub buildings: u64,
    /// Units made.
    pub units: u64,
    /// Households shared out among them.
    pub households: u64,
}

/// A foreign incident CSV's figures ([`ImportOutcome::incidents`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct IncidentSummary {
    /// Data rows read.
    pub rows: u64,
    /// Events made from them.
    pub events: u64,
    /// Of them closed.
    pub closed: u64,
    /// Encoding used.
    pub encoding: String,
    /// True for a gzip file.
    pub gzip: bool,
    /// Events per taxonomy code.
    pub by_category: BTreeMap<String, u64>,
    /// Source categories not in the map (sent to the default), with counts.
    pub unmapped: BTreeMap<String, u64>,
    /// Bad rows skipped (`--skip-bad-rows`).
    pub skipped_rows: u64,
    /// Skipped rows per problem code (`no_location`, `address_only`, …).
    pub problems: BTreeMap<String, u64>,
    /// The rejects file written (`--rejects`).
    pub rejects_file: Option<String>,
}

/// Imports the file of `a` into `store` in one transaction (nothing is
/// stored when anything is wrong, nor by a dry run), writing the dry-run
/// report to `run.out` and messages to `run.err`.
pub fn import_into(
    store: &mut Store,
    a: &ImportSpec,
    run: &mut ImportRun<'_>,
) -> Result<ImportOutcome> {
    let bars = run.bars;
    let out = &mut *run.out;
    let err = &mut *run.err;
    let started = Instant::now();
    let crs = Crs::parse(&a.crs).map_err(|e| anyhow!("--crs: {e}"))?;
    let foreign_events = a.kind == "events" && (a.category_map.is_some() || a.time_col.is_some());
    if !foreign_events && (a.skip_bad_rows || a.rejects.is_some() || a.address_col.is_some()) {
        bail!(
            "--skip-bad-rows, --rejects and --address-col are for foreign incident CSVs \
             (import events FILE --category-map MAP …); a register is stored whole or not at all"
        );
    }
    if a.rejects.is_some() && !a.skip_bad_rows {
        bail!("--rejects FILE needs --skip-bad-rows (without it a bad row stops the import)");
    }
    let mut incidents = None;
    let (mut batch, kind_name) = match a.kind.as_str() {
        "osm" => (read_osm(a, bars, err)?, "osm".to_string()),
        "events" if foreign_events => {
            let (events, summary) = read_incidents(a, store, bars, err)?;
            incidents = Some(summary);
            (events, "events".to_string())
        }
        k => {
            let kind = ElementKind::parse(k).map_err(|e| anyhow!("{e}"))?;
            if a.estimate_households && kind != ElementKind::Buildings {
                bail!("--estimate-households is for building imports (import buildings FILE)");
            }
            if a.explode && (kind != ElementKind::Buildings || a.ids == "file") {
                bail!(
                    "--explode is for building imports with --ids auto (the parts need IDs of their own)"
                );
            }
            (
                read_elements(kind, a, crs, store, bars, out, err)?,
                kind.as_str().to_string(),
            )
        }
    };
    let default_units = if a.no_default_units {
        None
    } else {
        add_default_units(&mut batch, store, &estimate_params(a)?, err)?
    };
    let numbered_ids = auto_id_range(&batch).filter(|_| a.ids != "file");
    let numbered = match numbered_ids {
        Some((first, last)) => format!(
            " (IDs {first}–{last} numbered in file order by --ids {})",
            a.ids
        ),
        None => String::new(),
    };
    // Grids changed: a new grid version, every element re-assigned.
    let changes_grids = !batch.grids.is_empty() || !batch.communities.is_empty();
    // The persons' ID numbers and phones are sealed on the other cores
    // while the assignment runs on this one.
    let sealing = (!a.dry_run && !changes_grids).then(|| store.seal_ahead(&batch.persons));
    let pb = spinner(bars, "assigning", batch.len());
    let index = grid_index(&batch, store, false)?;
    let (refs, report) = assign(&batch, &index, Some(&*store))?;
    pb.finish_and_clear();
    let dispatched = admit_events(&mut batch, &refs, a.dispatch_rules.as_deref())?;
    if dispatched > 0 {
        writeln!(
            err,
            "{dispatched} open events without a handler or deadline entered dispatch \
             (handler and deadline from the event rules, as at intake)"
        )?;
    }
    if report.outside_every_grid > 0 && !index.is_empty() {
        writeln!(
            err,
            "warning: {} of {} located elements fall inside no grid — is --crs {} right? \
             (GCJ-02/BD-09 offsets are 100–700 m)",
            report.outside_every_grid, report.located, a.crs
        )?;
    }
    let mut outcome = ImportOutcome {
        kind: kind_name.clone(),
        file: a.file.display().to_string(),
        dry_run: a.dry_run,
        elements: batch.len(),
        rows: 0,
        located: report.located,
        outside_every_grid: report.outside_every_grid,
        numbered_ids: numbered_ids.map(|(first, last)| [first, last]),
        default_units,
        dispatched,
        incidents,
        grid_version: None,
        seconds: 0.0,
    };
    if a.dry_run {
        writeln!(
            out,
            "dry run: would store {} elements of {kind_name} from {}{numbered}",
            batch.len(),
            a.file.display()
        )?;
        writeln!(
            out,
            "  {} located elements, {} outside every grid",
            report.located, report.outside_every_grid
        )?;
        writeln!(out, "nothing was stored")?;
        outcome.seconds = started.elapsed().as_secs_f64();
        return Ok(outcome);
    }
    let prov = Provenance {
        kind: kind_name.clone(),
        source: a
            .file
            .file_name()
            .map(|f| f.to_string_lossy().to_string())
            .unwrap_or_default(),
        crs: crs.to_string(),
    };
    let pb = spinner(bars, "writing", batch.len());
    let w = if !changes_grids {
        store
            .write_sealed(&batch, &refs, Some(&prov), sealing)
            .map(|w| (w, None))
    } else {
        let imp = GridImport {
            actor: run.actor.clone(),
            note: String::new(),
            source: format!("import {}", prov.source),
        };
        store
            .write_grids(&batch, &refs, Some(&prov), &imp)
            .map(|(w, v)| (w, Some(v)))
    }
    .with_context(|| format!("importing {} (nothing was stored)", a.file.display()));
    pb.finish_and_clear();
    let (w, version) = w?;
    if let Some(v) = &version {
        writeln!(err, "{}", crate::service::regrid::version_summary(v))?;
    }
    outcome.grid_version = version;
    writeln!(
        err,
        "imported {} rows of {kind_name} from {}{} in {:.2} s",
        w.rows,
        a.file.display(),
        numbered,
        started.elapsed().as_secs_f64()
    )?;
    outcome.rows = w.rows;
    outcome.seconds = started.elapsed().as_secs_f64();
    Ok(outcome)
}

/// The first and last ID of the kind a file numbered with `--ids auto`
/// filled (one kind per element file).
fn auto_id_range(batch: &Dataset) -> Option<(u64, u64)> {
    fn ends<T>(v: &[T], id: impl Fn(&T) -> u64) -> Option<(u64, u64)> {
        Some((id(v.first()?), id(v.last()?)))
    }
    ends(&batch.buildings, |b| b.id.get())
        .or_else(|| ends(&batch.compounds, |c| c.id.get()))
        .or_else(|| ends(&batch.places, |p| p.id.get()))
        .or_else(|| ends(&batch.roads, |r| r.id.get()))
        .or_else(|| ends(&batch.organisations, |o| o.id.get()))
}

/// Gives every open event of `batch` that lacks a handler or a deadline
/// the ones intake would ([`analytics::events::EventRules::admit`], rules
/// from `rules`, else built in); returns how many it changed.
fn admit_events(batch: &mut Dataset, refs: &BatchRefs, rules: Option<&Path>) -> Result<usize> {
    if batch.events.is_empty() {
        return Ok(0);
    }
    let rules = match rules {
        Some(p) => EventRules::load(p),
        None => EventRules::builtin(),
    }
    .map_err(|e| anyhow!("--dispatch-rules: {e}; nothing was stored"))?;
    Ok(batch
        .events
        .iter_mut()
        .filter_map(|e| {
            let r = refs.get(ElementRef::Event(e.id));
            rules.admit(e, &r).then_some(())
        })
        .count())
}

/// A bar over the bytes of the file being read (CSV) or its features
/// (GeoJSON), fed by [`ImportOptions::progress`]; hidden when stderr is not
/// a terminal.
fn read_bar(bars: bool, file: &Path) -> ProgressBar {
    if !bars {
        return ProgressBar::hidden();
    }
    let len = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template(
            "{spinner} {msg:<10} [{bar:30}] {percent:>3}% ({elapsed}, eta {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    pb.set_message("reading");
    pb
}

/// A ticking spinner for a step that reports no position of its own.
fn spinner(bars: bool, what: &str, elements: usize) -> ProgressBar {
    if !bars {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new_spinner();
    pb.set_style(
        ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    pb.set_message(format!("{what} {elements} elements"));
    pb.enable_steady_tick(std::time::Duration::from_millis(120));
    pb
}

/// Reads an element file with its references checked against `store`
/// (one batch probe per referenced kind, see [`geo_core::io::ReferenceLookup`]).
/// The same path as `wangge import <kind> FILE`; benchmarks call it too.
pub fn read_elements_from(
    kind: ElementKind,
    file: &Path,
    opts: ImportOptions<'_>,
    store: &Store,
) -> Result<geo_core::io::ImportBatch, geo_core::io::ImportError> {
    read_elements_with(kind, file, opts, store, true)
}

fn read_elements_with(
    kind: ElementKind,
    file: &Path,
    opts: ImportOptions<'_>,
    store: &Store,
    bars: bool,
) -> Result<geo_core::io::ImportBatch, geo_core::io::ImportError> {
    let pb = read_bar(bars, file);
    let tick = |done: u64, total: u64| {
        pb.set_length(total);
        pb.set_position(done);
    };
    let opts = ImportOptions {
        references: Some(store),
        progress: Some(&tick),
        ..opts
    };
    let batch = import::read(kind, file, &opts);
    pb.finish_and_clear();
    batch
}

/// Reads a Shapefile (`.shp` with its siblings, or a `.zip`) through
/// [`wangge_data::shp`] into GeoJSON and imports that, so it is checked
/// exactly like a GeoJSON file; says which DBF encoding and CRS it used.
fn read_shapefile(
    kind: ElementKind,
    file: &Path,
    opts: ImportOptions<'_>,
    store: &Store,
    err: &mut dyn Write,
) -> Result<Result<geo_core::io::ImportBatch, geo_core::io::ImportError>> {
    let utf8 = match opts.encoding {
        Encoding::Auto => None,
        Encoding::Utf8 => Some(true),
        Encoding::Gbk => Some(false),
    };
    let conv =
        wangge_data::shp::read(file, utf8).map_err(|e| anyhow!("{e}\nnothing was stored"))?;
    writeln!(
        err,
        "{}: Shapefile with {} records, DBF encoding {}, CRS {}",
        file.display(),
        conv.features,
        conv.encoding,
        conv.crs.unwrap_or("from --crs (no .prj)")
    )?;
    let opts = ImportOptions {
        format: Format::GeoJson,
        encoding: Encoding::Utf8,
        references: Some(store),
        ..opts
    };
    Ok(import::read_bytes(
        kind,
        conv.geojson.as_bytes(),
        &file.display().to_string(),
        &opts,
    ))
}

/// Reads one sheet of an Excel register through [`wangge_data::excel`]
/// (merged cells filled, the header row found by the field names of `kind`
/// and `--map`) into CSV and imports that; says which sheet and rows it read.
fn read_excel(
    kind: ElementKind,
    file: &Path,
    sheet: Option<&str>,
    opts: ImportOptions<'_>,
    store: &Store,
    err: &mut dyn Write,
) -> Result<Result<geo_core::io::ImportBatch, geo_core::io::ImportError>> {
    let mut names: Vec<String> = geo_core::io::fields::fields(kind)
        .iter()
        .flat_map(|f| std::iter::once(f.name).chain(f.aliases.iter().copied()))
        .map(str::to_lowercase)
        .collect();
    names.extend(opts.field_map.values().map(|v| v.to_lowercase()));
    let known = |h: &str| names.contains(&h.trim().to_lowercase());
    let conv = wangge_data::excel::read(file, sheet, &known)
        .map_err(|e| anyhow!("{e}\nnothing was stored"))?;
    let contiguous = conv
        .rows
        .iter()
        .enumerate()
        .all(|(i, r)| *r == conv.header_row + 1 + i);
    writeln!(
        err,
        "{}: sheet {}, header in row {}, {} data rows; {}",
        file.display(),
        conv.sheet,
        conv.header_row,
        conv.rows.len(),
        if contiguous {
            format!(
                "line N below is row N + {} of the sheet",
                conv.header_row - 1
            )
        } else {
            "empty rows skipped: line N below is the (N - 1)th data row".to_string()
        }
    )?;
    let opts = ImportOptions {
        format: Format::Csv,
        encoding: Encoding::Utf8,
        references: Some(store),
        ..opts
    };
    Ok(import::read_bytes(
        kind,
        conv.csv.as_bytes(),
        &format!("{}, sheet {}", file.display(), conv.sheet),
        &opts,
    ))
}

/// `--ids`: `None` for `file`, the first ID for `auto` / `auto:N`.
fn parse_ids(s: &str, kind: ElementKind, merge_by_id: bool) -> Result<Option<u64>> {
    let start = match s.trim() {
        "file" => return Ok(None),
        "auto" => 1,
        other => other
            .strip_prefix("auto:")
            .and_then(|n| n.trim().parse::<u64>().ok())
            .filter(|n| *n > 0)
            .ok_or_else(|| anyhow!("--ids {other:?}: expected file, auto or auto:N (N ≥ 1)"))?,
    };
    if !kind.accepts_auto_ids() {
        bail!(
            "--ids auto is for files that are not registers (buildings, compounds, places, roads, \
             organisations); the IDs of {kind} link rows of other files, so they must come from the file"
        );
    }
    if merge_by_id {
        bail!("--ids auto and --merge-by-id exclude each other: merging needs the file's IDs");
    }
    Ok(Some(start))
}

/// `--use-values 宿舍=residential,…`.
fn parse_use_values(s: &str) -> Result<HashMap<String, BuildingUse>> {
    parse_map(s)?
        .into_iter()
        .map(|(v, u)| {
            BuildingUse::parse(&u)
                .map(|u| (v, u))
                .map_err(|e| anyhow!("--use-values: {e}"))
        })
        .collect()
}

fn read_elements(
    kind: ElementKind,
    a: &ImportSpec,
    crs: Crs,
    store: &Store,
    bars: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Dataset> {
    let opts = ImportOptions {
        encoding: Encoding::parse(&a.encoding).map_err(|e| anyhow!("--encoding: {e}"))?,
        crs,
        field_map: a
            .map
            .as_deref()
            .map(parse_map)
            .transpose()?
            .unwrap_or_default(),
        repair: a.repair,
        merge_by_id: a.merge_by_id,
        negative_ids: a.negative_ids,
        division_prefix: a.division_prefix.clone(),
        auto_ids: parse_ids(&a.ids, kind, a.merge_by_id)?,
        explode: a.explode,
        use_values: a
            .use_values
            .as_deref()
            .map(parse_use_values)
            .transpose()?
            .unwrap_or_default(),
        ..ImportOptions::default()
    };
    let read = if wangge_data::shp::is_shapefile(&a.file) {
        read_shapefile(kind, &a.file, opts, store, err)?
    } else if wangge_data::excel::is_excel(&a.file) {
        read_excel(kind, &a.file, a.sheet.as_deref(), opts, store, err)?
    } else {
        read_elements_with(kind, &a.file, opts, store, bars)
    };
    let batch = match read {
        Ok(b) => b,
        Err(e) => {
            // A dry run's report is every problem (stdout); the error
            // itself, with the first ones, is the command's (stderr, once).
            if a.dry_run {
                for p in e.problems() {
                    writeln!(out, "{p}")?;
                }
            }
            bail!("{e}\nnothing was stored");
        }
    };
    for p in &batch.problems {
        writeln!(err, "{p}")?;
    }
    let mut dataset = batch.dataset;
    if a.estimate_households {
        let est = estimate_all(&mut dataset.buildings, &estimate_params(a)?);
        write!(err, "{est}")?;
    }
    Ok(dataset)
}

/// Household estimation parameters: the defaults with `--dwelling-m2` and
/// `--floor-height-m` applied, checked before anything is read.
fn estimate_params(a: &ImportSpec) -> Result<EstimateParams> {
    let mut params = EstimateParams::default();
    if let Some(v) = a.dwelling_m2 {
        params.dwelling_m2 = v;
    }
    if let Some(v) = a.floor_height_m {
        params.floor_height_m = v;
    }
    params
        .validate()
        .map_err(|e| anyhow!("--dwelling-m2/--floor-height-m: {e}; nothing was stored"))?;
    Ok(params)
}

/// Gives the buildings of `batch` that have households but no units their
/// default units ([`wangge_data::estimate::default_units`], the one rule),
/// numbered after the units stored, and says so.
fn add_default_units(
    batch: &mut Dataset,
    store: &Store,
    params: &EstimateParams,
    err: &mut dyn Write,
) -> Result<Option<DefaultUnitsMade>> {
    if !batch.buildings.iter().any(|b| b.households > 0) {
        return Ok(None);
    }
    let first = store
        .max_unit_id()?
        .max(batch.units.iter().map(|u| u.id.get()).max().unwrap_or(0))
        + 1;
    let made = default_units(&mut batch.buildings, &batch.units, first, params)
        .map_err(|e| anyhow!("default units: {e}; nothing was stored"))?;
    if made.buildings == 0 {
        return Ok(None);
    }
    writeln!(err, "{made}")?;
    let summary = DefaultUnitsMade {
        buildings: made.buildings,
        units: made.units.len() as u64,
        households: made.households,
    };
    batch.units.extend(made.units);
    Ok(Some(summary))
}

fn read_osm(a: &ImportSpec, bars: bool, err: &mut dyn Write) -> Result<Dataset> {
    let params = estimate_params(a)?;
    let pb = spinner(bars, "reading", 0);
    pb.set_message(format!("reading {}", a.file.display()));
    let imp = read_pbf(&a.file, &OsmOptions::default());
    pb.finish_and_clear();
    let mut imp = imp.map_err(|e| anyhow!("{e}"))?;
    let est = estimate_all(&mut imp.dataset.buildings, &params);
    writeln!(err, "{}", imp.report)?;
    writeln!(err, "{est}")?;
    Ok(imp.dataset)
}

/// Writes the skipped rows of a foreign incident CSV to `path`: the file's
/// header and fields, then where and why each was refused.
fn write_rejects(path: &Path, report: &wangge_data::incidents::IncidentReport) -> Result<()> {
    let context = || format!("writing the rejects file {}", path.display());
    let mut w = csv::Writer::from_path(path).with_context(context)?;
    let mut header = report.header.clone();
    header.extend(
        [
            "reject_line",
            "reject_problem",
            "reject_column",
            "reject_reason",
        ]
        .map(String::from),
    );
    w.write_record(&header).with_context(context)?;
    for r in &report.rejects {
        let mut row = r.fields.clone();
        row.resize(report.header.len(), String::new());
        row.extend([
            r.error.line.to_string(),
            r.error.problem.code().to_string(),
            r.error.column.clone(),
            r.error.reason.clone(),
        ]);
        w.write_record(&row).with_context(context)?;
    }
    w.flush().with_context(context)?;
    Ok(())
}

fn read_incidents(
    a: &ImportSpec,
    store: &Store,
    bars: bool,
    err: &mut dyn Write,
) -> Result<(Dataset, IncidentSummary)> {
    let need = |v: &Option<String>, flag: &str| {
        v.clone()
            .ok_or_else(|| anyhow!("import events from a foreign CSV needs {flag}"))
    };
    let map_path = a
        .category_map
        .clone()
        .ok_or_else(|| anyhow!("import events from a foreign CSV needs --category-map"))?;
    let map = CategoryMap::load(&map_path).map_err(|e| anyhow!("{e}"))?;
    let mut opts = IncidentOptions::new(
        &need(&a.time_col, "--time-col")?,
        &need(&a.lon_col, "--lon-col")?,
        &need(&a.lat_col, "--lat-col")?,
        &need(&a.category_col, "--category-col")?,
        map,
    );
    opts.description_column = a.description_col.clone();
    opts.address_column = a.address_col.clone();
    opts.skip_bad_rows = a.skip_bad_rows;
    opts.keep_rejects = a.rejects.is_some();
    match (
        &a.resolution_col,
        a.open_values.is_empty(),
        a.closed_values.is_empty(),
    ) {
        (None, true, true) => {}
        (None, _, _) => bail!("--open-values and --closed-values need --resolution-col"),
        (Some(_), false, false) => {
            bail!("give either --open-values or --closed-values for --resolution-col, not both")
        }
        (Some(col), _, _) => {
            let mut rule = ResolutionRule::new(col);
            if !a.open_values.is_empty() {
                rule.open_values = a.open_values.clone();
            }
            rule.closed_values = a.closed_values.clone();
            opts.resolution = Some(rule);
        }
    }
    if let Some(s) = &a.source {
        opts.source = EventSource::parse(s).map_err(|e| anyhow!("--source: {e}"))?;
    }
    // Continue numbering after the events already stored.
    opts.first_id = store.max_event_id()? + 1;
    opts.time_zone = a.tz.parse().map_err(|e| anyhow!("--tz {}: {e}", a.tz))?;
    let pb = if bars {
        ProgressBar::new_spinner()
    } else {
        ProgressBar::hidden()
    };
    pb.set_message("reading events");
    let imp = read_events(&a.file, &opts).map_err(|e| anyhow!("{e} (nothing was stored)"))?;
    pb.finish_and_clear();
    write!(err, "{}", imp.report)?;
    let r = &imp.report;
    let summary = IncidentSummary {
        rows: r.rows,
        events: r.events,
        closed: r.closed,
        encoding: r.encoding.clone(),
        gzip: r.gzip,
        by_category: r.by_category.clone(),
        unmapped: r.unmapped.clone(),
        skipped_rows: r.skipped_rows,
        problems: r
            .problems
            .iter()
            .map(|(p, n)| (p.code().to_string(), *n))
            .collect(),
        rejects_file: a.rejects.as_ref().map(|p| p.display().to_string()),
    };
    if let Some(path) = &a.rejects {
        write_rejects(path, &imp.report)?;
        writeln!(
            err,
            "{} skipped rows written to {}",
            imp.report.rejects.len(),
            path.display()
        )?;
    }
    Ok((
        Dataset {
            events: imp.events,
            ..Dataset::default()
        },
        summary,
    ))
}
