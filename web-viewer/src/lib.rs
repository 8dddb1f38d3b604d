//! # web-viewer
//!
//! The composition root of Wangge: the `wangge` command line, the axum
//! server (JSON API, vector tiles, style, glyphs, server-sent events) and the
//! embedded viewer, big-screen and embed pages. It is the only crate that
//! knows HTTP, configuration, environment, tracing and file paths.

pub mod answers;
pub mod app;
pub mod auth;
pub mod auth_jwt;
pub mod cli;
pub mod clock;
pub mod config;
pub mod error;
pub mod ingest;
pub mod listener;
pub mod ogc;
pub mod open311;
pub mod present;
pub mod query;
pub mod read_cache;
pub mod role;
pub mod routes;
pub mod service;
pub mod state;
pub mod tile_cache;
pub mod view;
pub mod vocab_js;

pub use app::app;
pub use config::ServerConfig;
pub use state::AppState;
