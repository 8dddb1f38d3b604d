//! The partition itself: zones (connected parts inside one parent, merged
//! across a barrier only when the bounds force it, by the households or, after
//! a failed search, by lumpy units), seeded region growing,
//! bound repair by boundary moves / merges / splits, then simulated annealing
//! on the soft objectives. Every move keeps each grid contiguous
//! (articulation check by a bounded BFS inside the grid).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet, VecDeque};

use geo_core::ids::{GridId, UnitId};

use super::graph::Graph;
use super::rng::SplitMix64;
use super::{BarrierKind, Diagnostic, Mode, Parent, RegridError, RegridInput, RegridParams, Stop};

const NONE: u32 = u32::MAX;

/// A grid found by the partition, as graph nodes.
pub(crate) struct RawGrid {
    pub(crate) nodes: Vec<usize>,
    pub(crate) parent: Option<Parent>,
    /// Floor-range part `(part, parts, households)` of a split unit.
    pub(crate) floor_part: Option<(u32, u32, u32)>,
    /// Index in the diagnostics of the [`Diagnostic::Infeasible`] or
    /// [`Diagnostic::OversizedUnit`] that explains why this grid may be
    /// outside the bounds; `None` for grids of a feasible part.
    pub(crate) cause: Option<usize>,
}

/// Workload index of one unit.
pub(crate) fn workload(u: &super::RegridUnit, p: &RegridParams) -> f64 {
    let w = &p.weights;
    w.workload_household * f64::from(u.households)
        + w.workload_elderly * f64::from(u.elderly)
        + w.workload_key_person * f64::from(u.key_people)
        + w.workload_event * f64::from(u.events_12m)
}

fn violation(load: u64, min: u64, max: u64) -> u64 {
    if load > max {
        load - max
    } else {
        min.saturating_sub(load)
    }
}

fn feasible(total: u64, min: u64, max: u64) -> bool {
    total > 0 && total.div_ceil(max) <= total / min
}

/// Union–find with path halving.
struct Dsu(Vec<usize>);

impl Dsu {
    fn find(&mut self, mut x: usize) -> usize {
        while self.0[x] != x {
            self.0[x] = self.0[self.0[x]];
            x = self.0[x];
        }
        x
    }
}

/// One zone: a connected set of nodes (through allowed edges) of one parent.
struct Zone {
    nodes: Vec<usize>,
    total: u64,
    feasible: bool,
    parent: Option<Parent>,
    /// Index of its [`Diagnostic::Infeasible`] when not feasible.
    diag: Option<usize>,
}

fn sample_units(input: &RegridInput, g: &Graph, nodes: &[usize]) -> Vec<UnitId> {
    nodes
        .iter()
        .take(10)
        .map(|&v| input.units[g.unit[v]].id)
        .collect()
}

/// Splits the active nodes into zones and records which crossing edges the
/// zones may use (`block`: crossing edges are usable only between blocks).
fn zones(
    input: &RegridInput,
    g: &Graph,
    params: &RegridParams,
    diags: &mut Vec<Diagnostic>,
) -> (Vec<Zone>, Vec<usize>) {
    let n = g.n();
    let (min, max) = (u64::from(params.min), u64::from(params.max));
    let parent = |v: usize| input.units[g.unit[v]].parent;
    let hh = |v: usize| u64::from(input.units[g.unit[v]].households);
    let mut dsu = Dsu((0..n).collect());
    for v in 0..n {
        if g.bridged[v] {
            continue;
        }
        for e in g.edges(v) {
            if e.crossing.is_none() && !g.bridged[e.to] && parent(v) == parent(e.to) {
                let (a, b) = (dsu.find(v), dsu.find(e.to));
                if a != b {
                    dsu.0[a.max(b)] = a.min(b);
                }
            }
        }
    }
    let block: Vec<usize> = (0..n).map(|v| dsu.find(v)).collect();
    let mut members: HashMap<usize, Vec<usize>> = HashMap::new();
    for v in (0..n).filter(|&v| !g.bridged[v]) {
        members.entry(block[v]).or_default().push(v);
    }
    let mut total: HashMap<usize, u64> = members
        .iter()
        .map(|(&b, m)| (b, m.iter().map(|&v| hh(v)).sum()))
        .collect();

    // Merge infeasible blocks across the cheapest barrier, smallest first.
    let mut zdsu = Dsu((0..n).collect());
    let mut dead: Vec<usize> = Vec::new();
    loop {
        let mut bad: Vec<(u64, usize)> = members
            .keys()
            .map(|&z| (total.get(&z).copied().unwrap_or(0), z))
            .filter(|&(t, z)| !dead.contains(&z) && !feasible(t, min, max))
            .collect();
        bad.sort_unstable();
        let Some(&(t, z)) = bad.first() else { break };
        // ((barrier rank, still infeasible, neighbour households, id), id, barrier)
        type Choice = ((u8, bool, u64, usize), usize, BarrierKind);
        let mut best: Option<Choice> = None;
        for &v in members.get(&z).map_or(&[][..], Vec::as_slice) {
            for e in g.edges(v) {
                let Some(kind) = e.crossing else { continue };
                if g.bridged[e.to] || parent(v) != parent(e.to) {
                    continue;
                }
                let other = zdsu.find(block[e.to]);
                if other == z {
                    continue;
                }
                let ot = total.get(&other).copied().unwrap_or(0);
                let rank = match kind {
                    BarrierKind::Wall => 0,
                    BarrierKind::Road => 1,
                    BarrierKind::River => 2,
                };
                let key = (rank, !feasible(t + ot, min, max), ot, other);
                if best.as_ref().is_none_or(|b| key < b.0) {
                    best = Some((key, other, kind));
                }
            }
        }
        match best {
            Some((_, other, kind)) => {
                let ot = total.get(&other).copied().unwrap_or(0);
                let first = members
                    .get(&z)
                    .and_then(|m| m.first())
                    .copied()
                    .unwrap_or(0);
                let sample = input.units[g.unit[first]].id;
                let why = if t < min {
                    format!("{t} households, fewer than the minimum {min}")
                } else {
                    format!("{t} households cannot be divided into grids of {min}–{max}")
                };
                diags.push(Diagnostic::CrossedBarrier {
                    barrier: kind,
                    households: t,
                    with_households: ot,
                    sample_unit: sample,
                    message: format!(
                        "the part around unit {sample} ({why}) was joined with {ot} households \
                         across a {kind:?} because the bounds cannot be met otherwise"
                    ),
                });
                let (keep, gone) = (z.min(other), z.max(other));
                zdsu.0[gone] = keep;
                let moved = members.remove(&gone).unwrap_or_default();
                members.entry(keep).or_default().extend(moved);
                let gt = total.remove(&gone).unwrap_or(0);
                *total.entry(keep).or_default() += gt;
            }
            None => dead.push(z),
        }
    }
    let mut out: Vec<Zone> = members
        .into_iter()
        .map(|(z, mut nodes)| {
            nodes.sort_unstable();
            let t = total.get(&z).copied().unwrap_or(0);
            Zone {
                parent: parent(nodes[0]),
                feasible: feasible(t, min, max),
                total: t,
                nodes,
                diag: None,
            }
        })
        .collect();
    out.sort_by_key(|z| z.nodes[0]);
    for z in out.iter_mut().filter(|z| !z.feasible) {
        let message = if z.total < min {
            format!(
                "{} units with {} households are cut off (by distance over {} m or by \
                 barriers with nothing to join across) and hold fewer than the minimum {}; \
                 kept as one under-loaded grid",
                z.nodes.len(),
                z.total,
                params.max_link_m,
                min
            )
        } else {
            format!(
                "{} units with {} households are cut off and no number of grids of {}–{} \
                 households adds up to {}; divided as evenly as possible",
                z.nodes.len(),
                z.total,
                min,
                max,
                z.total
            )
        };
        z.diag = Some(diags.len());
        diags.push(Diagnostic::Infeasible {
            grids: Vec::new(),
            units: z.nodes.len(),
            households: z.total,
            sample_units: sample_units(input, g, &z.nodes),
            min: params.min,
            max: params.max,
            message,
        });
    }
    (out, block)
}

/// The graph of one zone in local indices.
struct ZoneGraph {
    nodes: Vec<usize>,
    offsets: Vec<usize>,
    /// (neighbour, length_m, cut cost)
    adj: Vec<(usize, f64, f64)>,
    h: Vec<u64>,
    w: Vec<f64>,
    pos: Vec<[f64; 2]>,
    current: Vec<Option<GridId>>,
}

impl ZoneGraph {
    fn build(
        input: &RegridInput,
        g: &Graph,
        params: &RegridParams,
        zone: &Zone,
        block: &[usize],
        local: &mut [usize],
    ) -> Self {
        for (i, &v) in zone.nodes.iter().enumerate() {
            local[v] = i;
        }
        let w = &params.weights;
        let mut offsets = vec![0];
        let mut adj = Vec::new();
        for &v in &zone.nodes {
            for e in g.edges(v) {
                let x = e.to;
                let li = local[x];
                if li == usize::MAX || zone.nodes.get(li) != Some(&x) {
                    continue;
                }
                // Crossing edges join a zone only where blocks were merged.
                if e.crossing.is_some() && block[v] == block[x] {
                    continue;
                }
                let factor = if e.crossing.is_some() {
                    w.barrier_cut_factor
                } else if e.same_compound {
                    w.compound_cut_factor
                } else {
                    1.0
                };
                adj.push((li, f64::from(e.length_m), w.compactness * factor));
            }
            offsets.push(adj.len());
        }
        let unit = |v: usize| &input.units[g.unit[v]];
        Self {
            offsets,
            adj,
            h: zone
                .nodes
                .iter()
                .map(|&v| u64::from(unit(v).households))
                .collect(),
            w: zone
                .nodes
                .iter()
                .map(|&v| workload(unit(v), params))
                .collect(),
            pos: zone.nodes.iter().map(|&v| g.pos[v]).collect(),
            current: zone.nodes.iter().map(|&v| unit(v).current_grid).collect(),
            nodes: zone.nodes.clone(),
        }
    }

    fn m(&self) -> usize {
        self.nodes.len()
    }

    fn nb(&self, v: usize) -> &[(usize, f64, f64)] {
        &self.adj[self.offsets[v]..self.offsets[v + 1]]
    }
}

/// Scratch marks that need no clearing.
struct Stamp {
    mark: Vec<u32>,
    now: u32,
}

impl Stamp {
    fn new(m: usize) -> Self {
        Self {
            mark: vec![0; m],
            now: 0,
        }
    }
    fn next(&mut self) -> u32 {
        self.now = self.now.wrapping_add(1);
        if self.now == 0 {
            self.mark.iter_mut().for_each(|x| *x = 0);
            self.now = 1;
        }
        self.now
    }
}

fn dist2(a: [f64; 2], b: [f64; 2]) -> f64 {
    (a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)
}

/// Region growing over `subset` (connected) into `k` regions; returns a label
/// `0..k` per subset entry.
fn grow(
    zg: &ZoneGraph,
    subset: &[usize],
    k: usize,
    max: u64,
    rng: &mut SplitMix64,
    stamp: &mut Stamp,
    idx: &mut [usize],
) -> Vec<u32> {
    let k = k.clamp(1, subset.len());
    let s = stamp.next();
    for (i, &v) in subset.iter().enumerate() {
        stamp.mark[v] = s;
        idx[v] = i;
    }
    let inside = |stamp: &Stamp, v: usize| stamp.mark[v] == s;

    // k-means++ seeds on graph distance.
    let mut dist = vec![f64::INFINITY; subset.len()];
    let mut seeds: Vec<usize> = Vec::with_capacity(k);
    let mut next = rng.below(subset.len());
    let mut heap: BinaryHeap<Reverse<(u64, usize)>> = BinaryHeap::new();
    while seeds.len() < k {
        seeds.push(next);
        dist[next] = 0.0;
        heap.push(Reverse((0, next)));
        while let Some(Reverse((d, i))) = heap.pop() {
            let d = f64::from_bits(d);
            if d > dist[i] {
                continue;
            }
            for &(x, len, _) in zg.nb(subset[i]) {
                if !inside(stamp, x) {
                    continue;
                }
                let j = idx[x];
                let nd = d + len.max(0.01);
                if nd < dist[j] {
                    dist[j] = nd;
                    heap.push(Reverse((nd.to_bits(), j)));
                }
            }
        }
        if seeds.len() == k {
            break;
        }
        let sum: f64 = dist.iter().filter(|d| d.is_finite()).map(|d| d * d).sum();
        if sum <= 0.0 {
            match (0..subset.len()).find(|i| !seeds.contains(i)) {
                Some(i) => next = i,
                None => break,
            }
            continue;
        }
        let mut target = rng.unit_f64() * sum;
        next = 0;
        for (i, d) in dist.iter().enumerate() {
            if d.is_finite() && *d > 0.0 {
                next = i;
                target -= d * d;
                if target <= 0.0 {
                    break;
                }
            }
        }
    }

    // Balanced growth: the lightest region takes its nearest free neighbour.
    let k = seeds.len();
    let mut label = vec![NONE; subset.len()];
    let mut load = vec![0u64; k];
    let mut frontier: Vec<BinaryHeap<Reverse<(u64, usize)>>> = vec![BinaryHeap::new(); k];
    let mut regions: BinaryHeap<Reverse<(u64, usize)>> = BinaryHeap::new();
    let push_nb = |frontier: &mut BinaryHeap<Reverse<(u64, usize)>>,
                   label: &[u32],
                   i: usize,
                   seed: usize,
                   stamp: &Stamp,
                   idx: &[usize]| {
        for &(x, _, _) in zg.nb(subset[i]) {
            if stamp.mark[x] == s && label[idx[x]] == NONE {
                let d = dist2(zg.pos[x], zg.pos[subset[seed]]);
                frontier.push(Reverse((d.to_bits(), idx[x])));
            }
        }
    };
    for (r, &sd) in seeds.iter().enumerate() {
        label[sd] = r as u32;
        load[r] = zg.h[subset[sd]];
    }
    for (r, &sd) in seeds.iter().enumerate() {
        push_nb(&mut frontier[r], &label, sd, sd, stamp, idx);
        regions.push(Reverse((load[r], r)));
    }
    while let Some(Reverse((_, r))) = regions.pop() {
        let mut took = false;
        while let Some(Reverse((_, i))) = frontier[r].pop() {
            if label[i] != NONE || load[r] + zg.h[subset[i]] > max {
                continue;
            }
            label[i] = r as u32;
            load[r] += zg.h[subset[i]];
            push_nb(&mut frontier[r], &label, i, seeds[r], stamp, idx);
            took = true;
            break;
        }
        if took {
            regions.push(Reverse((load[r], r)));
        }
    }
    // Whatever is left joins its lightest neighbouring region.
    let mut queue: VecDeque<usize> = (0..subset.len())
        .filter(|&i| label[i] == NONE)
        .filter(|&i| {
            zg.nb(subset[i])
                .iter()
                .any(|&(x, _, _)| inside(stamp, x) && label[idx[x]] != NONE)
        })
        .collect();
    while let Some(i) = queue.pop_front() {
        if label[i] != NONE {
            continue;
        }
        let best = zg
            .nb(subset[i])
            .iter()
            .filter(|&&(x, _, _)| inside(stamp, x) && label[idx[x]] != NONE)
            .map(|&(x, _, _)| label[idx[x]])
            .min_by_key(|&r| (load[r as usize], r));
        let Some(r) = best else { continue };
        label[i] = r;
        load[r as usize] += zg.h[subset[i]];
        for &(x, _, _) in zg.nb(subset[i]) {
            if inside(stamp, x) && label[idx[x]] == NONE {
                queue.push_back(idx[x]);
            }
        }
    }
    // The subset is connected, so nothing is left; never leave a hole.
    for l in label.iter_mut().filter(|l| **l == NONE) {
        *l = 0;
    }
    label
}

/// The assignment of one zone during search.
struct State {
    a: Vec<u32>,
    load: Vec<u64>,
    work: Vec<f64>,
    members: Vec<Vec<usize>>,
    pos: Vec<usize>,
}

impl State {
    fn from_labels(zg: &ZoneGraph, a: Vec<u32>) -> Self {
        let k = a.iter().map(|&r| r as usize + 1).max().unwrap_or(0);
        let mut s = Self {
            a,
            load: vec![0; k],
            work: vec![0.0; k],
            members: vec![Vec::new(); k],
            pos: vec![0; zg.m()],
        };
        for v in 0..zg.m() {
            let r = s.a[v] as usize;
            s.load[r] += zg.h[v];
            s.work[r] += zg.w[v];
            s.pos[v] = s.members[r].len();
            s.members[r].push(v);
        }
        s
    }

    fn relabel(&mut self, zg: &ZoneGraph, v: usize, to: usize) {
        let from = self.a[v] as usize;
        let p = self.pos[v];
        self.members[from].swap_remove(p);
        if let Some(&moved) = self.members[from].get(p) {
            self.pos[moved] = p;
        }
        self.load[from] -= zg.h[v];
        self.work[from] -= zg.w[v];
        self.a[v] = to as u32;
        self.pos[v] = self.members[to].len();
        self.members[to].push(v);
        self.load[to] += zg.h[v];
        self.work[to] += zg.w[v];
    }

    /// Drops empty regions and renumbers the rest in order of first node.
    fn compact(&mut self, zg: &ZoneGraph) {
        let mut map = vec![NONE; self.load.len()];
        let mut next = 0u32;
        let mut labels = self.a.clone();
        for l in labels.iter_mut() {
            let r = *l as usize;
            if map[r] == NONE {
                map[r] = next;
                next += 1;
            }
            *l = map[r];
        }
        *self = Self::from_labels(zg, labels);
    }

    /// True when taking `v` out of its region disconnects the region.
    fn cuts(&self, zg: &ZoneGraph, v: usize, stamp: &mut Stamp, queue: &mut Vec<usize>) -> bool {
        let r = self.a[v];
        let mut need = 0usize;
        let mut start = usize::MAX;
        let s = stamp.next();
        for &(x, _, _) in zg.nb(v) {
            if self.a[x] == r && stamp.mark[x] != s {
                stamp.mark[x] = s;
                need += 1;
                start = x;
            }
        }
        if need <= 1 {
            return need == 0 && self.members[r as usize].len() > 1;
        }
        // BFS from one neighbour inside the region without v.
        let t = stamp.next();
        stamp.mark[v] = t;
        stamp.mark[start] = t;
        queue.clear();
        queue.push(start);
        let mut found = 1usize;
        while let Some(y) = queue.pop() {
            for &(x, _, _) in zg.nb(y) {
                if self.a[x] != r || stamp.mark[x] == t {
                    continue;
                }
                if stamp.mark[x] == s {
                    found += 1;
                    if found == need {
                        return false;
                    }
                }
                stamp.mark[x] = t;
                queue.push(x);
            }
        }
        true
    }
}

struct Ctx<'a> {
    zg: &'a ZoneGraph,
    stop: &'a Stop,
    min: u64,
    max: u64,
    stamp: Stamp,
    queue: Vec<usize>,
    idx: Vec<usize>,
}

fn total_violation(st: &State, min: u64, max: u64) -> u64 {
    st.load
        .iter()
        .zip(&st.members)
        .filter(|(_, m)| !m.is_empty())
        .map(|(&l, _)| violation(l, min, max))
        .sum()
}

/// Boundary moves that strictly lower the total bound violation.
fn repair_moves(cx: &mut Ctx, st: &mut State) {
    let (zg, min, max) = (cx.zg, cx.min, cx.max);
    for _pass in 0..64 {
        if cx.stop.hit() {
            return;
        }
        let mut moved = false;
        let mut bad: Vec<usize> = (0..st.load.len())
            .filter(|&r| !st.members[r].is_empty() && violation(st.load[r], min, max) > 0)
            .collect();
        bad.sort_by_key(|&r| (Reverse(violation(st.load[r], min, max)), r));
        for r in bad {
            if cx.stop.hit() {
                return;
            }
            for _ in 0..256 {
                let over = st.load[r] > max;
                if violation(st.load[r], min, max) == 0 {
                    break;
                }
                // (delta violation, delta cut, node, from, to)
                let mut cands: Vec<(i64, i64, usize, usize, usize)> = Vec::new();
                for &v in &st.members[r] {
                    for &(x, _, _) in zg.nb(v) {
                        let other = st.a[x] as usize;
                        if other == r {
                            continue;
                        }
                        let (node, from, to) = if over { (v, r, other) } else { (x, other, r) };
                        let h = zg.h[node];
                        let before =
                            violation(st.load[from], min, max) + violation(st.load[to], min, max);
                        let after = violation(st.load[from] - h, min, max)
                            + violation(st.load[to] + h, min, max);
                        let dv = after as i64 - before as i64;
                        if dv < 0 && st.members[from].len() > 1 {
                            let dc: f64 = zg
                                .nb(node)
                                .iter()
                                .map(|&(y, _, c)| {
                                    let ay = st.a[y] as usize;
                                    c * (f64::from(u8::from(ay != to))
                                        - f64::from(u8::from(ay != from)))
                                })
                                .sum();
                            cands.push((dv, (dc * 1000.0) as i64, node, from, to));
                        }
                    }
                }
                cands.sort_unstable();
                cands.dedup();
                let pick = cands
                    .into_iter()
                    .find(|c| !st.cuts(zg, c.2, &mut cx.stamp, &mut cx.queue));
                match pick {
                    Some((_, _, node, _, to)) => {
                        st.relabel(zg, node, to);
                        moved = true;
                    }
                    None => break,
                }
            }
        }
        if !moved {
            break;
        }
    }
}

/// Merges, dissolves or splits regions the moves could not repair.
fn restructure(cx: &mut Ctx, st: &mut State, rng: &mut SplitMix64) -> bool {
    let (zg, min, max) = (cx.zg, cx.min, cx.max);
    let mut changed = false;
    let mut under: Vec<usize> = (0..st.load.len())
        .filter(|&r| !st.members[r].is_empty() && st.load[r] < min)
        .collect();
    under.sort_by_key(|&r| (st.load[r], r));
    for r in under {
        if st.members[r].is_empty() || st.load[r] >= min {
            continue;
        }
        let mut nbrs: Vec<usize> = st.members[r]
            .iter()
            .flat_map(|&v| zg.nb(v).iter().map(|&(x, _, _)| st.a[x] as usize))
            .filter(|&o| o != r)
            .collect();
        nbrs.sort_unstable();
        nbrs.dedup();
        if nbrs.is_empty() {
            continue;
        }
        let target = nbrs
            .iter()
            .copied()
            .filter(|&o| st.load[o] + st.load[r] <= max)
            .min_by_key(|&o| (st.load[o], o));
        if let Some(o) = target {
            for v in st.members[r].clone() {
                st.relabel(zg, v, o);
            }
        } else {
            // Dissolve: each unit joins its lightest neighbouring region.
            let mut left: Vec<usize> = st.members[r].clone();
            while !left.is_empty() {
                let before = left.len();
                left.retain(|&v| {
                    let best = zg
                        .nb(v)
                        .iter()
                        .map(|&(x, _, _)| st.a[x] as usize)
                        .filter(|&o| o != r)
                        .min_by_key(|&o| (st.load[o], o));
                    match best {
                        Some(o) => {
                            st.relabel(zg, v, o);
                            false
                        }
                        None => true,
                    }
                });
                if left.len() == before {
                    break;
                }
            }
        }
        changed = true;
    }
    let over: Vec<usize> = (0..st.load.len())
        .filter(|&r| st.load[r] > max && st.load[r] >= 2 * min && st.members[r].len() > 1)
        .collect();
    for r in over {
        let l = st.load[r];
        let parts = (l.div_ceil(max)).min(l / min).max(2) as usize;
        let subset = st.members[r].clone();
        let labels = grow(zg, &subset, parts, max, rng, &mut cx.stamp, &mut cx.idx);
        let base = st.load.len();
        let extra = labels.iter().map(|&l| l as usize).max().unwrap_or(0);
        st.load.extend(std::iter::repeat_n(0, extra));
        st.work.extend(std::iter::repeat_n(0.0, extra));
        st.members.extend(std::iter::repeat_n(Vec::new(), extra));
        for (i, &v) in subset.iter().enumerate() {
            if labels[i] > 0 && labels[i] != NONE {
                st.relabel(zg, v, base + labels[i] as usize - 1);
            }
        }
        changed = true;
    }
    if changed {
        st.compact(zg);
    }
    changed
}

/// Repair rounds (moves, then merges/splits) until the bounds hold or no
/// progress; returns the remaining total violation.
fn repair(cx: &mut Ctx, st: &mut State, rng: &mut SplitMix64) -> u64 {
    let (min, max) = (cx.min, cx.max);
    let mut best = u64::MAX;
    let mut stale = 0;
    for _round in 0..40 {
        if cx.stop.hit() {
            break;
        }
        repair_moves(cx, st);
        let v = total_violation(st, min, max);
        if v == 0 {
            return 0;
        }
        if v < best {
            best = v;
            stale = 0;
        } else {
            stale += 1;
            if stale >= 4 {
                break;
            }
        }
        if !restructure(cx, st, rng) {
            break;
        }
    }
    total_violation(st, min, max)
}

/// Greedy one-to-one matching of regions to today's grids by shared households.
fn match_current(zg: &ZoneGraph, st: &State) -> HashMap<GridId, usize> {
    let mut overlap: HashMap<(usize, GridId), u64> = HashMap::new();
    for v in 0..zg.m() {
        if let Some(g) = zg.current[v] {
            *overlap.entry((st.a[v] as usize, g)).or_default() += zg.h[v];
        }
    }
    let mut pairs: Vec<(u64, usize, GridId)> =
        overlap.into_iter().map(|((r, g), h)| (h, r, g)).collect();
    pairs.sort_by_key(|&(h, r, g)| (Reverse(h), r, g));
    let mut taken_r = vec![false; st.load.len()];
    let mut out = HashMap::new();
    for (_, r, g) in pairs {
        if !taken_r[r] && !out.contains_key(&g) {
            taken_r[r] = true;
            out.insert(g, r);
        }
    }
    out
}

/// Simulated annealing over contiguity-keeping boundary moves.
fn anneal(cx: &mut Ctx, st: &mut State, params: &RegridParams, rng: &mut SplitMix64) {
    let zg = cx.zg;
    let (min, max) = (cx.min, cx.max);
    let m = zg.m();
    let k = st.members.iter().filter(|x| !x.is_empty()).count();
    if k < 2 || m < 3 {
        return;
    }
    let w = &params.weights;
    let mean = st.work.iter().sum::<f64>() / k as f64;
    let wb = if mean > 0.0 {
        w.balance / (mean * mean)
    } else {
        0.0
    };
    let wm = if params.mode == Mode::MinimalChange {
        w.moved_household
    } else {
        0.0
    };
    let home: Vec<u32> = if wm > 0.0 {
        let matched = match_current(zg, st);
        (0..m)
            .map(|v| {
                zg.current[v]
                    .and_then(|g| matched.get(&g))
                    .map_or(NONE, |&r| r as u32)
            })
            .collect()
    } else {
        vec![NONE; m]
    };
    let iters = (params.moves_per_unit as usize).saturating_mul(m);
    let t0 = 0.5 * w.compactness.max(0.05);
    let t1 = t0 * 1e-3;
    let cool = if iters > 0 {
        (t1 / t0).powf(1.0 / iters as f64)
    } else {
        1.0
    };
    let mut temp = t0;
    for i in 0..iters {
        if i % 4096 == 0 && cx.stop.hit() {
            return;
        }
        temp *= cool;
        let v = rng.below(m);
        let nb = zg.nb(v);
        if nb.is_empty() {
            continue;
        }
        let from = st.a[v] as usize;
        let start = rng.below(nb.len());
        let Some(to) = (0..nb.len())
            .map(|i| st.a[nb[(start + i) % nb.len()].0] as usize)
            .find(|&r| r != from)
        else {
            continue;
        };
        let h = zg.h[v];
        let dv = (violation(st.load[from] - h, min, max) + violation(st.load[to] + h, min, max))
            as i64
            - (violation(st.load[from], min, max) + violation(st.load[to], min, max)) as i64;
        if dv > 0 || (dv == 0 && (st.load[from] - h < min || st.load[to] + h > max)) {
            continue;
        }
        if st.members[from].len() < 2 {
            continue;
        }
        let mut delta = 0.0;
        for &(y, _, c) in nb {
            let ay = st.a[y] as usize;
            delta += c * (f64::from(u8::from(ay != to)) - f64::from(u8::from(ay != from)));
        }
        let wv = zg.w[v];
        delta += wb
            * ((st.work[from] - wv - mean).powi(2) + (st.work[to] + wv - mean).powi(2)
                - (st.work[from] - mean).powi(2)
                - (st.work[to] - mean).powi(2));
        if home[v] != NONE {
            let hv = h as f64;
            delta += wm
                * hv
                * (f64::from(u8::from(to as u32 != home[v]))
                    - f64::from(u8::from(from as u32 != home[v])));
        }
        if dv < 0 || delta <= 0.0 || rng.unit_f64() < (-delta / temp).exp() {
            if st.cuts(zg, v, &mut cx.stamp, &mut cx.queue) {
                continue;
            }
            st.relabel(zg, v, to);
        }
    }
}

/// Initial labels for minimal-change mode: the largest connected piece of
/// each of today's grids; the rest joins a neighbour.
fn current_labels(zg: &ZoneGraph, stamp: &mut Stamp) -> Option<Vec<u32>> {
    if zg.current.iter().all(Option::is_none) {
        return None;
    }
    let m = zg.m();
    let mut piece = vec![NONE; m];
    let mut pieces: Vec<(Option<GridId>, u64, Vec<usize>)> = Vec::new();
    for v in 0..m {
        if piece[v] != NONE || zg.current[v].is_none() {
            continue;
        }
        let id = pieces.len() as u32;
        let mut stack = vec![v];
        piece[v] = id;
        let mut nodes = Vec::new();
        let mut hh = 0;
        while let Some(y) = stack.pop() {
            nodes.push(y);
            hh += zg.h[y];
            for &(x, _, _) in zg.nb(y) {
                if piece[x] == NONE && zg.current[x] == zg.current[v] {
                    piece[x] = id;
                    stack.push(x);
                }
            }
        }
        pieces.push((zg.current[v], hh, nodes));
    }
    let mut best: HashMap<GridId, usize> = HashMap::new();
    for (i, p) in pieces.iter().enumerate() {
        if let Some(g) = p.0 {
            let e = best.entry(g).or_insert(i);
            if pieces[*e].1 < p.1 {
                *e = i;
            }
        }
    }
    let mut keep: Vec<usize> = best.values().copied().collect();
    keep.sort_unstable();
    let mut label = vec![NONE; m];
    for (r, &i) in keep.iter().enumerate() {
        for &v in &pieces[i].2 {
            label[v] = r as u32;
        }
    }
    let mut load = vec![0u64; keep.len()];
    for v in 0..m {
        if label[v] != NONE {
            load[label[v] as usize] += zg.h[v];
        }
    }
    let _ = stamp.next();
    let mut queue: VecDeque<usize> = (0..m).filter(|&v| label[v] == NONE).collect();
    let mut stuck = 0;
    while let Some(v) = queue.pop_front() {
        if label[v] != NONE {
            continue;
        }
        let r = zg
            .nb(v)
            .iter()
            .map(|&(x, _, _)| label[x])
            .filter(|&l| l != NONE)
            .min_by_key(|&l| (load[l as usize], l));
        match r {
            Some(r) => {
                label[v] = r;
                load[r as usize] += zg.h[v];
                stuck = 0;
            }
            None => {
                queue.push_back(v);
                stuck += 1;
                if stuck > queue.len() {
                    return None;
                }
            }
        }
    }
    Some(label)
}

/// Partitions every zone and returns the raw grids (without the oversized
/// units, which the caller adds).
pub(crate) fn partition(
    input: &RegridInput,
    g: &Graph,
    params: &RegridParams,
    fixed_grids: usize,
    diags: &mut Vec<Diagnostic>,
    progress: &mut dyn FnMut(f32),
    stop: &Stop,
) -> Result<Vec<RawGrid>, RegridError> {
    let (min, max) = (u64::from(params.min), u64::from(params.max));
    let (zones, block) = zones(input, g, params, diags);
    progress(0.15);

    // Grids per zone.
    let mut ks: Vec<usize> = zones.iter().map(|z| zone_k(input, g, params, z)).collect();
    if let Mode::Count(n) = params.mode {
        let want = n.saturating_sub(fixed_grids);
        let mut have: usize = ks.iter().sum();
        while have < want {
            let pick = zones
                .iter()
                .enumerate()
                .filter(|(i, z)| z.feasible && (ks[*i] as u64) < z.total / min)
                .max_by(|(i, a), (j, b)| {
                    (a.total as f64 / ks[*i] as f64)
                        .total_cmp(&(b.total as f64 / ks[*j] as f64))
                        .then(j.cmp(i))
                })
                .map(|(i, _)| i);
            match pick {
                Some(i) => {
                    ks[i] += 1;
                    have += 1;
                }
                None => break,
            }
        }
    }

    let mut local = vec![usize::MAX; g.n()];
    let total_nodes: usize = zones.iter().map(|z| z.nodes.len()).sum::<usize>().max(1);
    let mut done_nodes = 0usize;
    let mut solved: Vec<Option<(Vec<RawGrid>, u64)>> = Vec::with_capacity(zones.len());
    for (zi, zone) in zones.iter().enumerate() {
        solved.push(Some(solve_zone(
            input, g, params, zone, ks[zi], &block, &mut local, stop,
        )));
        stop.check()?;
        done_nodes += zone.nodes.len();
        progress(0.15 + 0.55 * done_nodes as f32 / total_nodes as f32);
    }

    // A feasible part whose search left grids outside the bounds (its units
    // are too lumpy to be grouped within them, e.g. 22 + 78 households for
    // 30–80) is joined with a neighbouring part across the cheapest barrier
    // and solved again, as barriers may be crossed when the bounds cannot
    // be met otherwise. Kept only when it lowers the violation.
    let mut zone_of = vec![usize::MAX; g.n()];
    for (zi, z) in zones.iter().enumerate() {
        for &v in &z.nodes {
            zone_of[v] = zi;
        }
    }
    let parent = |v: usize| input.units[g.unit[v]].parent;
    let mut zones: Vec<Option<Zone>> = zones.into_iter().map(Some).collect();
    let mut tried: HashSet<(usize, usize)> = HashSet::new();
    for _round in 0..64 {
        let mut attempted = false;
        for zi in 0..zones.len() {
            stop.check()?;
            let Some(z) = zones[zi].as_ref() else {
                continue;
            };
            let v_here = solved[zi].as_ref().map_or(0, |s| s.1);
            if !z.feasible || v_here == 0 {
                continue;
            }
            // ((barrier rank, neighbour households, id), id, barrier)
            type Choice = ((u8, u64, usize), usize, BarrierKind);
            let mut best: Option<Choice> = None;
            for &v in &z.nodes {
                for e in g.edges(v) {
                    let Some(kind) = e.crossing else { continue };
                    let o = zone_of[e.to];
                    if o == usize::MAX || o == zi || g.bridged[e.to] || parent(v) != parent(e.to) {
                        continue;
                    }
                    let Some(oz) = zones[o].as_ref() else {
                        continue;
                    };
                    if tried.contains(&(zi.min(o), zi.max(o)))
                        || !feasible(z.total + oz.total, min, max)
                    {
                        continue;
                    }
                    let rank = match kind {
                        BarrierKind::Wall => 0,
                        BarrierKind::Road => 1,
                        BarrierKind::River => 2,
                    };
                    let key = (rank, oz.total, o);
                    if best.as_ref().is_none_or(|b| key < b.0) {
                        best = Some((key, o, kind));
                    }
                }
            }
            let Some((_, o, kind)) = best else { continue };
            tried.insert((zi.min(o), zi.max(o)));
            attempted = true;
            let (a, b) = (zones[zi].as_ref(), zones[o].as_ref());
            let (Some(a), Some(b)) = (a, b) else { continue };
            let mut nodes: Vec<usize> = a.nodes.iter().chain(&b.nodes).copied().collect();
            nodes.sort_unstable();
            let merged = Zone {
                total: a.total + b.total,
                feasible: true,
                parent: a.parent,
                diag: None,
                nodes,
            };
            let k = match params.mode {
                Mode::Count(_) => ks[zi] + ks[o],
                _ => zone_k(input, g, params, &merged),
            }
            .clamp(
                merged.total.div_ceil(max).max(1) as usize,
                (merged.total / min).max(1) as usize,
            );
            let v_other = solved[o].as_ref().map_or(0, |s| s.1);
            let cand = solve_zone(input, g, params, &merged, k, &block, &mut local, stop);
            if cand.1 < v_here + v_other {
                let sample = input.units[g.unit[a.nodes[0]]].id;
                diags.push(Diagnostic::CrossedBarrier {
                    barrier: kind,
                    households: a.total,
                    with_households: b.total,
                    sample_unit: sample,
                    message: format!(
                        "the part around unit {sample} ({} households) cannot be divided into \
                         contiguous grids of {min}–{max} (its units are too lumpy); it was \
                         joined with {} households across a {kind:?}",
                        a.total, b.total
                    ),
                });
                let keep = zi.min(o);
                let gone = zi.max(o);
                for &v in &merged.nodes {
                    zone_of[v] = keep;
                }
                ks[keep] = k;
                zones[gone] = None;
                solved[gone] = None;
                zones[keep] = Some(merged);
                solved[keep] = Some(cand);
            }
        }
        if !attempted {
            break;
        }
    }
    stop.check()?;
    progress(0.75);
    Ok(solved.into_iter().flatten().flat_map(|s| s.0).collect())
}

/// Grids to aim for in a zone (before the repair adjusts them).
fn zone_k(input: &RegridInput, g: &Graph, params: &RegridParams, z: &Zone) -> usize {
    let (min, max) = (u64::from(params.min), u64::from(params.max));
    let lo = z.total.div_ceil(max).max(1) as usize;
    let hi = (z.total / min).max(1) as usize;
    if !z.feasible {
        if z.total < min {
            1
        } else {
            ((z.total as f64 / ((min + max) as f64 / 2.0)).round() as usize).max(1)
        }
    } else {
        match params.mode {
            Mode::Max => hi,
            Mode::Count(_) => lo,
            Mode::MinimalChange => {
                let mut cur: Vec<GridId> = z
                    .nodes
                    .iter()
                    .filter_map(|&v| input.units[g.unit[v]].current_grid)
                    .collect();
                cur.sort_unstable();
                cur.dedup();
                cur.len().clamp(lo, hi)
            }
        }
    }
}

/// Partitions one zone into `k` grids (fewer when the bounds need it) and
/// returns them with the total violation left (early, with what it has, when
/// `stop` is hit: the caller checks it).
#[allow(clippy::too_many_arguments)]
fn solve_zone(
    input: &RegridInput,
    g: &Graph,
    params: &RegridParams,
    zone: &Zone,
    k: usize,
    block: &[usize],
    local: &mut [usize],
    stop: &Stop,
) -> (Vec<RawGrid>, u64) {
    let (min, max) = (u64::from(params.min), u64::from(params.max));
    let zg = ZoneGraph::build(input, g, params, zone, block, local);
    let mut rng =
        SplitMix64::new(params.seed ^ (zone.nodes[0] as u64).wrapping_mul(0x2545_F491_4F6C_DD1D));
    let mut cx = Ctx {
        zg: &zg,
        stop,
        min,
        max,
        stamp: Stamp::new(zg.m()),
        queue: Vec::new(),
        idx: vec![0; zg.m()],
    };
    let all: Vec<usize> = (0..zg.m()).collect();
    let labels = match params.mode {
        Mode::MinimalChange => current_labels(&zg, &mut cx.stamp),
        _ => None,
    };
    let labels =
        labels.unwrap_or_else(|| grow(&zg, &all, k, max, &mut rng, &mut cx.stamp, &mut cx.idx));
    let mut st = State::from_labels(&zg, labels);
    if zone.feasible {
        let mut v = repair(&mut cx, &mut st, &mut rng);
        // Retry from fresh seeds, one grid fewer each time (down to the
        // fewest the bounds allow), keeping the best.
        let lo = zone.total.div_ceil(max).max(1) as usize;
        let mut k = k;
        for _attempt in 0..8 {
            if v == 0 || stop.hit() {
                break;
            }
            k = if k > lo { k - 1 } else { k };
            let labels = grow(&zg, &all, k, max, &mut rng, &mut cx.stamp, &mut cx.idx);
            let mut cand = State::from_labels(&zg, labels);
            let cv = repair(&mut cx, &mut cand, &mut rng);
            if cv < v {
                st = cand;
                v = cv;
            }
        }
    }
    anneal(&mut cx, &mut st, params, &mut rng);
    st.compact(&zg);
    let violation = if zone.feasible {
        total_violation(&st, min, max)
    } else {
        0
    };
    let mut out = Vec::new();
    for members in st.members.iter().filter(|m| !m.is_empty()) {
        let mut nodes: Vec<usize> = members.iter().map(|&v| zg.nodes[v]).collect();
        nodes.sort_unstable();
        out.push(RawGrid {
            nodes,
            parent: zone.parent,
            floor_part: None,
            cause: zone.diag,
        });
    }
    for &v in &zone.nodes {
        local[v] = usize::MAX;
    }
    (out, violation)
}
