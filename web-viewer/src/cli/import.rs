//! `wangge import`: element files (GeoJSON/CSV), OpenStreetMap PBF and
//! foreign incident CSV. Every import is all-or-nothing.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use geo_core::crs::Crs;
use geo_core::io::{import, ElementKind, Encoding, ImportOptions};
use geo_core::store::{GridImport, Provenance, Store};
use geo_core::Dataset;
use wangge_data::estimate::{estimate_all, EstimateParams};
use wangge_data::incidents::{read_events, CategoryMap, IncidentOptions};
use wangge_data::osm::{read_pbf, OsmOptions};

use crate::ingest::{assign, grid_index};

/// Arguments of `wangge import`.
#[derive(Args, Debug)]
pub struct ImportArgs {
    /// Element kind (communities, grids, compounds, buildings, units, households,
    /// persons, places, events, sentiments, organisations, roads) or `osm`.
    pub kind: String,
    /// The file (GeoJSON, CSV — UTF-8 or GBK —, .osm.pbf, or .csv.gz for events).
    pub file: PathBuf,
    /// CRS of the file's coordinates: wgs84 (also cgcs2000), gcj02, bd09.
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
    /// Gross floor area per dwelling for household estimation (OSM).
    #[arg(long)]
    pub dwelling_m2: Option<f64>,
    /// Storey height for household estimation from building height (OSM).
    #[arg(long)]
    pub floor_height_m: Option<f64>,
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

/// Runs `wangge import`.
pub fn run(db: &Path, a: ImportArgs) -> Result<()> {
    let started = Instant::now();
    let crs = Crs::parse(&a.crs).map_err(|e| anyhow!("--crs: {e}"))?;
    let mut store = Store::open(db).with_context(|| format!("opening store {}", db.display()))?;
    let (batch, kind_name) = match a.kind.as_str() {
        "osm" => (read_osm(&a)?, "osm".to_string()),
        "events" if a.category_map.is_some() || a.time_col.is_some() => {
            (read_incidents(&a, &store)?, "events".to_string())
        }
        k => {
            let kind = ElementKind::parse(k).map_err(|e| anyhow!("{e}"))?;
            (
                read_elements(kind, &a, crs, &store)?,
                kind.as_str().to_string(),
            )
        }
    };
    let pb = super::bar(1, "assigning");
    let index = grid_index(&batch, &store, false)?;
    let (refs, report) = assign(&batch, &index, Some(&store))?;
    pb.finish_and_clear();
    if report.outside_every_grid > 0 && !index.is_empty() {
        eprintln!(
            "warning: {} of {} located elements fall inside no grid — is --crs {} right? \
             (GCJ-02/BD-09 offsets are 100–700 m)",
            report.outside_every_grid, report.located, a.crs
        );
    }
    if a.dry_run {
        println!(
            "dry run: would store {} elements of {kind_name} from {}",
            batch.len(),
            a.file.display()
        );
        println!(
            "  {} located elements, {} outside every grid",
            report.located, report.outside_every_grid
        );
        println!("nothing was stored");
        return Ok(());
    }
    let lookup = |e| refs.get(e);
    let prov = Provenance {
        kind: kind_name.clone(),
        source: a
            .file
            .file_name()
            .map(|f| f.to_string_lossy().to_string())
            .unwrap_or_default(),
        crs: crs.to_string(),
    };
    let w = if batch.grids.is_empty() && batch.communities.is_empty() {
        store.write(&batch, &lookup, Some(&prov))
    } else {
        // Grids changed: a new grid version, every element re-assigned.
        let imp = GridImport {
            actor: "cli".into(),
            note: String::new(),
            source: format!("import {}", prov.source),
        };
        store
            .write_grids(&batch, &lookup, Some(&prov), &imp)
            .map(|(w, v)| {
                eprintln!("{}", super::regrid::version_summary(&v));
                w
            })
    }
    .with_context(|| format!("importing {} (nothing was stored)", a.file.display()))?;
    eprintln!(
        "imported {} rows of {kind_name} from {} in {:.2} s",
        w.rows,
        a.file.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn read_elements(kind: ElementKind, a: &ImportArgs, crs: Crs, store: &Store) -> Result<Dataset> {
    let lookup = |k: ElementKind, id: u64| -> bool {
        let table = k.as_str();
        store
            .existing_ids(table, &[id])
            .map(|s| !s.is_empty())
            .unwrap_or(false)
    };
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
        references: Some(&lookup),
        ..ImportOptions::default()
    };
    let pb = super::bar(1, "reading");
    let batch = import::read(kind, &a.file, &opts);
    pb.finish_and_clear();
    let batch = match batch {
        Ok(b) => b,
        Err(e) => {
            if a.dry_run {
                eprintln!("{e}");
                for p in e.problems() {
                    println!("{p}");
                }
            }
            bail!("{e}\nnothing was stored");
        }
    };
    for p in &batch.problems {
        eprintln!("{p}");
    }
    Ok(batch.dataset)
}

fn read_osm(a: &ImportArgs) -> Result<Dataset> {
    let pb = super::bar(1, "reading osm");
    let mut imp = read_pbf(&a.file, &OsmOptions::default()).map_err(|e| anyhow!("{e}"))?;
    pb.finish_and_clear();
    let mut params = EstimateParams::default();
    if let Some(v) = a.dwelling_m2 {
        params.dwelling_m2 = v;
    }
    if let Some(v) = a.floor_height_m {
        params.floor_height_m = v;
    }
    let est = estimate_all(&mut imp.dataset.buildings, &params);
    eprintln!("{}", imp.report);
    eprintln!("{est}");
    Ok(imp.dataset)
}

fn read_incidents(a: &ImportArgs, store: &Store) -> Result<Dataset> {
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
    // Continue numbering after the events already stored.
    opts.first_id = store.max_event_id()? + 1;
    opts.time_zone = a.tz.parse().map_err(|e| anyhow!("--tz {}: {e}", a.tz))?;
    let pb = super::bar(1, "reading events");
    let imp = read_events(&a.file, &opts).map_err(|e| anyhow!("{e}"))?;
    pb.finish_and_clear();
    eprintln!("{}", imp.report);
    Ok(Dataset {
        events: imp.events,
        ..Dataset::default()
    })
}
