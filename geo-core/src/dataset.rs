//! A [`Dataset`]: a batch of linked elements of one town, as produced by the
//! demo generator or an import, written to the store and loaded from it.
//! Large generators stream several datasets through a [`DatasetSink`].

use serde::{Deserialize, Serialize};

use crate::model::{
    Building, Community, Compound, Event, Grid, Household, Organisation, Person, Place, Road,
    Sentiment, Town, Unit,
};

/// A batch of elements. Order inside each vector carries no meaning.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Dataset {
    /// The town (set on the first batch of a town).
    pub town: Option<Town>,
    /// Communities.
    pub communities: Vec<Community>,
    /// Grids of every kind.
    pub grids: Vec<Grid>,
    /// Compounds.
    pub compounds: Vec<Compound>,
    /// Buildings.
    pub buildings: Vec<Building>,
    /// Units.
    pub units: Vec<Unit>,
    /// Households.
    pub households: Vec<Household>,
    /// People.
    pub persons: Vec<Person>,
    /// Places.
    pub places: Vec<Place>,
    /// Events.
    pub events: Vec<Event>,
    /// Sentiment records.
    pub sentiments: Vec<Sentiment>,
    /// Organisations.
    pub organisations: Vec<Organisation>,
    /// Roads.
    pub roads: Vec<Road>,
}

impl Dataset {
    /// Appends every element of `other`.
    pub fn extend(&mut self, other: Dataset) {
        if self.town.is_none() {
            self.town = other.town;
        }
        self.communities.extend(other.communities);
        self.grids.extend(other.grids);
        self.compounds.extend(other.compounds);
        self.buildings.extend(other.buildings);
        self.units.extend(other.units);
        self.households.extend(other.households);
        self.persons.extend(other.persons);
        self.places.extend(other.places);
        self.events.extend(other.events);
        self.sentiments.extend(other.sentiments);
        self.organisations.extend(other.organisations);
        self.roads.extend(other.roads);
    }

    /// Total number of elements of all kinds.
    pub fn len(&self) -> usize {
        self.communities.len()
            + self.grids.len()
            + self.compounds.len()
            + self.buildings.len()
            + self.units.len()
            + self.households.len()
            + self.persons.len()
            + self.places.len()
            + self.events.len()
            + self.sentiments.len()
            + self.organisations.len()
            + self.roads.len()
    }

    /// True when the batch holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0 && self.town.is_none()
    }
}

/// Receives datasets one batch at a time (for streaming generation/imports).
pub trait DatasetSink {
    /// The sink's error.
    type Error;
    /// Takes one batch. Batches may refer to elements of earlier batches.
    fn accept(&mut self, batch: Dataset) -> Result<(), Self::Error>;
}

impl DatasetSink for Dataset {
    type Error = std::convert::Infallible;
    fn accept(&mut self, batch: Dataset) -> Result<(), Self::Error> {
        self.extend(batch);
        Ok(())
    }
}
