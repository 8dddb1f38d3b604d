//! The one integration-test binary of wangge-data.

#[path = "it/demo.rs"]
mod demo;
#[path = "it/realdata.rs"]
mod realdata;
