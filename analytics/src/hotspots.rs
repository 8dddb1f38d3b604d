//! Emerging hotspots (未诉先办): per area (H3 cell or grid) and category, flag
//! the weeks whose count is significantly above the area's own recent
//! baseline, so a grid can act before complaints pile up.
//!
//! Method, per (area, category, week):
//! * baseline λ = exponentially weighted mean of the previous
//!   [`HotspotParams::baseline_weeks`] weeks (weeks with no event count as 0;
//!   weights α(1−α)^(k−1) for lag k, renormalised; `ewma_alpha = None` gives
//!   the plain mean), floored at [`HotspotParams::min_baseline`]; a past week
//!   that was itself an outlier (p below [`HotspotParams::outlier_p`])
//!   enters at its own baseline, so an outbreak does not mask its own
//!   later weeks;
//! * one-sided test of the count c against λ with the mid-p continuity
//!   correction, p = P(X > c) + ½·P(X = c). With
//!   [`HotspotParams::baseline_uncertainty`] (the default) X follows the
//!   Poisson–Gamma predictive of a rate estimated from n_eff = (Σw)²/Σw²
//!   weeks — a negative binomial with mean λ and variance λ(1 + 1/n_eff) —
//!   so a baseline that is low by chance does not flag ordinary weeks;
//!   without it X ~ Poisson(λ). The statistic is the continuity-corrected
//!   z = (c − λ − ½)/√Var X;
//! * Benjamini–Hochberg over all areas × categories active that week (any
//!   event in the week or its baseline span), flagged when q ≤
//!   [`HotspotParams::fdr`], c ≥ [`HotspotParams::min_count`] and c > λ.
//!
//! Weeks start on Monday 00:00 at [`HotspotParams::utc_offset_h`] (a fixed
//! offset: weekly counts do not need DST precision). Counting is a sort of
//! packed keys, so a million events take well under a second.
//!
//! ```
//! use analytics::hotspots::poisson_mid_p;
//! assert!(poisson_mid_p(12, 3.0) < 1e-4);
//! assert!(poisson_mid_p(3, 3.0) > 0.3);
//! ```

use std::collections::HashSet;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use geo_core::ids::GridId;
use geo_core::taxonomy::EventCategory;
use geo_types::Point;
use h3o::{CellIndex, LatLng, Resolution};
use serde::{Serialize, Serializer};
use thiserror::Error;

use crate::table::{Cell, Table};

/// A week number: weeks since Monday 1970-01-05 00:00 at the given offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Week(pub i64);

const WEEK_S: i64 = 7 * 86_400;
const EPOCH_S: i64 = 4 * 86_400; // 1970-01-05 was a Monday

impl Week {
    /// The week containing `t`.
    pub fn of(t: DateTime<Utc>, utc_offset_h: i32) -> Week {
        Week((t.timestamp() + i64::from(utc_offset_h) * 3600 - EPOCH_S).div_euclid(WEEK_S))
    }
    /// The week containing local calendar day `d` (its local noon).
    pub fn of_date(d: NaiveDate, utc_offset_h: i32) -> Week {
        let noon = Utc.from_utc_datetime(&d.and_time(NaiveTime::MIN))
            + Duration::hours(12 - i64::from(utc_offset_h));
        Week::of(noon, utc_offset_h)
    }
    /// The instant the week starts.
    pub fn start(self, utc_offset_h: i32) -> DateTime<Utc> {
        let s = self.0 * WEEK_S + EPOCH_S - i64::from(utc_offset_h) * 3600;
        Utc.timestamp_opt(s, 0).single().unwrap_or_default()
    }
}

/// Where an input event lies.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Location {
    /// Already an H3 cell (any resolution is taken as given).
    Cell(CellIndex),
    /// A grid.
    Grid(GridId),
    /// A WGS84 point, binned to [`HotspotParams::resolution`].
    Point(Point<f64>),
}

/// The area a hotspot is reported for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Area {
    /// An H3 cell.
    Cell(CellIndex),
    /// A grid.
    Grid(GridId),
}

impl std::fmt::Display for Area {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Area::Cell(c) => write!(f, "{c}"),
            Area::Grid(g) => write!(f, "grid:{g}"),
        }
    }
}

impl Serialize for Area {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// One event as hotspot detection sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HotspotInput {
    /// Where.
    pub location: Location,
    /// When reported.
    pub time: DateTime<Utc>,
    /// Category.
    pub category: EventCategory,
}

impl From<&geo_core::model::Event> for HotspotInput {
    fn from(e: &geo_core::model::Event) -> Self {
        Self {
            location: Location::Point(e.location),
            time: e.reported_at,
            category: e.category,
        }
    }
}

/// Settings of the detector.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HotspotParams {
    /// H3 resolution for point inputs (default 9, ≈ 0.1 km² cells).
    pub resolution: Resolution,
    /// Weeks of history in the baseline (default 12).
    pub baseline_weeks: u32,
    /// EWMA smoothing α in (0, 1] (default 0.15, ≈ 9 effective weeks);
    /// `None` for the plain mean.
    pub ewma_alpha: Option<f64>,
    /// Floor of the baseline, events/week (default 0.2), so a quiet cell
    /// needs several events to be flagged.
    pub min_baseline: f64,
    /// Minimum count in the week (default 4).
    pub min_count: u32,
    /// False discovery rate of Benjamini–Hochberg (default 0.01: with the
    /// outlier screen a real hotspot has q far below it, while clustered
    /// background reports, e.g. one problem reported by several residents,
    /// reach q of a few per cent).
    pub fdr: f64,
    /// Offset of local time for week boundaries (default +8, China).
    pub utc_offset_h: i32,
    /// Fold the baseline's sampling error into the test (default true);
    /// false gives the plain Poisson test.
    pub baseline_uncertainty: bool,
    /// Past weeks whose own (unadjusted) p-value is below this enter later
    /// baselines at their baseline instead of their count (default 0.001),
    /// so a hotspot lasting several weeks does not raise its own baseline
    /// and hide its second and third week; `None` keeps every count.
    pub outlier_p: Option<f64>,
}

impl Default for HotspotParams {
    fn default() -> Self {
        Self {
            resolution: Resolution::Nine,
            baseline_weeks: 12,
            ewma_alpha: Some(0.15),
            min_baseline: 0.2,
            min_count: 4,
            fdr: 0.01,
            utc_offset_h: 8,
            baseline_uncertainty: true,
            outlier_p: Some(0.001),
        }
    }
}

/// A flagged area × category × week.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Hotspot {
    /// Area.
    pub area: Area,
    /// Category.
    pub category: EventCategory,
    /// Week.
    pub week: Week,
    /// Events that week.
    pub count: u32,
    /// Baseline λ (events/week).
    pub baseline: f64,
    /// Continuity-corrected z statistic.
    pub z: f64,
    /// Mid-p upper-tail Poisson p-value.
    pub p_value: f64,
    /// Benjamini–Hochberg adjusted p-value.
    pub q_value: f64,
}

/// Bad input.
#[derive(Debug, Error, PartialEq)]
pub enum HotspotError {
    /// A point that is not a valid WGS84 coordinate.
    #[error("input #{index}: point ({lon}, {lat}) is not a valid WGS84 coordinate")]
    BadPoint {
        /// Position in the input.
        index: usize,
        /// Longitude.
        lon: f64,
        /// Latitude.
        lat: f64,
    },
    /// A binning thread died (a bug; the input is not at fault).
    #[error("a hotspot binning thread panicked")]
    Worker,
    /// Parameters out of range.
    #[error("hotspot parameter {field} = {value} is out of range: {reason}")]
    Param {
        /// Field.
        field: &'static str,
        /// Value.
        value: String,
        /// Accepted range.
        reason: &'static str,
    },
}

fn ln_factorial(n: u32) -> f64 {
    if n < 256 {
        return (2..=n).map(|k| f64::from(k).ln()).sum();
    }
    // Stirling series of ln Γ(n + 1); its error is below 1e-20 from n = 256.
    let x = f64::from(n) + 1.0;
    (x - 0.5) * x.ln() - x + 0.5 * (2.0 * std::f64::consts::PI).ln() + 1.0 / (12.0 * x)
        - 1.0 / (360.0 * x * x * x)
        + 1.0 / (1260.0 * x.powi(5))
}

/// Upper-tail mid-p of a Poisson(λ) count: P(X > c) + ½·P(X = c).
pub fn poisson_mid_p(c: u32, lambda: f64) -> f64 {
    if lambda <= 0.0 {
        return if c == 0 { 0.5 } else { 0.0 };
    }
    let pmf_c = (-lambda + f64::from(c) * lambda.ln() - ln_factorial(c)).exp();
    let mut upper = 0.0;
    if f64::from(c) + 1.0 > lambda {
        // Tail terms fall from the start: sum until negligible.
        let mut term = pmf_c;
        let mut k = c;
        loop {
            k += 1;
            term *= lambda / f64::from(k);
            upper += term;
            if term < upper * 1e-15 || term == 0.0 {
                break;
            }
        }
    } else {
        // Lower side: P(X > c) = 1 − P(X ≤ c).
        let mut term = pmf_c;
        let mut lower = pmf_c;
        let mut k = c;
        while k > 0 {
            term *= f64::from(k) / lambda;
            k -= 1;
            lower += term;
            if term < lower * 1e-15 {
                break;
            }
        }
        upper = (1.0 - lower).max(0.0);
    }
    (upper + 0.5 * pmf_c).min(1.0)
}

/// Upper-tail mid-p of a negative binomial count with mean `mean` and
/// `r` = mean × n_eff (the Poisson–Gamma predictive of a rate estimated from
/// n_eff weeks): P(X > c) + ½·P(X = c).
pub fn negbin_mid_p(c: u32, mean: f64, n_eff: f64) -> f64 {
    if mean <= 0.0 || n_eff <= 0.0 {
        return poisson_mid_p(c, mean);
    }
    let r = mean * n_eff;
    let q = 1.0 / (n_eff + 1.0); // failure probability per trial
                                 // pmf(0) = (1 − q)^r; pmf(k+1) = pmf(k)·(k + r)/(k + 1)·q, in logs
    let mut ln_pmf = r * (1.0 - q).ln();
    let mut lower = 0.0;
    for k in 0..c {
        lower += ln_pmf.exp();
        ln_pmf += ((f64::from(k) + r) / (f64::from(k) + 1.0) * q).ln();
    }
    let pmf_c = ln_pmf.exp();
    let upper = if lower > 0.5 {
        // sum the tail directly to keep precision for small p-values
        let (mut term, mut sum, mut k) = (pmf_c, 0.0, f64::from(c));
        loop {
            term *= (k + r) / (k + 1.0) * q;
            k += 1.0;
            sum += term;
            if term < sum * 1e-15 || term == 0.0 {
                break sum;
            }
        }
    } else {
        (1.0 - lower - pmf_c).max(0.0)
    };
    (upper + 0.5 * pmf_c).min(1.0)
}

/// Packed key: area (tag bit 63 set for grids), category, week.
type Key = (u64, u8, i64);

fn area_of(raw: u64) -> Option<Area> {
    if raw >> 63 == 1 {
        GridId::new(raw & !(1 << 63)).ok().map(Area::Grid)
    } else {
        CellIndex::try_from(raw).ok().map(Area::Cell)
    }
}

fn check(params: &HotspotParams) -> Result<(), HotspotError> {
    let bad = |field, value: String, reason| {
        Err(HotspotError::Param {
            field,
            value,
            reason,
        })
    };
    if params.baseline_weeks == 0 || params.baseline_weeks > 520 {
        return bad("baseline_weeks", params.baseline_weeks.to_string(), "1–520");
    }
    if let Some(a) = params.ewma_alpha {
        if !(a > 0.0 && a <= 1.0) {
            return bad("ewma_alpha", a.to_string(), "in (0, 1]");
        }
    }
    if !(params.fdr > 0.0 && params.fdr < 1.0) {
        return bad("fdr", params.fdr.to_string(), "in (0, 1)");
    }
    if !(params.min_baseline > 0.0 && params.min_baseline.is_finite()) {
        return bad("min_baseline", params.min_baseline.to_string(), "> 0");
    }
    if let Some(t) = params.outlier_p {
        if !(t > 0.0 && t < 1.0) {
            return bad("outlier_p", t.to_string(), "in (0, 1)");
        }
    }
    Ok(())
}

/// Packs (area, category, week) into one integer that sorts like the tuple.
fn pack(area: u64, cat: u8, week: i64) -> u128 {
    (u128::from(area) << 64)
        | (u128::from(cat) << 32)
        | u128::from((week as i32 as u32) ^ (1 << 31))
}

fn unpack(k: u128) -> Key {
    let week = ((k as u32) ^ (1 << 31)) as i32;
    ((k >> 64) as u64, (k >> 32) as u8, i64::from(week))
}

/// Packed keys of one slice of events (run on one thread).
fn keys_of(
    events: &[HotspotInput],
    offset: usize,
    params: &HotspotParams,
    keep: &(impl Fn(i64) -> bool + Sync),
) -> Result<Vec<u128>, HotspotError> {
    let mut keys = Vec::with_capacity(events.len());
    // Incident data repeats coordinates (street corners, block centroids):
    // a direct-mapped cache of exact coordinate → cell (a slot holds the last
    // coordinate hashed to it; cell 0 marks an empty slot).
    const SLOTS: usize = 1 << 16;
    let mut cache: Vec<(u64, u64, u64)> = vec![(0, 0, 0); SLOTS];
    for (i, e) in events.iter().enumerate() {
        let week = Week::of(e.time, params.utc_offset_h).0;
        if !keep(week) {
            continue;
        }
        let area = match e.location {
            Location::Cell(c) => u64::from(c),
            Location::Grid(g) => g.get() | (1 << 63),
            Location::Point(p) => {
                let (bx, by) = (p.x().to_bits(), p.y().to_bits());
                let slot = ((bx ^ by.rotate_left(29)).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 48)
                    as usize
                    % SLOTS;
                match cache[slot] {
                    (x, y, c) if c != 0 && x == bx && y == by => c,
                    _ => {
                        let ll = LatLng::new(p.y(), p.x()).map_err(|_| HotspotError::BadPoint {
                            index: offset + i,
                            lon: p.x(),
                            lat: p.y(),
                        })?;
                        let c = u64::from(ll.to_cell(params.resolution));
                        cache[slot] = (bx, by, c);
                        c
                    }
                }
            }
        };
        keys.push(pack(area, e.category.index() as u8, week));
    }
    Ok(keys)
}

/// Counts per (area, category, week), sorted; `keep` filters weeks. Binning
/// points to H3 cells dominates, so it runs on all available cores.
fn counts(
    events: &[HotspotInput],
    params: &HotspotParams,
    keep: impl Fn(i64) -> bool + Sync,
) -> Result<Vec<(Key, u32)>, HotspotError> {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 8);
    let chunk = events.len().div_ceil(threads).max(50_000);
    let parts: Vec<Result<Vec<u128>, HotspotError>> = std::thread::scope(|s| {
        let handles: Vec<_> = events
            .chunks(chunk)
            .enumerate()
            .map(|(i, part)| {
                let keep = &keep;
                s.spawn(move || keys_of(part, i * chunk, params, keep))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or(Err(HotspotError::Worker)))
            .collect()
    });
    let mut keys: Vec<u128> = Vec::with_capacity(events.len());
    for p in parts {
        keys.extend(p?);
    }
    keys.sort_unstable();
    let mut out: Vec<(Key, u32)> = Vec::new();
    let mut prev: Option<u128> = None;
    for k in keys {
        match out.last_mut() {
            Some((_, n)) if prev == Some(k) => *n += 1,
            _ => out.push((unpack(k), 1)),
        }
        prev = Some(k);
    }
    Ok(out)
}

struct Test {
    key: Key,
    count: u32,
    baseline: f64,
    p: f64,
}

/// Runs the tests for weeks in `[first, last]`; history before `first` is used
/// for baselines only.
fn run(
    events: &[HotspotInput],
    params: &HotspotParams,
    first: i64,
    last: i64,
) -> Result<Vec<Hotspot>, HotspotError> {
    check(params)?;
    let n = i64::from(params.baseline_weeks);
    // Twice the baseline span: the weeks of the first baseline get an
    // outlier screen of their own.
    let c = counts(events, params, |w| w >= first - 2 * n && w <= last)?;
    if c.is_empty() || first > last {
        return Ok(Vec::new());
    }
    let weights: Vec<f64> = (1..=n)
        .map(|k| match params.ewma_alpha {
            Some(a) => a * (1.0 - a).powi((k - 1) as i32),
            None => 1.0,
        })
        .collect();
    let wsum: f64 = weights.iter().sum();
    let n_eff = wsum * wsum / weights.iter().map(|w| w * w).sum::<f64>();
    // Active series per week, for the BH denominator.
    let span = (last - first + 1) as usize;
    let mut diff = vec![0i64; span + 1];
    let mut tests: Vec<Test> = Vec::new();
    let mut start = 0;
    while start < c.len() {
        let series = (c[start].0 .0, c[start].0 .1);
        let mut end = start;
        while end < c.len() && (c[end].0 .0, c[end].0 .1) == series {
            end += 1;
        }
        let s = &c[start..end];
        // active intervals [w, w + n] clipped to [first, last]
        let mut cur: Option<(i64, i64)> = None;
        for &((_, _, w), _) in s {
            let (a, b) = (w.max(first), (w + n).min(last));
            cur = match cur {
                Some((ca, cb)) if a <= cb + 1 => Some((ca, cb.max(b))),
                Some((ca, cb)) => {
                    if ca <= cb {
                        diff[(ca - first) as usize] += 1;
                        diff[(cb - first + 1) as usize] -= 1;
                    }
                    Some((a, b))
                }
                None => Some((a, b)),
            };
        }
        if let Some((ca, cb)) = cur.filter(|(a, b)| a <= b) {
            diff[(ca - first) as usize] += 1;
            diff[(cb - first + 1) as usize] -= 1;
        }
        // Counts as later baselines see them (outliers replaced).
        let mut eff: Vec<f64> = Vec::with_capacity(s.len());
        for (i, &((_, _, w), count)) in s.iter().enumerate() {
            let mut acc = 0.0;
            for (&((_, _, pw), _), &pc) in s[..i].iter().zip(&eff).rev() {
                let lag = w - pw;
                if lag > n {
                    break;
                }
                acc += weights[(lag - 1) as usize] * pc;
            }
            let baseline = (acc / wsum).max(params.min_baseline);
            // Tests that cannot be flagged (count below min_count or not above
            // the baseline) get p = 1: they stay in the BH denominator, which
            // keeps the procedure conservative, and skip the tail sum.
            let p = if f64::from(count) <= baseline || count < params.min_count {
                1.0
            } else if params.baseline_uncertainty {
                negbin_mid_p(count, baseline, n_eff)
            } else {
                poisson_mid_p(count, baseline)
            };
            let outlier = params.outlier_p.is_some_and(|t| p < t);
            eff.push(if outlier { baseline } else { f64::from(count) });
            if w < first {
                continue;
            }
            // Only tests that can be flagged are ranked: the others have p = 1
            // and would take the last BH ranks, where they cannot lower any q.
            if p < 1.0 {
                tests.push(Test {
                    key: s[i].0,
                    count,
                    baseline,
                    p,
                });
            }
        }
        start = end;
    }
    let var_factor = if params.baseline_uncertainty {
        1.0 + 1.0 / n_eff
    } else {
        1.0
    };
    let mut active = vec![0usize; span];
    let mut run_sum = 0i64;
    for (i, a) in active.iter_mut().enumerate() {
        run_sum += diff[i];
        *a = run_sum.max(0) as usize;
    }
    // Benjamini–Hochberg per week.
    tests.sort_unstable_by(|a, b| a.key.2.cmp(&b.key.2).then(a.p.total_cmp(&b.p)));
    let mut out = Vec::new();
    let mut i = 0;
    while i < tests.len() {
        let week = tests[i].key.2;
        let mut j = i;
        while j < tests.len() && tests[j].key.2 == week {
            j += 1;
        }
        let group = &tests[i..j];
        let m = active[(week - first) as usize].max(group.len()) as f64;
        // q_k = min over l ≥ k of p_l · m / l
        let mut q = vec![1.0f64; group.len()];
        let mut min_q = 1.0f64;
        for k in (0..group.len()).rev() {
            min_q = min_q.min(group[k].p * m / (k + 1) as f64);
            q[k] = min_q;
        }
        for (t, q) in group.iter().zip(q) {
            if q <= params.fdr && t.count >= params.min_count && f64::from(t.count) > t.baseline {
                let (Some(area), Some(category)) = (
                    area_of(t.key.0),
                    EventCategory::all().nth(usize::from(t.key.1)),
                ) else {
                    continue;
                };
                out.push(Hotspot {
                    area,
                    category,
                    week: Week(week),
                    count: t.count,
                    baseline: t.baseline,
                    z: (f64::from(t.count) - t.baseline - 0.5) / (t.baseline * var_factor).sqrt(),
                    p_value: t.p,
                    q_value: q,
                });
            }
        }
        i = j;
    }
    out.sort_by(|a, b| {
        a.week
            .cmp(&b.week)
            .then(a.q_value.total_cmp(&b.q_value))
            .then(a.area.cmp(&b.area))
    });
    Ok(out)
}

/// Hotspots of one `week`, using the weeks before it as the baseline.
pub fn detect(
    events: &[HotspotInput],
    week: Week,
    params: &HotspotParams,
) -> Result<Vec<Hotspot>, HotspotError> {
    run(events, params, week.0, week.0)
}

/// Hotspots of every week that has a full baseline before it (from the first
/// week with data + `baseline_weeks` to the last week with data).
pub fn detect_all_weeks(
    events: &[HotspotInput],
    params: &HotspotParams,
) -> Result<Vec<Hotspot>, HotspotError> {
    let weeks = events
        .iter()
        .map(|e| Week::of(e.time, params.utc_offset_h).0);
    let (Some(lo), Some(hi)) = (weeks.clone().min(), weeks.max()) else {
        return Ok(Vec::new());
    };
    run(events, params, lo + i64::from(params.baseline_weeks), hi)
}

/// Precision and recall of detected hotspots against planted clusters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Score {
    /// Planted and detected.
    pub true_positives: usize,
    /// Detected but not planted.
    pub false_positives: usize,
    /// Planted but missed.
    pub false_negatives: usize,
    /// tp / (tp + fp); 1 when nothing was detected.
    pub precision: f64,
    /// tp / (tp + fn); 1 when nothing was planted.
    pub recall: f64,
}

/// Scores `detected` against `planted` (cell, category, week) triples.
pub fn score_against(detected: &[Hotspot], planted: &[(CellIndex, EventCategory, Week)]) -> Score {
    let truth: HashSet<(Area, EventCategory, Week)> = planted
        .iter()
        .map(|(c, k, w)| (Area::Cell(*c), *k, *w))
        .collect();
    let found: HashSet<(Area, EventCategory, Week)> = detected
        .iter()
        .map(|h| (h.area, h.category, h.week))
        .collect();
    let tp = found.intersection(&truth).count();
    let fp = found.len() - tp;
    let fneg = truth.len() - tp;
    Score {
        true_positives: tp,
        false_positives: fp,
        false_negatives: fneg,
        precision: if found.is_empty() {
            1.0
        } else {
            tp as f64 / found.len() as f64
        },
        recall: if truth.is_empty() {
            1.0
        } else {
            tp as f64 / truth.len() as f64
        },
    }
}

impl Table for Hotspot {
    fn headers() -> Vec<&'static str> {
        vec![
            "area",
            "category",
            "week_start",
            "count",
            "baseline",
            "z",
            "p_value",
            "q_value",
        ]
    }
    fn cells(&self) -> Vec<Cell> {
        vec![
            Cell::Text(self.area.to_string()),
            Cell::Text(self.category.code().into()),
            Cell::Text(self.week.start(0).format("%Y-%m-%d").to_string()),
            Cell::Int(i64::from(self.count)),
            Cell::Float(self.baseline),
            Cell::Float(self.z),
            Cell::Float(self.p_value),
            Cell::Float(self.q_value),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mid_p_matches_direct_sum() {
        // P(X > 5) + ½P(X = 5) for λ = 2, summed directly.
        let l: f64 = 2.0;
        let pmf = |k: u32| (-l).exp() * l.powi(k as i32) / (1..=k).map(f64::from).product::<f64>();
        let direct = 1.0 - (0..=5).map(pmf).sum::<f64>() + 0.5 * pmf(5);
        assert!((poisson_mid_p(5, 2.0) - direct).abs() < 1e-12);
        let direct = 1.0 - (0..=1).map(pmf).sum::<f64>() + 0.5 * pmf(1);
        assert!((poisson_mid_p(1, 2.0) - direct).abs() < 1e-12);
    }

    #[test]
    fn negbin_tends_to_poisson_and_is_wider() {
        for c in [0, 1, 3, 7, 15] {
            let nb = negbin_mid_p(c, 2.0, 1e7);
            assert!((nb - poisson_mid_p(c, 2.0)).abs() < 1e-5, "{c}");
        }
        // reference values from a direct lgamma sum
        assert!((negbin_mid_p(8, 1.5, 5.0) - 6.018342e-4).abs() < 1e-9);
        assert!((poisson_mid_p(8, 1.5) - 9.865077e-5).abs() < 1e-10);
        // r = 1, q = 1/2: geometric, P(X = k) = 2^-(k+1)
        let direct = 0.5f64.powi(5) + 0.5 * 0.5f64.powi(5);
        assert!((negbin_mid_p(4, 1.0, 1.0) - direct).abs() < 1e-12);
    }

    #[test]
    fn packed_keys_sort_like_tuples() {
        let keys = [(5u64, 3u8, -2i64), (5, 3, 7), (5, 4, -100), (6, 0, 0)];
        let packed: Vec<u128> = keys.iter().map(|k| pack(k.0, k.1, k.2)).collect();
        assert!(packed.windows(2).all(|w| w[0] < w[1]));
        for (k, p) in keys.iter().zip(packed) {
            assert_eq!(unpack(p), *k);
        }
    }

    #[test]
    fn week_boundaries_are_local_mondays() {
        // Monday 2024-05-06 00:30 in China is Sunday 16:30 UTC.
        let t = Utc.with_ymd_and_hms(2024, 5, 5, 16, 30, 0).unwrap();
        let w = Week::of(t, 8);
        assert_eq!(Week::of(t, 0).0 + 1, w.0);
        assert_eq!(
            w.start(8),
            Utc.with_ymd_and_hms(2024, 5, 5, 16, 0, 0).unwrap()
        );
    }
}
