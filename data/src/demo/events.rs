//! 事 and 情: a year of events up to "now" (the [`Period`]: 365 local days
//! ending with the day of its end; `wangge demo` ends it at the current time,
//! the tests at 2026-11-01 00:00 Beijing time) with the category mix, places,
//! rhythms and handling of a real town, planted near-duplicates and emerging
//! hotspots; and visit notes, satisfaction and risk ratings of households.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc, Weekday};
use geo_core::ids::{EventId, HouseholdId, SentimentId};
use geo_core::model::{
    Event, EventSource, EventStatus, Grade, Sentiment, SentimentKind, SentimentLink,
};
use geo_core::taxonomy::{EventCategory, CATEGORIES};
use geo_core::IdError;
use geo_types::Point;

use super::people::HouseholdFacts;
use super::rng::{chance, normal, pick, uf, ui, weighted, DemoRng};
use super::{beijing, next, DuplicateGroup};

/// Days in the period.
const DAYS: i64 = 365;

/// The year of events: 365 local (Beijing) days, the last one the day of
/// `end`, which is "now" — nothing is reported at or after it, and open,
/// overdue and resolved are judged at it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Period {
    /// Local midnight starting the first day.
    pub start: DateTime<Utc>,
    /// "Now".
    pub end: DateTime<Utc>,
}

/// Local (Beijing) date of an instant.
fn local_date(t: DateTime<Utc>) -> NaiveDate {
    (t + Duration::hours(8)).date_naive()
}

impl Period {
    /// The period ending at `end`.
    pub fn ending(end: DateTime<Utc>) -> Self {
        let last = local_date(end - Duration::seconds(1));
        let first = last - Duration::days(DAYS - 1);
        Self {
            start: beijing(first.year(), first.month(), first.day()),
            end,
        }
    }

    /// The fixed period of the tests: 2025-11-01 → 2026-10-31 (Beijing time).
    pub fn fixed() -> Self {
        Self::ending(beijing(2026, 11, 1))
    }

    /// Local date of day `day` (0-based).
    fn date_of(&self, day: i64) -> NaiveDate {
        local_date(self.start) + Duration::days(day)
    }

    /// First Monday of the period: weeks for hotspots count from it.
    pub fn week_zero(&self) -> NaiveDate {
        let first = local_date(self.start);
        first + Duration::days(i64::from((7 - first.weekday().num_days_from_monday()) % 7))
    }

    /// `YYYY-MM` of the calendar months the period touches (12 or 13).
    pub fn months(&self) -> Vec<String> {
        let (first, last) = (
            local_date(self.start),
            local_date(self.end - Duration::seconds(1)),
        );
        let n = (last.year() - first.year()) * 12 + last.month() as i32 - first.month() as i32 + 1;
        (0..n)
            .map(|i| {
                let m0 = first.month0() as i32 + i;
                format!("{}-{:02}", first.year() + m0 / 12, m0 % 12 + 1)
            })
            .collect()
    }

    /// Index into [`Period::months`] of an instant.
    pub fn month_index(&self, t: DateTime<Utc>) -> Option<usize> {
        if t < self.start || t >= self.end {
            return None;
        }
        let (first, d) = (local_date(self.start), local_date(t));
        let i = (d.year() - first.year()) * 12 + d.month() as i32 - first.month() as i32;
        usize::try_from(i).ok()
    }
}

/// What an event happens near.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AnchorKind {
    Old,
    Mid,
    New,
    Villa,
    UrbanVillage,
    Rural,
    Market,
    School,
    Hospital,
    Industrial,
    Commercial,
    Office,
    Park,
}

impl AnchorKind {
    /// Events per year per occupied household (residential) or per site.
    pub fn rate(self) -> f64 {
        match self {
            Self::Old => 0.75,
            Self::Mid => 0.42,
            Self::New => 0.3,
            Self::Villa => 0.2,
            Self::UrbanVillage => 0.85,
            Self::Rural => 0.3,
            Self::Market => 260.0,
            Self::School => 60.0,
            Self::Hospital => 150.0,
            Self::Industrial => 45.0,
            Self::Commercial => 55.0,
            Self::Office => 12.0,
            Self::Park => 30.0,
        }
    }
}

/// A place events happen at: a building or a facility lot.
#[derive(Debug, Clone)]
pub(crate) struct Anchor {
    pub location: Point<f64>,
    pub weight: f64,
    pub kind: AnchorKind,
    pub label: String,
    /// Range of indices into the occupied-household list living there.
    pub households: (usize, usize),
}

const BASE: [f64; 28] = [
    8.0, 2.0, 2.0, 1.0, 10.0, 14.0, 2.0, 4.0, 6.0, 7.0, 10.0, 9.0, 4.0, 1.5, 1.5, 4.0, 5.0, 2.0,
    1.0, 1.5, 1.5, 1.0, 1.5, 1.0, 2.0, 1.0, 0.5, 3.0,
];

fn category_weights(kind: AnchorKind) -> [f64; 28] {
    let mut w = BASE;
    let set = |w: &mut [f64; 28], pairs: &[(usize, f64)], mul: bool| {
        for (i, f) in pairs {
            if mul {
                w[*i] *= f;
            } else {
                w[*i] = *f;
            }
        }
    };
    let facility = |pairs: &[(usize, f64)]| {
        let mut w = [0.05; 28];
        for (i, f) in pairs {
            w[*i] = *f;
        }
        w[11] = 0.0;
        w
    };
    match kind {
        AnchorKind::Old => set(
            &mut w,
            &[
                (10, 1.8),
                (15, 1.6),
                (12, 1.4),
                (16, 1.6),
                (11, 1.3),
                (0, 1.3),
                (13, 2.0),
                (7, 0.3),
                (23, 0.3),
                (3, 0.3),
            ],
            true,
        ),
        AnchorKind::Mid => set(&mut w, &[(7, 0.3), (23, 0.3), (3, 0.3)], true),
        AnchorKind::New => set(
            &mut w,
            &[
                (9, 1.8),
                (4, 1.5),
                (8, 1.2),
                (10, 0.6),
                (16, 0.5),
                (7, 0.2),
                (23, 0.3),
                (3, 0.3),
            ],
            true,
        ),
        AnchorKind::Villa => set(
            &mut w,
            &[
                (9, 1.5),
                (24, 2.0),
                (7, 0.1),
                (23, 0.2),
                (3, 0.2),
                (15, 0.3),
            ],
            true,
        ),
        AnchorKind::UrbanVillage => set(
            &mut w,
            &[
                (5, 2.0),
                (6, 4.0),
                (2, 3.0),
                (12, 2.0),
                (15, 2.0),
                (19, 2.0),
                (22, 2.0),
                (9, 0.1),
                (11, 0.3),
            ],
            true,
        ),
        AnchorKind::Rural => set(
            &mut w,
            &[
                (5, 1.5),
                (6, 2.0),
                (0, 1.5),
                (16, 1.5),
                (11, 0.2),
                (9, 0.0),
                (4, 0.3),
                (23, 1.5),
                (7, 0.2),
            ],
            true,
        ),
        AnchorKind::Market => {
            w = facility(&[
                (7, 20.0),
                (5, 10.0),
                (25, 8.0),
                (26, 5.0),
                (4, 8.0),
                (8, 2.0),
                (22, 2.0),
                (19, 2.0),
            ])
        }
        AnchorKind::School => w = facility(&[(4, 10.0), (22, 3.0), (7, 3.0), (8, 1.0), (25, 1.0)]),
        AnchorKind::Hospital => w = facility(&[(4, 10.0), (22, 3.0), (7, 2.0), (19, 2.0)]),
        AnchorKind::Industrial => {
            w = facility(&[
                (23, 10.0),
                (3, 6.0),
                (12, 4.0),
                (13, 1.0),
                (4, 2.0),
                (8, 3.0),
            ])
        }
        AnchorKind::Commercial => {
            w = facility(&[
                (4, 6.0),
                (7, 6.0),
                (8, 4.0),
                (25, 3.0),
                (26, 2.0),
                (12, 2.0),
                (19, 1.0),
            ])
        }
        AnchorKind::Office => w = facility(&[(4, 2.0), (27, 2.0), (22, 1.0)]),
        AnchorKind::Park => w = facility(&[(5, 3.0), (24, 4.0), (8, 2.0), (22, 1.0), (7, 1.0)]),
    }
    w
}

/// Seasonal factor of category `i` in calendar month `m`.
fn seasonal(i: usize, m: u32) -> f64 {
    let f = match (i, m) {
        (11, 11) => 1.6,
        (11, 12) => 1.4,
        (11, 1) => 1.3,
        (11, 2) => 1.0,
        (11, 3) => 0.6,
        (11, 4) => 0.05,
        (11, _) => 0.02,
        (8, 6..=8) => 1.8,
        (8, 5 | 9) => 1.3,
        (8, _) => 0.8,
        (5, 7..=8) => 1.4,
        (16, 12 | 1 | 2) => 1.4,
        (12, 1 | 2) => 1.5,
        (12, 11 | 12) => 1.2,
        (24, 4..=9) => 1.5,
        (24, 12 | 1 | 2) => 0.4,
        (15, 6..=8) => 1.3,
        (7, 5..=9) => 1.3,
        _ => 1.0,
    };
    // Spring Festival (mid-February 2026) is quiet for most matters.
    if m == 2 && i != 11 {
        f * 0.8
    } else {
        f
    }
}

fn weekday_factor(src: EventSource, wd: Weekday) -> f64 {
    match (src, wd) {
        (EventSource::Patrol, Weekday::Sat) => 0.6,
        (EventSource::Patrol, Weekday::Sun) => 0.4,
        (EventSource::Patrol, _) => 1.2,
        (EventSource::Sensor, _) => 1.0,
        (_, Weekday::Mon) => 1.15,
        (_, Weekday::Sat | Weekday::Sun) => 0.85,
        _ => 1.0,
    }
}

/// Hour-of-day weights (local) for reports by residents and the hotline.
const HOURS_PUBLIC: [f64; 24] = [
    0.2, 0.1, 0.1, 0.1, 0.1, 0.3, 0.8, 1.6, 2.6, 3.2, 3.0, 2.4, 1.6, 1.8, 2.4, 2.6, 2.4, 2.2, 2.4,
    3.0, 3.0, 2.2, 1.2, 0.5,
];

/// A random instant on day `day` of the period for `src` (on the last day
/// possibly after "now": callers drop those).
fn instant(rng: &mut DemoRng, period: &Period, day: i64, src: EventSource) -> DateTime<Utc> {
    let hour_f = match src {
        EventSource::Patrol => {
            if chance(rng, 0.5) {
                uf(rng, 8.5, 12.0)
            } else {
                uf(rng, 14.0, 17.5)
            }
        }
        EventSource::Sensor => uf(rng, 0.0, 24.0),
        _ => weighted(rng, &HOURS_PUBLIC) as f64 + uf(rng, 0.0, 1.0),
    };
    period.start + Duration::days(day) + Duration::seconds((hour_f * 3600.0) as i64)
}

fn pick_source(rng: &mut DemoRng, cat: usize) -> EventSource {
    let sensor = match cat {
        12 => 0.15,
        14 => 0.3,
        15 => 0.1,
        _ => 0.0,
    };
    let w = [0.45, 0.27, 0.25, sensor];
    [
        EventSource::Patrol,
        EventSource::Hotline,
        EventSource::Resident,
        EventSource::Sensor,
    ][weighted(rng, &w)]
}

fn handler(rng: &mut DemoRng, cat: usize, grade: Grade) -> String {
    let code = CATEGORIES[cat].code;
    let dept = match code {
        "01.04" => Some("human_resources"),
        "02.01" | "02.03" | "02.04" => Some("comprehensive_enforcement"),
        "03.03" => Some("heating_company"),
        "04.01" | "04.04" => Some("fire_service"),
        "04.03" => Some("gas_company"),
        "06.01" | "06.02" | "06.03" | "06.04" => Some("police"),
        "07.01" => Some("ecology_environment"),
        "08.01" | "08.02" => Some("market_supervision"),
        "01.01" | "01.02" | "01.03" if chance(rng, 0.15) => Some("judicial_mediation"),
        _ => None,
    };
    let escalate = matches!(grade, Grade::Urgent | Grade::Major) && chance(rng, 0.3);
    match dept {
        Some(d) if escalate || chance(rng, 0.55) => format!("dept:{d}"),
        _ if escalate => "town".to_string(),
        _ => {
            if chance(rng, 0.7) {
                "grid".to_string()
            } else {
                "community".to_string()
            }
        }
    }
}

/// Makes events of one community.
pub(crate) struct EventMaker<'a> {
    pub period: Period,
    pub anchors: &'a [Anchor],
    pub households: &'a [HouseholdId],
    pub next_id: &'a mut u64,
    pub m_per_deg_lon: f64,
}

const M_PER_DEG_LAT: f64 = 110_950.0;

impl EventMaker<'_> {
    fn shift(&self, p: Point<f64>, dx: f64, dy: f64) -> Point<f64> {
        Point::new(p.x() + dx / self.m_per_deg_lon, p.y() + dy / M_PER_DEG_LAT)
    }

    /// Background events, with near-duplicates. Returns the events and the duplicate groups.
    pub fn background(
        &mut self,
        rng: &mut DemoRng,
    ) -> Result<(Vec<Event>, Vec<DuplicateGroup>), IdError> {
        let total: f64 = self.anchors.iter().map(|a| a.weight).sum();
        let n = (total * uf(rng, 0.95, 1.05)).round() as usize;
        let mut cum = Vec::with_capacity(self.anchors.len());
        let mut acc = 0.0;
        for a in self.anchors {
            acc += a.weight;
            cum.push(acc);
        }
        let tables: Vec<[f64; 28]> = [
            AnchorKind::Old,
            AnchorKind::Mid,
            AnchorKind::New,
            AnchorKind::Villa,
            AnchorKind::UrbanVillage,
            AnchorKind::Rural,
            AnchorKind::Market,
            AnchorKind::School,
            AnchorKind::Hospital,
            AnchorKind::Industrial,
            AnchorKind::Commercial,
            AnchorKind::Office,
            AnchorKind::Park,
        ]
        .iter()
        .map(|k| category_weights(*k))
        .collect();
        let mut events = Vec::with_capacity(n + n / 10);
        let mut groups = Vec::new();
        for _ in 0..n {
            let r = uf(rng, 0.0, acc);
            let ai = cum
                .partition_point(|c| *c <= r)
                .min(self.anchors.len().saturating_sub(1));
            let Some(anchor) = self.anchors.get(ai) else {
                break;
            };
            let cat = weighted(rng, &tables[anchor.kind as usize]);
            let src = pick_source(rng, cat);
            // Day by rejection against season and weekday.
            let mut day = 0;
            for _ in 0..60 {
                day = ui(rng, 0, DAYS - 1);
                let d = self.period.date_of(day);
                let f = seasonal(cat, d.month()) * weekday_factor(src, d.weekday());
                if uf(rng, 0.0, 2.2) < f {
                    break;
                }
            }
            let at = instant(rng, &self.period, day, src);
            let loc = self.shift(anchor.location, uf(rng, -15.0, 15.0), uf(rng, -15.0, 15.0));
            if at >= self.period.end {
                // Later today: not reported yet.
                continue;
            }
            let ev = self.make(rng, cat, src, at, loc, anchor)?;
            let master = ev.id;
            let complaint = matches!(src, EventSource::Hotline | EventSource::Resident);
            events.push(ev);
            if complaint && chance(rng, 0.06) {
                let mut dups = Vec::new();
                for _ in 0..ui(rng, 1, 3) {
                    let t = at + Duration::minutes(ui(rng, 30, 48 * 60));
                    if t >= self.period.end {
                        continue;
                    }
                    let ang = uf(rng, 0.0, std::f64::consts::TAU);
                    let d = uf(rng, 0.0, 35.0);
                    let loc = self.shift(loc, d * ang.cos(), d * ang.sin());
                    let src = if chance(rng, 0.5) {
                        EventSource::Hotline
                    } else {
                        EventSource::Resident
                    };
                    let mut dup = self.make(rng, cat, src, t, loc, anchor)?;
                    if chance(rng, 0.6) {
                        dup.status = EventStatus::Merged;
                        dup.master = Some(master);
                        dup.resolved_at = None;
                        dup.satisfaction = None;
                        dup.handler = None;
                    }
                    dups.push(dup.id);
                    events.push(dup);
                }
                if !dups.is_empty() {
                    groups.push(DuplicateGroup {
                        master,
                        duplicates: dups,
                    });
                }
            }
        }
        Ok((events, groups))
    }

    /// Planted hotspot events: `per_week` of `category` in each week, within
    /// 90 m of `centre` and inside `cell`.
    #[allow(clippy::too_many_arguments)]
    pub fn hotspot(
        &mut self,
        rng: &mut DemoRng,
        cell: h3o::CellIndex,
        centre: Point<f64>,
        category: EventCategory,
        weeks: &[u32],
        per_week: u32,
        anchor: &Anchor,
        out: &mut Vec<Event>,
    ) -> Result<(), IdError> {
        let start = (self.period.week_zero() - self.period.date_of(0)).num_days();
        for w in weeks {
            for _ in 0..per_week {
                let day = start + i64::from(*w) * 7 + ui(rng, 0, 6);
                let src = pick_source(rng, category.index());
                let at = instant(rng, &self.period, day.min(DAYS - 1), src);
                let mut loc = centre;
                for _ in 0..20 {
                    let ang = uf(rng, 0.0, std::f64::consts::TAU);
                    let d = 90.0 * uf(rng, 0.0, 1.0).sqrt();
                    let p = self.shift(centre, d * ang.cos(), d * ang.sin());
                    let inside = h3o::LatLng::new(p.y(), p.x())
                        .map(|ll| ll.to_cell(h3o::Resolution::Nine) == cell)
                        .unwrap_or(false);
                    if inside {
                        loc = p;
                        break;
                    }
                }
                let ev = self.make(rng, category.index(), src, at, loc, anchor)?;
                if at < self.period.end {
                    out.push(ev);
                }
            }
        }
        Ok(())
    }

    fn make(
        &mut self,
        rng: &mut DemoRng,
        cat: usize,
        source: EventSource,
        reported_at: DateTime<Utc>,
        location: Point<f64>,
        anchor: &Anchor,
    ) -> Result<Event, IdError> {
        let def = &CATEGORIES[cat];
        let category = EventCategory::parse(def.code)?;
        let grade_w: [f64; 4] = match def.code {
            "04.01" | "04.03" => [0.15, 0.35, 0.45, 0.05],
            "06.03" | "04.02" => [0.05, 0.3, 0.6, 0.05],
            _ => [0.02, 0.1, 0.66, 0.22],
        };
        let grade =
            [Grade::Urgent, Grade::Major, Grade::General, Grade::Minor][weighted(rng, &grade_w)];
        let limit_h = f64::from(def.limit_h) * grade.limit_factor();
        let deadline = reported_at + Duration::seconds((limit_h * 3600.0) as i64);
        let speed = match grade {
            Grade::Urgent => 0.35,
            Grade::Major => 0.6,
            Grade::General => 1.0,
            Grade::Minor => 1.3,
        };
        let median = 12.0 * (f64::from(def.limit_h) / 40.0).sqrt() * speed;
        let hours = (median * (1.05 * normal(rng)).exp()).max(0.3);
        let now = self.period.end;
        let handler = Some(handler(rng, cat, grade));
        let reporter = match source {
            EventSource::Hotline | EventSource::Resident => {
                let (a, b) = anchor.households;
                if b > a {
                    self.households
                        .get(ui(rng, a as i64, b as i64 - 1) as usize)
                        .copied()
                } else if !self.households.is_empty() && chance(rng, 0.5) {
                    Some(pick(rng, self.households))
                } else {
                    None
                }
            }
            _ => None,
        };
        let mut ev = Event {
            id: EventId::new(next(self.next_id))?,
            category,
            title: format!("{}：{}", def.name_zh, anchor.label),
            location,
            reported_at,
            source,
            status: EventStatus::Closed,
            grade,
            deadline: Some(deadline),
            handler,
            resolved_at: None,
            satisfaction: None,
            master: None,
            reporter_household: reporter,
        };
        let r = uf(rng, 0.0, 1.0);
        if r < 0.015 {
            ev.status = EventStatus::Rejected;
            ev.handler = None;
            ev.deadline = None;
            return Ok(ev);
        }
        if r < 0.035 {
            // Stuck: still open, usually overdue.
            ev.status = if chance(rng, 0.5) {
                EventStatus::InProgress
            } else {
                EventStatus::Dispatched
            };
            return Ok(ev);
        }
        if r < 0.04 {
            ev.status = EventStatus::Escalated;
            ev.handler = Some("town".to_string());
            return Ok(ev);
        }
        let resolved = reported_at + Duration::seconds((hours * 3600.0) as i64);
        if resolved >= now {
            let frac = (now - reported_at).num_seconds() as f64 / (hours * 3600.0);
            ev.status = match frac {
                f if f < 0.05 => EventStatus::Reported,
                f if f < 0.15 => EventStatus::Accepted,
                f if f < 0.3 => EventStatus::Dispatched,
                _ => EventStatus::InProgress,
            };
            // Intake gave it a handler and a deadline at once, as the
            // server's intake does.
            return Ok(ev);
        }
        ev.resolved_at = Some(resolved);
        let on_time = resolved <= deadline;
        if chance(rng, 0.01) {
            ev.status = EventStatus::Reopened;
            ev.resolved_at = None;
            return Ok(ev);
        }
        if now - resolved < Duration::days(2) {
            ev.status = EventStatus::Resolved;
            return Ok(ev);
        }
        if chance(rng, 0.85) {
            let w: [f64; 5] = if on_time {
                [0.01, 0.02, 0.06, 0.26, 0.65]
            } else {
                [0.08, 0.12, 0.25, 0.3, 0.25]
            };
            ev.satisfaction = Some(weighted(rng, &w) as u8 + 1);
            ev.status = if chance(rng, 0.9) {
                EventStatus::Closed
            } else {
                EventStatus::Reviewed
            };
        }
        Ok(ev)
    }
}

/// One occupied household as the sentiment generator sees it.
pub(crate) struct HouseholdView {
    pub id: HouseholdId,
    pub facts: HouseholdFacts,
    pub kind: AnchorKind,
}

fn at_day(rng: &mut DemoRng, period: &Period) -> DateTime<Utc> {
    let day = ui(rng, 0, DAYS - 1);
    let at = period.start + Duration::days(day) + Duration::seconds(ui(rng, 9 * 3600, 18 * 3600));
    // Later today: the day before.
    if at >= period.end {
        at - Duration::days(1)
    } else {
        at
    }
}

/// Visit notes, satisfaction surveys and risk ratings of households, and
/// feedback on badly rated events.
pub(crate) fn sentiments(
    rng: &mut DemoRng,
    period: &Period,
    households: &[HouseholdView],
    events: &[Event],
    next_id: &mut u64,
) -> Result<Vec<Sentiment>, IdError> {
    const NOTES: &[&str] = &[
        "入户走访，家庭情况稳定",
        "走访核实人口信息，无变化",
        "宣传反诈知识，住户表示了解",
        "了解物业服务意见，反映楼道照明不足",
        "走访，住户反映停车难",
        "入户排查燃气安全，无隐患",
        "住户反映楼上漏水，已转物业",
        "宣传垃圾分类，住户配合",
    ];
    const CARE: &[&str] = &[
        "看望独居老人，身体状况良好",
        "老人反映行动不便，已联系助餐服务",
        "老人血压偏高，已提醒就医",
        "为老人检查用电用气安全",
        "协助办理低保年审材料",
        "联系志愿者上门打扫卫生",
    ];
    let mut out = Vec::with_capacity(households.len() * 3);
    let mut push = |out: &mut Vec<Sentiment>,
                    kind,
                    score: Option<f32>,
                    text: &str,
                    at,
                    link|
     -> Result<(), IdError> {
        out.push(Sentiment {
            id: SentimentId::new(next(next_id))?,
            kind,
            score,
            text: text.to_string(),
            at,
            link,
        });
        Ok(())
    };
    for h in households {
        let f = &h.facts;
        let care = f.elderly_alone || f.disabled || f.low_income || f.key_person;
        let visits = if care { ui(rng, 8, 12) } else { ui(rng, 1, 3) };
        for _ in 0..visits {
            let text = if care && chance(rng, 0.7) {
                pick(rng, CARE)
            } else {
                pick(rng, NOTES)
            };
            let at = at_day(rng, period);
            push(
                &mut out,
                SentimentKind::VisitNote,
                None,
                text,
                at,
                SentimentLink::Household(h.id),
            )?;
        }
        if chance(rng, 0.25) {
            let base = match h.kind {
                AnchorKind::Old => 3.7,
                AnchorKind::UrbanVillage => 3.4,
                AnchorKind::Rural => 3.9,
                AnchorKind::New | AnchorKind::Villa => 4.3,
                _ => 4.0,
            };
            for k in 0..2 {
                let at = at_day(rng, period);
                let trend = if k == 1 { 0.3 } else { 0.0 };
                let s = (base + trend + 0.8 * normal(rng)).round().clamp(1.0, 5.0) as f32;
                push(
                    &mut out,
                    SentimentKind::Satisfaction,
                    Some(s),
                    "满意度测评",
                    at,
                    SentimentLink::Household(h.id),
                )?;
            }
        }
        if care {
            let level = if f.key_person || (f.elderly_alone && f.disabled) {
                ui(rng, 2, 3)
            } else {
                ui(rng, 1, 2)
            };
            for q in 0..4 {
                let at = period.start + Duration::days(q * 91 + ui(rng, 0, 20));
                let l = (level + if chance(rng, 0.15) { -1 } else { 0 }).clamp(0, 3);
                let text = [
                    "风险评估：无",
                    "风险评估：低",
                    "风险评估：中",
                    "风险评估：高",
                ][l as usize];
                push(
                    &mut out,
                    SentimentKind::RiskRating,
                    Some(l as f32),
                    text,
                    at,
                    SentimentLink::Household(h.id),
                )?;
            }
        }
    }
    for e in events {
        if let (Some(s), Some(r)) = (e.satisfaction, e.resolved_at) {
            if s <= 2 {
                push(
                    &mut out,
                    SentimentKind::Feedback,
                    Some(f32::from(s)),
                    "对处理结果不满意，要求重新处理",
                    r + Duration::days(1),
                    SentimentLink::Event(e.id),
                )?;
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_cover_the_period() {
        let p = Period::fixed();
        assert_eq!(p.start, beijing(2025, 11, 1));
        let m = p.months();
        assert_eq!(m.len(), 12);
        assert_eq!(m.first().map(String::as_str), Some("2025-11"));
        assert_eq!(m.last().map(String::as_str), Some("2026-10"));
        assert_eq!(p.month_index(p.start), Some(0));
        assert_eq!(p.month_index(p.end - Duration::seconds(1)), Some(11));
        assert_eq!(p.month_index(p.end), None);
        assert_eq!(p.week_zero(), NaiveDate::from_ymd_opt(2025, 11, 3).unwrap());
    }

    #[test]
    fn a_period_ending_now_ends_with_today() {
        // 2026-12-06 15:30 Beijing time
        let now = beijing(2026, 12, 6) + Duration::minutes(15 * 60 + 30);
        let p = Period::ending(now);
        assert_eq!(p.start, beijing(2025, 12, 7));
        assert_eq!(
            p.date_of(DAYS - 1),
            NaiveDate::from_ymd_opt(2026, 12, 6).unwrap()
        );
        let m = p.months();
        assert_eq!(
            (m.len(), m[0].as_str(), m[12].as_str()),
            (13, "2025-12", "2026-12")
        );
        assert_eq!(p.month_index(now - Duration::hours(1)), Some(12));
        assert_eq!(p.week_zero().weekday(), Weekday::Mon);
        assert!(p.week_zero() >= p.date_of(0));
    }

    #[test]
    fn heating_is_a_winter_matter() {
        assert!(seasonal(11, 12) > 10.0 * seasonal(11, 7));
        assert!(seasonal(8, 7) > seasonal(8, 1));
    }
}
