//! Demo generator tests (filled by the demo engineer).
