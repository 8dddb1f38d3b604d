//! Parsers for cell values: IDs, numbers, booleans, dates, lists and closed
//! vocabularies with their Chinese names. Each returns the reason on failure.

use std::str::FromStr;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, Offset, TimeZone, Utc};

use crate::error::IdError;
use crate::model::{
    BuildingUse, CompoundEra, EventSource, EventStatus, Grade, GridKind, OrganisationKind,
    PersonTag, PlaceCategory, RoadClass, SentimentKind, ServiceKind, Sex, Tenure, WorkerRole,
};

pub(crate) type Parsed<T> = Result<T, String>;

/// A numeric ID; GeoJSON writers sometimes give `12.0` for `12`.
pub(crate) fn id<T: FromStr<Err = IdError>>(s: &str) -> Parsed<T> {
    let s = s.strip_suffix(".0").unwrap_or(s);
    s.parse::<T>().map_err(|e| e.to_string())
}

/// An unsigned integer within `T`'s range.
pub(crate) fn int<T: FromStr>(s: &str, what: &str) -> Parsed<T> {
    let t = s.strip_suffix(".0").unwrap_or(s);
    t.parse::<T>()
        .map_err(|_| format!("{what} must be a whole number in range"))
}

/// A finite number, allowing a unit suffix such as `m` or `米` (`20 m`).
pub(crate) fn number(s: &str, what: &str) -> Parsed<f64> {
    let t = s.trim();
    let t = t
        .strip_suffix('米')
        .or_else(|| t.strip_suffix('m'))
        .unwrap_or(t)
        .trim_end();
    match t.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(_) => Err(format!(
            "{what} must be a finite number (NaN or infinity given)"
        )),
        Err(_) => Err(format!("{what} must be a number")),
    }
}

/// A non-negative finite number.
pub(crate) fn non_negative(s: &str, what: &str) -> Parsed<f64> {
    let v = number(s, what)?;
    if v < 0.0 {
        return Err(format!("{what} cannot be negative"));
    }
    Ok(v)
}

/// A boolean: true/false, 1/0, yes/no, y/n, 是/否.
pub(crate) fn boolean(s: &str) -> Parsed<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "t" | "1" | "yes" | "y" | "是" | "√" => Ok(true),
        "false" | "f" | "0" | "no" | "n" | "否" | "" => Ok(false),
        _ => Err("expected true/false, 1/0, yes/no or 是/否".into()),
    }
}

/// A closed vocabulary of `geo_core::model` (declared with `vocab!`).
pub(crate) trait Vocab: Copy + 'static {
    /// Every value.
    const ALL: &'static [Self];
    /// Its code.
    fn code(self) -> &'static str;
    /// The full parser (normalises `-` and spaces, builds the error).
    fn parse(s: &str) -> Result<Self, IdError>;
}

macro_rules! impl_vocab {
    ($($t:ty),*) => {$(
        impl Vocab for $t {
            const ALL: &'static [Self] = <$t>::ALL;
            fn code(self) -> &'static str {
                <$t>::code(self)
            }
            fn parse(s: &str) -> Result<Self, IdError> {
                <$t>::parse(s)
            }
        }
    )*};
}

impl_vocab!(
    Sex,
    PersonTag,
    Tenure,
    BuildingUse,
    CompoundEra,
    GridKind,
    WorkerRole,
    PlaceCategory,
    ServiceKind,
    EventSource,
    EventStatus,
    Grade,
    SentimentKind,
    OrganisationKind,
    RoadClass
);

/// Parses a vocabulary value by code or one of its Chinese (or other)
/// names. The common cases compare without allocating; only a value that
/// matches nothing goes through the full parser for its error.
fn vocab<T: Vocab>(s: &str, names: &[(&str, T)]) -> Parsed<T> {
    let t = s.trim();
    if let Some(v) = T::ALL.iter().find(|v| v.code().eq_ignore_ascii_case(t)) {
        return Ok(*v);
    }
    if let Some(&(_, v)) = names.iter().find(|(n, _)| n.eq_ignore_ascii_case(t)) {
        return Ok(v);
    }
    T::parse(s).map_err(|e| e.to_string())
}

/// Sex: `male`/`female`, `男`/`女`, `M`/`F`, GB/T 2261 `1`/`2`.
pub(crate) fn sex(s: &str) -> Parsed<Sex> {
    vocab(
        s,
        &[
            ("男", Sex::Male),
            ("女", Sex::Female),
            ("m", Sex::Male),
            ("f", Sex::Female),
            ("1", Sex::Male),
            ("2", Sex::Female),
        ],
    )
}

/// One person tag by code or Chinese name.
pub(crate) fn tag(s: &str) -> Parsed<PersonTag> {
    vocab(
        s,
        &[
            ("独居老人", PersonTag::ElderlyAlone),
            ("残疾人", PersonTag::Disabled),
            ("残疾", PersonTag::Disabled),
            ("低保", PersonTag::LowIncome),
            ("低保户", PersonTag::LowIncome),
            ("低收入", PersonTag::LowIncome),
            ("流动人口", PersonTag::Floating),
            ("党员", PersonTag::PartyMember),
            ("退役军人", PersonTag::Veteran),
            ("重点人员", PersonTag::KeyPerson),
            ("留守儿童", PersonTag::LeftBehindChild),
        ],
    )
}

/// Splits a list cell on `;`, `；`, `,`, `，`, `、` or `|`, dropping empty items.
pub(crate) fn list(s: &str) -> impl Iterator<Item = &str> {
    s.split([';', '；', ',', '，', '、', '|'])
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// Person tags, `;`-separated codes or Chinese names; duplicates dropped.
pub(crate) fn tags(s: &str) -> Parsed<Vec<PersonTag>> {
    let mut out = Vec::new();
    for t in list(s) {
        let t = tag(t)?;
        if !out.contains(&t) {
            out.push(t);
        }
    }
    Ok(out)
}

/// Tenure by code or Chinese name.
pub(crate) fn tenure(s: &str) -> Parsed<Tenure> {
    vocab(
        s,
        &[
            ("自有", Tenure::Owned),
            ("自住", Tenure::Owned),
            ("自购", Tenure::Owned),
            ("出租", Tenure::Rented),
            ("租赁", Tenure::Rented),
            ("租住", Tenure::Rented),
            ("公房", Tenure::Public),
            ("公租房", Tenure::Public),
            ("空置", Tenure::Vacant),
            ("空房", Tenure::Vacant),
        ],
    )
}

/// Building use by code, Chinese name or OSM `building=*` value.
pub(crate) fn building_use(s: &str) -> Parsed<BuildingUse> {
    use BuildingUse as U;
    vocab(
        s,
        &[
            ("住宅", U::Residential),
            ("apartments", U::Residential),
            ("house", U::Residential),
            ("dormitory", U::Residential),
            ("detached", U::Residential),
            ("terrace", U::Residential),
            ("商住", U::Mixed),
            ("商业", U::Commercial),
            ("retail", U::Commercial),
            ("office", U::Commercial),
            ("办公", U::Commercial),
            ("hotel", U::Commercial),
            ("工业", U::Industrial),
            ("warehouse", U::Industrial),
            ("厂房", U::Industrial),
            ("教育", U::Education),
            ("school", U::Education),
            ("university", U::Education),
            ("college", U::Education),
            ("kindergarten", U::Education),
            ("学校", U::Education),
            ("医疗", U::Health),
            ("hospital", U::Health),
            ("clinic", U::Health),
            ("政府", U::Government),
            ("civic", U::Government),
            ("public", U::Government),
            ("其他", U::Other),
            ("yes", U::Other),
        ],
    )
}

/// Compound era by code or Chinese name.
pub(crate) fn era(s: &str) -> Parsed<CompoundEra> {
    use CompoundEra as E;
    vocab(
        s,
        &[
            ("老旧小区", E::Walkup1980s),
            ("别墅", E::Villa),
            ("城中村", E::UrbanVillage),
            ("其他", E::Other),
        ],
    )
}

/// Grid kind by code or Chinese name.
pub(crate) fn grid_kind(s: &str) -> Parsed<GridKind> {
    vocab(
        s,
        &[
            ("综合网格", GridKind::Comprehensive),
            ("综合", GridKind::Comprehensive),
            ("微网格", GridKind::Micro),
            ("微", GridKind::Micro),
            ("专属网格", GridKind::Dedicated),
            ("专属", GridKind::Dedicated),
        ],
    )
}

/// Worker role by code or Chinese name.
pub(crate) fn worker_role(s: &str) -> Parsed<WorkerRole> {
    vocab(
        s,
        &[
            ("网格员", WorkerRole::GridWorker),
            ("网格长", WorkerRole::GridLeader),
            ("邻长", WorkerRole::NeighbourhoodHead),
            ("楼栋长", WorkerRole::NeighbourhoodHead),
        ],
    )
}

/// Place category by code or Chinese name.
pub(crate) fn place_category(s: &str) -> Parsed<PlaceCategory> {
    use PlaceCategory as C;
    vocab(
        s,
        &[
            ("设施", C::Facility),
            ("地块", C::Parcel),
            ("公共空间", C::PublicSpace),
            ("兴趣点", C::Poi),
            ("水体", C::Water),
        ],
    )
}

/// Service kind by code or Chinese name.
pub(crate) fn service(s: &str) -> Parsed<ServiceKind> {
    use ServiceKind as S;
    vocab(
        s,
        &[
            ("老年食堂", S::ElderlyCanteen),
            ("助餐点", S::ElderlyCanteen),
            ("日间照料中心", S::DayCare),
            ("卫生服务站", S::Clinic),
            ("诊所", S::Clinic),
            ("医院", S::Hospital),
            ("学校", S::School),
            ("幼儿园", S::Kindergarten),
            ("党群服务中心", S::PartyServiceCentre),
            ("菜市场", S::Market),
            ("农贸市场", S::Market),
            ("公园", S::Park),
            ("广场", S::Park),
            ("政府机关", S::Government),
            ("工业园", S::IndustrialPark),
        ],
    )
}

/// Event source by code or Chinese name.
pub(crate) fn event_source(s: &str) -> Parsed<EventSource> {
    use EventSource as S;
    vocab(
        s,
        &[
            ("巡查", S::Patrol),
            ("网格员巡查", S::Patrol),
            ("12345", S::Hotline),
            ("热线", S::Hotline),
            ("随手拍", S::Resident),
            ("居民", S::Resident),
            ("群众", S::Resident),
            ("传感器", S::Sensor),
            ("演示", S::Demo),
        ],
    )
}

/// Event status by code or Chinese name.
pub(crate) fn event_status(s: &str) -> Parsed<EventStatus> {
    use EventStatus as S;
    vocab(
        s,
        &[
            ("上报", S::Reported),
            ("受理", S::Accepted),
            ("派遣", S::Dispatched),
            ("处置中", S::InProgress),
            ("办理中", S::InProgress),
            ("已处置", S::Resolved),
            ("已回访", S::Reviewed),
            ("办结", S::Closed),
            ("已办结", S::Closed),
            ("结案", S::Closed),
            ("不予受理", S::Rejected),
            ("合并", S::Merged),
            ("上报上级", S::Escalated),
            ("重新打开", S::Reopened),
        ],
    )
}

/// Event grade by code or Chinese name.
pub(crate) fn grade(s: &str) -> Parsed<Grade> {
    vocab(
        s,
        &[
            ("特急", Grade::Urgent),
            ("紧急", Grade::Major),
            ("一般", Grade::General),
            ("轻微", Grade::Minor),
        ],
    )
}

/// Sentiment kind by code or Chinese name.
pub(crate) fn sentiment_kind(s: &str) -> Parsed<SentimentKind> {
    use SentimentKind as K;
    vocab(
        s,
        &[
            ("走访记录", K::VisitNote),
            ("走访", K::VisitNote),
            ("意见反馈", K::Feedback),
            ("反馈", K::Feedback),
            ("满意度", K::Satisfaction),
            ("风险评级", K::RiskRating),
        ],
    )
}

/// Organisation kind by code or Chinese name.
pub(crate) fn organisation_kind(s: &str) -> Parsed<OrganisationKind> {
    use OrganisationKind as K;
    vocab(
        s,
        &[
            ("党支部", K::PartyBranch),
            ("居委会", K::ResidentsCommittee),
            ("村委会", K::ResidentsCommittee),
            ("物业公司", K::PropertyCompany),
            ("物业", K::PropertyCompany),
            ("业主委员会", K::OwnersCommittee),
            ("业委会", K::OwnersCommittee),
            ("社会组织", K::SocialOrganisation),
            ("企业", K::Enterprise),
            ("志愿服务队", K::VolunteerTeam),
            ("志愿者", K::VolunteerTeam),
        ],
    )
}

/// Road class by code, Chinese name or OSM `highway=*` value.
pub(crate) fn road_class(s: &str) -> Parsed<RoadClass> {
    use RoadClass as R;
    vocab(
        s,
        &[
            ("主干道", R::Arterial),
            ("motorway", R::Arterial),
            ("trunk", R::Arterial),
            ("primary", R::Arterial),
            ("secondary", R::Arterial),
            ("major_road", R::Arterial),
            ("highway", R::Arterial),
            ("次干道", R::Local),
            ("支路", R::Local),
            ("tertiary", R::Local),
            ("residential", R::Local),
            ("unclassified", R::Local),
            ("service", R::Local),
            ("living_street", R::Local),
            ("minor_road", R::Local),
            ("小巷", R::Alley),
            ("胡同", R::Alley),
            ("footway", R::Path),
            ("pedestrian", R::Path),
            ("steps", R::Path),
            ("cycleway", R::Path),
            ("track", R::Path),
            ("步行道", R::Path),
        ],
    )
}

/// Beijing time, the offset of timestamps written without one.
fn china() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| Utc.fix())
}

/// A timestamp: RFC 3339 (`2024-03-01T08:30:00+08:00`), or a local
/// `YYYY-MM-DD[ HH:MM[:SS]]` (also with `/` or `T`) read as Beijing time.
pub(crate) fn datetime(s: &str) -> Parsed<DateTime<Utc>> {
    let t = s.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(t) {
        return Ok(d.with_timezone(&Utc));
    }
    let norm = t.replace('/', "-").replacen('T', " ", 1);
    for fmt in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M"] {
        if let Ok(n) = NaiveDateTime::parse_from_str(&norm, fmt) {
            return local(n);
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(&norm, "%Y-%m-%d") {
        return local(d.and_hms_opt(0, 0, 0).unwrap_or_default());
    }
    Err(
        "expected RFC 3339 (2024-03-01T08:30:00+08:00) or YYYY-MM-DD[ HH:MM[:SS]] in Beijing time"
            .into(),
    )
}

fn local(n: NaiveDateTime) -> Parsed<DateTime<Utc>> {
    china()
        .from_local_datetime(&n)
        .single()
        .map(|d| d.with_timezone(&Utc))
        .ok_or_else(|| "not a valid local time".to_string())
}

/// Strips the `'` that CSV export puts before a cell starting with `= + - @`,
/// tab or CR (CSV-injection guard), so exports re-import unchanged.
pub(crate) fn unescape_cell(s: &str) -> &str {
    match s.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@', '\t', '\r']) => rest,
        _ => s,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn vocab_names() {
        assert_eq!(sex("男").unwrap(), Sex::Male);
        assert_eq!(sex("F").unwrap(), Sex::Female);
        assert_eq!(sex("female").unwrap(), Sex::Female);
        assert!(sex("x").unwrap_err().contains("male"));
        assert_eq!(
            tags("独居老人;党员;elderly_alone").unwrap(),
            vec![PersonTag::ElderlyAlone, PersonTag::PartyMember]
        );
        assert!(tags("独居老人;外星人").unwrap_err().contains("外星人"));
        assert_eq!(
            building_use("apartments").unwrap(),
            BuildingUse::Residential
        );
        assert_eq!(road_class("primary").unwrap(), RoadClass::Arterial);
    }

    #[test]
    fn numbers_and_dates() {
        assert_eq!(number("20 m", "height").unwrap(), 20.0);
        assert!(number("NaN", "height").unwrap_err().contains("finite"));
        assert!(non_negative("-3", "height").is_err());
        assert_eq!(int::<u16>("12.0", "levels").unwrap(), 12);
        assert!(int::<u8>("300", "size").is_err());
        let d = datetime("2024-03-01 08:30").unwrap();
        assert_eq!(d.to_rfc3339(), "2024-03-01T00:30:00+00:00");
        assert_eq!(datetime("2024-03-01T00:30:00Z").unwrap(), d);
        assert!(datetime("yesterday").is_err());
    }

    #[test]
    fn csv_escape_undone() {
        assert_eq!(unescape_cell("'=SUM(A1)"), "=SUM(A1)");
        assert_eq!(unescape_cell("'quoted"), "'quoted");
    }
}
