//! The default field mapping of every kind: our field names, the column or
//! property names accepted for each (case-insensitive), and what they hold.
//! `docs/import.md` is the user-facing copy of these tables.
//!
//! A column matches a field when its name equals, ignoring ASCII case, the
//! field name or one of its aliases; the field name wins over aliases, earlier
//! aliases over later ones. [`ImportOptions::field_map`](crate::io::ImportOptions::field_map)
//! (`--map name=姓名`) replaces the names accepted for a field by one column.
//!
//! ```
//! use geo_core::io::{fields, ElementKind};
//! let f = fields::fields(ElementKind::Persons);
//! assert_eq!(f[0].name, "id");
//! assert!(f.iter().any(|f| f.name == "national_id" && f.aliases.contains(&"身份证号")));
//! ```

use crate::io::ElementKind;

/// One field of a kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldSpec {
    /// Our name (the CSV header and GeoJSON property written on export).
    pub name: &'static str,
    /// Other names accepted on import.
    pub aliases: &'static [&'static str],
    /// True when a record without it is refused.
    pub required: bool,
    /// Personal data: values are masked in problems and exports.
    pub personal: bool,
    /// What it holds and how it is read.
    pub doc: &'static str,
}

const fn f(
    name: &'static str,
    aliases: &'static [&'static str],
    required: bool,
    doc: &'static str,
) -> FieldSpec {
    FieldSpec {
        name,
        aliases,
        required,
        personal: false,
        doc,
    }
}

const fn personal(
    name: &'static str,
    aliases: &'static [&'static str],
    doc: &'static str,
) -> FieldSpec {
    FieldSpec {
        name,
        aliases,
        required: false,
        personal: true,
        doc,
    }
}

const ID: FieldSpec = f(
    "id",
    &["编号", "fid", "objectid"],
    true,
    "positive integer, unique in the file",
);
const LON: FieldSpec = f(
    "lon",
    &["lng", "long", "longitude", "x", "经度"],
    false,
    "longitude of a point (CSV; GeoJSON uses the feature geometry)",
);
const LAT: FieldSpec = f(
    "lat",
    &["latitude", "y", "纬度"],
    false,
    "latitude of a point",
);
const GEOMETRY: FieldSpec = f(
    "geometry",
    &["geom", "geojson"],
    false,
    "GeoJSON geometry; in CSV a cell holding GeoJSON geometry text",
);

/// Field indices, one module per kind, matching the order of [`fields`].
pub(crate) mod ix {
    pub(crate) const ID: usize = 0;
    pub(crate) mod person {
        pub(crate) const HOUSEHOLD: usize = 1;
        pub(crate) const NAME: usize = 2;
        pub(crate) const NATIONAL_ID: usize = 3;
        pub(crate) const PHONE: usize = 4;
        pub(crate) const BIRTH_YEAR: usize = 5;
        pub(crate) const SEX: usize = 6;
        pub(crate) const TAGS: usize = 7;
    }
    pub(crate) mod household {
        pub(crate) const BUILDING: usize = 1;
        pub(crate) const UNIT: usize = 2;
        pub(crate) const FLOOR: usize = 3;
        pub(crate) const ROOM: usize = 4;
        pub(crate) const SIZE: usize = 5;
        pub(crate) const TENURE: usize = 6;
        pub(crate) const GROUP_RENTED: usize = 7;
        pub(crate) const PARTY_MEMBER: usize = 8;
    }
    pub(crate) mod building {
        pub(crate) const COMPOUND: usize = 1;
        pub(crate) const LEVELS: usize = 2;
        pub(crate) const HEIGHT: usize = 3;
        pub(crate) const USE: usize = 4;
        pub(crate) const UNITS: usize = 5;
        pub(crate) const HOUSEHOLDS: usize = 6;
        pub(crate) const ESTIMATED: usize = 7;
        pub(crate) const ADDRESS: usize = 8;
        pub(crate) const STREET: usize = 9;
        pub(crate) const HOUSENUMBER: usize = 10;
        pub(crate) const GEOMETRY: usize = 11;
    }
    pub(crate) mod unit {
        pub(crate) const BUILDING: usize = 1;
        pub(crate) const NUMBER: usize = 2;
        pub(crate) const HOUSEHOLDS: usize = 3;
        pub(crate) const LON: usize = 4;
        pub(crate) const LAT: usize = 5;
        pub(crate) const GEOMETRY: usize = 6;
    }
    pub(crate) mod compound {
        pub(crate) const NAME: usize = 1;
        pub(crate) const COMMUNITY: usize = 2;
        pub(crate) const ERA: usize = 3;
        pub(crate) const BUILT_YEAR: usize = 4;
        pub(crate) const GEOMETRY: usize = 5;
    }
    pub(crate) mod community {
        pub(crate) const CODE: usize = 1;
        pub(crate) const NAME: usize = 2;
        pub(crate) const IS_VILLAGE: usize = 3;
        pub(crate) const GEOMETRY: usize = 4;
    }
    pub(crate) mod grid {
        pub(crate) const CODE: usize = 1;
        pub(crate) const NAME: usize = 2;
        pub(crate) const KIND: usize = 3;
        pub(crate) const COMMUNITY: usize = 4;
        pub(crate) const PARENT: usize = 5;
        pub(crate) const WORKERS: usize = 6;
        pub(crate) const GEOMETRY: usize = 7;
    }
    pub(crate) mod place {
        pub(crate) const NAME: usize = 1;
        pub(crate) const CATEGORY: usize = 2;
        pub(crate) const SERVICE: usize = 3;
        pub(crate) const LON: usize = 4;
        pub(crate) const LAT: usize = 5;
        pub(crate) const GEOMETRY: usize = 6;
    }
    pub(crate) mod event {
        pub(crate) const CATEGORY: usize = 1;
        pub(crate) const TITLE: usize = 2;
        pub(crate) const REPORTED_AT: usize = 3;
        pub(crate) const SOURCE: usize = 4;
        pub(crate) const STATUS: usize = 5;
        pub(crate) const GRADE: usize = 6;
        pub(crate) const DEADLINE: usize = 7;
        pub(crate) const HANDLER: usize = 8;
        pub(crate) const RESOLVED_AT: usize = 9;
        pub(crate) const SATISFACTION: usize = 10;
        pub(crate) const MASTER: usize = 11;
        pub(crate) const REPORTER_HOUSEHOLD: usize = 12;
        pub(crate) const LON: usize = 13;
        pub(crate) const LAT: usize = 14;
        pub(crate) const GEOMETRY: usize = 15;
    }
    pub(crate) mod sentiment {
        pub(crate) const KIND: usize = 1;
        pub(crate) const SCORE: usize = 2;
        pub(crate) const TEXT: usize = 3;
        pub(crate) const AT: usize = 4;
        pub(crate) const HOUSEHOLD: usize = 5;
        pub(crate) const PLACE: usize = 6;
        pub(crate) const EVENT: usize = 7;
    }
    pub(crate) mod organisation {
        pub(crate) const NAME: usize = 1;
        pub(crate) const KIND: usize = 2;
        pub(crate) const COMPOUND: usize = 3;
        pub(crate) const MEMBERS: usize = 4;
        pub(crate) const MEMBER_COUNT: usize = 5;
        pub(crate) const LON: usize = 6;
        pub(crate) const LAT: usize = 7;
        pub(crate) const GEOMETRY: usize = 8;
    }
    pub(crate) mod road {
        pub(crate) const NAME: usize = 1;
        pub(crate) const CLASS: usize = 2;
        pub(crate) const GEOMETRY: usize = 3;
    }
}

const PERSONS: &[FieldSpec] = &[
    ID,
    f("household_id", &["household", "户编号", "所属户"], false, "household the person lives in; must exist in the store"),
    FieldSpec { required: true, ..personal("name", &["姓名", "名字"], "full name") },
    personal("national_id", &["id_number", "id_card", "身份证号", "身份证号码", "公民身份号码"], "18-character ID number, check digit verified"),
    personal("phone", &["mobile", "tel", "telephone", "电话", "手机", "手机号", "联系电话"], "7–13 digits, optional +86"),
    f("birth_year", &["出生年份"], false, "year of birth; taken from the national ID when absent"),
    f("sex", &["gender", "性别"], false, "男/女, male/female, M/F, 1/2; taken from the national ID when absent"),
    f("tags", &["标签", "人员类别"], false, "`;`-separated codes or Chinese names: 独居老人;残疾人;低保;流动人口;党员;退役军人;重点人员;留守儿童"),
];

const HOUSEHOLDS: &[FieldSpec] = &[
    ID,
    f(
        "building_id",
        &["building", "楼栋编号"],
        true,
        "building; must exist in the store",
    ),
    f(
        "unit_id",
        &["unit", "单元编号"],
        false,
        "unit; must exist in the store",
    ),
    f("floor", &["楼层"], true, "floor, negative for basements"),
    f(
        "room",
        &["room_no", "房号", "门牌号"],
        true,
        "room number as written, e.g. 302",
    ),
    f(
        "size",
        &["人数", "户人数", "household_size"],
        false,
        "residents (default 0)",
    ),
    f(
        "tenure",
        &["房屋性质", "居住类型"],
        false,
        "owned/rented/public/vacant or 自有/出租/公房/空置 (default owned)",
    ),
    f(
        "group_rented",
        &["群租", "群租房"],
        false,
        "true/false, 是/否 (default false)",
    ),
    f(
        "party_member",
        &["党员中心户"],
        false,
        "party-member household (default false)",
    ),
];

const BUILDINGS: &[FieldSpec] = &[
    ID,
    f("compound_id", &["compound", "小区编号"], false, "compound; must exist in the store"),
    f("levels", &["building:levels", "floors", "层数", "楼层数"], false, "floors above ground"),
    f("height", &["height_m", "高度"], false, "metres (`20`, `20 m`)"),
    f("use", &["usage", "building", "用途"], false, "residential/mixed/commercial/industrial/education/health/government/other, Chinese names and OSM building values (default other)"),
    f("units", &["单元数"], false, "units/stairwells (default 0: unknown; a building with households gets default units estimated from its footprint at import)"),
    f("households", &["户数"], false, "dwellings (default 0)"),
    f("households_estimated", &[], false, "true when `households` is an estimate (default false)"),
    f("address", &["addr", "地址"], false, "postal address"),
    f("street", &["addr_street", "addr:street"], false, "OSM street, joined with housenumber into address when address is absent"),
    f("housenumber", &["addr_housenumber", "addr:housenumber"], false, "OSM house number"),
    GEOMETRY,
];

const UNITS: &[FieldSpec] = &[
    ID,
    f(
        "building_id",
        &["building", "楼栋编号"],
        true,
        "building; must exist in the store",
    ),
    f(
        "number",
        &["unit_no", "单元号"],
        true,
        "1-based number in the building",
    ),
    f("households", &["户数"], false, "dwellings (default 0)"),
    LON,
    LAT,
    GEOMETRY,
];

const COMPOUNDS: &[FieldSpec] = &[
    ID,
    f("name", &["名称", "小区名称"], true, "name"),
    f(
        "community_id",
        &["community", "社区编号"],
        false,
        "community; must exist in the store",
    ),
    f(
        "era",
        &["年代"],
        false,
        "walkup_1980s/midrise_2000s/highrise_2010s/villa/urban_village/other (default other)",
    ),
    f("built_year", &["建成年份", "year"], false, "year built"),
    GEOMETRY,
];

const COMMUNITIES: &[FieldSpec] = &[
    f(
        "id",
        &["编号", "fid", "objectid"],
        false,
        "positive integer; when absent from the whole file, the feature position (1-based)",
    ),
    f(
        "code",
        &["division_code", "cacode", "区划代码", "统计用区划代码"],
        false,
        "12-digit division code; when absent, `division_prefix` + 3-digit position",
    ),
    f(
        "name",
        &["名称", "社区名称", "cname", "ename", "region"],
        true,
        "name (HK DCCA files: `Region`)",
    ),
    f(
        "is_village",
        &["village", "是否村"],
        false,
        "true for a village (村) (default false)",
    ),
    GEOMETRY,
];

const GRIDS: &[FieldSpec] = &[
    ID,
    f("code", &["grid_code", "网格编码", "网格编号"], true, "15- or 18-digit unified grid code"),
    f("name", &["名称", "网格名称"], true, "name"),
    f("kind", &["grid_kind", "type", "网格类型"], true, "comprehensive/micro/dedicated or 综合网格/微网格/专属网格"),
    f("community_id", &["community", "社区编号"], false, "community; must exist in the store"),
    f("parent_id", &["parent", "上级网格"], false, "for micro-grids: the comprehensive grid (in the file or the store)"),
    f("workers", &["网格员"], false, "`name:role:full|part` items `;`-separated (role grid_worker/grid_leader/neighbourhood_head or 网格员/网格长/邻长), or a JSON array of {name, role, full_time}"),
    GEOMETRY,
];

const PLACES: &[FieldSpec] = &[
    ID,
    f("name", &["名称"], true, "name"),
    f("category", &["类别", "type"], true, "facility/parcel/public_space/poi/water"),
    f("service", &["服务", "服务类型"], false, "elderly_canteen/day_care/clinic/hospital/school/kindergarten/party_service_centre/market/park/government/industrial_park or Chinese names"),
    LON,
    LAT,
    GEOMETRY,
];

const EVENTS: &[FieldSpec] = &[
    ID,
    f(
        "category",
        &["事件类别", "事件分类", "类别"],
        true,
        "taxonomy code NN.MM or its Chinese/English name",
    ),
    f(
        "title",
        &["标题", "描述", "description"],
        false,
        "short description",
    ),
    f(
        "reported_at",
        &["time", "date", "datetime", "上报时间"],
        true,
        "RFC 3339, or YYYY-MM-DD[ HH:MM[:SS]] in Beijing time",
    ),
    f(
        "source",
        &["来源"],
        false,
        "patrol/hotline/resident/sensor or 巡查/12345/随手拍/传感器 (default hotline)",
    ),
    f(
        "status",
        &["状态"],
        false,
        "reported … reopened or Chinese (default reported)",
    ),
    f(
        "grade",
        &["等级"],
        false,
        "urgent/major/general/minor or 特急/紧急/一般/轻微 (default general)",
    ),
    f(
        "deadline",
        &["办结时限", "期限"],
        false,
        "time limit, same formats as reported_at",
    ),
    f(
        "handler",
        &["承办", "处置部门"],
        false,
        "grid, community, town or dept:<name>",
    ),
    f("resolved_at", &["办结时间"], false, "when resolved"),
    f("satisfaction", &["满意度"], false, "rating 1–5"),
    f(
        "master_id",
        &["master"],
        false,
        "for merged events: the master event (in the file or the store)",
    ),
    f(
        "reporter_household_id",
        &["reporter_household"],
        false,
        "household of the reporter; must exist in the store",
    ),
    LON,
    LAT,
    GEOMETRY,
];

const SENTIMENTS: &[FieldSpec] = &[
    ID,
    f(
        "kind",
        &["类型"],
        true,
        "visit_note/feedback/satisfaction/risk_rating or 走访记录/意见反馈/满意度/风险评级",
    ),
    f(
        "score",
        &["评分", "分数"],
        false,
        "satisfaction 1–5, risk 0–3",
    ),
    personal("text", &["内容"], "free text (may hold personal data)"),
    f(
        "at",
        &["time", "date", "时间"],
        true,
        "when, same formats as events.reported_at",
    ),
    f(
        "household_id",
        &["household"],
        false,
        "what it is about: exactly one of household_id, place_id, event_id",
    ),
    f("place_id", &["place"], false, "see household_id"),
    f("event_id", &["event"], false, "see household_id"),
];

const ORGANISATIONS: &[FieldSpec] = &[
    ID,
    f("name", &["名称"], true, "name"),
    f("kind", &["type", "类型"], true, "party_branch/residents_committee/property_company/owners_committee/social_organisation/enterprise/volunteer_team or Chinese"),
    f("compound_id", &["compound"], false, "compound served; must exist in the store"),
    f("members", &["成员"], false, "`;`-separated person IDs; must exist in the store"),
    f("member_count", &["成员数"], false, "total members (default: number of members listed)"),
    LON,
    LAT,
    GEOMETRY,
];

const ROADS: &[FieldSpec] = &[
    ID,
    f("name", &["名称", "道路名称"], false, "name"),
    f(
        "class",
        &["highway", "kind_detail", "道路等级"],
        false,
        "arterial/local/alley/path, Chinese or OSM highway values (default local)",
    ),
    GEOMETRY,
];

/// The fields of `kind`, `id` first.
pub fn fields(kind: ElementKind) -> &'static [FieldSpec] {
    match kind {
        ElementKind::Communities => COMMUNITIES,
        ElementKind::Grids => GRIDS,
        ElementKind::Compounds => COMPOUNDS,
        ElementKind::Buildings => BUILDINGS,
        ElementKind::Units => UNITS,
        ElementKind::Households => HOUSEHOLDS,
        ElementKind::Persons => PERSONS,
        ElementKind::Places => PLACES,
        ElementKind::Events => EVENTS,
        ElementKind::Sentiments => SENTIMENTS,
        ElementKind::Organisations => ORGANISATIONS,
        ElementKind::Roads => ROADS,
    }
}

/// The index of field `name` of `kind`.
pub fn index_of(kind: ElementKind, name: &str) -> Option<usize> {
    fields(kind).iter().position(|f| f.name == name)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn docs_list_every_field_and_alias() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/import.md");
        let doc = std::fs::read_to_string(path).unwrap();
        for k in ElementKind::ALL {
            let start = doc
                .find(&format!("### {k}\n"))
                .unwrap_or_else(|| panic!("docs/import.md has no section for {k}"));
            let section = &doc[start..];
            let section = &section[..section[4..].find("### ").map_or(section.len(), |e| e + 4)];
            for f in fields(*k) {
                let aliases: Vec<String> = f.aliases.iter().map(|a| format!("`{a}`")).collect();
                let row = format!("| `{}` | {} |", f.name, aliases.join(", "));
                assert!(
                    section.contains(&row),
                    "docs/import.md, {k}: missing or stale row {row}"
                );
            }
        }
    }

    #[test]
    fn indices_match_tables() {
        use ElementKind as K;
        let checks: &[(K, usize, &str)] = &[
            (K::Persons, ix::person::TAGS, "tags"),
            (K::Persons, ix::person::NATIONAL_ID, "national_id"),
            (K::Households, ix::household::PARTY_MEMBER, "party_member"),
            (K::Buildings, ix::building::GEOMETRY, "geometry"),
            (K::Buildings, ix::building::HOUSENUMBER, "housenumber"),
            (K::Units, ix::unit::GEOMETRY, "geometry"),
            (K::Compounds, ix::compound::GEOMETRY, "geometry"),
            (K::Communities, ix::community::GEOMETRY, "geometry"),
            (K::Grids, ix::grid::GEOMETRY, "geometry"),
            (K::Places, ix::place::GEOMETRY, "geometry"),
            (K::Events, ix::event::GEOMETRY, "geometry"),
            (
                K::Events,
                ix::event::REPORTER_HOUSEHOLD,
                "reporter_household_id",
            ),
            (K::Sentiments, ix::sentiment::EVENT, "event_id"),
            (K::Organisations, ix::organisation::GEOMETRY, "geometry"),
            (K::Roads, ix::road::GEOMETRY, "geometry"),
        ];
        for (k, i, name) in checks {
            assert_eq!(fields(*k)[*i].name, *name, "{k}");
        }
        for k in ElementKind::ALL {
            assert_eq!(fields(*k)[ix::ID].name, "id");
            // Names and aliases are unique within a kind, and lower-case ASCII.
            let mut all: Vec<&str> = fields(*k)
                .iter()
                .flat_map(|f| std::iter::once(f.name).chain(f.aliases.iter().copied()))
                .collect();
            assert!(all.iter().all(|n| n.to_lowercase() == *n), "{k}");
            let n = all.len();
            all.sort_unstable();
            all.dedup();
            assert_eq!(all.len(), n, "duplicate alias in {k}");
        }
    }
}
