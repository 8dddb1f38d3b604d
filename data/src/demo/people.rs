//! People of a household: size from the 2020 census distribution, members
//! by household type (elderly alone, elderly couple, nuclear family, three
//! generations, floating tenants), care and governance tags, valid and
//! unique national ID numbers and phones.

use chrono::{Datelike, Duration, NaiveDate};
use geo_core::ids::{HouseholdId, NationalId, PersonId, Phone};
use geo_core::model::{Person, PersonTag, Sex};
use geo_core::IdError;

use super::names;
use super::plan::COUNTIES;
use super::rng::{chance, ui, weighted, DemoRng};
use super::{next, REFERENCE_YEAR};

/// Registration places of floating residents (county-level codes of
/// neighbouring prefectures and provinces).
const FLOATING_REGIONS: &[&str] = &[
    "370102", "370181", "371502", "371521", "130902", "131102", "131121", "410102", "411425",
    "341202", "320302", "372901",
];

const FIRST_YEAR: i32 = 1920;
const DAYS: usize = 110 * 366;

/// Hands out national ID numbers, unique across a whole run: the 3-digit
/// sequence is a counter per (region, birth date, sex).
#[derive(Debug)]
pub(crate) struct IdRegistry {
    counts: Vec<u16>,
}

impl IdRegistry {
    pub fn new() -> Self {
        let regions = COUNTIES.len() + FLOATING_REGIONS.len();
        Self {
            counts: vec![0; regions * DAYS * 2],
        }
    }

    /// A fresh ID for someone born in `year` registered in region `region`
    /// (an index into counties then floating regions).
    fn issue(
        &mut self,
        rng: &mut DemoRng,
        region: usize,
        year: i32,
        male: bool,
    ) -> Result<NationalId, IdError> {
        let code = COUNTIES
            .get(region)
            .or_else(|| FLOATING_REGIONS.get(region - COUNTIES.len().min(region)))
            .copied()
            .unwrap_or(COUNTIES[0]);
        let start = NaiveDate::from_ymd_opt(year.max(FIRST_YEAR), 1, 1).unwrap_or_default();
        let base = NaiveDate::from_ymd_opt(FIRST_YEAR, 1, 1).unwrap_or_default();
        let mut day = start + Duration::days(ui(rng, 0, 364));
        for _ in 0..400 {
            let d = (day - base).num_days().clamp(0, DAYS as i64 - 1) as usize;
            let idx = (region * DAYS + d) * 2 + usize::from(male);
            let c = self.counts[idx];
            if c < 499 {
                self.counts[idx] = c + 1;
                let seq = if male {
                    2 * u32::from(c) + 1
                } else {
                    2 * u32::from(c) + 2
                };
                let first17 = format!(
                    "{code}{:04}{:02}{:02}{seq:03}",
                    day.year(),
                    day.month(),
                    day.day()
                );
                let check = NationalId::check_char(&first17) as char;
                return NationalId::parse(&format!("{first17}{check}"));
            }
            day += Duration::days(1);
        }
        NationalId::parse("00000000000000000X")
    }
}

/// The housing context that shapes a household.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Context {
    Urban,
    Villa,
    FloatingRental,
    Rural,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Head,
    Spouse,
    Child,
    Grandparent,
}

/// Number of residents of an occupied dwelling.
pub(crate) fn household_size(rng: &mut DemoRng, ctx: Context) -> u8 {
    let w: &[f64] = match ctx {
        // China 2020 census, urban: mean ≈ 2.6.
        Context::Urban => &[0.25, 0.30, 0.21, 0.13, 0.07, 0.04],
        Context::Villa => &[0.0, 0.2, 0.35, 0.3, 0.15, 0.0],
        Context::FloatingRental => &[0.40, 0.30, 0.20, 0.10, 0.0, 0.0],
        Context::Rural => &[0.15, 0.30, 0.20, 0.17, 0.12, 0.06],
    };
    weighted(rng, w) as u8 + 1
}

fn members(rng: &mut DemoRng, size: u8, ctx: Context) -> Vec<(i32, bool, Role)> {
    let male = chance(rng, 0.5);
    let mut m = Vec::with_capacity(size as usize);
    let age = |rng: &mut DemoRng, lo: i64, hi: i64| ui(rng, lo, hi) as i32;
    let couple = |rng: &mut DemoRng, m: &mut Vec<(i32, bool, Role)>, a: i32| {
        m.push((a, true, Role::Head));
        m.push(((a + ui(rng, -5, 2) as i32).max(18), false, Role::Spouse));
    };
    let children = |rng: &mut DemoRng, m: &mut Vec<(i32, bool, Role)>, parent: i32, n: usize| {
        for _ in 0..n {
            let a = (parent - ui(rng, 23, 34) as i32).max(0);
            m.push((a, chance(rng, 0.52), Role::Child));
        }
    };
    if ctx == Context::FloatingRental {
        let a = age(rng, 19, 48);
        if size == 1 {
            m.push((a, chance(rng, 0.62), Role::Head));
        } else {
            couple(rng, &mut m, a.max(22));
            children(rng, &mut m, a.max(22), size as usize - 2);
        }
        return m;
    }
    match size {
        1 => {
            let a = if chance(rng, 0.36) {
                age(rng, 60, 93)
            } else {
                age(rng, 20, 59)
            };
            m.push((a, male, Role::Head));
        }
        2 => {
            let r = rng_f(rng);
            if r < 0.34 {
                let a = age(rng, 62, 88);
                couple(rng, &mut m, a);
            } else if r < 0.66 {
                let a = age(rng, 45, 61);
                couple(rng, &mut m, a);
            } else if r < 0.86 {
                let a = age(rng, 23, 38);
                couple(rng, &mut m, a);
            } else {
                let a = age(rng, 30, 55);
                m.push((a, male, Role::Head));
                children(rng, &mut m, a, 1);
            }
        }
        3 if ctx == Context::Rural && chance(rng, 0.15) => {
            // Skip-generation household: grandparents and a left-behind child.
            let a = age(rng, 58, 75);
            couple(rng, &mut m, a);
            m.push((ui(rng, 4, 15) as i32, chance(rng, 0.5), Role::Child));
        }
        3 => {
            if chance(rng, 0.1) {
                let a = age(rng, 60, 80);
                couple(rng, &mut m, a);
                children(rng, &mut m, a, 1);
            } else {
                let a = age(rng, 27, 52);
                couple(rng, &mut m, a);
                children(rng, &mut m, a, 1);
            }
        }
        4 => {
            let a = age(rng, 29, 50);
            couple(rng, &mut m, a);
            if chance(rng, 0.6) {
                children(rng, &mut m, a, 2);
            } else {
                children(rng, &mut m, a, 1);
                m.push((
                    (a + ui(rng, 24, 32) as i32).max(60),
                    chance(rng, 0.4),
                    Role::Grandparent,
                ));
            }
        }
        _ => {
            let a = age(rng, 28, 45);
            couple(rng, &mut m, a);
            let grand = if chance(rng, 0.7) { 2 } else { 1 };
            for g in 0..grand {
                m.push((
                    (a + ui(rng, 24, 32) as i32).max(60),
                    g == 0,
                    Role::Grandparent,
                ));
            }
            let kids = (size as usize).saturating_sub(2 + grand);
            children(rng, &mut m, a, kids);
        }
    }
    m.truncate(size as usize);
    m
}

fn rng_f(rng: &mut DemoRng) -> f64 {
    ui(rng, 0, 999_999) as f64 / 1_000_000.0
}

/// What a generated household looks like, for tags, sentiment and events.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct HouseholdFacts {
    pub elderly_alone: bool,
    pub elderly: u8,
    pub party_members: u8,
    pub disabled: bool,
    pub low_income: bool,
    pub key_person: bool,
}

/// Generates the members of household `hh`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn persons(
    rng: &mut DemoRng,
    registry: &mut IdRegistry,
    next_person: &mut u64,
    hh: HouseholdId,
    size: u8,
    ctx: Context,
    county: usize,
    floating: bool,
    low_income_p: f64,
    out: &mut Vec<Person>,
) -> Result<HouseholdFacts, IdError> {
    let mut facts = HouseholdFacts::default();
    let fam = names::surname(rng);
    let region = if floating {
        COUNTIES.len() + ui(rng, 0, FLOATING_REGIONS.len() as i64 - 1) as usize
    } else {
        county
    };
    let low_income = chance(rng, low_income_p);
    facts.low_income = low_income;
    let list = members(rng, size, ctx);
    let alone = list.len() == 1;
    for (age, male, role) in list {
        let surname = match role {
            Role::Spouse => names::surname(rng),
            Role::Grandparent if !male => names::surname(rng),
            _ => fam,
        };
        let name = names::full_name(rng, surname, male);
        let year = REFERENCE_YEAR - age;
        let national_id = Some(registry.issue(rng, region, year, male)?);
        let phone = if age >= 16 && (age < 80 || chance(rng, 0.5)) && chance(rng, 0.97) {
            Some(Phone::parse(&names::phone(rng))?)
        } else {
            None
        };
        let mut tags = Vec::new();
        if age >= 60 {
            facts.elderly += 1;
            if alone {
                tags.push(PersonTag::ElderlyAlone);
                facts.elderly_alone = true;
            }
        }
        if chance(rng, if age >= 60 { 0.10 } else { 0.035 }) {
            tags.push(PersonTag::Disabled);
            facts.disabled = true;
        }
        if low_income {
            tags.push(PersonTag::LowIncome);
        }
        if floating {
            tags.push(PersonTag::Floating);
        }
        let party_p = match (age, male) {
            (..=17, _) => 0.0,
            (60.., true) => 0.2,
            (60.., false) => 0.08,
            (40..=59, true) => 0.12,
            (40..=59, false) => 0.07,
            _ => 0.05,
        };
        if chance(rng, party_p) {
            tags.push(PersonTag::PartyMember);
            facts.party_members += 1;
        }
        if male && age >= 38 && chance(rng, 0.035) {
            tags.push(PersonTag::Veteran);
        }
        if age >= 18 && chance(rng, 0.003) {
            tags.push(PersonTag::KeyPerson);
            facts.key_person = true;
        }
        if ctx == Context::Rural
            && role == Role::Child
            && age < 16
            && size == 3
            && !alone
            && facts.elderly >= 1
        {
            tags.push(PersonTag::LeftBehindChild);
        }
        out.push(Person {
            id: PersonId::new(next(next_person))?,
            household: Some(hh),
            name,
            national_id,
            phone,
            birth_year: year as u16,
            sex: if male { Sex::Male } else { Sex::Female },
            tags,
        });
    }
    Ok(facts)
}

#[cfg(test)]
mod tests {
    use super::super::rng::stream;
    use super::*;

    #[test]
    fn ids_are_valid_and_unique() {
        let mut reg = IdRegistry::new();
        let mut rng = stream(3, &[]);
        let mut seen = std::collections::HashSet::new();
        for i in 0..5000 {
            let id = reg
                .issue(&mut rng, i % 3, 1960 + (i % 3) as i32, i % 2 == 0)
                .unwrap();
            assert!(NationalId::parse(id.reveal()).is_ok());
            assert!(
                seen.insert(id.reveal().to_string()),
                "duplicate {}",
                id.masked()
            );
            assert_eq!(&id.reveal()[6..10], &format!("{}", 1960 + (i % 3)));
            let seq: u32 = id.reveal()[14..17].parse().unwrap();
            assert_eq!(seq % 2 == 1, i % 2 == 0, "sex digit");
        }
    }

    #[test]
    fn mean_household_size_matches_census() {
        let mut rng = stream(5, &[]);
        let n = 20_000;
        let total: u32 = (0..n)
            .map(|_| u32::from(household_size(&mut rng, Context::Urban)))
            .sum();
        let mean = f64::from(total) / f64::from(n);
        assert!((2.5..2.7).contains(&mean), "{mean}");
    }
}
