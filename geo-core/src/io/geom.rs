//! GeoJSON geometry objects → `geo_types`, checked on the raw positions (so
//! unclosed rings are reported, not silently closed), validated with
//! [`crate::geometry::Limits`], optionally repaired, converted to WGS84 and
//! oriented by the right-hand rule (exterior counter-clockwise).

use geo::orient::{Direction, Orient};
use geo_types::{
    Coord, Geometry, LineString, MultiLineString, MultiPoint, MultiPolygon, Point, Polygon,
};
use serde_json::Value;

use crate::crs::Crs;
use crate::geometry::{repair_multi_polygon, repair_polygon, Limits};

/// A parsed geometry and the repairs made to it (as messages).
pub(crate) struct Parsed {
    pub geometry: Geometry<f64>,
    pub repairs: Vec<String>,
}

#[derive(Clone)]
pub(crate) struct GeomReader {
    pub crs: Crs,
    pub repair: bool,
    pub limits: Limits,
}

type Rings = Vec<Vec<Coord<f64>>>;

fn position(v: &Value) -> Result<Coord<f64>, String> {
    let arr = v
        .as_array()
        .ok_or_else(|| format!("a position must be an array [lon, lat], got {}", short(v)))?;
    if arr.len() < 2 {
        return Err(format!("a position needs 2 numbers, got {}", short(v)));
    }
    let x = arr[0]
        .as_f64()
        .ok_or_else(|| format!("longitude must be a number, got {}", short(&arr[0])))?;
    let y = arr[1]
        .as_f64()
        .ok_or_else(|| format!("latitude must be a number, got {}", short(&arr[1])))?;
    Ok(Coord { x, y })
}

fn positions(v: &Value) -> Result<Vec<Coord<f64>>, String> {
    v.as_array()
        .ok_or_else(|| "expected an array of positions".to_string())?
        .iter()
        .map(position)
        .collect()
}

fn rings(v: &Value) -> Result<Rings, String> {
    v.as_array()
        .ok_or_else(|| "expected an array of rings".to_string())?
        .iter()
        .map(positions)
        .collect()
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 40 {
        format!("{}…", s.chars().take(40).collect::<String>())
    } else {
        s
    }
}

/// Converts every position (an array whose first two members are numbers)
/// of a GeoJSON `coordinates` tree from `crs` to WGS84, in place.
fn unproject(v: &mut Value, crs: Crs) {
    match v {
        Value::Array(a) if a.len() >= 2 && a[0].is_number() && a[1].is_number() => {
            if let (Some(x), Some(y)) = (a[0].as_f64(), a[1].as_f64()) {
                let c = crs.to_wgs84(Coord { x, y });
                if let (Some(x), Some(y)) = (
                    serde_json::Number::from_f64(c.x),
                    serde_json::Number::from_f64(c.y),
                ) {
                    a[0] = Value::Number(x);
                    a[1] = Value::Number(y);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| unproject(x, crs)),
        Value::Object(o) => {
            if let Some(c) = o.get_mut("coordinates") {
                unproject(c, crs);
            }
        }
        _ => {}
    }
}

fn to_polygon(rings: Rings) -> Polygon<f64> {
    let mut it = rings.into_iter().map(LineString);
    let ext = it.next().unwrap_or_else(|| LineString(vec![]));
    Polygon::new(ext, it.collect())
}

impl GeomReader {
    /// Parses a GeoJSON geometry object.
    pub fn parse(&self, v: &Value) -> Result<Parsed, String> {
        if self.crs.projected() {
            // Metres: to longitude/latitude first, so every check below
            // (ranges, rings, caps) sees degrees.
            let mut v = v.clone();
            unproject(&mut v, self.crs);
            let reader = GeomReader {
                crs: Crs::Wgs84,
                ..self.clone()
            };
            return reader.parse(&v);
        }
        let obj = v
            .as_object()
            .ok_or_else(|| format!("geometry must be an object, got {}", short(v)))?;
        let ty = obj
            .get("type")
            .and_then(Value::as_str)
            .ok_or("geometry has no \"type\"")?;
        let coords = obj.get("coordinates");
        let need = || coords.ok_or_else(|| format!("{ty} geometry has no \"coordinates\""));
        let mut repairs = Vec::new();
        let mut geometry = match ty {
            "Point" => {
                let c = position(need()?)?;
                self.coord(c)?;
                Geometry::Point(Point(c))
            }
            "MultiPoint" => {
                let cs = positions(need()?)?;
                cs.iter().try_for_each(|c| self.coord(*c))?;
                Geometry::MultiPoint(MultiPoint(cs.into_iter().map(Point).collect()))
            }
            "LineString" => {
                let cs = positions(need()?)?;
                Geometry::LineString(self.line(cs)?)
            }
            "MultiLineString" => {
                let lines = rings(need()?)?
                    .into_iter()
                    .map(|cs| self.line(cs))
                    .collect::<Result<Vec<_>, _>>()?;
                Geometry::MultiLineString(MultiLineString(lines))
            }
            "Polygon" => Geometry::Polygon(self.polygon(rings(need()?)?, &mut repairs)?),
            "MultiPolygon" => {
                let parts = need()?
                    .as_array()
                    .ok_or("expected an array of polygons")?
                    .iter()
                    .map(|p| rings(p).and_then(|r| self.polygon(r, &mut repairs)))
                    .collect::<Result<Vec<_>, _>>()?;
                let mut mp = MultiPolygon(parts);
                if let Err(e) = self.limits.validate_multi_polygon(&mp) {
                    if !self.repair {
                        return Err(format!("{e} (use repair to fix)"));
                    }
                    let (fixed, r) = repair_multi_polygon(&mp).map_err(|e| e.to_string())?;
                    self.limits
                        .validate_multi_polygon(&fixed)
                        .map_err(|e| format!("{e} (after repair)"))?;
                    repairs.extend(r.iter().map(ToString::to_string));
                    mp = fixed;
                }
                Geometry::MultiPolygon(mp)
            }
            "GeometryCollection" => return Err("GeometryCollection is not supported".into()),
            other => return Err(format!("unknown geometry type {other:?}")),
        };
        self.crs.geometry_to_wgs84(&mut geometry);
        let geometry = match geometry {
            Geometry::Polygon(p) => Geometry::Polygon(p.orient(Direction::Default)),
            Geometry::MultiPolygon(p) => Geometry::MultiPolygon(p.orient(Direction::Default)),
            g => g,
        };
        Ok(Parsed { geometry, repairs })
    }

    /// Checks a coordinate of the source CRS.
    pub fn coord(&self, c: Coord<f64>) -> Result<(), String> {
        self.limits.validate_coord(c).map_err(|e| e.to_string())
    }

    /// A point from lon/lat cells, checked and converted to WGS84.
    pub fn point(&self, c: Coord<f64>) -> Result<Point<f64>, String> {
        if self.crs.projected() {
            let c = self.crs.to_wgs84(c);
            self.coord(c)?;
            return Ok(Point(c));
        }
        self.coord(c)?;
        Ok(Point(self.crs.to_wgs84(c)))
    }

    fn line(&self, cs: Vec<Coord<f64>>) -> Result<LineString<f64>, String> {
        if cs.len() < 2 {
            return Err(format!(
                "a line needs at least 2 positions, got {}",
                cs.len()
            ));
        }
        cs.iter().try_for_each(|c| self.coord(*c))?;
        Ok(LineString(cs))
    }

    fn polygon(&self, mut rings: Rings, repairs: &mut Vec<String>) -> Result<Polygon<f64>, String> {
        // Right-hand rule first: geodesic area checks read a clockwise
        // exterior as "the rest of the globe".
        for (i, ring) in rings.iter_mut().enumerate() {
            let ccw = ring_signed_area(ring) > 0.0;
            if ccw == (i > 0) {
                ring.reverse();
            }
        }
        match self.limits.validate_rings(&rings) {
            Ok(()) => Ok(to_polygon(rings)),
            Err(e) if self.repair => {
                let (fixed, r) = repair_polygon(&to_polygon(rings))
                    .map_err(|e2| format!("{e}; repair failed: {e2}"))?;
                self.limits
                    .validate_polygon(&fixed)
                    .map_err(|e2| format!("{e}; still invalid after repair: {e2}"))?;
                repairs.push(format!("{e}: repaired ({})", join(&r)));
                Ok(fixed)
            }
            Err(e) => Err(format!("{e} (use repair to fix)")),
        }
    }
}

/// Twice the planar signed area (shoelace), positive counter-clockwise.
fn ring_signed_area(ring: &[Coord<f64>]) -> f64 {
    ring.windows(2)
        .map(|w| w[0].x * w[1].y - w[1].x * w[0].y)
        .sum::<f64>()
        + match (ring.last(), ring.first()) {
            (Some(l), Some(f)) => l.x * f.y - f.x * l.y,
            _ => 0.0,
        }
}

fn join(r: &[crate::geometry::Repair]) -> String {
    r.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn reader(repair: bool) -> GeomReader {
        GeomReader {
            crs: Crs::Wgs84,
            repair,
            limits: Limits::default(),
        }
    }

    #[test]
    fn polygons_checked_and_oriented() {
        // Clockwise square: comes back counter-clockwise.
        let sq = json!({"type":"Polygon","coordinates":[[[114.0,34.0],[114.0,34.001],[114.001,34.001],[114.001,34.0],[114.0,34.0]]]});
        let p = reader(false).parse(&sq).unwrap();
        let Geometry::Polygon(p) = p.geometry else {
            panic!()
        };
        use geo::Area;
        assert!(p.signed_area() > 0.0);

        let open = json!({"type":"Polygon","coordinates":[[[114.0,34.0],[114.0,34.001],[114.001,34.001],[114.001,34.0]]]});
        let e = reader(false).parse(&open).err().unwrap();
        assert!(e.contains("not closed"), "{e}");
        let fixed = reader(true).parse(&open).unwrap();
        assert!(fixed.repairs[0].contains("closed"), "{:?}", fixed.repairs);

        let bow = json!({"type":"Polygon","coordinates":[[[114.0,34.0],[114.01,34.01],[114.01,34.0],[114.0,34.01],[114.0,34.0]]]});
        let e = reader(false).parse(&bow).err().unwrap();
        assert!(e.contains("crosses itself"), "{e}");
        assert!(reader(true).parse(&bow).is_ok());
    }

    #[test]
    fn bad_positions() {
        let far = json!({"type":"Point","coordinates":[514.0, 34.0]});
        assert!(reader(false)
            .parse(&far)
            .err()
            .unwrap()
            .contains("longitude"));
        let s = json!({"type":"Point","coordinates":["a", 34.0]});
        assert!(reader(false).parse(&s).err().unwrap().contains("number"));
        assert!(reader(false)
            .point(Coord {
                x: f64::NAN,
                y: 1.0
            })
            .unwrap_err()
            .contains("finite"));
    }
}
