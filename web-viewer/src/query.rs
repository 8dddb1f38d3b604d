//! Query-string parsers of the HTTP API, in one place: the list routes'
//! filters (bbox, time range, category, status, source, grid, paging), the
//! heatmap and tile filters, the answer formats of the analytics routes,
//! and the `Accept-Encoding` a tile is answered in.
//! Every refusal is a 400 with a stable code naming the parameter.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use geo_core::ids::GridCode;
use geo_core::model::{EventSource, EventStatus};
use geo_core::store::{EventFilter, Page};
use geo_core::taxonomy::EventCategory;
use serde::Deserialize;

use crate::error::{AppError, AppResult, ErrorCode};
use crate::service::export::ExportFormat;
use crate::view::TownView;

/// Query parameters shared by list routes.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    /// `bbox=`.
    pub bbox: Option<String>,
    /// `national_id=`: refused (an ID number never goes into a URL; the
    /// look-up is `POST /api/v1/persons/lookup`).
    pub national_id: Option<String>,
    /// `grid=`.
    pub grid: Option<String>,
    /// `kind=`.
    pub kind: Option<String>,
    /// `category=`.
    pub category: Option<String>,
    /// `status=`.
    pub status: Option<String>,
    /// `source=`.
    pub source: Option<String>,
    /// `from=`.
    pub from: Option<String>,
    /// `to=`.
    pub to: Option<String>,
    /// `limit=`.
    pub limit: Option<u64>,
    /// `offset=`.
    pub offset: Option<u64>,
    /// `res=`.
    pub res: Option<u8>,
    /// `q=`.
    pub q: Option<String>,
    /// `building=`.
    pub building: Option<String>,
    /// `format=`: json (the paged answer), or a download of the whole
    /// list — geoparquet, xlsx.
    pub format: Option<String>,
}

/// The tile of a `/tiles/{layer}/{z}/{x}/{y}.mvt` path (`y` with its
/// optional `.mvt` or `.pbf`): `z` at most 22, `x` and `y` inside the zoom.
pub fn tile_address(z: u8, x: u32, y: &str) -> AppResult<(u8, u32, u32)> {
    let y: u32 = y
        .strip_suffix(".mvt")
        .or_else(|| y.strip_suffix(".pbf"))
        .unwrap_or(y)
        .parse()
        .map_err(|_| AppError::bad(ErrorCode::BadTile, format!("y={y:?} is not a tile row")))?;
    if z > 22 || x >= (1u32 << z) || y >= (1u32 << z) {
        return Err(AppError::bad(
            ErrorCode::BadTile,
            format!("tile {z}/{x}/{y} does not exist"),
        ));
    }
    Ok((z, x, y))
}

/// The largest `offset=` of a list (far past any list this store holds).
pub const MAX_OFFSET: u64 = 1_000_000_000;

/// Parses `2026-01-31` or RFC 3339.
pub fn parse_time(field: &str, s: &str) -> AppResult<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        if let Some(t) = d.and_hms_opt(0, 0, 0) {
            return Ok(Utc.from_utc_datetime(&t));
        }
    }
    if let Ok(secs) = s.parse::<i64>() {
        if let Some(t) = Utc.timestamp_opt(secs, 0).single() {
            return Ok(t);
        }
    }
    Err(AppError::bad(
        ErrorCode::BadTime,
        format!("{field}={s:?} is not a date (YYYY-MM-DD), RFC 3339 time or unix seconds"),
    ))
}

/// Parses `bbox=w,s,e,n` (finite, `w <= e`, `s <= n`).
pub fn parse_bbox(s: &str) -> AppResult<[f64; 4]> {
    let v: Vec<f64> = s
        .split(',')
        .map(|p| p.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| {
            AppError::bad(
                ErrorCode::BadBbox,
                format!("bbox={s:?}: expected four numbers w,s,e,n"),
            )
        })?;
    match v.as_slice() {
        [w, s2, e, n]
            if w.is_finite()
                && s2.is_finite()
                && e.is_finite()
                && n.is_finite()
                && w <= e
                && s2 <= n =>
        {
            Ok([*w, *s2, *e, *n])
        }
        _ => Err(AppError::bad(
            ErrorCode::BadBbox,
            format!("bbox={s:?}: expected w,s,e,n with w<=e and s<=n"),
        )),
    }
}

impl ListQuery {
    /// The store filter of the event list (`open` and `overdue` are
    /// answered by the route, not the store).
    pub fn event_filter(&self, view: &TownView) -> AppResult<EventFilter> {
        let mut f = EventFilter::default();
        if let Some(b) = &self.bbox {
            f.bbox = Some(parse_bbox(b)?);
        }
        if let Some(c) = self.category.as_deref().filter(|c| !c.is_empty()) {
            if c.len() == 2 && c.bytes().all(|b| b.is_ascii_digit()) {
                f.category = Some(c.to_string());
            } else {
                let cat = EventCategory::parse(c)
                    .map_err(|e| AppError::bad(ErrorCode::BadCategory, e.to_string()))?;
                f.category = Some(cat.code().to_string());
            }
        }
        if let Some(s) = self
            .status
            .as_deref()
            .filter(|s| !s.is_empty() && *s != "open" && *s != "overdue")
        {
            let st = EventStatus::parse(s)
                .map_err(|e| AppError::bad(ErrorCode::BadStatus, e.to_string()))?;
            f.status = Some(st.code().to_string());
        }
        if let Some(s) = self.source.as_deref().filter(|s| !s.is_empty()) {
            let so = EventSource::parse(s)
                .map_err(|e| AppError::bad(ErrorCode::BadSource, e.to_string()))?;
            f.source = Some(so.code().to_string());
        }
        if let Some(t) = self.from.as_deref().filter(|s| !s.is_empty()) {
            f.from = Some(parse_time("from", t)?);
        }
        if let Some(t) = self.to.as_deref().filter(|s| !s.is_empty()) {
            f.to = Some(parse_time("to", t)?);
        }
        if let Some(g) = &self.grid {
            f.grid = Some(grid_id(view, g)?);
        }
        Ok(f)
    }

    /// The download `format=` asks for: `None` for the JSON answer.
    pub fn download(&self) -> AppResult<Option<ExportFormat>> {
        match self.format.as_deref().map(str::trim) {
            None | Some("") | Some("json") | Some("geojson") => Ok(None),
            Some(f) => match ExportFormat::parse(&f.to_ascii_lowercase()) {
                Ok(ExportFormat::GeoParquet) => Ok(Some(ExportFormat::GeoParquet)),
                Ok(ExportFormat::Xlsx) => Ok(Some(ExportFormat::Xlsx)),
                _ => Err(AppError::bad(
                    ErrorCode::BadFormat,
                    format!("format={f:?}: expected json, geoparquet or xlsx"),
                )),
            },
        }
    }

    /// Paging: `limit` 1..=10000 (default 1000) from `offset`
    /// 0..=[`MAX_OFFSET`] (so `offset + limit` and the store's signed
    /// `OFFSET` never overflow).
    pub fn page(&self) -> AppResult<Page> {
        let limit = self.limit.unwrap_or(1000);
        if limit == 0 || limit > 10_000 {
            return Err(AppError::bad(
                ErrorCode::BadLimit,
                format!("limit={limit}: must be 1..=10000"),
            ));
        }
        let offset = self.offset.unwrap_or(0);
        if offset > MAX_OFFSET {
            return Err(AppError::bad(
                ErrorCode::BadLimit,
                format!("offset={offset}: must be 0..={MAX_OFFSET}"),
            ));
        }
        Ok(Page { limit, offset })
    }
}

/// The grid of a `grid=` code in the view.
pub fn grid_id(view: &TownView, code: &str) -> AppResult<geo_core::ids::GridId> {
    GridCode::parse(code).map_err(|e| AppError::bad(ErrorCode::BadGridCode, e.to_string()))?;
    view.grid_by_code
        .get(code)
        .map(|&i| view.dataset.grids[i].id)
        .ok_or_else(|| AppError::NotFound(format!("grid {code} not found")))
}

/// Builds a heatmap filter at `now` from query parameters.
pub fn heat_filter(q: &ListQuery, now: DateTime<Utc>) -> AppResult<tiles::heatmap::HeatFilter> {
    heat_filter_from(
        &HashMap::from_iter(
            [
                ("from", q.from.clone()),
                ("to", q.to.clone()),
                ("category", q.category.clone()),
                ("status", q.status.clone()),
                ("source", q.source.clone()),
            ]
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k.to_string(), v))),
        ),
        now,
    )
}

/// Builds a heatmap filter at `now` from a parameter map (tiles and JSON
/// share it).
pub fn heat_filter_from(
    p: &HashMap<String, String>,
    now: DateTime<Utc>,
) -> AppResult<tiles::heatmap::HeatFilter> {
    let mut f = tiles::heatmap::HeatFilter::at(now);
    if let Some(t) = p.get("from").filter(|s| !s.is_empty()) {
        f.from = Some(parse_time("from", t)?);
    }
    if let Some(t) = p.get("to").filter(|s| !s.is_empty()) {
        f.to = Some(parse_time("to", t)?);
    }
    if let Some(c) = p.get("category").filter(|s| !s.is_empty()) {
        for part in c.split(',') {
            if part.len() == 2 {
                f.categories
                    .extend(EventCategory::all().filter(|x| x.group() == part));
            } else {
                f.categories.push(
                    EventCategory::parse(part)
                        .map_err(|e| AppError::bad(ErrorCode::BadCategory, e.to_string()))?,
                );
            }
        }
        if f.categories.is_empty() {
            return Err(AppError::bad(
                ErrorCode::BadCategory,
                format!("category={c:?} matches no category"),
            ));
        }
    }
    if let Some(s) = p.get("status").filter(|s| !s.is_empty()) {
        for part in s.split(',') {
            f.statuses
                .push(tiles::heatmap::StatusClass::parse(part).ok_or_else(|| {
                    AppError::bad(
                        ErrorCode::BadStatus,
                        format!("status={part:?}: expected open, overdue or closed"),
                    )
                })?);
        }
    }
    if let Some(s) = p.get("source").filter(|s| !s.is_empty()) {
        for part in s.split(',') {
            f.sources.push(
                EventSource::parse(part)
                    .map_err(|e| AppError::bad(ErrorCode::BadSource, e.to_string()))?,
            );
        }
    }
    Ok(f)
}

/// Answer format of the indicator, hotspot and coverage routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// JSON (the default).
    Json,
    /// A CSV download.
    Csv,
    /// GeoJSON (coverage only).
    GeoJson,
    /// An Excel workbook download (indicators only).
    Xlsx,
}

impl Format {
    /// Its `format=` value.
    pub fn name(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Csv => "csv",
            Format::GeoJson => "geojson",
            Format::Xlsx => "xlsx",
        }
    }
}

/// The `format=` of an analytics route: json, csv, and the `extra` one it
/// offers besides (coverage: geojson; indicators: xlsx).
pub fn format_of(q: Option<&str>, extra: Option<Format>) -> AppResult<Format> {
    match q.map(|s| s.trim().to_ascii_lowercase()).as_deref() {
        None | Some("") | Some("json") => Ok(Format::Json),
        Some("csv") => Ok(Format::Csv),
        Some(other) => match extra {
            Some(f) if f.name() == other => Ok(f),
            _ => Err(AppError::bad(
                ErrorCode::BadFormat,
                format!(
                    "format={other:?}: expected json or csv{}",
                    extra
                        .map(|f| format!(" or {}", f.name()))
                        .unwrap_or_default()
                ),
            )),
        },
    }
}

/// Query of `GET /api/v1/indicators`.
#[derive(Debug, Default, Deserialize)]
pub struct IndicatorQuery {
    /// `from=`.
    pub from: Option<String>,
    /// `to=`.
    pub to: Option<String>,
    /// `level=`.
    pub level: Option<String>,
    /// `format=`.
    pub format: Option<String>,
    /// `rank=`: an indicator; the download then holds the level's rows
    /// ranked by it, best first, as the dashboard's table shows them.
    pub rank: Option<String>,
}

/// Query of `GET /api/v1/hotspots`.
#[derive(Debug, Default, Deserialize)]
pub struct HotspotQuery {
    /// `week=`.
    pub week: Option<String>,
    /// `res=`.
    pub res: Option<u8>,
    /// `category=`.
    pub category: Option<String>,
    /// `format=`.
    pub format: Option<String>,
}

/// Query of `GET /api/v1/coverage`.
#[derive(Debug, Default, Deserialize)]
pub struct CoverageQuery {
    /// `service=`.
    pub service: Option<String>,
    /// `minutes=`.
    pub minutes: Option<f64>,
    /// `format=`.
    pub format: Option<String>,
    /// `add=lon,lat;lon,lat…`: planned facilities of the service (a what-if).
    pub add: Option<String>,
}

/// Most planned facilities one what-if may add.
pub const MAX_WHAT_IF: usize = 10;

/// Parses `add=lon,lat;lon,lat…` (WGS84, at most [`MAX_WHAT_IF`] points).
pub fn parse_what_if(s: &str) -> Result<Vec<[f64; 2]>, AppError> {
    let bad = |why: String| AppError::bad(ErrorCode::BadLocation, format!("add={s:?}: {why}"));
    let points = s
        .split(';')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (lon, lat) = p
                .split_once(',')
                .ok_or_else(|| bad(format!("{p:?} is not lon,lat")))?;
            let lon: f64 = lon
                .trim()
                .parse()
                .map_err(|_| bad(format!("longitude {lon:?}")))?;
            let lat: f64 = lat
                .trim()
                .parse()
                .map_err(|_| bad(format!("latitude {lat:?}")))?;
            if !(lon.is_finite() && lat.is_finite() && lon.abs() <= 180.0 && lat.abs() <= 90.0) {
                return Err(bad(format!("{lon},{lat} is not a WGS84 position")));
            }
            Ok([lon, lat])
        })
        .collect::<Result<Vec<_>, _>>()?;
    if points.len() > MAX_WHAT_IF {
        return Err(bad(format!(
            "{} places; at most {MAX_WHAT_IF}",
            points.len()
        )));
    }
    Ok(points)
}

/// True when `Accept-Encoding` offers gzip (by name or `*`) with a weight
/// above zero (RFC 9110 §12.5.3). No header means identity only: a client
/// that says nothing about encodings gets none.
pub fn accepts_gzip(headers: &axum::http::HeaderMap) -> bool {
    let mut gzip = None;
    let mut star = None;
    for v in headers.get_all(axum::http::header::ACCEPT_ENCODING) {
        let Ok(v) = v.to_str() else { continue };
        for item in v.split(',') {
            let mut parts = item.split(';');
            let name = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q=").or(p.trim().strip_prefix("Q=")))
                .filter_map(|q| q.trim().parse::<f32>().ok())
                .next()
                .unwrap_or(1.0);
            match name.as_str() {
                "gzip" | "x-gzip" => gzip = Some(q > 0.0),
                "*" => star = Some(q > 0.0),
                _ => {}
            }
        }
    }
    gzip.or(star).unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{header, HeaderValue};

    fn ae(v: &str) -> axum::http::HeaderMap {
        let mut h = axum::http::HeaderMap::new();
        h.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(v).unwrap());
        h
    }

    #[test]
    fn gzip_only_when_offered_with_a_weight() {
        assert!(!accepts_gzip(&axum::http::HeaderMap::new()));
        assert!(accepts_gzip(&ae("gzip")));
        assert!(accepts_gzip(&ae("br, GZIP;q=0.5")));
        assert!(accepts_gzip(&ae("*")));
        assert!(!accepts_gzip(&ae("identity")));
        assert!(!accepts_gzip(&ae("gzip;q=0")));
        assert!(!accepts_gzip(&ae("*, gzip;q=0")));
        assert!(!accepts_gzip(&ae("br, deflate")));
    }
}
