//! End-to-end tests: a real DuckDB file, the real router through `oneshot`.

mod analytics;
mod assign;
mod auth;
mod common;
mod demo;
mod events;
mod household;
mod http;
mod matrix;
mod ogc;
mod ogc_filter;
mod onboarding;
mod open311;
mod photos;
mod realdata;
mod store;
mod tiles_http;
mod town;
mod versions;
