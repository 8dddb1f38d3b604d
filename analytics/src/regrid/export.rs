//! Exports of a proposal: GeoJSON for the map and QGIS, xlsx for planners.
//! Both carry aggregates only (households, residents, counts), never
//! personal data.

use std::path::Path;

use geojson::{Feature, FeatureCollection, Geometry, GeometryValue, JsonObject};
use rust_xlsxwriter::{Format, Workbook, XlsxError};
use serde_json::Value;

use super::{Parent, Proposal, RegridError};

fn parent_json(p: Option<Parent>) -> Value {
    match p {
        Some(Parent::Community(c)) => serde_json::json!({"community": c.get()}),
        Some(Parent::Grid(g)) => serde_json::json!({"grid": g.get()}),
        None => Value::Null,
    }
}

/// One feature per proposed grid (WGS84 multipolygon) with its loads and
/// shape measures as properties.
pub fn to_geojson(p: &Proposal) -> FeatureCollection {
    let features = p.grids.iter().map(|g| {
        let mut props = JsonObject::new();
        props.insert("code_hint".into(), g.code_hint.clone().into());
        props.insert("parent".into(), parent_json(g.parent));
        props.insert("units".into(), g.units.len().into());
        props.insert("households".into(), g.households.into());
        props.insert("residents".into(), g.residents.into());
        props.insert("elderly".into(), g.elderly.into());
        props.insert("key_people".into(), g.key_people.into());
        props.insert("events_12m".into(), g.events_12m.into());
        props.insert("workload".into(), g.workload.into());
        props.insert("area_m2".into(), g.area_m2.into());
        props.insert("polsby_popper".into(), g.polsby_popper.into());
        props.insert("convex_hull_ratio".into(), g.convex_hull_ratio.into());
        props.insert(
            "replaces".into(),
            g.replaces.map_or(Value::Null, |r| r.get().into()),
        );
        if let Some(f) = g.floor_part {
            props.insert(
                "floor_part".into(),
                format!("{}/{}", f.part, f.parts).into(),
            );
        }
        Feature {
            bbox: None,
            geometry: Some(Geometry::new(GeometryValue::from(&g.polygon))),
            id: Some(geojson::feature::Id::String(g.code_hint.clone())),
            properties: Some(props),
            foreign_members: None,
        }
    });
    FeatureCollection::new(features)
}

fn xlsx(p: &Proposal, path: &Path) -> Result<(), XlsxError> {
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    let ws = wb.add_worksheet();
    ws.set_name("grids")?;
    let head = [
        "code_hint",
        "parent",
        "units",
        "households",
        "residents",
        "elderly",
        "key_people",
        "events_12m",
        "workload",
        "area_m2",
        "polsby_popper",
        "convex_hull_ratio",
        "replaces",
        "floor_part",
    ];
    for (c, h) in head.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &bold)?;
    }
    for (i, g) in p.grids.iter().enumerate() {
        let r = i as u32 + 1;
        ws.write_string(r, 0, &g.code_hint)?;
        ws.write_string(r, 1, parent_json(g.parent).to_string())?;
        ws.write_number(r, 2, g.units.len() as f64)?;
        ws.write_number(r, 3, g.households as f64)?;
        ws.write_number(r, 4, g.residents as f64)?;
        ws.write_number(r, 5, g.elderly as f64)?;
        ws.write_number(r, 6, g.key_people as f64)?;
        ws.write_number(r, 7, g.events_12m as f64)?;
        ws.write_number(r, 8, g.workload)?;
        ws.write_number(r, 9, g.area_m2)?;
        ws.write_number(r, 10, g.polsby_popper)?;
        ws.write_number(r, 11, g.convex_hull_ratio)?;
        if let Some(x) = g.replaces {
            ws.write_number(r, 12, x.get() as f64)?;
        }
        if let Some(f) = g.floor_part {
            ws.write_string(r, 13, format!("{}/{}", f.part, f.parts))?;
        }
    }

    let rp = &p.report;
    let ws = wb.add_worksheet();
    ws.set_name("report")?;
    let ari = rp
        .adjusted_rand_index
        .map_or_else(|| "-".to_string(), |a| format!("{a:.4}"));
    let rows: Vec<(&str, String)> = vec![
        ("grids before", rp.before.grids.to_string()),
        ("over max before", rp.before.over.to_string()),
        ("under min before", rp.before.under.to_string()),
        ("grids after", rp.after.grids.to_string()),
        ("over max after", rp.after.over.to_string()),
        ("under min after", rp.after.under.to_string()),
        ("violations", rp.violations.to_string()),
        ("cut edges", rp.cut_edges.to_string()),
        ("compounds split", rp.compounds_split.to_string()),
        ("households moved", rp.households_moved.to_string()),
        ("adjusted Rand index vs today", ari),
        ("runtime ms", rp.runtime_ms.to_string()),
        ("seed", rp.seed.to_string()),
    ];
    for (i, (k, v)) in rows.iter().enumerate() {
        ws.write_string_with_format(i as u32, 0, *k, &bold)?;
        ws.write_string(i as u32, 1, v)?;
    }

    let ws = wb.add_worksheet();
    ws.set_name("diagnostics")?;
    ws.write_string_with_format(0, 0, "kind", &bold)?;
    ws.write_string_with_format(0, 1, "detail", &bold)?;
    for (i, d) in rp.diagnostics.iter().enumerate() {
        let v = serde_json::to_value(d).unwrap_or(Value::Null);
        let kind = v
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let detail = v
            .get("message")
            .and_then(Value::as_str)
            .map_or_else(|| v.to_string(), str::to_string);
        ws.write_string(i as u32 + 1, 0, kind)?;
        ws.write_string(i as u32 + 1, 1, detail)?;
    }
    wb.save(path)
}

/// Writes the proposal as an xlsx workbook with sheets `grids`, `report`
/// and `diagnostics`.
pub fn write_xlsx(p: &Proposal, path: impl AsRef<Path>) -> Result<(), RegridError> {
    let path = path.as_ref();
    xlsx(p, path).map_err(|source| RegridError::Xlsx {
        path: path.display().to_string(),
        source,
    })
}
