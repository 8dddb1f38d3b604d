//! The tile layers, their attributes (the schema used by TileJSON and
//! `LAYERS.md`) and the zooms at which each kind of feature appears.

use crate::error::TileError;

/// A tile layer. [`Layer::All`] is the composite of every other layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Layer {
    /// Base map: rivers, lakes, ponds (places of category `water`).
    Water,
    /// Base map: squares, parks, green space (places of category `public_space`).
    Green,
    /// Base map: road centre lines.
    Roads,
    /// Community and village boundaries.
    Communities,
    /// Grid boundaries of every kind.
    Grids,
    /// Residential compounds.
    Compounds,
    /// Building footprints with heights for 3-D extrusion.
    Buildings,
    /// Places (facilities, parcels, POIs).
    Places,
    /// Events (never reporter data).
    Events,
    /// H3 hexagons and weighted centroids of event counts.
    Heatmap,
    /// Name points of communities, grids and compounds.
    Labels,
    /// Every layer above in one tile.
    All,
}

/// The MVT type of an attribute, as TileJSON `vector_layers` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// A string.
    String,
    /// An integer or float.
    Number,
    /// A boolean.
    Boolean,
}

impl FieldType {
    /// TileJSON's name: `String`, `Number` or `Boolean`.
    pub fn tilejson_name(self) -> &'static str {
        match self {
            Self::String => "String",
            Self::Number => "Number",
            Self::Boolean => "Boolean",
        }
    }
}

/// One attribute of a layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// Attribute key.
    pub name: &'static str,
    /// Value type.
    pub kind: FieldType,
    /// What it holds.
    pub doc: &'static str,
}

const fn f(name: &'static str, kind: FieldType, doc: &'static str) -> Field {
    Field { name, kind, doc }
}

use FieldType::{Boolean as B, Number as N, String as S};

const WATER: &[Field] = &[f("name", S, "name of the river or lake, if any")];
const GREEN: &[Field] = &[
    f("name", S, "name of the square or park, if any"),
    f("service", S, "service code (e.g. `park`), if any"),
];
const ROADS: &[Field] = &[
    f(
        "class",
        S,
        "`arterial` (z10+), `local` (z12+), `alley` (z14+), `path` (z15+)",
    ),
    f("name", S, "street name, if any"),
];
const COMMUNITIES: &[Field] = &[
    f("code", S, "12-digit division code"),
    f("name", S, "community or village name"),
    f("is_village", B, "true for a village (村)"),
];
const GRIDS: &[Field] = &[
    f("code", S, "unified grid code"),
    f("name", S, "grid display name"),
    f(
        "kind",
        S,
        "`comprehensive` (z11+), `dedicated` (z12+), `micro` (z14+)",
    ),
    f(
        "workers",
        N,
        "number of assigned workers (never their names)",
    ),
];
const COMPOUNDS: &[Field] = &[
    f("name", S, "compound name"),
    f("era", S, "compound era code (e.g. `walkup_1980s`)"),
    f("built_year", N, "year built, if known"),
];
const BUILDINGS: &[Field] = &[
    f("levels", N, "floors above ground (estimated 1 if unknown)"),
    f("height", N, "height in metres (levels × 3 m if unknown)"),
    f("min_height", N, "base height in metres (always 0)"),
    f("households", N, "dwellings in the building"),
    f("usage", S, "building use code (e.g. `residential`)"),
    f("units", N, "entrances / stairwells"),
];
const PLACES: &[Field] = &[
    f(
        "category",
        S,
        "`facility`, `parcel`, `public_space`, `poi` or `water`",
    ),
    f("service", S, "service code (e.g. `clinic`), if any"),
    f("name", S, "place name"),
];
const EVENTS: &[Field] = &[
    f("category", S, "taxonomy code `NN.MM` (exact only)"),
    f(
        "group",
        S,
        "first-level taxonomy code `NN` (aggregated: the most frequent of the point)",
    ),
    f("status", S, "event status code (e.g. `dispatched`) (exact only)"),
    f(
        "grade",
        S,
        "`urgent`, `major`, `general` or `minor` (aggregated: the most severe of the point)",
    ),
    f(
        "source",
        S,
        "`patrol`, `hotline`, `resident`, `sensor` or `demo` (the demo feed's) (exact only)",
    ),
    f(
        "overdue",
        B,
        "open past its deadline at the time of the request (aggregated: true for all events of the point)",
    ),
    f("reported_at", N, "unix seconds (exact only)"),
    f(
        "count",
        N,
        "events the point stands for, at least k (aggregated only)",
    ),
    f(
        "res",
        N,
        "H3 resolution of the cell (aggregated only)",
    ),
    f(
        "cell",
        S,
        "H3 cell index (hex string) (aggregated only)",
    ),
];
const HEATMAP: &[Field] = &[
    f(
        "kind",
        S,
        "`hex` (H3 cell polygon) or `point` (count-weighted centroid)",
    ),
    f("count", N, "events in the cell matching the filter"),
    f("res", N, "H3 resolution (7 at z≤10 … 10 at z≥15)"),
    f("cell", S, "H3 cell index (hex string)"),
];
const LABELS: &[Field] = &[
    f("kind", S, "`community` (z11+), `comprehensive`/`dedicated` grid (z13+), `micro` grid (z15+), `compound` (z15+)"),
    f("name", S, "the name shown"),
];

const EVENTS_NOTE: &str = "Two variants, chosen by the role of the request (by `TileFilter::min_count`):\n\n\
- **exact** (k = 1: leader, worker, the roles with personal-data access): one point per event at its location \
(thinned to one per 16 tile units below z15), with `category`, `group`, `status`, `grade`, `source`, `overdue` and `reported_at`.\n\
- **aggregated** (k > 1, default 3: big screen, planner, department, public, and `wangge tiles export`): \
no point is a single event. Matching events are grouped by H3 cell at the heatmap's resolution for the zoom \
(8 at z12, 9 at z13–14, 10 at z15+) and by overdue / not overdue; a group of fewer than k events is merged into \
its cell one resolution coarser, then two (never coarser than 7), and dropped if still under k. Each point sits \
at its cell's centre and carries `count` (≥ k), `overdue`, the most severe `grade`, the most frequent `group`, `res` and `cell`; \
no `category`, `status`, `source` or time. The big screen keeps its overdue halos (`overdue` = true) \
and grade colours, at the same k and cells as the `heatmap` layer, so the two cannot be combined to single out a household.\n\n\
Tiles of this layer (and of `all`) change when an open event turns overdue: the server caches them until the \
next such instant in their reach (`TileSet::tile_with_expiry`) and sends `Cache-Control: max-age` no longer than that.\n";

impl Layer {
    /// Every layer, composite last, in drawing order.
    pub const ALL: &'static [Layer] = &[
        Layer::Water,
        Layer::Green,
        Layer::Roads,
        Layer::Communities,
        Layer::Grids,
        Layer::Compounds,
        Layer::Buildings,
        Layer::Places,
        Layer::Events,
        Layer::Heatmap,
        Layer::Labels,
        Layer::All,
    ];

    /// The layers a composite tile holds, in drawing order.
    pub const PARTS: &'static [Layer] = &[
        Layer::Water,
        Layer::Green,
        Layer::Roads,
        Layer::Communities,
        Layer::Grids,
        Layer::Compounds,
        Layer::Buildings,
        Layer::Places,
        Layer::Events,
        Layer::Heatmap,
        Layer::Labels,
    ];

    /// The layer name used in URLs and as the MVT layer name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Water => "water",
            Self::Green => "green",
            Self::Roads => "roads",
            Self::Communities => "communities",
            Self::Grids => "grids",
            Self::Compounds => "compounds",
            Self::Buildings => "buildings",
            Self::Places => "places",
            Self::Events => "events",
            Self::Heatmap => "heatmap",
            Self::Labels => "labels",
            Self::All => "all",
        }
    }

    /// Parses a layer name.
    ///
    /// ```
    /// use tiles::Layer;
    /// assert_eq!(Layer::parse("grids").unwrap(), Layer::Grids);
    /// assert!(Layer::parse("people").is_err());
    /// ```
    pub fn parse(s: &str) -> Result<Self, TileError> {
        Self::ALL
            .iter()
            .copied()
            .find(|l| l.name() == s)
            .ok_or_else(|| TileError::UnknownLayer {
                name: s.to_string(),
                expected: Self::ALL
                    .iter()
                    .map(|l| l.name())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    /// The attributes of the layer (empty for [`Layer::All`]).
    pub fn fields(self) -> &'static [Field] {
        match self {
            Self::Water => WATER,
            Self::Green => GREEN,
            Self::Roads => ROADS,
            Self::Communities => COMMUNITIES,
            Self::Grids => GRIDS,
            Self::Compounds => COMPOUNDS,
            Self::Buildings => BUILDINGS,
            Self::Places => PLACES,
            Self::Events => EVENTS,
            Self::Heatmap => HEATMAP,
            Self::Labels => LABELS,
            Self::All => &[],
        }
    }

    /// The lowest zoom at which the layer has any feature.
    pub fn min_zoom(self) -> u8 {
        match self {
            Self::Heatmap | Self::All => 0,
            Self::Water | Self::Green => 8,
            Self::Communities => 9,
            Self::Roads => 10,
            Self::Grids | Self::Labels => 11,
            Self::Events => 12,
            Self::Places => 13,
            Self::Compounds | Self::Buildings => 14,
        }
    }

    /// Extra notes for `LAYERS.md`, if any.
    pub fn note(self) -> Option<&'static str> {
        match self {
            Self::Events => Some(EVENTS_NOTE),
            _ => None,
        }
    }

    /// A one-line description.
    pub fn doc(self) -> &'static str {
        match self {
            Self::Water => "rivers, lakes, ponds (base map)",
            Self::Green => "squares, parks, green space (base map)",
            Self::Roads => "road centre lines by class",
            Self::Communities => "community / village boundaries",
            Self::Grids => "grid boundaries; `kind` decides the zoom",
            Self::Compounds => "residential compound walls",
            Self::Buildings => "footprints with heights for `fill-extrusion`",
            Self::Places => "facilities, parcels, POIs",
            Self::Events => "events, filtered; thinned at low zoom; no reporter data; aggregated to H3 cells (k-anonymous) for roles without personal-data access",
            Self::Heatmap => "H3 hexagons + weighted centroids; k-anonymous",
            Self::Labels => "name points",
            Self::All => "composite of every layer",
        }
    }
}

impl std::fmt::Display for Layer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Layer {
    type Err = TileError;
    fn from_str(s: &str) -> Result<Self, TileError> {
        Self::parse(s)
    }
}

/// Renders the markdown table of every layer's attributes (`tiles/LAYERS.md`
/// is this text; a test keeps the two in sync).
pub fn layers_markdown() -> String {
    let mut out = String::from(
        "# Tile layers\n\nGenerated from `tiles::Layer::fields` (a test keeps this file in sync: \
         regenerate with `cargo run -p tiles --example dump -- OUTDIR` and copy `LAYERS.md`).\n\
         No layer ever carries a person's name, ID number or phone, nor an event's reporter.\n\n\
         | layer | min zoom | description |\n|---|---|---|\n",
    );
    for l in Layer::ALL {
        out.push_str(&format!(
            "| `{}` | {} | {} |\n",
            l.name(),
            l.min_zoom(),
            l.doc()
        ));
    }
    for l in Layer::PARTS {
        out.push_str(&format!(
            "\n## `{}`\n\n| attribute | type | meaning |\n|---|---|---|\n",
            l.name()
        ));
        for fd in l.fields() {
            out.push_str(&format!(
                "| `{}` | {} | {} |\n",
                fd.name,
                fd.kind.tilejson_name(),
                fd.doc
            ));
        }
        if let Some(note) = l.note() {
            out.push('\n');
            out.push_str(note);
        }
    }
    out
}
