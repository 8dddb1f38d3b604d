//! Roles, identities and masking at the edge. Who is asking is decided once
//! per request by [`crate::auth::guard`] (session cookie, kiosk token, or the
//! authenticating proxy's headers with its shared secret) and handed to the
//! handlers as an [`Access`] extractor. A request nobody vouched for is
//! [`Role::Public`].

use std::collections::BTreeSet;
use std::convert::Infallible;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
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
    /// Every role, in the order of the access matrix.
    pub const ALL: [Role; 6] = [
        Role::Leader,
        Role::Planner,
        Role::Screen,
        Role::Worker,
        Role::Department,
        Role::Public,
    ];

    /// Parses a role name (`grid_worker` is accepted for `worker`);
    /// anything unknown is `Screen`, the most restricted signed-in view.
    pub fn parse(s: &str) -> Role {
        Role::from_name(s).unwrap_or(Role::Screen)
    }

    /// Parses a role name; `None` when unknown.
    pub fn from_name(s: &str) -> Option<Role> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "leader" => Role::Leader,
            "planner" => Role::Planner,
            "screen" => Role::Screen,
            "worker" | "grid_worker" | "grid-worker" => Role::Worker,
            "department" => Role::Department,
            "public" => Role::Public,
            _ => return None,
        })
    }

    /// The role's name.
    pub fn name(self) -> &'static str {
        match self {
            Role::Leader => "leader",
            Role::Planner => "planner",
            Role::Screen => "screen",
            Role::Worker => "worker",
            Role::Department => "department",
            Role::Public => "public",
        }
    }

    /// True when the role may see single events (title, exact place);
    /// planners, the screen and the public get aggregates only.
    pub fn sees_single_events(self) -> bool {
        matches!(self, Role::Leader | Role::Worker | Role::Department)
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

/// How the caller proved who they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// Nobody vouched: the public.
    Anonymous,
    /// A log-in session cookie (changes need the CSRF token).
    Session,
    /// A kiosk token (`Authorization: Bearer wgk_…`; read-only).
    Kiosk,
    /// The authenticating proxy's headers with its shared secret.
    Proxy,
    /// A bearer JWT of another system (OIDC).
    Jwt,
    /// An Open311 client's `api_key` in its form post (that route only).
    ApiKey,
}

/// Who is asking: account, role and scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Log-in name, token ID (`kiosk:<id>`), proxy user or JWT subject;
    /// `None` for the public.
    pub account: Option<String>,
    /// Name shown in the pages.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// Grids of a worker.
    pub grid_codes: Vec<GridCode>,
    /// Department of a department user (`fire_service`).
    pub department: Option<String>,
    /// How it was proved.
    pub via: Via,
}

impl Identity {
    /// A logged-in account.
    pub fn account(
        name: &str,
        display_name: &str,
        role: Role,
        grid_codes: Vec<GridCode>,
        department: Option<String>,
    ) -> Self {
        Self {
            account: Some(name.to_string()),
            display_name: display_name.to_string(),
            role,
            grid_codes,
            department,
            via: Via::Session,
        }
    }

    /// The public.
    pub fn anonymous() -> Self {
        Self {
            account: None,
            display_name: String::new(),
            role: Role::Public,
            grid_codes: Vec::new(),
            department: None,
            via: Via::Anonymous,
        }
    }

    /// The actor written into timelines, versions and the audit log: the
    /// account, never a client-typed string.
    pub fn actor(&self) -> String {
        match &self.account {
            Some(a) => format!("{}:{a}", self.role.name()),
            None => "public".to_string(),
        }
    }
}

/// A request's access: role and scope.
#[derive(Debug, Clone)]
pub struct Access {
    /// Role.
    pub role: Role,
    /// Grid codes of a worker.
    pub grid_codes: Vec<GridCode>,
    /// Reveal requested with a reason (`X-Wangge-Reveal-Reason`).
    pub reveal_reason: Option<String>,
    /// Who is asking.
    pub identity: Identity,
}

impl<S: Send + Sync> FromRequestParts<S> for Access {
    type Rejection = Infallible;

    /// The access the guard decided; the public when no guard ran.
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<Access>()
            .cloned()
            .unwrap_or_else(|| Access::of(Identity::anonymous(), None)))
    }
}

impl Access {
    /// The access of an identity, with an optional reveal reason.
    pub fn of(identity: Identity, reveal_reason: Option<String>) -> Access {
        Access {
            role: identity.role,
            grid_codes: identity.grid_codes.clone(),
            reveal_reason: reveal_reason.filter(|s| !s.trim().is_empty()),
            identity,
        }
    }

    /// The actor of this request (see [`Identity::actor`]).
    pub fn actor(&self) -> String {
        self.identity.actor()
    }

    /// The department of a department user.
    pub fn department(&self) -> Option<&str> {
        self.identity.department.as_deref()
    }

    /// True when this caller may see a single event handled by `handler`
    /// lying in `grids`: leaders always, workers in their grids, departments
    /// when it is dispatched to them.
    pub fn may_see_event(&self, handler: Option<&str>, in_my_grids: bool) -> bool {
        match self.role {
            Role::Leader => true,
            Role::Worker => in_my_grids,
            Role::Department => match (self.department(), handler) {
                (Some(d), Some(h)) => h.strip_prefix("dept:") == Some(d),
                _ => false,
            },
            _ => false,
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
