//! The JSON bodies of the POST routes: the first byte picks the request
//! type, the rest is the body, deserialised as the route does (then checked
//! where the route checks more).
#![no_main]

use libfuzzer_sys::fuzz_target;
use web_viewer::auth::admin::NewAccount;
use web_viewer::auth::routes::{KioskLogin, Login};
use web_viewer::routes::api::{Intake, Lookup};
use web_viewer::routes::events::{MergeBody, TransitionBody};
use web_viewer::routes::households::{NeedBody, VisitBody};
use web_viewer::service::regrid::RegridRequest;

fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Option<T> {
    serde_json::from_slice(body).ok()
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, body)) = data.split_first() else {
        return;
    };
    match which % 10 {
        0 => drop(parse::<Intake>(body)),
        1 => drop(parse::<TransitionBody>(body)),
        2 => drop(parse::<MergeBody>(body)),
        3 => drop(parse::<NeedBody>(body)),
        4 => drop(parse::<VisitBody>(body)),
        5 => drop(parse::<Lookup>(body)),
        6 => drop(parse::<Login>(body)),
        7 => drop(parse::<KioskLogin>(body)),
        8 => drop(parse::<NewAccount>(body)),
        _ => {
            if let Some(r) = parse::<RegridRequest>(body) {
                let _ = r.params();
            }
        }
    }
});
