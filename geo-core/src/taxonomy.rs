//! The two-level event taxonomy (事件分类). Codes are `NN.MM`; the first level
//! groups categories by the department that usually handles them. The table is
//! the single source of truth: the store, the API, the generator and category
//! maps for foreign data all refer to it.
//!
//! | code | 中文 | English |
//! |---|---|---|
//! | 01 | 矛盾纠纷 | disputes |
//! | 02 | 城市管理 | urban management |
//! | 03 | 物业管理 | property management |
//! | 04 | 安全隐患 | safety hazards |
//! | 05 | 民生服务 | livelihood services |
//! | 06 | 社会治安 | public order |
//! | 07 | 生态环境 | environment |
//! | 08 | 市场监管 | market supervision |
//! | 09 | 其他 | other |

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

use crate::error::IdError;

/// One leaf of the taxonomy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CategoryDef {
    /// `NN.MM`.
    pub code: &'static str,
    /// Chinese name.
    pub name_zh: &'static str,
    /// English name.
    pub name_en: &'static str,
    /// Default time limit to close, in hours, for grade 2 (general).
    pub limit_h: u32,
}

/// First-level groups: (code, 中文, English).
pub const GROUPS: &[(&str, &str, &str)] = &[
    ("01", "矛盾纠纷", "Disputes"),
    ("02", "城市管理", "Urban management"),
    ("03", "物业管理", "Property management"),
    ("04", "安全隐患", "Safety hazards"),
    ("05", "民生服务", "Livelihood services"),
    ("06", "社会治安", "Public order"),
    ("07", "生态环境", "Environment"),
    ("08", "市场监管", "Market supervision"),
    ("09", "其他", "Other"),
];

macro_rules! cat {
    ($code:literal, $zh:literal, $en:literal, $h:literal) => {
        CategoryDef { code: $code, name_zh: $zh, name_en: $en, limit_h: $h }
    };
}

/// Every leaf category.
pub const CATEGORIES: &[CategoryDef] = &[
    cat!("01.01", "邻里纠纷", "Neighbour dispute", 72),
    cat!("01.02", "家庭纠纷", "Family dispute", 72),
    cat!("01.03", "租赁纠纷", "Tenancy dispute", 72),
    cat!("01.04", "劳资纠纷", "Labour dispute", 120),
    cat!("02.01", "违章停车", "Illegal parking", 24),
    cat!("02.02", "环境卫生", "Sanitation", 24),
    cat!("02.03", "违法建设", "Illegal construction", 168),
    cat!("02.04", "占道经营", "Street vending", 24),
    cat!("02.05", "噪声扰民", "Noise", 24),
    cat!("03.01", "物业服务", "Property management service", 72),
    cat!("03.02", "设施维修", "Facility repair", 48),
    cat!("03.03", "供暖问题", "Heating", 24),
    cat!("04.01", "消防隐患", "Fire hazard", 24),
    cat!("04.02", "房屋安全", "Building safety hazard", 48),
    cat!("04.03", "燃气安全", "Gas safety", 12),
    cat!("04.04", "电动车违规充电", "E-bike charging hazard", 24),
    cat!("05.01", "为老服务", "Elderly assistance", 48),
    cat!("05.02", "社会救助", "Social assistance", 120),
    cat!("05.03", "就业帮扶", "Employment support", 168),
    cat!("06.01", "盗窃", "Theft", 72),
    cat!("06.02", "诈骗", "Fraud", 72),
    cat!("06.03", "重点人员", "Key person follow-up", 24),
    cat!("06.04", "治安秩序", "Public order disturbance", 24),
    cat!("07.01", "污染排放", "Pollution", 72),
    cat!("07.02", "绿化养护", "Greenery upkeep", 120),
    cat!("08.01", "食品安全", "Food safety", 48),
    cat!("08.02", "价格欺诈", "Pricing fraud", 72),
    cat!("09.01", "其他事项", "Other matter", 120),
];

/// A validated leaf category of the taxonomy (an index into [`CATEGORIES`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventCategory(u8);

impl EventCategory {
    /// Parses a code such as `02.05`; also accepts the exact Chinese or English name.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let t = s.trim();
        CATEGORIES
            .iter()
            .position(|c| c.code == t || c.name_zh == t || c.name_en.eq_ignore_ascii_case(t))
            .map(|i| Self(i as u8))
            .ok_or_else(|| IdError::Unknown {
                kind: "event category",
                value: s.to_string(),
                expected: "a code NN.MM of the taxonomy (see `wangge taxonomy`)".into(),
            })
    }
    /// All categories in table order.
    pub fn all() -> impl Iterator<Item = EventCategory> {
        (0..CATEGORIES.len()).map(|i| EventCategory(i as u8))
    }
    /// The table row.
    pub fn def(self) -> &'static CategoryDef {
        &CATEGORIES[self.0 as usize]
    }
    /// `NN.MM`.
    pub fn code(self) -> &'static str {
        self.def().code
    }
    /// The first-level code `NN`.
    pub fn group(self) -> &'static str {
        &self.def().code[..2]
    }
    /// Dense index 0..CATEGORIES.len(), for arrays of counters.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Display for EventCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl Serialize for EventCategory {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for EventCategory {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_unique_and_grouped() {
        let mut codes: Vec<_> = CATEGORIES.iter().map(|c| c.code).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), CATEGORIES.len());
        for c in CATEGORIES {
            assert!(GROUPS.iter().any(|g| g.0 == &c.code[..2]), "{}", c.code);
        }
    }

    #[test]
    fn parse_by_code_and_name() {
        assert_eq!(
            EventCategory::parse("02.05").unwrap().def().name_en,
            "Noise"
        );
        assert_eq!(EventCategory::parse("噪声扰民").unwrap().code(), "02.05");
        let e = EventCategory::parse("alien landing").unwrap_err();
        assert!(e.to_string().contains("alien landing"));
    }
}
