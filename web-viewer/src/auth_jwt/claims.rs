//! From the verified claims of a token to a [`JwtIdentity`]: role, grids,
//! department and names, by the claim names of the configuration.

use std::collections::BTreeMap;

use geo_core::ids::GridCode;
use serde_json::{Map, Value};

use super::config::ClaimNames;
use super::{JwtError, JwtIdentity};
use crate::role::Role;

/// The claim `name`: a top-level claim of that name, else a dotted path into
/// nested objects (`realm_access.roles`).
pub(super) fn claim<'a>(claims: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    if let Some(v) = claims.get(name) {
        return Some(v).filter(|v| !v.is_null());
    }
    let mut parts = name.split('.');
    let mut value = claims.get(parts.next()?)?;
    for part in parts {
        value = value.as_object()?.get(part)?;
    }
    Some(value).filter(|v| !v.is_null())
}

fn missing(name: &str) -> JwtError {
    JwtError::MissingClaim { claim: name.into() }
}

fn invalid(name: &str, reason: impl Into<String>) -> JwtError {
    JwtError::InvalidClaim {
        claim: name.into(),
        reason: reason.into(),
    }
}

fn string_claim(claims: &Map<String, Value>, name: &str) -> Result<Option<String>, JwtError> {
    match claim(claims, name) {
        None => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_string())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(other) => Err(invalid(name, format!("expected a string, found {other}"))),
    }
}

/// The strings of a list claim, or of a string claim split at commas.
fn string_list(name: &str, value: &Value) -> Result<Vec<String>, JwtError> {
    let items: Vec<String> = match value {
        Value::String(s) => s.split(',').map(str::to_string).collect(),
        Value::Array(list) => list
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                other => Err(invalid(name, format!("expected strings, found {other}"))),
            })
            .collect::<Result<_, _>>()?,
        other => {
            return Err(invalid(
                name,
                format!("expected a list or a comma-separated string, found {other}"),
            ))
        }
    };
    Ok(items
        .into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect())
}

/// The one role the role claim gives. A string claim must name a role (or
/// a `role_map` key); of a list claim the values that do count, and they
/// must agree on one role. Nothing else falls back to a default.
fn role(
    claims: &Map<String, Value>,
    name: &str,
    role_map: &BTreeMap<String, Role>,
) -> Result<Role, JwtError> {
    let value = claim(claims, name).ok_or_else(|| missing(name))?;
    let lookup = |v: &str| {
        if role_map.is_empty() {
            Role::from_name(v)
        } else {
            role_map.get(v).copied()
        }
    };
    if let Value::String(s) = value {
        return lookup(s.trim()).ok_or_else(|| JwtError::UnknownRole {
            claim: name.into(),
            value: s.clone(),
        });
    }
    let values = string_list(name, value)?;
    let mut roles: Vec<Role> = values.iter().filter_map(|v| lookup(v)).collect();
    roles.sort_by_key(|r| format!("{r:?}"));
    roles.dedup();
    match roles.as_slice() {
        [one] => Ok(*one),
        [] => Err(JwtError::UnknownRole {
            claim: name.into(),
            value: values.join(","),
        }),
        many => Err(JwtError::AmbiguousRole {
            claim: name.into(),
            roles: many
                .iter()
                .map(|r| format!("{r:?}").to_lowercase())
                .collect(),
        }),
    }
}

/// Maps verified claims to a Wangge identity: `subject` and `role` are
/// required, grid codes in a worker's token, a department in a
/// department's; public tokens are refused.
pub(super) fn identity(
    claims: &Map<String, Value>,
    names: &ClaimNames,
    role_map: &BTreeMap<String, Role>,
) -> Result<JwtIdentity, JwtError> {
    let subject = string_claim(claims, &names.subject)?.ok_or_else(|| missing(&names.subject))?;
    let role = role(claims, &names.role, role_map)?;
    if role == Role::Public {
        return Err(JwtError::PublicRole);
    }
    let grid_codes = match claim(claims, &names.grid_codes) {
        None if role == Role::Worker => return Err(missing(&names.grid_codes)),
        None => Vec::new(),
        Some(value) => string_list(&names.grid_codes, value)?
            .iter()
            .map(|code| {
                GridCode::parse(code).map_err(|e| invalid(&names.grid_codes, e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?,
    };
    if role == Role::Worker && grid_codes.is_empty() {
        return Err(invalid(&names.grid_codes, "a worker's token names no grid"));
    }
    let department = string_claim(claims, &names.department)?;
    if role == Role::Department && department.is_none() {
        return Err(missing(&names.department));
    }
    Ok(JwtIdentity {
        subject,
        role,
        grid_codes,
        department,
        display_name: string_claim(claims, &names.display_name)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    fn groups() -> BTreeMap<String, Role> {
        BTreeMap::from([
            ("/town/leaders".to_string(), Role::Leader),
            ("/town/workers".to_string(), Role::Worker),
            ("/town/screen".to_string(), Role::Screen),
        ])
    }

    #[test]
    fn maps_a_worker() {
        let c = map(json!({
            "sub": "u1", "name": "张三", "wangge_role": "grid_worker",
            "wangge_grids": "110101001001001, 110101001001002", "wangge_department": "综治办"
        }));
        let id = identity(&c, &ClaimNames::default(), &BTreeMap::new()).unwrap();
        assert_eq!(id.subject, "u1");
        assert_eq!(id.role, Role::Worker);
        assert_eq!(id.grid_codes.len(), 2);
        assert_eq!(id.grid_codes[1].as_str(), "110101001001002");
        assert_eq!(id.department.as_deref(), Some("综治办"));
        assert_eq!(id.display_name.as_deref(), Some("张三"));
    }

    #[test]
    fn role_from_groups_and_nested_claims() {
        let names = ClaimNames {
            role: "realm_access.groups".into(),
            ..ClaimNames::default()
        };
        let with = |g: Value| map(json!({"sub": "s", "realm_access": {"groups": g}}));
        let r = |g: Value| identity(&with(g), &names, &groups()).map(|i| i.role);
        assert_eq!(
            r(json!(["offline_access", "/town/leaders"])).unwrap(),
            Role::Leader
        );
        assert_eq!(
            r(json!(["/town/leaders", "/town/leaders"])).unwrap(),
            Role::Leader
        );
        assert!(matches!(
            r(json!(["/town/leaders", "/town/screen"])),
            Err(JwtError::AmbiguousRole { roles, .. }) if roles == ["leader", "screen"]
        ));
        // With a map, a bare role name is not a role.
        assert!(matches!(
            r(json!(["leader", "admins"])),
            Err(JwtError::UnknownRole { value, .. }) if value == "leader,admins"
        ));
        assert!(matches!(
            r(json!("admins")),
            Err(JwtError::UnknownRole { .. })
        ));
        assert!(matches!(r(json!(5)), Err(JwtError::InvalidClaim { .. })));
    }

    #[test]
    fn refuses_what_it_cannot_map() {
        let none = BTreeMap::new();
        let names = ClaimNames::default();
        let err = |v: Value| identity(&map(v), &names, &none).unwrap_err();
        assert!(matches!(err(json!({"wangge_role": "leader"})),
            JwtError::MissingClaim { claim } if claim == "sub"));
        assert!(matches!(err(json!({"sub": "s"})),
            JwtError::MissingClaim { claim } if claim == "wangge_role"));
        assert!(matches!(err(json!({"sub": "s", "wangge_role": "admin"})),
            JwtError::UnknownRole { value, .. } if value == "admin"));
        assert!(matches!(
            err(json!({"sub": "s", "wangge_role": "public"})),
            JwtError::PublicRole
        ));
        assert!(matches!(err(json!({"sub": "s", "wangge_role": "worker"})),
            JwtError::MissingClaim { claim } if claim == "wangge_grids"));
        assert!(matches!(
            err(json!({"sub": "s", "wangge_role": "worker", "wangge_grids": []})),
            JwtError::InvalidClaim { .. }
        ));
        assert!(
            matches!(err(json!({"sub": "s", "wangge_role": "worker", "wangge_grids": ["12"]})),
            JwtError::InvalidClaim { claim, reason } if claim == "wangge_grids" && reason.contains("12"))
        );
        assert!(
            matches!(err(json!({"sub": "s", "wangge_role": "department"})),
            JwtError::MissingClaim { claim } if claim == "wangge_department")
        );
        assert!(
            matches!(err(json!({"sub": ["s"], "wangge_role": "leader"})),
            JwtError::InvalidClaim { claim, .. } if claim == "sub")
        );
    }
}
