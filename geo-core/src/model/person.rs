//! 人: people (人进户).

use serde::{Deserialize, Serialize};

use crate::ids::{HouseholdId, NationalId, PersonId, Phone};
use crate::vocab;

vocab!(
    /// Sex as registered.
    Sex, "sex" {
        /// Male.
        Male => "male",
        /// Female.
        Female => "female",
    }
);

vocab!(
    /// Care and governance tags of a person.
    PersonTag, "person tag" {
        /// 独居老人.
        ElderlyAlone => "elderly_alone" ("独居老人", "Elderly living alone"),
        /// 残疾人.
        Disabled => "disabled" ("残疾人", "Disabled"),
        /// 低保 / 低收入.
        LowIncome => "low_income" ("低保", "Low income"),
        /// 流动人口.
        Floating => "floating" ("流动人口", "Floating population"),
        /// 党员.
        PartyMember => "party_member" ("党员", "Party member"),
        /// 退役军人.
        Veteran => "veteran" ("退役军人", "Veteran"),
        /// 重点人员.
        KeyPerson => "key_person" ("重点人员", "Key person"),
        /// 留守儿童.
        LeftBehindChild => "left_behind_child" ("留守儿童", "Left-behind child"),
    }
);

/// A person (实有人口). Name, ID number and phone are personal data: they are
/// masked whenever they leave the store unless a role may reveal them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Person {
    /// Identifier.
    pub id: PersonId,
    /// Household they live in.
    pub household: Option<HouseholdId>,
    /// Full name.
    pub name: String,
    /// ID card number.
    pub national_id: Option<NationalId>,
    /// Phone number.
    pub phone: Option<Phone>,
    /// Year of birth.
    pub birth_year: u16,
    /// Sex.
    pub sex: Sex,
    /// Tags.
    pub tags: Vec<PersonTag>,
}

impl Person {
    /// Age in whole years in `year`.
    pub fn age_in(&self, year: i32) -> i32 {
        year - i32::from(self.birth_year)
    }
    /// True if the person carries `tag`.
    pub fn has(&self, tag: PersonTag) -> bool {
        self.tags.contains(&tag)
    }
}
