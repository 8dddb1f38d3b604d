//! Error types of the domain layer. Every variant carries the offending value
//! and the reason, so a message can name what was wrong.

use thiserror::Error;

/// An identifier or code that failed validation.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum IdError {
    /// Numeric IDs are non-zero.
    #[error("{kind} ID cannot be 0")]
    Zero {
        /// Which kind of ID.
        kind: &'static str,
    },
    /// Numeric IDs are unsigned integers.
    #[error("{kind} ID {value:?} is not a positive integer")]
    NotANumber {
        /// Which kind of ID.
        kind: &'static str,
        /// The text given.
        value: String,
    },
    /// A bad administrative division code.
    #[error("division code {value:?} is invalid: {reason}")]
    DivisionCode {
        /// The text given.
        value: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// A bad unified grid code.
    #[error("grid code {value:?} is invalid: {reason}")]
    GridCode {
        /// The text given.
        value: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// A bad national ID number (shown masked).
    #[error("national ID number {value} is invalid: {reason}")]
    NationalId {
        /// The masked text given.
        value: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// A bad phone number (shown masked).
    #[error("phone number {value} is invalid: expected 7–13 digits")]
    Phone {
        /// The masked text given.
        value: String,
    },
    /// A value outside a closed vocabulary (event category, grid kind…).
    #[error("unknown {kind} {value:?}; expected one of: {expected}")]
    Unknown {
        /// Which vocabulary.
        kind: &'static str,
        /// The text given.
        value: String,
        /// The accepted values.
        expected: String,
    },
}
