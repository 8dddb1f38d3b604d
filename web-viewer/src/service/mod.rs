//! The service layer: what the CLI and the HTTP routes both do, without
//! HTTP or command-line concerns. Routes and `cli/` call these modules;
//! routes never call `cli/`.

pub mod demo_feed;
pub mod event_loop;
pub mod export;
pub mod features;
pub mod household;
pub mod import;
pub mod intake_queue;
pub mod photos;
pub mod regrid;
pub mod regrid_jobs;
pub mod report;
