//! A macro for closed vocabularies: enums with a stable snake_case code used in
//! the store, CSV, JSON and the API, and a clear error for unknown values.

/// Declares a closed vocabulary enum with `code()`, `parse()`, `ALL`, serde
/// and, for vocabularies the pages show, display names:
/// `Variant => "code" ("中文", "English")` (`labels()`; the pages' `vocab.js`
/// is generated from them).
#[macro_export]
macro_rules! vocab {
    (@labels ($zh:literal, $en:literal)) => { Some(($zh, $en)) };
    (@labels) => { None };
    ($(#[$doc:meta])* $name:ident, $label:literal { $($(#[$vdoc:meta])* $variant:ident => $code:literal $(($zh:literal, $en:literal))?),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// The stable code used in the store and on the wire.
            pub fn code(self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }
            /// Display names `(中文, English)`, when the vocabulary declares them.
            pub fn labels(self) -> Option<(&'static str, &'static str)> {
                match self { $($name::$variant => $crate::vocab!(@labels $(($zh, $en))?)),+ }
            }
            /// Parses a code (case-insensitive, `-` and ` ` read as `_`).
            pub fn parse(s: &str) -> Result<Self, $crate::error::IdError> {
                let norm = s.trim().to_ascii_lowercase().replace(['-', ' '], "_");
                match norm.as_str() {
                    $($code => Ok($name::$variant),)+
                    _ => Err($crate::error::IdError::Unknown {
                        kind: $label,
                        value: s.to_string(),
                        expected: [$($code),+].join(", "),
                    }),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.code())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::error::IdError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.code())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}
