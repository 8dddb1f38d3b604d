//! `wangge export`.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context, Result};
use clap::Args;
use geo_core::crs::Crs;
use geo_core::io::{export, geoparquet, ElementKind, Masking};
use geo_core::store::{LoadSet, Scope};
use indicatif::{ProgressBar, ProgressStyle};

use crate::service::export::{audit_detail, check_format, write_replacing, xlsx, ExportFormat};

/// Arguments of `wangge export`.
#[derive(Args, Debug)]
pub struct ExportArgs {
    /// Element kind.
    pub kind: String,
    /// geojson (RFC 7946), csv, geoparquet (GeoParquet 1.0, WKB geometry)
    /// or xlsx.
    #[arg(long, default_value = "geojson")]
    pub format: String,
    /// Output file (stdout when absent; geoparquet and xlsx need one). An
    /// existing file is replaced once the export is complete, never half.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Export personal data unmasked; the reason is written to the audit log.
    #[arg(long)]
    pub reveal_reason: Option<String>,
    /// Coordinates of the file: wgs84 (RFC 7946), cgcs2000, gcj02 (AMap,
    /// Tencent), bd09 (Baidu) or epsg3857 (Web Mercator metres). A GeoJSON
    /// file names any but wgs84 in its `crs` member, which `wangge import`
    /// reads back; GeoParquet is written in wgs84 only.
    #[arg(long, default_value = "wgs84")]
    pub crs: String,
}

/// Runs `wangge export`.
pub fn run(db: &Path, a: ExportArgs) -> Result<()> {
    let kind = ElementKind::parse(&a.kind).map_err(|e| anyhow!("{e}"))?;
    let format = ExportFormat::parse(&a.format).map_err(|e| anyhow!("--format {e}"))?;
    check_format(kind, format)?;
    let crs = Crs::parse(&a.crs).map_err(|e| anyhow!("--crs {e}"))?;
    if format == ExportFormat::GeoParquet && crs != Crs::Wgs84 {
        return Err(anyhow!(
            "--crs {crs}: GeoParquet is written in WGS84 (its metadata says OGC:CRS84); \
             give --format geojson, csv or xlsx for {crs} coordinates"
        ));
    }
    if format.is_binary() && a.out.is_none() {
        return Err(anyhow!(
            "--format {} writes a binary file: give it with --out FILE",
            format.code()
        ));
    }
    if let Some(p) = &a.out {
        let dir = p.parent().filter(|d| !d.as_os_str().is_empty());
        if dir.is_some_and(|d| !d.is_dir()) || p.is_dir() {
            return Err(anyhow!(
                "--out {}: not a file in an existing folder",
                p.display()
            ));
        }
    }
    let store = super::key::open_store(db)?;
    let personal = !crate::service::export::has_geometry(kind);
    let set = if personal {
        LoadSet::All
    } else {
        LoadSet::Spatial
    };
    let loading = ProgressBar::new_spinner();
    loading.set_style(
        ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    loading.set_message(format!("loading {} from the store", kind.as_str()));
    loading.enable_steady_tick(std::time::Duration::from_millis(120));
    let data = store.load(&Scope::Town, set);
    loading.finish_and_clear();
    let data = data?;
    let masking = match &a.reveal_reason {
        Some(r) if !r.trim().is_empty() => Masking::Reveal,
        _ => Masking::Mask,
    };
    store.audit(
        "cli",
        "export",
        &audit_detail(
            kind.as_str(),
            format,
            masking,
            None,
            a.reveal_reason.as_deref(),
        ),
    )?;
    // Rows written of rows to write.
    let pb = super::bar(0, "exporting");
    let tick = |done: u64, total: u64| {
        pb.set_length(total);
        pb.set_position(done);
    };
    let write = |out: &mut dyn Write| -> Result<(), export::ExportError> {
        match format {
            ExportFormat::GeoJson => {
                export::write_geojson_with_progress(kind, &data, out, masking, crs, &tick)
            }
            ExportFormat::Csv => {
                export::write_csv_with_progress(kind, &data, out, masking, crs, &tick)
            }
            ExportFormat::GeoParquet | ExportFormat::Xlsx => Ok(()),
        }
    };
    let written = match &a.out {
        Some(p) => write_replacing(p, |tmp| match format {
            ExportFormat::GeoParquet | ExportFormat::Xlsx => {
                let rows = export::rows_in(export::rows(kind, &data, masking), crs);
                let n = rows.len() as u64;
                tick(0, n);
                if format == ExportFormat::Xlsx {
                    std::fs::write(tmp, xlsx(kind, &rows)?)?;
                } else {
                    geoparquet::write_geoparquet(&rows, tmp)?;
                }
                tick(n, n);
                Ok(())
            }
            _ => {
                let mut out = std::io::BufWriter::new(std::fs::File::create(tmp)?);
                write(&mut out)?;
                out.flush()?;
                Ok(())
            }
        })
        .with_context(|| format!("writing {}", p.display())),
        None => {
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            write(&mut out)
                .and_then(|()| Ok(out.flush()?))
                .map_err(anyhow::Error::from)
        }
    };
    pb.finish_and_clear();
    if written.is_ok() && crs != Crs::Wgs84 && crate::service::export::has_geometry(kind) {
        eprintln!("coordinates written in {crs} ({})", crs.urn());
    }
    written
}
