//! The MapLibre style (offline base map + governance layers) and TileJSON 3.0
//! documents.
//!
//! This is the one definition of how the map looks: the viewer, big screen
//! and embed pages load `/style.json` as it is and only change what the user
//! chooses (layer visibility, the event filters of the event and heatmap tile
//! URLs). The pages read from the style's metadata which layers a toggle shows
//! (`wangge:toggle` on a layer), which layers answer clicks (`wangge:pick`) and
//! the legend's colours (`wangge:legend` on the style), so a colour is written
//! once, in [`COLOURS`] or [`HEAT_RAMP`].
//!
//! Labels use the `Wangge Sans` font stack served by [`crate::glyphs`] for
//! Latin text; Chinese text is drawn by the browser's own CJK font through
//! `localIdeographFontFamily`, which the client sets in its map options (a
//! style cannot set it).

use serde_json::{json, Value};

use crate::glyphs::FONT_STACK;
use crate::layer::Layer;

/// Label language of the style.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// Chinese (default names).
    Zh,
    /// English.
    En,
}

impl Lang {
    /// Parses `zh` or `en` (anything else is Chinese).
    pub fn parse(s: &str) -> Self {
        one_word(s, "en", Self::En, Self::Zh)
    }
}

/// `yes` when `s` is `word` (trimmed, any case), else `no`.
fn one_word<T>(s: &str, word: &str, yes: T, no: T) -> T {
    if s.trim().eq_ignore_ascii_case(word) {
        yes
    } else {
        no
    }
}

/// Palette of the style.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Theme {
    /// Light base map (viewer, embed).
    Light,
    /// Dark base map for the command centre's wall (`/screen`).
    Dark,
}

impl Theme {
    /// Parses `dark` or `light` (anything else is light).
    pub fn parse(s: &str) -> Self {
        one_word(s, "dark", Self::Dark, Self::Light)
    }
}

/// What a style is made for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StyleOptions {
    /// Label language.
    pub lang: Lang,
    /// Palette.
    pub theme: Theme,
    /// Highest zoom the server makes tiles for (sources overzoom above it).
    pub max_zoom: u8,
}

impl Default for StyleOptions {
    fn default() -> Self {
        Self {
            lang: Lang::Zh,
            theme: Theme::Light,
            max_zoom: 16,
        }
    }
}

/// Colours of the governance layers and the legend, by toggle key (the keys
/// the pages' layer list and URLs use).
pub const COLOURS: &[(&str, &str)] = &[
    ("communities", "#7b61ff"),
    ("grids-comprehensive", "#1f6feb"),
    ("grids-micro", "#2da44e"),
    ("grids-dedicated", "#d4731c"),
    ("compounds", "#8c6d46"),
    ("buildings", "#9aa4b1"),
    ("buildings3d", "#b7bec8"),
    ("places-facility", "#0a9396"),
    ("places-public_space", "#52b788"),
    ("places-poi", "#6c757d"),
    ("places-parcel", "#c9ada7"),
    ("events", "#e85d04"),
    ("overdue", "#d00000"),
    ("mine", "#c2255c"),
];

/// Colour ramp of event counts, few to many: hexagons and the density layer.
pub const HEAT_RAMP: [&str; 5] = ["#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026"];

/// Outline of the selected grid.
pub const SELECTED: &str = "#ffd400";

/// The wall's live events.
pub const LIVE: &str = "#3fb6ff";

/// Background of the light base map (also the legend's `base` swatch).
const PAPER: &str = "#f4f1ea";

/// The colour of a toggle key in [`COLOURS`].
///
/// ```
/// assert_eq!(tiles::style::colour("overdue"), "#d00000");
/// ```
pub fn colour(key: &str) -> &'static str {
    COLOURS
        .iter()
        .find(|(k, _)| *k == key)
        .map_or("#999999", |(_, c)| c)
}

/// Grid kinds in drawing order (the micro-grids, the smallest, on top).
const GRID_KINDS: [&str; 3] = ["comprehensive", "dedicated", "micro"];
/// Place categories in drawing order.
const PLACE_KINDS: [&str; 4] = ["parcel", "public_space", "poi", "facility"];

fn source(base: &str, layer: Layer, query: &str, max_zoom: u8) -> Value {
    json!({
        "type": "vector",
        "tiles": [format!("{base}/tiles/{}/{{z}}/{{x}}/{{y}}.mvt{query}", layer.name())],
        "minzoom": 0,
        "maxzoom": max_zoom,
        "attribution": "Wangge",
    })
}

/// One layer drawing `layer`'s tiles from source `src`.
fn l(id: &str, kind: &str, src: &str, layer: Layer, paint: Value) -> Value {
    json!({"id": id, "type": kind, "source": src, "source-layer": layer.name(), "paint": paint})
}

fn with(mut v: Value, key: &str, val: Value) -> Value {
    if let Some(o) = v.as_object_mut() {
        o.insert(key.to_string(), val);
    }
    v
}

/// Tags a layer with the toggle that shows it and, when it answers clicks,
/// what a click on it selects.
fn tag(v: Value, toggle: &str, pick: Option<&str>) -> Value {
    let mut meta = serde_json::Map::new();
    meta.insert("wangge:toggle".into(), json!(toggle));
    if let Some(p) = pick {
        meta.insert("wangge:pick".into(), json!(p));
    }
    with(v, "metadata", Value::Object(meta))
}

/// A layer `id` of type `kind` drawing the grids of kind `k`, from the zoom
/// that kind is drawn at (micro-grids from [`MICRO_GRID_ZOOM`], the others
/// always).
fn grid_layer(id: &str, kind: &str, k: &str, paint: Value) -> Value {
    let layer = with(
        l(id, kind, "grids", Layer::Grids, paint),
        "filter",
        kind_is(k),
    );
    if k == "micro" {
        with(layer, "minzoom", json!(MICRO_GRID_ZOOM))
    } else {
        layer
    }
}

/// A GeoJSON source the page fills itself (the wall's live events, the
/// caller's open events).
fn page_filled_source() -> Value {
    json!({"type": "geojson", "data": {"type": "FeatureCollection", "features": []}})
}

fn kind_is(k: &str) -> Value {
    json!(["==", ["get", "kind"], k])
}

fn polygons_of(category: &str) -> Value {
    json!([
        "all",
        ["==", ["geometry-type"], "Polygon"],
        ["==", ["get", "category"], category]
    ])
}

fn points_of(category: &str) -> Value {
    json!([
        "all",
        ["==", ["geometry-type"], "Point"],
        ["==", ["get", "category"], category]
    ])
}

/// The base map under the governance layers: background, water, green, roads.
fn base_below(theme: Theme) -> Vec<Value> {
    let dark = theme == Theme::Dark;
    let pick = |light: &'static str, dark_c: &'static str| if dark { dark_c } else { light };
    let road = |id: &str, class: &str, minzoom: u8, paint: Value| {
        tag(
            with(
                with(
                    l(id, "line", "roads", Layer::Roads, paint),
                    "filter",
                    json!(["==", ["get", "class"], class]),
                ),
                "minzoom",
                json!(minzoom),
            ),
            "base",
            None,
        )
    };
    let road_colour = pick("#ffffff", "#24344f");
    vec![
        json!({"id": "background", "type": "background", "paint": {"background-color": pick(PAPER, "#0a1224")}}),
        tag(
            with(
                l(
                    "water",
                    "fill",
                    "water",
                    Layer::Water,
                    json!({"fill-color": pick("#a5d8ff", "#0f2a4a")}),
                ),
                "minzoom",
                json!(8),
            ),
            "base",
            None,
        ),
        tag(
            with(
                l(
                    "green",
                    "fill",
                    "green",
                    Layer::Green,
                    json!({"fill-color": pick("#c3e6cb", "#101a30"), "fill-opacity": 0.8}),
                ),
                "minzoom",
                json!(8),
            ),
            "base",
            None,
        ),
        road(
            "roads-path",
            "path",
            15,
            json!({"line-color": pick("#ced4da", "#24344f"), "line-width": 1, "line-dasharray": [2, 2]}),
        ),
        road(
            "roads-alley",
            "alley",
            14,
            json!({"line-color": road_colour, "line-width": ["interpolate", ["linear"], ["zoom"], 14, 1, 18, 4]}),
        ),
        road(
            "roads-local",
            "local",
            12,
            json!({"line-color": road_colour, "line-width": ["interpolate", ["linear"], ["zoom"], 12, 1, 18, 8]}),
        ),
        road(
            "roads-arterial",
            "arterial",
            10,
            json!({"line-color": pick("#ffd43b", "#24344f"), "line-width": ["interpolate", ["linear"], ["zoom"], 10, 1.5, 18, 14]}),
        ),
    ]
}

/// Road and name labels, drawn over everything.
fn base_above(theme: Theme) -> Vec<Value> {
    let dark = theme == Theme::Dark;
    let font = json!([FONT_STACK]);
    let text_name = json!(["coalesce", ["get", "name"], ""]);
    let (text, halo) = if dark {
        ("#7f93b2", "#0a1224")
    } else {
        ("#495057", "#ffffff")
    };
    let mut grid_colour = vec![json!("match"), json!(["get", "kind"])];
    for k in GRID_KINDS {
        grid_colour.push(json!(k));
        grid_colour.push(json!(colour(&format!("grids-{k}"))));
    }
    grid_colour.push(json!("#868e96"));
    // At town scale a wall names communities only; grid and compound names are unreadable there.
    let label_colour = if dark {
        json!("#dce6ff")
    } else {
        json!([
            "match",
            ["get", "kind"],
            "community",
            "#212529",
            "compound",
            "#495057",
            Value::Array(grid_colour)
        ])
    };
    vec![
        tag(
            with(
                with(
                    l("road-labels", "symbol", "roads", Layer::Roads, json!({"text-color": text, "text-halo-color": halo, "text-halo-width": 1.5})),
                    "layout",
                    json!({"symbol-placement": "line", "text-field": text_name, "text-font": font, "text-size": 12}),
                ),
                "minzoom",
                json!(14),
            ),
            "base",
            None,
        ),
        tag(
            with(
                with(
                    l(
                        "labels",
                        "symbol",
                        "labels",
                        Layer::Labels,
                        json!({"text-color": label_colour, "text-halo-color": halo, "text-halo-width": if dark { 2.0 } else { 1.5 }}),
                    ),
                    "layout",
                    json!({
                        "text-field": if dark { text_name } else { labels_by_zoom() },
                        "text-font": font,
                        "text-size": if dark { json!(17) } else { json!(["match", ["get", "kind"], "community", 16, "compound", 12, 13]) },
                        // Community names win a collision, then grids, then the rest.
                        "symbol-sort-key": ["match", ["get", "kind"], "community", 0, "comprehensive", 1, "dedicated", 2, 3],
                        "text-padding": 4
                    }),
                ),
                "minzoom",
                json!(11),
            ),
            "base",
            None,
        ),
    ]
    .into_iter()
    .map(|v| if dark && v["id"] == "labels" { with(v, "filter", kind_is("community")) } else { v })
    .collect()
}

/// Zoom from which a grid or compound is named on the light map: at town
/// scale only communities (every community has a 第1网格, so grid names
/// there repeat and crowd), comprehensive and dedicated grids from a
/// district's scale, micro-grids and compounds only near street level.
pub const LABEL_ZOOM_GRIDS: f64 = 15.0;
/// See [`LABEL_ZOOM_GRIDS`].
pub const LABEL_ZOOM_DETAIL: f64 = 16.5;
/// Zoom from which micro-grids are drawn at all (their lines are a mesh at
/// town scale).
pub const MICRO_GRID_ZOOM: f64 = 14.5;

/// The name of a label at the current zoom, by its kind (see
/// [`LABEL_ZOOM_GRIDS`]); an empty name places no label, so a hidden name
/// takes no room from the others.
fn labels_by_zoom() -> Value {
    let name = json!(["coalesce", ["get", "name"], ""]);
    let kinds = |ks: &[&str]| json!(["match", ["get", "kind"], ks, name, ""]);
    json!([
        "step",
        ["zoom"],
        kinds(&["community"]),
        LABEL_ZOOM_GRIDS,
        kinds(&["community", "comprehensive", "dedicated"]),
        LABEL_ZOOM_DETAIL,
        name
    ])
}

/// The open events the signed-in caller may see, exact where its role
/// sees single events (a worker's grids, a department's dispatches, the
/// leader's town): a GeoJSON source the viewer fills from
/// `GET /api/v1/events?status=open` only while its toggle is on — event
/// tiles give workers and departments the k-anonymous aggregate only.
fn mine_layer() -> Value {
    tag(
        json!({
            "id": "wg-mine",
            "type": "circle",
            "source": "mine",
            "layout": {"visibility": "none"},
            "paint": {
                "circle-color": colour("mine"),
                "circle-radius": ["interpolate", ["linear"], ["zoom"], 12, 3, 17, 7],
                "circle-stroke-color": ["case", ["boolean", ["get", "overdue"], false], colour("overdue"), "#ffffff"],
                "circle-stroke-width": ["interpolate", ["linear"], ["zoom"], 12, 1, 17, 2.5]
            }
        }),
        "mine",
        Some("event"),
    )
}

/// The wall's live events (a GeoJSON source the page fills from the event
/// stream), over everything.
fn live_layers() -> Vec<Value> {
    vec![
        json!({"id": "live-halo", "type": "circle", "source": "live", "paint": {"circle-radius": 16, "circle-color": LIVE, "circle-opacity": 0.25}}),
        json!({"id": "live", "type": "circle", "source": "live", "paint": {"circle-radius": 5, "circle-color": LIVE, "circle-stroke-color": "#fff", "circle-stroke-width": 1.5}}),
    ]
}

/// A layer of the places of one category: `fill` draws their areas, `circle`
/// their points, in the category's colour.
fn place_layer(
    category: &str,
    suffix: &str,
    kind: &str,
    mut paint: Value,
    pick: Option<&str>,
) -> Value {
    let key = format!("places-{category}");
    let colour_prop = if kind == "fill" {
        "fill-color"
    } else {
        "circle-color"
    };
    if let Some(p) = paint.as_object_mut() {
        p.insert(colour_prop.into(), json!(colour(&key)));
    }
    let filter = if kind == "fill" {
        polygons_of(category)
    } else {
        points_of(category)
    };
    let id = format!("wg-{key}{suffix}");
    tag(
        with(
            l(&id, kind, "places", Layer::Places, paint),
            "filter",
            filter,
        ),
        &key,
        pick,
    )
}

/// The governance layers, bottom to top.
fn governance(theme: Theme) -> Vec<Value> {
    let dark = theme == Theme::Dark;
    let c = colour;
    let mut out = vec![tag(
        l(
            "wg-communities-fill",
            "fill",
            "communities",
            Layer::Communities,
            json!({"fill-color": c("communities"), "fill-opacity": if dark { 0.06 } else { 0.05 }}),
        ),
        "communities",
        Some("community"),
    )];
    for (k, opacity) in [
        ("parcel", 0.35),
        ("public_space", 0.35),
        ("facility", 0.3),
        ("poi", 0.25),
    ] {
        out.push(place_layer(
            k,
            "-area",
            "fill",
            json!({"fill-opacity": opacity}),
            None,
        ));
    }
    out.push(tag(
        l(
            "wg-compounds-fill",
            "fill",
            "compounds",
            Layer::Compounds,
            json!({"fill-color": c("compounds"), "fill-opacity": 0.08}),
        ),
        "compounds",
        Some("compound"),
    ));
    out.push(tag(
        l(
            "wg-compounds-line",
            "line",
            "compounds",
            Layer::Compounds,
            json!({"line-color": c("compounds"), "line-width": 1, "line-dasharray": [3, 2]}),
        ),
        "compounds",
        None,
    ));
    for k in GRID_KINDS {
        let key = format!("grids-{k}");
        let rest = if k == "comprehensive" { 0.05 } else { 0.08 };
        out.push(tag(
            grid_layer(
                &format!("wg-{key}-fill"),
                "fill",
                k,
                json!({"fill-color": c(&key), "fill-opacity": ["case", ["boolean", ["feature-state", "hover"], false], 0.22, rest]}),
            ),
            &key,
            Some("grid"),
        ));
    }
    let r = HEAT_RAMP;
    out.push(tag(
        with(
            l(
                "wg-hex",
                "fill",
                "heatmap",
                Layer::Heatmap,
                json!({
                    "fill-color": ["interpolate", ["linear"], ["to-number", ["coalesce", ["get", "count"], 0]], 1, r[0], 20, r[1], 80, r[2], 250, r[3], 800, r[4]],
                    // A wash at town scale, a tint near street level (where
                    // the buildings and events it counts are drawn themselves).
                    "fill-opacity": ["interpolate", ["linear"], ["zoom"], 13, if dark { 0.6 } else { 0.45 }, 17, if dark { 0.25 } else { 0.12 }],
                    "fill-outline-color": "rgba(255,255,255,0.4)"
                }),
            ),
            "filter",
            json!(["==", ["geometry-type"], "Polygon"]),
        ),
        "hex",
        None,
    ));
    out.push(tag(
        l(
            "wg-buildings-fill",
            "fill",
            "buildings",
            Layer::Buildings,
            json!({
                "fill-color": if dark { "#3a4456" } else { c("buildings") },
                "fill-opacity": 0.85,
                "fill-outline-color": if dark { "#56627a" } else { "#7d8793" }
            }),
        ),
        "buildings",
        Some("building"),
    ));
    out.push(tag(
        l(
            "wg-buildings-3d",
            "fill-extrusion",
            "buildings",
            Layer::Buildings,
            json!({
                "fill-extrusion-color": if dark { "#4a5568" } else { c("buildings3d") },
                "fill-extrusion-height": ["case",
                    ["has", "height"], ["to-number", ["get", "height"], 6],
                    ["has", "levels"], ["*", 3, ["to-number", ["get", "levels"], 2]],
                    6],
                "fill-extrusion-base": ["to-number", ["coalesce", ["get", "min_height"], 0], 0],
                "fill-extrusion-opacity": 0.85
            }),
        ),
        "buildings3d",
        Some("building"),
    ));
    for k in GRID_KINDS {
        let key = format!("grids-{k}");
        let micro = k == "micro";
        out.push(tag(
            grid_layer(
                &format!("wg-{key}-line"),
                "line",
                k,
                json!({
                    "line-color": c(&key),
                    "line-width": if micro { 0.8 } else { 1.6 },
                    "line-dasharray": if micro { [2, 2] } else { [1, 0] }
                }),
            ),
            &key,
            None,
        ));
    }
    out.push(tag(
        l(
            "wg-communities-line",
            "line",
            "communities",
            Layer::Communities,
            json!({"line-color": c("communities"), "line-width": 2.5}),
        ),
        "communities",
        None,
    ));
    // Always on; the pages point its filter at the selected grid's code.
    out.push(with(
        l(
            "wg-grid-selected",
            "line",
            "grids",
            Layer::Grids,
            json!({"line-color": SELECTED, "line-width": 4}),
        ),
        "filter",
        json!(["==", ["get", "code"], ""]),
    ));
    // Density from the heatmap tiles' count-weighted cell centroids (`kind: point`).
    out.push(tag(
        with(
            with(
                l(
                    "wg-heatmap",
                    "heatmap",
                    "heatmap",
                    Layer::Heatmap,
                    json!({
                        "heatmap-weight": ["interpolate", ["linear"], ["to-number", ["coalesce", ["get", "count"], 1], 1], 0, 0, 200, 1],
                        "heatmap-intensity": ["interpolate", ["linear"], ["zoom"], 10, 0.6, 16, 1],
                        "heatmap-radius": ["interpolate", ["linear"], ["zoom"], 10, 20, 13, 40, 16, 90],
                        "heatmap-opacity": 0.75,
                        "heatmap-color": ["interpolate", ["linear"], ["heatmap-density"], 0, "rgba(0,0,0,0)", 0.2, r[0], 0.4, r[1], 0.6, r[2], 0.8, r[3], 1, r[4]]
                    }),
                ),
                "filter",
                json!(["==", ["geometry-type"], "Point"]),
            ),
            "maxzoom",
            json!(18),
        ),
        "heatmap",
        None,
    ));
    for k in PLACE_KINDS {
        let paint =
            json!({"circle-radius": 4.5, "circle-stroke-color": "#fff", "circle-stroke-width": 1});
        out.push(place_layer(k, "", "circle", paint, Some("place")));
    }
    let point = json!(["==", ["geometry-type"], "Point"]);
    out.push(tag(
        with(
            l(
                "wg-events",
                "circle",
                "events",
                Layer::Events,
                json!({
                    "circle-color": c("events"),
                    "circle-radius": ["interpolate", ["linear"], ["zoom"], 12, 2, 17, 5],
                    "circle-stroke-color": "#fff", "circle-stroke-width": 0.6
                }),
            ),
            "filter",
            point.clone(),
        ),
        "events",
        Some("event"),
    ));
    // Overdue events come from their own source (`?status=overdue`), which
    // ignores the time window and status filter (they are overdue now).
    let overdue = json!(["all", point, ["==", ["get", "overdue"], true]]);
    out.push(tag(
        with(
            l(
                "wg-overdue-halo",
                "circle",
                "overdue",
                Layer::Events,
                json!({"circle-color": c("overdue"), "circle-opacity": 0.2, "circle-radius": ["interpolate", ["linear"], ["zoom"], 12, 4, 17, 14]}),
            ),
            "filter",
            overdue.clone(),
        ),
        "overdue",
        None,
    ));
    out.push(tag(
        with(
            l(
                "wg-overdue",
                "circle",
                "overdue",
                Layer::Events,
                json!({
                    "circle-color": c("overdue"),
                    "circle-radius": ["interpolate", ["linear"], ["zoom"], 12, 2, 17, 6],
                    "circle-stroke-color": "#fff",
                    "circle-stroke-width": ["interpolate", ["linear"], ["zoom"], 12, 0.5, 17, 1.2]
                }),
            ),
            "filter",
            overdue,
        ),
        "overdue",
        Some("event"),
    ));
    out
}

/// The 民情 choropleth: comprehensive grids coloured by households needing
/// attention (open needs, overdue visits, risk tags) per 100 households
/// (0 to 20 and more across the ramp),
/// from `GET /api/v1/grids/sentiment`.
fn sentiment_layer() -> Value {
    let mut ramp = vec![
        json!("interpolate"),
        json!(["linear"]),
        json!(["get", "attention_per_100"]),
    ];
    for (i, c) in HEAT_RAMP.iter().enumerate() {
        ramp.push(json!(i as f64 * 5.0));
        ramp.push(json!(c));
    }
    tag(
        json!({
            "id": "wg-sentiment-fill",
            "type": "fill",
            "source": "sentiment",
            "layout": {"visibility": "none"},
            "paint": {"fill-color": ramp, "fill-opacity": 0.55, "fill-outline-color": "#7a1f1f"},
        }),
        "sentiment",
        None,
    )
}

/// The legend: colours by toggle key (`hex` and `heatmap` show the ramp,
/// `base` the paper of the base map).
fn legend(theme: Theme) -> Value {
    let mut m = serde_json::Map::new();
    let paper = if theme == Theme::Dark {
        "#0a1224"
    } else {
        PAPER
    };
    m.insert("base".into(), json!([paper]));
    for (k, c) in COLOURS {
        // The wall has no list of its own open events.
        if theme == Theme::Dark && *k == "mine" {
            continue;
        }
        m.insert((*k).into(), json!([c]));
    }
    m.insert("hex".into(), json!(HEAT_RAMP));
    m.insert("heatmap".into(), json!(HEAT_RAMP));
    if theme == Theme::Light {
        m.insert("sentiment".into(), json!(HEAT_RAMP));
    }
    Value::Object(m)
}

/// The MapLibre style. Every tile layer has its own source (named after the
/// layer) so the pages can add event filters (`?from=…`) to the event and
/// heatmap tile URLs; `overdue` is a second source over the event tiles
/// (`?status=overdue`).
///
/// ```
/// use tiles::style::{style_json, StyleOptions};
/// let style = style_json("http://localhost:8080", StyleOptions::default());
/// assert_eq!(style["version"], 8);
/// assert!(style["glyphs"].as_str().unwrap().ends_with("/glyphs/{fontstack}/{range}.pbf"));
/// assert_eq!(style["metadata"]["wangge:legend"]["overdue"][0], "#d00000");
/// ```
pub fn style_json(base_url: &str, opts: StyleOptions) -> Value {
    let base = base_url.trim_end_matches('/');
    let mut sources = serde_json::Map::new();
    for layer in Layer::PARTS {
        sources.insert(
            layer.name().to_string(),
            source(base, *layer, "", opts.max_zoom),
        );
    }
    sources.insert(
        "overdue".into(),
        source(base, Layer::Events, "?status=overdue", opts.max_zoom),
    );
    // Grids are addressed by code (selection, hover state); other features by their tile feature id.
    if let Some(grids) = sources.get_mut("grids").and_then(Value::as_object_mut) {
        grids.insert("promoteId".into(), json!("code"));
    }
    let (title, overdue) = match opts.lang {
        Lang::Zh => ("网格化治理", "超期"),
        Lang::En => ("Grid governance", "Overdue"),
    };
    let mut layers = base_below(opts.theme);
    if opts.theme == Theme::Light {
        // 民情: per-grid figures from the API (GeoJSON, aggregates only),
        // under the governance layers; off until its toggle is on.
        sources.insert(
            "sentiment".into(),
            json!({"type": "geojson", "data": format!("{base}/api/v1/grids/sentiment")}),
        );
        layers.push(sentiment_layer());
    }
    layers.extend(governance(opts.theme));
    layers.extend(base_above(opts.theme));
    if opts.theme == Theme::Light {
        sources.insert("mine".into(), page_filled_source());
        layers.push(mine_layer());
    }
    if opts.theme == Theme::Dark {
        sources.insert("live".into(), page_filled_source());
        layers.extend(live_layers());
    }
    json!({
        "version": 8,
        "name": title,
        "metadata": {
            "wangge:overdue-label": overdue,
            "wangge:localIdeographFontFamily": "sans-serif",
            "wangge:legend": legend(opts.theme),
        },
        "center": [crate::sample::CENTRE[0], crate::sample::CENTRE[1]],
        "zoom": 14,
        "glyphs": format!("{base}/glyphs/{{fontstack}}/{{range}}.pbf"),
        "sources": sources,
        "layers": layers,
    })
}

/// A TileJSON 3.0 document for one layer (or `all`), listing its
/// `vector_layers` and their fields.
///
/// ```
/// let tj = tiles::style::tilejson(tiles::Layer::Grids, "http://h", 0, 16, [113.2, 34.3, 113.4, 34.5]);
/// assert_eq!(tj["tilejson"], "3.0.0");
/// assert_eq!(tj["vector_layers"][0]["fields"]["kind"], "String");
/// ```
pub fn tilejson(layer: Layer, base_url: &str, minzoom: u8, maxzoom: u8, bounds: [f64; 4]) -> Value {
    let base = base_url.trim_end_matches('/');
    let parts: Vec<Layer> = if layer == Layer::All {
        Layer::PARTS.to_vec()
    } else {
        vec![layer]
    };
    let vector_layers: Vec<Value> = parts
        .iter()
        .map(|p| {
            let fields: serde_json::Map<String, Value> =
                p.fields().iter().map(|f| (f.name.to_string(), json!(f.kind.tilejson_name()))).collect();
            json!({"id": p.name(), "description": p.doc(), "minzoom": p.min_zoom().max(minzoom), "maxzoom": maxzoom, "fields": fields})
        })
        .collect();
    json!({
        "tilejson": "3.0.0",
        "name": layer.name(),
        "description": layer.doc(),
        "scheme": "xyz",
        "tiles": [format!("{base}/tiles/{}/{{z}}/{{x}}/{{y}}.mvt", layer.name())],
        "minzoom": minzoom,
        "maxzoom": maxzoom,
        "bounds": bounds,
        "center": [(bounds[0] + bounds[2]) / 2.0, (bounds[1] + bounds[3]) / 2.0, minzoom.max(14).min(maxzoom)],
        "vector_layers": vector_layers,
    })
}
