//! Reading one field of a record into a value or a geometry: each helper
//! records the problem (file, line or feature, field, value) and answers
//! [`super::Bad`] instead of failing, so one pass finds every problem.

use super::*;

impl Builder {
    /// A required field.
    pub(super) fn req<T, R: Record>(
        &mut self,
        r: &R,
        f: usize,
        p: impl FnOnce(&str) -> Parsed<T>,
    ) -> Option<T> {
        match self.opt(r, f, p) {
            Ok(Some(t)) => Some(t),
            Ok(None) => {
                self.error(r.location(), f, "", "required field is missing or empty");
                None
            }
            Err(Bad) => None,
        }
    }

    /// An optional field.
    pub(super) fn opt<T, R: Record>(
        &mut self,
        r: &R,
        f: usize,
        p: impl FnOnce(&str) -> Parsed<T>,
    ) -> Opt<T> {
        let Some(s) = r.get(f) else { return Ok(None) };
        match p(&s) {
            Ok(t) => Ok(Some(t)),
            Err(reason) => {
                self.error(r.location(), f, &s, reason);
                Err(Bad)
            }
        }
    }

    /// An optional reference to an element of `kind`, checked at the end.
    pub(super) fn reference<T, R: Record>(
        &mut self,
        r: &R,
        f: usize,
        kind: ElementKind,
        p: fn(&str) -> Parsed<T>,
        raw: fn(&T) -> u64,
    ) -> Opt<T> {
        let t = self.opt(r, f, p)?;
        // Without a store lookup only references to the same kind can be checked.
        let checkable = kind == self.kind || self.rules.has_references;
        if let Some(t) = t.as_ref().filter(|_| checkable) {
            self.refs.push(Ref {
                loc: r.location(),
                field: self.fields[f].name,
                kind,
                id: raw(t),
            });
        }
        Ok(t)
    }

    /// The record's ID, checked for duplicates. `Err(Some(i))` is a
    /// duplicate of element `i` (already reported unless merging).
    pub(super) fn id<T, R: Record>(
        &mut self,
        r: &R,
        raw: fn(&T) -> u64,
        p: fn(&str) -> Parsed<T>,
    ) -> Result<T, Option<usize>>
    where
        T: TryFrom<u64>,
    {
        let loc = r.location();
        if self.rules.auto_ids.is_some() {
            // A placeholder; `finish` numbers the elements in file order.
            return T::try_from(self.position.max(1) as u64).map_err(|_| None);
        }
        let auto = if self.kind.accepts_auto_ids() {
            "; a file that is not a register can be numbered in file order with ids auto (--ids auto)"
        } else {
            ""
        };
        let id = match r.get(ix::ID) {
            Some(s) => match p(&s) {
                Ok(id) => id,
                Err(_) if self.rules.negative_ids && s.starts_with('-') => {
                    match s[1..]
                        .parse::<u64>()
                        .ok()
                        .filter(|n| *n < NEGATIVE_ID_BASE)
                        .and_then(|n| T::try_from(NEGATIVE_ID_BASE + n).ok())
                    {
                        Some(id) => id,
                        None => {
                            self.error(loc, ix::ID, &s, "not an integer");
                            return Err(None);
                        }
                    }
                }
                Err(reason) => {
                    let reason = if s.starts_with('-') {
                        format!("{reason}; negative IDs (OSM relations in tile extracts) are accepted with negative_ids (--negative-ids){auto}")
                    } else {
                        format!("{reason}{auto}")
                    };
                    self.error(loc, ix::ID, &s, reason);
                    return Err(None);
                }
            },
            None => {
                let fallback = r.feature_id().or_else(|| {
                    (self.kind == ElementKind::Communities).then_some(self.position as u64)
                });
                match fallback.and_then(|n| T::try_from(n).ok()) {
                    Some(id) => {
                        if r.feature_id().is_none() {
                            self.ids_from_position = true;
                        }
                        id
                    }
                    None => {
                        self.error(
                            loc,
                            ix::ID,
                            "",
                            format!("required field is missing or empty{auto}"),
                        );
                        return Err(None);
                    }
                }
            }
        };
        let key = raw(&id);
        if let Some((i, first)) = self.seen.first(key) {
            if !(self.rules.merge_by_id && self.kind == ElementKind::Buildings) {
                let hint = if self.kind == ElementKind::Buildings {
                    "; tile-cut files repeat IDs: use merge_by_id (--merge-by-id)"
                } else {
                    ""
                };
                let hint = format!("{hint}{auto}");
                self.error(
                    loc,
                    ix::ID,
                    &key.to_string(),
                    format!("duplicate id {key} (first at {first}){hint}"),
                );
            }
            return Err(Some(i));
        }
        Ok(id)
    }

    /// The record's geometry, parsed and validated; `Ok(None)` when absent.
    pub(super) fn geometry<R: Record>(&mut self, r: &R, f: usize) -> Opt<Geometry<f64>> {
        let loc = r.location();
        let g = match r.geometry() {
            Ok(Some(g)) => g,
            Ok(None) => return Ok(None),
            Err(reason) => {
                self.error(loc, f, "", reason);
                return Err(Bad);
            }
        };
        match self.geom.parse(&g) {
            Ok(parsed) => {
                if !parsed.repairs.is_empty() {
                    self.stats.repaired += 1;
                }
                for rep in parsed.repairs {
                    self.warn(loc, f, "", rep);
                }
                Ok(Some(parsed.geometry))
            }
            Err(reason) => {
                let ty = g.get("type").and_then(|t| t.as_str()).unwrap_or("");
                self.error(loc, f, ty, reason);
                Err(Bad)
            }
        }
    }

    /// A point: the geometry if given, else `lon`/`lat` cells.
    pub(super) fn point<R: Record>(
        &mut self,
        r: &R,
        lon: usize,
        lat: usize,
        geom: usize,
    ) -> Option<Point<f64>> {
        match self.point_or_geometry(r, lon, lat, geom)? {
            Geometry::Point(p) => Some(p),
            _ => {
                self.error(r.location(), geom, "", "expected a Point geometry");
                None
            }
        }
    }

    pub(super) fn point_or_geometry<R: Record>(
        &mut self,
        r: &R,
        lon: usize,
        lat: usize,
        geom: usize,
    ) -> Option<Geometry<f64>> {
        match self.geometry(r, geom) {
            Ok(Some(g)) => return Some(g),
            Ok(None) => {}
            Err(Bad) => return None,
        }
        let x = self.opt(r, lon, |s| v::number(s, "longitude"));
        let y = self.opt(r, lat, |s| v::number(s, "latitude"));
        match (x, y) {
            (Ok(Some(x)), Ok(Some(y))) => match self.geom.point(Coord { x, y }) {
                Ok(p) => Some(Geometry::Point(p)),
                Err(reason) => {
                    self.error(r.location(), lon, &format!("{x}, {y}"), reason);
                    None
                }
            },
            (Ok(None), _) | (_, Ok(None)) => {
                self.error(r.location(), geom, "", "no geometry and no lon/lat columns");
                None
            }
            _ => None,
        }
    }

    /// A building's footprint: its polygon, or a MultiPolygon kept as one
    /// building with its parts; with explode (`--explode`, and `--ids auto`
    /// for the parts' IDs) one footprint per part, largest first.
    pub(super) fn footprints<R: Record>(
        &mut self,
        r: &R,
        f: usize,
    ) -> Option<Vec<MultiPolygon<f64>>> {
        let mp = self.multi_polygon(r, f)?;
        let n = mp.0.len();
        if n < 2 {
            return Some(vec![mp]);
        }
        if !self.rules.explode {
            self.stats.multipart += 1;
            return Some(vec![mp]);
        }
        if self.rules.auto_ids.is_none() {
            self.error(
                r.location(),
                f,
                "MultiPolygon",
                format!("{n} parts to explode need IDs of their own: add ids auto (--ids auto)"),
            );
            return None;
        }
        let mut parts = mp.0;
        parts.sort_by(|a, b| b.unsigned_area().total_cmp(&a.unsigned_area()));
        self.stats.exploded += n - 1;
        Some(parts.into_iter().map(|p| MultiPolygon(vec![p])).collect())
    }

    pub(super) fn multi_polygon<R: Record>(
        &mut self,
        r: &R,
        f: usize,
    ) -> Option<MultiPolygon<f64>> {
        match self.geometry(r, f) {
            Ok(Some(Geometry::Polygon(p))) => Some(MultiPolygon(vec![p])),
            Ok(Some(Geometry::MultiPolygon(mp))) => Some(mp),
            Ok(Some(g)) => {
                self.error(
                    r.location(),
                    f,
                    type_name(&g),
                    "expected a Polygon or MultiPolygon",
                );
                None
            }
            Ok(None) => {
                self.error(r.location(), f, "", "required geometry is missing");
                None
            }
            Err(Bad) => None,
        }
    }
}
