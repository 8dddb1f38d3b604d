//! Name lists: people, places, roads and organisations of a county town of
//! the North China plain. Everything here is invented; no list names a real
//! person or building.

use super::rng::{chance, pick, ui, weighted, DemoRng};

/// Common surnames with rough relative frequencies (Shandong-like).
const SURNAMES: &[(&str, f64)] = &[
    ("王", 9.0),
    ("李", 8.5),
    ("张", 8.0),
    ("刘", 7.0),
    ("陈", 3.5),
    ("杨", 3.5),
    ("赵", 3.0),
    ("孙", 3.0),
    ("马", 2.5),
    ("高", 2.3),
    ("于", 2.0),
    ("徐", 2.0),
    ("朱", 1.8),
    ("周", 1.8),
    ("吴", 1.5),
    ("郭", 1.5),
    ("胡", 1.3),
    ("崔", 1.3),
    ("田", 1.2),
    ("宋", 1.2),
    ("魏", 1.1),
    ("韩", 1.1),
    ("董", 1.0),
    ("曹", 1.0),
    ("冯", 1.0),
    ("贾", 0.9),
    ("郑", 0.9),
    ("程", 0.9),
    ("袁", 0.8),
    ("许", 0.8),
    ("邢", 0.7),
    ("石", 0.7),
    ("任", 0.7),
    ("姜", 0.7),
    ("范", 0.6),
    ("何", 0.6),
    ("吕", 0.6),
    ("孟", 0.6),
    ("杜", 0.6),
    ("路", 0.5),
    ("庞", 0.5),
    ("秦", 0.5),
    ("耿", 0.4),
    ("薛", 0.4),
    ("侯", 0.4),
    ("盖", 0.3),
    ("房", 0.3),
    ("纪", 0.3),
    ("尹", 0.3),
    ("申", 0.3),
    ("鲁", 0.3),
    ("丁", 0.3),
    ("蒋", 0.3),
    ("葛", 0.3),
    ("司", 0.2),
    ("欧阳", 0.05),
];

const GIVEN_MALE: &[&str] = &[
    "伟", "强", "磊", "军", "勇", "杰", "涛", "明", "超", "刚", "平", "辉", "建", "国", "华", "志",
    "海", "峰", "鹏", "宇", "浩", "俊", "博", "文", "斌", "鑫", "振", "庆", "德", "林", "忠", "春",
    "永", "东", "晨", "昊", "轩", "子", "泽", "铭", "金", "宏", "学", "成", "兴", "广", "福", "长",
];

const GIVEN_FEMALE: &[&str] = &[
    "芳", "娜", "敏", "静", "丽", "艳", "娟", "霞", "燕", "玲", "桂", "英", "秀", "兰", "红", "梅",
    "萍", "雪", "婷", "琳", "欣", "怡", "涵", "悦", "晶", "慧", "莉", "倩", "颖", "佳", "淑", "凤",
    "玉", "珍", "春", "彤", "诗", "雨", "梦", "瑶", "思", "可", "馨", "月", "云", "洁", "荣", "华",
];

/// A surname drawn by frequency.
pub(crate) fn surname(rng: &mut DemoRng) -> &'static str {
    let weights: Vec<f64> = SURNAMES.iter().map(|s| s.1).collect();
    SURNAMES[weighted(rng, &weights)].0
}

/// A full name with the given surname.
pub(crate) fn full_name(rng: &mut DemoRng, surname: &str, male: bool) -> String {
    let list = if male { GIVEN_MALE } else { GIVEN_FEMALE };
    let mut s = String::with_capacity(12);
    s.push_str(surname);
    s.push_str(pick(rng, list));
    if chance(rng, 0.7) {
        s.push_str(pick(rng, list));
    }
    s
}

/// Word stems used for communities, compounds and streets.
const STEMS: &[&str] = &[
    "建设", "解放", "人民", "文化", "新华", "胜利", "幸福", "和平", "光明", "东方", "红旗", "府前",
    "振兴", "迎宾", "汉槐", "行政", "站前", "大禹", "齐鲁", "泉城", "育才", "市中", "向阳", "前进",
    "长青", "锦绣", "金水", "银河", "开元", "兴隆", "丰收", "康宁", "安居", "富民", "新城", "鑫源",
    "颐和", "翠园", "书香", "阳光", "华府", "星河", "御景", "时代", "紫荆", "鲁西", "禹王", "徒骇",
];

/// A stem, deterministic by index (wraps).
pub(crate) fn stem(i: usize) -> &'static str {
    STEMS[i % STEMS.len()]
}

/// A random stem.
pub(crate) fn any_stem(rng: &mut DemoRng) -> &'static str {
    pick(rng, STEMS)
}

/// Town names for province-scale runs (the first is the demo town).
pub(crate) fn town_name(i: usize) -> String {
    const TOWNS: &[&str] = &[
        "城关",
        "伦镇",
        "房寺",
        "张庄",
        "辛店",
        "安仁",
        "辛寨",
        "梁家",
        "十里望",
        "莒镇",
        "李屯",
        "市中",
    ];
    if i < TOWNS.len() {
        format!("{}镇", TOWNS[i])
    } else {
        format!("{}镇", stem(i * 7 + 3))
    }
}

/// Name of community `i` (urban) or village.
pub(crate) fn community_name(rng: &mut DemoRng, i: usize, village: bool) -> String {
    if village {
        let s = surname(rng);
        let suffix = ["庄", "家", "家庄", "楼", "屯", "集", "店"];
        format!("{}{}村", s, pick(rng, &suffix))
    } else if i == 0 {
        "武汉路社区".to_string()
    } else {
        format!("{}路社区", stem(i * 5 + 1))
    }
}

/// Compound name by era label.
pub(crate) fn compound_name(rng: &mut DemoRng, era: &str) -> String {
    let st = any_stem(rng);
    match era {
        "walkup_1980s" => {
            let units = [
                "棉纺厂",
                "供销社",
                "粮食局",
                "机械厂",
                "教育局",
                "化肥厂",
                "电业局",
                "酒厂",
            ];
            if chance(rng, 0.5) {
                format!("{}家属院", pick(rng, &units))
            } else {
                format!("{}小区", st)
            }
        }
        "midrise_2000s" => format!("{}{}", st, pick(rng, &["小区", "家园", "花园", "新村"])),
        "highrise_2010s" => format!(
            "{}{}",
            st,
            pick(rng, &["华府", "名苑", "壹号院", "国际", "天悦", "城"])
        ),
        "villa" => format!("{}{}", st, pick(rng, &["别墅区", "庄园", "院墅"])),
        "urban_village" => format!("{}{}村", surname(rng), pick(rng, &["庄", "家", "屯"])),
        _ => format!("{}{}", surname(rng), pick(rng, &["家村居民点", "庄自然村"])),
    }
}

/// Street name for a north–south (`路`) or east–west (`街`) street.
pub(crate) fn street_name(i: usize, ns: bool, major: bool) -> String {
    let st = stem(i * 11 + if ns { 5 } else { 9 });
    match (ns, major) {
        (true, true) => format!("{st}路"),
        (false, true) => format!("{st}大街"),
        (true, false) => format!("{st}北路"),
        (false, false) => format!("{st}街"),
    }
}

/// A mainland mobile number.
pub(crate) fn phone(rng: &mut DemoRng) -> String {
    const PREFIX: &[&str] = &[
        "130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "155",
        "156", "157", "158", "159", "177", "178", "180", "182", "183", "186", "187", "188", "189",
        "199",
    ];
    format!("{}{:08}", pick(rng, PREFIX), ui(rng, 0, 99_999_999))
}

/// Property-management company names.
pub(crate) fn property_company(rng: &mut DemoRng) -> String {
    const P: &[&str] = &[
        "禹城鑫安",
        "德州恒泰",
        "齐鲁华信",
        "鲁西安居",
        "山东绿城",
        "大禹",
        "万家",
        "城投",
    ];
    format!("{}物业服务有限公司", pick(rng, P))
}

/// Enterprise names (industrial park and shops).
pub(crate) fn enterprise(rng: &mut DemoRng, industrial: bool) -> String {
    if industrial {
        const P: &[&str] = &[
            "生物科技",
            "机械制造",
            "新材料",
            "食品",
            "纺织",
            "电气",
            "化工",
            "木业",
            "农业发展",
        ];
        format!("山东{}{}有限公司", any_stem(rng), pick(rng, P))
    } else {
        const P: &[&str] = &[
            "超市",
            "五金店",
            "药房",
            "餐馆",
            "理发店",
            "便利店",
            "建材店",
            "快递驿站",
        ];
        format!("{}{}", any_stem(rng), pick(rng, P))
    }
}
