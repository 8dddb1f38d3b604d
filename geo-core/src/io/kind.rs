//! The kinds of element a file can hold.

use std::fmt;
use std::str::FromStr;

use crate::error::IdError;

/// A kind of element: what one import or export file holds.
///
/// ```
/// use geo_core::io::ElementKind;
/// assert_eq!(ElementKind::parse("person").unwrap(), ElementKind::Persons);
/// assert_eq!(ElementKind::parse("Persons").unwrap().as_str(), "persons");
/// assert!(ElementKind::parse("cats").is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ElementKind {
    /// Communities / villages (社区/村).
    Communities,
    /// Grids of every kind (网格).
    Grids,
    /// Residential compounds (小区).
    Compounds,
    /// Buildings (楼栋).
    Buildings,
    /// Units / stairwells (单元).
    Units,
    /// Households (户).
    Households,
    /// People (人).
    Persons,
    /// Places (地).
    Places,
    /// Events (事).
    Events,
    /// Sentiment records (情).
    Sentiments,
    /// Organisations (组织).
    Organisations,
    /// Roads.
    Roads,
}

impl ElementKind {
    /// True for the kinds whose files are not registers (building outlines,
    /// compounds, places, roads, organisations): their IDs link nothing in
    /// another file of theirs, so they may be numbered by position
    /// ([`crate::io::ImportOptions::auto_ids`], `--ids auto`).
    pub fn accepts_auto_ids(self) -> bool {
        matches!(
            self,
            Self::Buildings | Self::Compounds | Self::Places | Self::Roads | Self::Organisations
        )
    }

    /// Every kind, in dependency order (a kind only refers to earlier ones,
    /// except self-references and sentiments → events).
    pub const ALL: &'static [ElementKind] = &[
        Self::Communities,
        Self::Grids,
        Self::Compounds,
        Self::Buildings,
        Self::Units,
        Self::Households,
        Self::Persons,
        Self::Places,
        Self::Events,
        Self::Sentiments,
        Self::Organisations,
        Self::Roads,
    ];

    /// The plural code used on the command line and in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Communities => "communities",
            Self::Grids => "grids",
            Self::Compounds => "compounds",
            Self::Buildings => "buildings",
            Self::Units => "units",
            Self::Households => "households",
            Self::Persons => "persons",
            Self::Places => "places",
            Self::Events => "events",
            Self::Sentiments => "sentiments",
            Self::Organisations => "organisations",
            Self::Roads => "roads",
        }
    }

    /// The singular form (`person`, `community`…), used in messages.
    pub fn singular(self) -> &'static str {
        match self {
            Self::Communities => "community",
            Self::Grids => "grid",
            Self::Compounds => "compound",
            Self::Buildings => "building",
            Self::Units => "unit",
            Self::Households => "household",
            Self::Persons => "person",
            Self::Places => "place",
            Self::Events => "event",
            Self::Sentiments => "sentiment",
            Self::Organisations => "organisation",
            Self::Roads => "road",
        }
    }

    /// Parses a kind, singular or plural, case-insensitive (`people` and the
    /// US spelling `organizations` are accepted too).
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let norm = s.trim().to_ascii_lowercase();
        let alias = match norm.as_str() {
            "people" => Some(Self::Persons),
            "organization" | "organizations" => Some(Self::Organisations),
            _ => None,
        };
        alias
            .or_else(|| {
                Self::ALL
                    .iter()
                    .copied()
                    .find(|k| k.as_str() == norm || k.singular() == norm)
            })
            .ok_or_else(|| IdError::Unknown {
                kind: "element kind",
                value: s.to_string(),
                expected: Self::ALL
                    .iter()
                    .map(|k| k.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}

impl fmt::Display for ElementKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ElementKind {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        Self::parse(s)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn singular_and_plural() {
        for k in ElementKind::ALL {
            assert_eq!(ElementKind::parse(k.as_str()).unwrap(), *k);
            assert_eq!(ElementKind::parse(k.singular()).unwrap(), *k);
            assert_eq!(ElementKind::parse(&k.as_str().to_uppercase()).unwrap(), *k);
        }
        let err = ElementKind::parse("cat").unwrap_err().to_string();
        assert!(err.contains("cat") && err.contains("households"), "{err}");
    }
}
