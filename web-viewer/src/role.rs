//! Roles and masking at the HTTP edge. The role comes from `X-Wangge-Role`
//! (set by the intranet's authenticating proxy), a worker's grids from
//! `X-Wangge-Grids`. Unknown roles get the most restricted view.

use std::collections::BTreeSet;

use axum::http::HeaderMap;
use geo_core::ids::{mask_name, GridCode, GridId};
use geo_core::store::Scope;

/// Who is asking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Town / sub-district leader: sees everything, personal data masked
    /// unless revealed with a logged reason.
    Leader,
    /// Planner: aggregates only.
    Planner,
    /// Command-centre big screen: no personal data at all.
    Screen,
    /// Grid worker: own grids only, personal data visible.
    Worker,
    /// Department: only dispatched events.
    Department,
    /// Public: reports and follows own reports.
    Public,
}

impl Role {
    /// Parses the header value (`grid_worker` is accepted for `worker`);
    /// anything unknown is `Screen`.
    pub fn parse(s: &str) -> Role {
        match s.trim().to_ascii_lowercase().as_str() {
            "leader" => Role::Leader,
            "planner" => Role::Planner,
            "worker" | "grid_worker" | "grid-worker" => Role::Worker,
            "department" => Role::Department,
            "public" => Role::Public,
            _ => Role::Screen,
        }
    }

    /// True when the role may see unmasked personal data (still logged).
    pub fn may_reveal(self) -> bool {
        matches!(self, Role::Leader | Role::Worker)
    }

    /// True when the role may see person/household rows at all.
    pub fn sees_people(self) -> bool {
        matches!(self, Role::Leader | Role::Worker)
    }

    /// True when heatmap cells with few events must be suppressed.
    pub fn needs_k_anonymity(self) -> bool {
        !self.may_reveal()
    }
}

/// A request's access: role and scope.
#[derive(Debug, Clone)]
pub struct Access {
    /// Role.
    pub role: Role,
    /// Grid codes from the header (workers).
    pub grid_codes: Vec<GridCode>,
    /// Reveal requested with a reason (`X-Wangge-Reveal-Reason`).
    pub reveal_reason: Option<String>,
}

impl Access {
    /// Reads the access headers.
    pub fn from_headers(h: &HeaderMap) -> Access {
        let role = h
            .get("x-wangge-role")
            .and_then(|v| v.to_str().ok())
            .map(Role::parse)
            .unwrap_or(Role::Screen);
        let grid_codes = h
            .get("x-wangge-grids")
            .and_then(|v| v.to_str().ok())
            .map(|s| {
                s.split(',')
                    .filter_map(|c| GridCode::parse(c).ok())
                    .collect()
            })
            .unwrap_or_default();
        let reveal_reason = h
            .get("x-wangge-reveal-reason")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .filter(|s| !s.trim().is_empty());
        Access {
            role,
            grid_codes,
            reveal_reason,
        }
    }

    /// The store scope, given a lookup from grid code to ID.
    pub fn scope(&self, lookup: impl Fn(&GridCode) -> Option<GridId>) -> Scope {
        match self.role {
            Role::Worker => Scope::Grids(
                self.grid_codes
                    .iter()
                    .filter_map(&lookup)
                    .collect::<BTreeSet<_>>(),
            ),
            _ => Scope::Town,
        }
    }

    /// True when personal data is shown unmasked in this response.
    pub fn reveals(&self) -> bool {
        self.role.may_reveal() && self.reveal_reason.is_some()
    }

    /// A name as this access may see it.
    pub fn name(&self, name: &str) -> String {
        if self.reveals() {
            name.to_string()
        } else {
            mask_name(name)
        }
    }
}

#[cfg(test)]
mod role_names {
    use super::Role;

    #[test]
    fn header_names_parse_and_unknown_is_the_most_restricted() {
        assert_eq!(Role::parse("worker"), Role::Worker);
        assert_eq!(Role::parse(" Grid_Worker "), Role::Worker);
        assert_eq!(Role::parse("leader"), Role::Leader);
        assert_eq!(Role::parse("admin"), Role::Screen);
    }
}
