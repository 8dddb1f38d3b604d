//! 组织: organisations.

use geo_types::Geometry;
use serde::{Deserialize, Serialize};

use crate::ids::{CompoundId, OrganisationId, PersonId};
use crate::vocab;

vocab!(
    /// Kind of organisation.
    OrganisationKind, "organisation kind" {
        /// 党支部.
        PartyBranch => "party_branch",
        /// 居委会 / 村委会.
        ResidentsCommittee => "residents_committee",
        /// 物业公司.
        PropertyCompany => "property_company",
        /// 业主委员会.
        OwnersCommittee => "owners_committee",
        /// 社会组织.
        SocialOrganisation => "social_organisation",
        /// 企业.
        Enterprise => "enterprise",
        /// 志愿服务队.
        VolunteerTeam => "volunteer_team",
    }
);

/// An organisation (组织), located at a point or over an area.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Organisation {
    /// Identifier.
    pub id: OrganisationId,
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: OrganisationKind,
    /// Point or polygon.
    pub geometry: Geometry<f64>,
    /// Compound served (property companies, owners' committees).
    pub compound: Option<CompoundId>,
    /// Known members (people in the store).
    pub members: Vec<PersonId>,
    /// Total member count (may exceed `members`).
    pub member_count: u32,
}
