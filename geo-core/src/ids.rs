//! Identifier newtypes. An invalid identifier cannot be constructed: numeric
//! IDs are non-zero, grid and division codes are checked digit strings, and a
//! national ID number must carry a correct ISO 7064 MOD 11-2 check digit.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::num::NonZeroU64;
use std::str::FromStr;

use crate::error::IdError;

macro_rules! numeric_id {
    ($(#[$doc:meta])* $name:ident, $label:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(NonZeroU64);

        impl $name {
            /// Builds the ID, refusing zero.
            pub fn new(raw: u64) -> Result<Self, IdError> {
                NonZeroU64::new(raw).map(Self).ok_or(IdError::Zero { kind: $label })
            }
            /// The raw integer (never zero).
            pub fn get(self) -> u64 {
                self.0.get()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                let raw: u64 = s.trim().parse().map_err(|_| IdError::NotANumber {
                    kind: $label,
                    value: s.to_string(),
                })?;
                Self::new(raw)
            }
        }

        impl TryFrom<u64> for $name {
            type Error = IdError;
            fn try_from(raw: u64) -> Result<Self, IdError> {
                Self::new(raw)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_u64(self.get())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = u64::deserialize(d)?;
                Self::new(raw).map_err(serde::de::Error::custom)
            }
        }
    };
}

numeric_id!(/// A community (社区/村).
    CommunityId, "community");
numeric_id!(/// A grid of any kind (综合/微/专属网格).
    GridId, "grid");
numeric_id!(/// A walled residential compound (小区).
    CompoundId, "compound");
numeric_id!(/// A building (楼栋).
    BuildingId, "building");
numeric_id!(/// A unit: entrance or stairwell of a building (单元).
    UnitId, "unit");
numeric_id!(/// A household / dwelling (户).
    HouseholdId, "household");
numeric_id!(/// A person (人).
    PersonId, "person");
numeric_id!(/// A place (地): facility, parcel, public space or POI.
    PlaceId, "place");
numeric_id!(/// An event (事).
    EventId, "event");
numeric_id!(/// A sentiment record (情).
    SentimentId, "sentiment");
numeric_id!(/// An organisation (组织).
    OrganisationId, "organisation");
numeric_id!(/// A road segment of the base map.
    RoadId, "road");
numeric_id!(/// A visit to a household (走访).
    VisitId, "visit");
numeric_id!(/// A need of a household found on a visit (诉求).
    NeedId, "need");

/// A 12-digit administrative division code (统计用区划代码): 2 province, 2
/// prefecture, 2 county, 3 town, 3 village/community digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DivisionCode([u8; 12]);

impl DivisionCode {
    /// Parses and validates a 12-digit code whose province part is 11–82.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let b = s.as_bytes();
        if b.len() != 12 || !b.iter().all(u8::is_ascii_digit) {
            return Err(IdError::DivisionCode {
                value: s.to_string(),
                reason: "must be exactly 12 ASCII digits",
            });
        }
        let province = (b[0] - b'0') * 10 + (b[1] - b'0');
        if !(11..=82).contains(&province) {
            return Err(IdError::DivisionCode {
                value: s.to_string(),
                reason: "province part must be between 11 and 82",
            });
        }
        let mut out = [0u8; 12];
        out.copy_from_slice(b);
        Ok(Self(out))
    }
    /// The code as a string slice.
    pub fn as_str(&self) -> &str {
        // The bytes are ASCII digits by construction.
        std::str::from_utf8(&self.0).unwrap_or("000000000000")
    }
    /// The 9-digit town prefix (province..town).
    pub fn town_prefix(&self) -> &str {
        &self.as_str()[..9]
    }
}

/// The unified grid code (网格编码): a 12-digit division code followed by a
/// 3-digit grid sequence, and for micro-grids a further 3-digit sequence.
/// Dedicated grids use sequences 900–999 by convention.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GridCode(String);

impl GridCode {
    /// Parses a 15- or 18-digit grid code.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let s = s.trim();
        if !(s.len() == 15 || s.len() == 18) || !s.bytes().all(|c| c.is_ascii_digit()) {
            return Err(IdError::GridCode {
                value: s.to_string(),
                reason: "must be 15 digits (division code + grid sequence) or 18 (+ micro-grid sequence)",
            });
        }
        DivisionCode::parse(&s[..12]).map_err(|_| IdError::GridCode {
            value: s.to_string(),
            reason: "the first 12 digits are not a valid division code",
        })?;
        if &s[12..15] == "000" || (s.len() == 18 && &s[15..] == "000") {
            return Err(IdError::GridCode {
                value: s.to_string(),
                reason: "a grid sequence cannot be 000",
            });
        }
        Ok(Self(s.to_string()))
    }
    /// Builds the code of grid `seq` (1–999) inside division `div`.
    pub fn new(div: DivisionCode, seq: u16) -> Result<Self, IdError> {
        Self::parse(&format!("{}{:03}", div.as_str(), seq))
    }
    /// Builds the code of micro-grid `seq` inside this (comprehensive) grid.
    pub fn child(&self, seq: u16) -> Result<Self, IdError> {
        Self::parse(&format!("{}{:03}", &self.0[..15], seq))
    }
    /// The division code part.
    pub fn division(&self) -> DivisionCode {
        // Validated at construction.
        DivisionCode::parse(&self.0[..12]).unwrap_or(DivisionCode(*b"110000000000"))
    }
    /// True for an 18-digit (micro-grid) code.
    pub fn is_micro(&self) -> bool {
        self.0.len() == 18
    }
    /// The code as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A resident identity card number (公民身份号码), 18 characters with an
/// ISO 7064 MOD 11-2 check character. Its `Debug` and `Display` are masked;
/// only [`NationalId::reveal`] gives the full number. Held inline (18 ASCII
/// bytes, no heap string): an import of a million people makes a million.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct NationalId([u8; 18]);

const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK: &[u8; 11] = b"10X98765432";

impl NationalId {
    /// Parses an 18-character ID number and verifies its check character.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let t = s.trim();
        let Ok(mut b) = <[u8; 18]>::try_from(t.as_bytes()) else {
            return Err(Self::malformed(t));
        };
        b[17] = b[17].to_ascii_uppercase();
        if !b[..17].iter().all(u8::is_ascii_digit) || !(b[17].is_ascii_digit() || b[17] == b'X') {
            return Err(Self::malformed(t));
        }
        if b[17] != Self::check_of(&b[..17]) {
            return Err(IdError::NationalId {
                value: mask_middle(&t.to_ascii_uppercase()),
                reason: "check character does not match (ISO 7064 MOD 11-2)",
            });
        }
        Ok(Self(b))
    }
    fn malformed(t: &str) -> IdError {
        IdError::NationalId {
            value: mask_middle(&t.to_ascii_uppercase()),
            reason: "must be 17 digits followed by a digit or X",
        }
    }
    /// Computes the check character of the first 17 digits.
    pub fn check_char(first17: &str) -> u8 {
        Self::check_of(first17.as_bytes())
    }
    fn check_of(first17: &[u8]) -> u8 {
        let sum: u32 = first17
            .iter()
            .zip(ID_WEIGHTS)
            .map(|(c, w)| u32::from(c.saturating_sub(b'0')) * w)
            .sum();
        ID_CHECK[(sum % 11) as usize]
    }
    /// The first 17 digits as a number: what the store keeps (a number
    /// costs DuckDB far less to compress and store than text, and the check
    /// character follows from the digits).
    pub fn digits(&self) -> u64 {
        self.0[..17]
            .iter()
            .fold(0, |n, &c| n * 10 + u64::from(c - b'0'))
    }
    /// The number from its first 17 digits ([`NationalId::digits`]), with its
    /// check character computed.
    pub fn from_digits(digits: u64) -> Result<Self, IdError> {
        if digits >= 100_000_000_000_000_000 {
            return Err(IdError::NationalId {
                value: mask_middle(&digits.to_string()),
                reason: "more than 17 digits before the check character",
            });
        }
        let mut b = [0u8; 18];
        let mut n = digits;
        for c in b[..17].iter_mut().rev() {
            *c = b'0' + (n % 10) as u8;
            n /= 10;
        }
        b[17] = Self::check_of(&b[..17]);
        Ok(Self(b))
    }
    /// The masked form `411481************` used everywhere data leaves the store.
    pub fn masked(&self) -> String {
        mask_middle(self.reveal())
    }
    /// The full number. Callers must have checked the role and logged the reveal.
    pub fn reveal(&self) -> &str {
        // Digits and `X` only, checked by `parse`.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl fmt::Debug for NationalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NationalId({})", self.masked())
    }
}

impl fmt::Display for NationalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

/// A mainland mobile or fixed phone number (digits, 7–13 long, optional
/// `+86`), held inline like [`NationalId`].
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Phone {
    len: u8,
    digits: [u8; Phone::MAX_DIGITS],
}

impl Phone {
    const MAX_DIGITS: usize = 13;
    const CODE_BASE: u64 = 10_000_000_000_000;

    /// Parses a phone number, keeping only its digits (spaces and `-` dropped).
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let t = s.trim();
        let t = t.strip_prefix("+86").unwrap_or(t);
        let mut digits = [0u8; Self::MAX_DIGITS];
        let mut len = 0usize;
        for c in t.bytes().filter(|c| !matches!(c, b' ' | b'-')) {
            if !c.is_ascii_digit() || len == Self::MAX_DIGITS {
                return Err(IdError::Phone {
                    value: mask_middle(s),
                });
            }
            digits[len] = c;
            len += 1;
        }
        if len < 7 {
            return Err(IdError::Phone {
                value: mask_middle(s),
            });
        }
        Ok(Self {
            len: len as u8,
            digits,
        })
    }
    /// What the store keeps: the number of digits times 10¹³ plus the
    /// digits read as a number (so `0531…` keeps its leading zero).
    pub fn code(&self) -> u64 {
        let n = self.digits[..usize::from(self.len)]
            .iter()
            .fold(0, |n, &c| n * 10 + u64::from(c - b'0'));
        u64::from(self.len) * Self::CODE_BASE + n
    }
    /// The number from its [`Phone::code`].
    pub fn from_code(code: u64) -> Result<Self, IdError> {
        let (len, mut n) = (code / Self::CODE_BASE, code % Self::CODE_BASE);
        if !(7..=Self::MAX_DIGITS as u64).contains(&len) || n >= 10u64.pow(len as u32) {
            return Err(IdError::Phone {
                value: mask_middle(&code.to_string()),
            });
        }
        let mut digits = [0u8; Self::MAX_DIGITS];
        for c in digits[..len as usize].iter_mut().rev() {
            *c = b'0' + (n % 10) as u8;
            n /= 10;
        }
        Ok(Self {
            len: len as u8,
            digits,
        })
    }
    /// Masked `138****5678`.
    pub fn masked(&self) -> String {
        mask_middle(self.reveal())
    }
    /// The full number. Callers must have checked the role and logged the reveal.
    pub fn reveal(&self) -> &str {
        // ASCII digits only, checked by `parse`.
        std::str::from_utf8(&self.digits[..usize::from(self.len)]).unwrap_or_default()
    }
}

impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Phone({})", self.masked())
    }
}

/// Masks the middle of a string, keeping a short head and tail.
///
/// ID-number-sized strings (15 characters or more) keep their first 6 (the
/// region) and nothing else: with the birth year and sex that are served
/// beside them, a kept tail (3 sequence digits and the check character) would
/// leave about 33 candidates per person; without it, about 180,000.
/// Phone-sized strings keep 3 and 4 (10,000 candidates for a mobile).
///
/// ```
/// use geo_core::ids::mask_middle;
/// assert_eq!(mask_middle("11010519491231002X"), "110105************");
/// assert_eq!(mask_middle("13812345678"), "138****5678");
/// ```
pub fn mask_middle(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let n = chars.len();
    let (head, tail) = match n {
        0..=2 => (0, 0),
        3..=6 => (1, 1),
        7..=14 => (3, 4),
        _ => (6, 0),
    };
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| if i < head || i >= n - tail { *c } else { '*' })
        .collect()
}

/// Masks a Chinese or Latin personal name: first character kept (`张*`, `王**`).
pub fn mask_name(name: &str) -> String {
    let mut it = name.chars();
    match it.next() {
        Some(first) => std::iter::once(first).chain(it.map(|_| '*')).collect(),
        None => String::new(),
    }
}

macro_rules! string_serde {
    ($name:ident, $field:ident) => {
        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.$field())
            }
        }
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}
string_serde!(DivisionCode, as_str);
string_serde!(GridCode, as_str);
// National IDs and phones serialise masked: serde output leaves the store.
string_serde!(NationalId, masked);
string_serde!(Phone, masked);

impl fmt::Display for GridCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl fmt::Display for DivisionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Masks the personal numbers in free text (titles, notes, visit texts) for
/// readers who may not see them: 18-character ID numbers with a valid check
/// character (and 15-digit old ones) keep their region only, mobile numbers
/// (`1[3-9]` + 9 digits) and landlines (an area code `0…` with 7–8 digits,
/// a dash or space allowed between) their first 3 and last 4 digits. Other
/// numbers (house numbers, dates, amounts) are left alone.
///
/// ```
/// use geo_core::ids::scrub_text;
/// assert_eq!(
///     scrub_text("张三 11010519491231002X 电话13812345678 或 010-62345678，3号楼"),
///     "张三 110105************ 电话138****5678 或 010****5678，3号楼"
/// );
/// ```
pub fn scrub_text(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() || (i > 0 && chars[i - 1].is_ascii_alphanumeric()) {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        // A run of digits, with one dash or space after a 3–4 digit area code
        // and an ID number's trailing X.
        let mut j = i;
        let mut sep = None;
        while j < chars.len() {
            let c = chars[j];
            if c.is_ascii_digit() {
                j += 1;
            } else if (c == '-' || c == ' ')
                && sep.is_none()
                && chars[i] == '0'
                && (3..=4).contains(&(j - i))
                && chars.get(j + 1).is_some_and(char::is_ascii_digit)
            {
                sep = Some(j);
                j += 1;
            } else {
                break;
            }
        }
        if j - i == 17 && sep.is_none() && chars.get(j).is_some_and(|c| *c == 'X' || *c == 'x') {
            j += 1;
        }
        let run: String = chars[i..j].iter().collect();
        let digits: String = run.chars().filter(char::is_ascii_alphanumeric).collect();
        let next_alnum = chars.get(j).is_some_and(char::is_ascii_alphanumeric);
        let b = digits.as_bytes();
        let id_number = sep.is_none()
            && ((b.len() == 18 && NationalId::parse(&digits).is_ok())
                || (b.len() == 15 && b[0] != b'0'));
        let mobile =
            sep.is_none() && b.len() == 11 && b[0] == b'1' && (b'3'..=b'9').contains(&b[1]);
        let landline = b.first() == Some(&b'0') && (10..=12).contains(&b.len());
        let masked = if next_alnum {
            None
        } else if id_number || mobile {
            Some(mask_middle(&digits))
        } else if landline {
            Some(format!(
                "{}****{}",
                &digits[..3],
                &digits[digits.len() - 4..]
            ))
        } else {
            None
        };
        out.push_str(masked.as_deref().unwrap_or(&run));
        i = j;
    }
    out
}

/// Masks the names of the people concerned in free text (an event's title
/// and notes, a visit's text) for readers who may not see them: each full
/// name, and the given name of a name of three or more characters, becomes
/// its [`mask_name`] form (compound surnames such as 欧阳 are known).
/// `names` are the residents of the household the
/// text is about; names of one character are ignored (they would mask
/// ordinary words).
///
/// ```
/// use geo_core::ids::scrub_names;
/// let names = ["王小明".to_string(), "李娜".to_string()];
/// assert_eq!(
///     scrub_names("王小明说李娜家漏水，小明已上报", &names),
///     "王**说李*家漏水，**已上报"
/// );
/// ```
pub fn scrub_names(text: &str, names: &[String]) -> String {
    const COMPOUND_SURNAMES: [&str; 16] = [
        "欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "尉迟", "公孙", "慕容", "令狐", "长孙",
        "宇文", "司徒", "夏侯", "轩辕", "端木",
    ];
    let mut words: Vec<(String, String)> = Vec::new();
    for n in names {
        let n = n.trim();
        let len = n.chars().count();
        if len < 2 {
            continue;
        }
        words.push((n.to_string(), mask_name(n)));
        let surname = if COMPOUND_SURNAMES.iter().any(|s| n.starts_with(s)) {
            2
        } else {
            1
        };
        if len >= surname + 2 {
            let given: String = n.chars().skip(surname).collect();
            let masked = "*".repeat(given.chars().count());
            words.push((given, masked));
        }
    }
    // Longest first, so a full name is masked before its given name.
    words.sort_by_key(|(w, _)| std::cmp::Reverse(w.chars().count()));
    let mut out = text.to_string();
    for (w, m) in &words {
        if out.contains(w.as_str()) {
            out = out.replace(w.as_str(), m);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_masked_longest_first_and_short_names_ignored() {
        let names = vec![
            "欧阳娜娜".to_string(),
            "王".to_string(),
            " 张伟 ".to_string(),
        ];
        assert_eq!(
            scrub_names("欧阳娜娜和张伟在王家", &names),
            "欧***和张*在王家"
        );
        // 欧阳 is the surname: the given name is 娜娜.
        assert_eq!(scrub_names("娜娜来电", &names), "**来电");
        assert_eq!(scrub_names("无关文字", &[]), "无关文字");
    }

    #[test]
    fn national_id_checksum() {
        // GB 11643 example number.
        assert!(NationalId::parse("11010519491231002X").is_ok());
        let err = NationalId::parse("110105194912310021").unwrap_err();
        assert!(err.to_string().contains("check character"), "{err}");
        assert_eq!(
            NationalId::parse("11010519491231002X").unwrap().masked(),
            "110105************"
        );
    }

    #[test]
    fn national_ids_and_phones_held_inline() {
        let id = NationalId::parse(" 11010519491231002x ").unwrap();
        assert_eq!(id.reveal(), "11010519491231002X");
        assert_eq!(id, NationalId::parse("11010519491231002X").unwrap());
        for bad in [
            "1101051949123100",
            "11010519491231002XX",
            "张三李四王五赵六",
            "",
        ] {
            let e = NationalId::parse(bad).unwrap_err().to_string();
            assert!(e.contains("17 digits"), "{bad}: {e}");
        }
        let p = Phone::parse("+86 138-1234-5678").unwrap();
        assert_eq!(p.reveal(), "13812345678");
        assert_eq!(Phone::parse("0531123456789").unwrap().reveal().len(), 13);
        assert!(Phone::parse("05311234567890").is_err(), "14 digits");
        assert!(Phone::parse("123456").is_err(), "6 digits");
        assert!(Phone::parse("138１２３45678").is_err(), "full-width digits");
    }

    #[test]
    fn stored_numbers_give_back_the_same_ids_and_phones() {
        for s in [
            "11010519491231002X",
            "000000000000000019",
            "371482199003070012",
        ] {
            let Ok(id) = NationalId::parse(s) else {
                continue;
            };
            assert_eq!(NationalId::from_digits(id.digits()).unwrap(), id, "{s}");
        }
        let id = NationalId::parse("11010519491231002X").unwrap();
        assert_eq!(id.digits(), 11_010_519_491_231_002);
        assert!(NationalId::from_digits(100_000_000_000_000_000).is_err());
        for s in ["13812345678", "0531123456789", "0000001", "1234567"] {
            let p = Phone::parse(s).unwrap();
            assert_eq!(Phone::from_code(p.code()).unwrap(), p, "{s}");
        }
        assert_eq!(
            Phone::parse("0531888").unwrap().code(),
            7 * Phone::CODE_BASE + 531_888
        );
        for bad in [
            0,
            6 * Phone::CODE_BASE + 1,
            7 * Phone::CODE_BASE + 10_000_000,
            14 * Phone::CODE_BASE,
        ] {
            assert!(Phone::from_code(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn grid_codes() {
        let g = GridCode::parse("411481100001003").unwrap();
        assert_eq!(g.division().as_str(), "411481100001");
        assert_eq!(g.child(7).unwrap().as_str(), "411481100001003007");
        assert!(GridCode::parse("41148110000100").is_err());
        assert!(GridCode::parse("991481100001003").is_err());
        assert!(GridCode::parse("411481100001000").is_err());
    }

    #[test]
    fn zero_ids_refused() {
        assert!(PersonId::new(0).is_err());
        assert_eq!(PersonId::new(7).unwrap().get(), 7);
        assert!(serde_json::from_str::<PersonId>("0").is_err());
    }

    #[test]
    fn masking() {
        assert_eq!(mask_name("张三丰"), "张**");
        assert_eq!(
            Phone::parse("138 1234 5678").unwrap().masked(),
            "138****5678"
        );
    }
}
