//! The six governance elements 人/房/地/事/情/组织 and the grid hierarchy.

mod admin;
mod assignment;
mod event;
mod housing;
pub mod lifecycle;
mod organisation;
mod person;
mod place;
mod road;
mod sentiment;
mod visit;
#[macro_use]
pub mod vocab;

pub use admin::{Community, Grid, GridKind, Town, Worker, WorkerRole};
pub use assignment::GridRefs;
pub use event::{Event, EventSource, EventStatus, Grade};
pub use housing::{Building, BuildingUse, Compound, CompoundEra, Household, Tenure, Unit};
pub use organisation::{Organisation, OrganisationKind};
pub use person::{Person, PersonTag, Sex};
pub use place::{Place, PlaceCategory, ServiceKind};
pub use road::{Road, RoadClass};
pub use sentiment::{Sentiment, SentimentKind, SentimentLink};
pub use visit::{schedule_days, Need, NeedCategory, Visit, VisitKind, RISK_TAGS, SCHEDULE};
