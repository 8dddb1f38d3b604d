//! Re-gridding recommender (网格重划): partitions a community's (or a town's)
//! building units into grids of `min..=max` households that are contiguous,
//! follow compound walls and roads, nest in their parent and balance the
//! workload, and reports how the proposal compares with today's grids.
//!
//! How it works (each file's header explains its step):
//! 1. [`graph`](adjacency): Delaunay neighbours of unit entrances (sparse,
//!    O(n log n)), edges longer than `max_link_m` dropped, edges across a
//!    road, river or compound wall marked as crossings;
//! 2. zones: connected parts without crossings inside one parent; a part
//!    whose households cannot form grids within the bounds is joined to a
//!    neighbour across the cheapest barrier, or diagnosed when isolated; a
//!    part the search (step 3) cannot divide within the bounds because its
//!    units are too lumpy is joined the same way and solved again; a unit
//!    below `min` whose every neighbour would push a grid above `max` is
//!    diagnosed as infeasible on its own;
//! 3. per zone, k-means++ seeds on graph distance and balanced region growing
//!    (or today's grids in minimal-change mode), then bound repair by boundary
//!    moves that keep every grid contiguous (articulation check), merges and
//!    splits, then simulated annealing on compactness, walls/roads, workload
//!    balance and households moved. Deterministic per seed.
//!
//! ```
//! use analytics::regrid::{regrid, RegridInput, RegridParams, RegridUnit};
//! use geo_core::ids::{BuildingId, UnitId};
//! use geo_types::Point;
//!
//! let units = (0..40u64)
//!     .map(|i| {
//!         let p = Point::new(112.45 + (i % 8) as f64 * 2e-4, 34.62 + (i / 8) as f64 * 2e-4);
//!         RegridUnit::new(UnitId::new(i + 1).unwrap(), BuildingId::new(i + 1).unwrap(), p, 12)
//!     })
//!     .collect();
//! let input = RegridInput { units, ..Default::default() };
//! let proposal = regrid(&input, &RegridParams::micro(30, 80), &mut |_| {}).unwrap();
//! assert_eq!(proposal.grids.iter().map(|g| g.households).sum::<u64>(), 480);
//! assert_eq!(proposal.report.violations, 0);
//! ```

mod error;
mod export;
mod graph;
mod input;
mod params;
mod partition;
mod polygon;
mod report;
mod rng;
mod stop;
mod synthetic;

pub use error::RegridError;
pub use export::{to_geojson, write_xlsx};
pub use graph::{adjacency, Adjacency, AdjacencyEdge};
pub use input::{Barrier, BarrierKind, Parent, RegridInput, RegridUnit, ELDERLY_AGE};
pub use params::{Mode, RegridParams, Weights};
pub use report::{
    adjusted_rand_index, Diagnostic, FloorPart, LoadCounts, Proposal, ProposedGrid, RegridReport,
};
pub use stop::Stop;
pub use synthetic::synthetic_town;

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use geo_core::ids::GridId;

use graph::Graph;
use partition::{partition, RawGrid};

fn parent_label(p: Option<Parent>) -> String {
    match p {
        Some(Parent::Community(c)) => format!("C{c}"),
        Some(Parent::Grid(g)) => format!("G{g}"),
        None => "X".to_string(),
    }
}

/// Splits `total` into `parts` near-equal integers; part `i` (0-based).
fn share(total: u64, parts: u64, i: u64) -> u64 {
    total / parts + u64::from(i < total % parts)
}

/// Proposes new grids for `input`. `progress` receives values in `0..=1`.
///
/// Bounds are hard wherever the data allows; where it does not (an isolated
/// compound of too few households, a unit bigger than `max`) the proposal
/// says so in `report.diagnostics` (the grids of an infeasible part are
/// listed in its [`Diagnostic::Infeasible`]) and counts the grid in
/// `violations`; `violations_where_feasible` counts the others (0 unless
/// the search failed, each with a [`Diagnostic::BoundsNotMet`]).
pub fn regrid(
    input: &RegridInput,
    params: &RegridParams,
    progress: &mut dyn FnMut(f32),
) -> Result<Proposal, RegridError> {
    regrid_stoppable(input, params, progress, &Stop::never())
}

/// [`regrid`] that gives up when `stop` says so: the search checks it in its
/// loops and answers [`RegridError::Cancelled`] or
/// [`RegridError::OutOfTime`] within milliseconds of the flag or deadline.
pub fn regrid_stoppable(
    input: &RegridInput,
    params: &RegridParams,
    progress: &mut dyn FnMut(f32),
    stop: &Stop,
) -> Result<Proposal, RegridError> {
    let started = Instant::now();
    params.validate()?;
    stop.check()?;
    progress(0.0);
    let g = Graph::build(input, params, stop)?;
    stop.check()?;
    progress(0.1);
    let mut diags = Vec::new();

    let mut dedicated: BTreeMap<GridId, Vec<geo_core::ids::UnitId>> = BTreeMap::new();
    for u in &input.units {
        if let Some(d) = u.dedicated {
            dedicated.entry(d).or_default().push(u.id);
        }
    }
    for (grid, units) in &dedicated {
        diags.push(Diagnostic::DedicatedLeftAlone {
            grid: *grid,
            units: units.len(),
        });
    }

    // Units bigger than max: whole, or split by floor ranges.
    let mut raw: Vec<RawGrid> = Vec::new();
    for v in (0..g.n()).filter(|&v| g.bridged[v]) {
        let u = &input.units[g.unit[v]];
        let h = u.households;
        let parts = if params.allow_floor_split {
            h.div_ceil(params.max)
        } else {
            1
        };
        let message = if parts > 1 {
            let least = h / parts;
            let mut m = format!(
                "unit {} has {h} households, more than the maximum {}; split into {parts} \
                 floor ranges",
                u.id, params.max
            );
            if least < params.min {
                m.push_str(&format!(
                    "; a part then holds {least}, below the minimum {}",
                    params.min
                ));
            }
            m
        } else {
            format!(
                "unit {} has {h} households, more than the maximum {}; kept whole as one \
                 grid (allow floor splitting to divide it)",
                u.id, params.max
            )
        };
        let cause = Some(diags.len());
        diags.push(Diagnostic::OversizedUnit {
            unit: u.id,
            households: h,
            max: params.max,
            split_into: parts,
            message,
        });
        for part in 0..parts {
            raw.push(RawGrid {
                nodes: vec![v],
                parent: u.parent,
                floor_part: (parts > 1).then(|| {
                    (
                        part + 1,
                        parts,
                        share(u64::from(h), u64::from(parts), u64::from(part)) as u32,
                    )
                }),
                cause,
            });
        }
    }
    let fixed = raw.len();
    raw.extend(partition(
        input, &g, params, fixed, &mut diags, progress, stop,
    )?);
    raw.sort_by(|a, b| {
        (a.parent, a.nodes.first(), a.floor_part.map(|f| f.0)).cmp(&(
            b.parent,
            b.nodes.first(),
            b.floor_part.map(|f| f.0),
        ))
    });
    if let Mode::Count(n) = params.mode {
        if raw.len() != n {
            diags.push(Diagnostic::CountAdjusted {
                requested: n,
                made: raw.len(),
                message: format!(
                    "{n} grids of {}–{} households are not possible with these units and \
                     barriers; {} were made",
                    params.min,
                    params.max,
                    raw.len()
                ),
            });
        }
    }

    // Grid of every node (first floor part for split units).
    let mut grid_of = vec![usize::MAX; g.n()];
    for (i, r) in raw.iter().enumerate() {
        for &v in &r.nodes {
            if grid_of[v] == usize::MAX {
                grid_of[v] = i;
            }
        }
    }
    // Owner of each site: the grid with most households there.
    let mut at_site: HashMap<(usize, usize), u64> = HashMap::new();
    for (v, &gi) in grid_of.iter().enumerate() {
        *at_site.entry((g.site_of[v], gi)).or_default() +=
            u64::from(input.units[g.unit[v]].households) + 1;
    }
    let mut owner: Vec<Option<(u64, usize)>> = vec![None; g.sites.len()];
    let mut entries: Vec<_> = at_site.into_iter().collect();
    entries.sort_unstable();
    for ((s, gi), h) in entries {
        if owner[s].is_none_or(|(bh, _)| h > bh) {
            owner[s] = Some((h, gi));
        }
    }
    let owner: Vec<Option<usize>> = owner.into_iter().map(|o| o.map(|x| x.1)).collect();
    let shapes = polygon::shapes(&g, &owner, raw.len(), &input.boundary);
    progress(0.95);

    // Today's grids, and the one each proposed grid replaces.
    let mut overlap: HashMap<(usize, GridId), u64> = HashMap::new();
    let mut before_load: HashMap<GridId, u64> = HashMap::new();
    for (v, &gi) in grid_of.iter().enumerate() {
        let u = &input.units[g.unit[v]];
        if let Some(c) = u.current_grid {
            *overlap.entry((gi, c)).or_default() += u64::from(u.households);
            *before_load.entry(c).or_default() += u64::from(u.households);
        }
    }
    let mut pairs: Vec<(u64, usize, GridId)> =
        overlap.into_iter().map(|((r, c), h)| (h, r, c)).collect();
    pairs.sort_by_key(|&(h, r, c)| (std::cmp::Reverse(h), r, c));
    let mut replaces: Vec<Option<GridId>> = vec![None; raw.len()];
    let mut used: HashMap<GridId, ()> = HashMap::new();
    for (_, r, c) in pairs {
        if replaces[r].is_none() && !used.contains_key(&c) {
            replaces[r] = Some(c);
            used.insert(c, ());
        }
    }

    let (min, max) = (u64::from(params.min), u64::from(params.max));
    let mut seq: HashMap<Option<Parent>, u32> = HashMap::new();
    let mut grids = Vec::with_capacity(raw.len());
    for ((i, r), shape) in raw.iter().enumerate().zip(shapes) {
        let n = seq.entry(r.parent).or_default();
        *n += 1;
        let (mut hh, mut res, mut eld, mut key, mut ev, mut work) = (0, 0, 0, 0, 0, 0.0);
        for &v in &r.nodes {
            let u = &input.units[g.unit[v]];
            hh += u64::from(u.households);
            res += u64::from(u.residents);
            eld += u64::from(u.elderly);
            key += u64::from(u.key_people);
            ev += u64::from(u.events_12m);
            work += partition::workload(u, params);
        }
        let mut floor_part = None;
        if let Some((part, parts, h)) = r.floor_part {
            let f = |x: u64| share(x, u64::from(parts), u64::from(part - 1));
            let frac = f64::from(h) / hh.max(1) as f64;
            let floors = input.units[g.unit[r.nodes[0]]].floors;
            floor_part = Some(FloorPart {
                part,
                parts,
                first_floor: floors
                    .map(|fl| (u32::from(fl) * (part - 1) / parts + 1).min(u32::from(fl)) as u16),
                last_floor: floors.map(|fl| (u32::from(fl) * part / parts) as u16),
            });
            (hh, res, eld, key, ev, work) =
                (u64::from(h), f(res), f(eld), f(key), f(ev), work * frac);
        }
        grids.push(ProposedGrid {
            code_hint: format!("{}-{:03}", parent_label(r.parent), n),
            parent: r.parent,
            units: r.nodes.iter().map(|&v| input.units[g.unit[v]].id).collect(),
            floor_part,
            replaces: replaces[i],
            households: hh,
            residents: res,
            elderly: eld,
            key_people: key,
            events_12m: ev,
            workload: work,
            area_m2: shape.area_m2,
            polygon: shape.polygon,
            polsby_popper: shape.polsby_popper,
            convex_hull_ratio: shape.convex_hull_ratio,
        });
    }
    // Floor parts share the unit's cell.
    for i in 0..grids.len() {
        if grids[i].floor_part.is_some_and(|f| f.part > 1) {
            let unit = grids[i].units[0];
            if let Some(j) = grids
                .iter()
                .position(|x| x.units[0] == unit && x.floor_part.is_some_and(|f| f.part == 1))
            {
                grids[i].polygon = grids[j].polygon.clone();
                grids[i].area_m2 = grids[j].area_m2;
                grids[i].polsby_popper = grids[j].polsby_popper;
                grids[i].convex_hull_ratio = grids[j].convex_hull_ratio;
            }
        }
    }

    // A unit below `min` whose every neighbour would push a grid holding
    // both above `max` cannot lie in any grid within the bounds.
    let hh = |v: usize| u64::from(input.units[g.unit[v]].households);
    let stuck = |v: usize| {
        let u = &input.units[g.unit[v]];
        let nbs: Vec<u64> = g
            .edges(v)
            .iter()
            .filter(|e| !g.bridged[e.to] && input.units[g.unit[e.to]].parent == u.parent)
            .map(|e| hh(e.to))
            .collect();
        (!g.bridged[v] && hh(v) < min && !nbs.is_empty() && nbs.iter().all(|&n| hh(v) + n > max))
            .then_some(nbs)
    };
    // Every grid outside the bounds is explained: by the diagnostic of its
    // infeasible part or over-sized unit, or else by `BoundsNotMet`.
    let mut violations_where_feasible = 0;
    for (gr, r) in grids.iter().zip(&raw) {
        if gr.households >= min && gr.households <= max {
            continue;
        }
        let lone = r
            .cause
            .is_none()
            .then(|| r.nodes.iter().find_map(|&v| stuck(v).map(|n| (v, n))));
        match r.cause.and_then(|i| diags.get_mut(i)) {
            Some(Diagnostic::Infeasible { grids: list, .. }) => list.push(gr.code_hint.clone()),
            Some(_) => {} // OversizedUnit names its unit
            None if lone.as_ref().is_some_and(Option::is_some) => {
                let Some(Some((v, mut nbs))) = lone else {
                    continue;
                };
                nbs.sort_unstable();
                nbs.dedup();
                let u = input.units[g.unit[v]].id;
                let list: Vec<String> = nbs.iter().map(u64::to_string).collect();
                diags.push(Diagnostic::Infeasible {
                    grids: vec![gr.code_hint.clone()],
                    units: 1,
                    households: hh(v),
                    sample_units: vec![u],
                    min: params.min,
                    max: params.max,
                    message: format!(
                        "unit {u} holds {} households, fewer than the minimum {min}, and its \
                         neighbours hold {} households each: any grid holding it exceeds {max}; \
                         grid {} holds {} households",
                        hh(v),
                        list.join(", "),
                        gr.code_hint,
                        gr.households
                    ),
                });
            }
            None => {
                violations_where_feasible += 1;
                diags.push(Diagnostic::BoundsNotMet {
                    grid: gr.code_hint.clone(),
                    households: gr.households,
                    message: format!(
                        "grid {} holds {} households, outside {}–{}: the search found no \
                         contiguous division of its part that meets the bounds",
                        gr.code_hint, gr.households, min, max
                    ),
                });
            }
        }
    }

    // Report.
    let count = |loads: &mut dyn Iterator<Item = u64>| {
        let mut c = LoadCounts::default();
        for l in loads {
            c.grids += 1;
            c.over += usize::from(l > max);
            c.under += usize::from(l < min);
        }
        c
    };
    let before = count(&mut before_load.values().copied());
    let after = count(&mut grids.iter().map(|x| x.households));
    let mut cut_edges = 0;
    for a in 0..g.n() {
        for e in g.edges(a) {
            if a < e.to && grid_of[a] != grid_of[e.to] {
                cut_edges += 1;
            }
        }
    }
    let mut compound_grids: HashMap<geo_core::ids::CompoundId, Vec<usize>> = HashMap::new();
    for (v, &gi) in grid_of.iter().enumerate() {
        if let Some(c) = input.units[g.unit[v]].compound {
            compound_grids.entry(c).or_default().push(gi);
        }
    }
    let compounds_split = compound_grids
        .values_mut()
        .map(|l| {
            l.sort_unstable();
            l.dedup();
            l.len()
        })
        .filter(|&n| n > 1)
        .count();
    let mut households_moved = 0;
    let (mut la, mut lb) = (Vec::new(), Vec::new());
    for v in 0..g.n() {
        let u = &input.units[g.unit[v]];
        if let Some(c) = u.current_grid {
            if replaces[grid_of[v]] != Some(c) {
                households_moved += u64::from(u.households);
            }
            la.push(c);
            lb.push(grid_of[v]);
        }
    }
    let adjusted_rand_index = (!la.is_empty()).then(|| adjusted_rand_index(&la, &lb));
    progress(1.0);
    Ok(Proposal {
        report: RegridReport {
            before,
            violations: after.over + after.under,
            violations_where_feasible,
            after,
            cut_edges,
            compounds_split,
            households_moved,
            adjusted_rand_index,
            runtime_ms: started.elapsed().as_millis() as u64,
            seed: params.seed,
            diagnostics: diags,
        },
        grids,
        dedicated: dedicated.into_iter().collect(),
    })
}
