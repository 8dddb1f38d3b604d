//! The MapLibre style (offline base map + governance layers) and TileJSON 3.0
//! documents.
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
        if s.trim().eq_ignore_ascii_case("en") {
            Self::En
        } else {
            Self::Zh
        }
    }
}

/// Colours of the grid kinds: comprehensive, micro, dedicated.
pub const GRID_COLOURS: [(&str, &str); 3] = [
    ("comprehensive", "#d9480f"),
    ("micro", "#1c7ed6"),
    ("dedicated", "#7048e8"),
];

fn source(base: &str, layer: Layer) -> Value {
    json!({
        "type": "vector",
        "tiles": [format!("{base}/tiles/{}/{{z}}/{{x}}/{{y}}.mvt", layer.name())],
        "minzoom": 0,
        "maxzoom": 16,
        "attribution": "Wangge",
    })
}

fn l(id: &str, kind: &str, layer: Layer, minzoom: u8, paint: Value) -> Value {
    json!({"id": id, "type": kind, "source": layer.name(), "source-layer": layer.name(), "minzoom": minzoom, "paint": paint})
}

fn with(mut v: Value, key: &str, val: Value) -> Value {
    if let Some(o) = v.as_object_mut() {
        o.insert(key.to_string(), val);
    }
    v
}

/// The MapLibre style. Every governance layer has its own source so the
/// client can add filters (`?status=overdue`) to one layer's tile URL.
///
/// ```
/// let style = tiles::style::style_json("http://localhost:8080", tiles::style::Lang::Zh);
/// assert_eq!(style["version"], 8);
/// assert!(style["glyphs"].as_str().unwrap().ends_with("/glyphs/{fontstack}/{range}.pbf"));
/// ```
pub fn style_json(base_url: &str, lang: Lang) -> Value {
    let base = base_url.trim_end_matches('/');
    let mut sources = serde_json::Map::new();
    for layer in Layer::PARTS {
        sources.insert(layer.name().to_string(), source(base, *layer));
    }
    let font = json!([FONT_STACK]);
    let text_name = json!(["coalesce", ["get", "name"], ""]);
    let grid_colour = json!([
        "match",
        ["get", "kind"],
        GRID_COLOURS[0].0,
        GRID_COLOURS[0].1,
        GRID_COLOURS[1].0,
        GRID_COLOURS[1].1,
        GRID_COLOURS[2].0,
        GRID_COLOURS[2].1,
        "#868e96"
    ]);
    let (title, overdue) = match lang {
        Lang::Zh => ("网格化治理", "超期"),
        Lang::En => ("Grid governance", "Overdue"),
    };
    let layers = vec![
        json!({"id": "background", "type": "background", "paint": {"background-color": "#f4f1ea"}}),
        l(
            "water",
            "fill",
            Layer::Water,
            8,
            json!({"fill-color": "#a5d8ff"}),
        ),
        l(
            "green",
            "fill",
            Layer::Green,
            8,
            json!({"fill-color": "#c3e6cb", "fill-opacity": 0.8}),
        ),
        l(
            "communities-fill",
            "fill",
            Layer::Communities,
            9,
            json!({"fill-color": "#fff9db", "fill-opacity": 0.25}),
        ),
        l(
            "compounds",
            "fill",
            Layer::Compounds,
            14,
            json!({"fill-color": "#e9ecef", "fill-outline-color": "#adb5bd"}),
        ),
        with(
            l(
                "roads-path",
                "line",
                Layer::Roads,
                15,
                json!({"line-color": "#ced4da", "line-width": 1, "line-dasharray": [2, 2]}),
            ),
            "filter",
            json!(["==", ["get", "class"], "path"]),
        ),
        with(
            l(
                "roads-alley",
                "line",
                Layer::Roads,
                14,
                json!({"line-color": "#ffffff", "line-width": ["interpolate", ["linear"], ["zoom"], 14, 1, 18, 4]}),
            ),
            "filter",
            json!(["==", ["get", "class"], "alley"]),
        ),
        with(
            l(
                "roads-local",
                "line",
                Layer::Roads,
                12,
                json!({"line-color": "#ffffff", "line-width": ["interpolate", ["linear"], ["zoom"], 12, 1, 18, 8]}),
            ),
            "filter",
            json!(["==", ["get", "class"], "local"]),
        ),
        with(
            l(
                "roads-arterial",
                "line",
                Layer::Roads,
                10,
                json!({"line-color": "#ffd43b", "line-width": ["interpolate", ["linear"], ["zoom"], 10, 1.5, 18, 14]}),
            ),
            "filter",
            json!(["==", ["get", "class"], "arterial"]),
        ),
        with(
            l(
                "buildings-2d",
                "fill",
                Layer::Buildings,
                14,
                json!({"fill-color": "#dee2e6", "fill-outline-color": "#adb5bd"}),
            ),
            "maxzoom",
            json!(15),
        ),
        l(
            "buildings-3d",
            "fill-extrusion",
            Layer::Buildings,
            15,
            json!({
                "fill-extrusion-color": ["interpolate", ["linear"], ["get", "height"], 0, "#e9ecef", 30, "#adb5bd", 80, "#495057"],
                "fill-extrusion-height": ["get", "height"],
                "fill-extrusion-base": ["get", "min_height"],
                "fill-extrusion-opacity": 0.85
            }),
        ),
        l(
            "communities-line",
            "line",
            Layer::Communities,
            9,
            json!({"line-color": "#495057", "line-width": 2.5}),
        ),
        with(
            l(
                "grids-line",
                "line",
                Layer::Grids,
                11,
                json!({
                    "line-color": grid_colour.clone(),
                    "line-width": ["match", ["get", "kind"], "comprehensive", 2.5, 1.5]
                }),
            ),
            "filter",
            json!(["!=", ["get", "kind"], "micro"]),
        ),
        with(
            l(
                "grids-micro",
                "line",
                Layer::Grids,
                14,
                json!({
                    "line-color": GRID_COLOURS[1].1, "line-width": 1, "line-dasharray": [2, 1]
                }),
            ),
            "filter",
            json!(["==", ["get", "kind"], "micro"]),
        ),
        l(
            "heatmap-hex",
            "fill",
            Layer::Heatmap,
            0,
            json!({
                "fill-color": ["interpolate", ["linear"], ["get", "count"], 3, "#ffe066", 20, "#f76707", 100, "#c92a2a"],
                "fill-opacity": 0.35
            }),
        ),
        with(
            with(
                l(
                    "heatmap",
                    "heatmap",
                    Layer::Heatmap,
                    0,
                    json!({
                        "heatmap-weight": ["interpolate", ["linear"], ["get", "count"], 0, 0, 50, 1],
                        "heatmap-intensity": ["interpolate", ["linear"], ["zoom"], 8, 1, 16, 3],
                        "heatmap-radius": ["interpolate", ["linear"], ["zoom"], 8, 10, 16, 40],
                        "heatmap-opacity": 0.7
                    }),
                ),
                "filter",
                json!(["==", ["get", "kind"], "point"]),
            ),
            "maxzoom",
            json!(16),
        ),
        with(
            l(
                "heatmap-hex-outline",
                "line",
                Layer::Heatmap,
                0,
                json!({"line-color": "#f08c00", "line-width": 0.5}),
            ),
            "filter",
            json!(["==", ["get", "kind"], "hex"]),
        ),
        l(
            "places",
            "circle",
            Layer::Places,
            13,
            json!({"circle-radius": 4, "circle-color": "#2b8a3e", "circle-stroke-color": "#ffffff", "circle-stroke-width": 1}),
        ),
        l(
            "events",
            "circle",
            Layer::Events,
            12,
            json!({
                "circle-radius": ["interpolate", ["linear"], ["zoom"], 12, 2, 18, 7],
                "circle-color": ["match", ["get", "grade"], "urgent", "#c92a2a", "major", "#f76707", "general", "#1971c2", "#868e96"],
                "circle-stroke-color": "#ffffff", "circle-stroke-width": 1
            }),
        ),
        with(
            l(
                "events-overdue",
                "circle",
                Layer::Events,
                12,
                json!({
                    "circle-radius": ["interpolate", ["linear"], ["zoom"], 12, 5, 18, 12],
                    "circle-color": "rgba(0,0,0,0)", "circle-stroke-color": "#e03131", "circle-stroke-width": 2.5
                }),
            ),
            "filter",
            json!(["==", ["get", "overdue"], true]),
        ),
        with(
            l(
                "road-labels",
                "symbol",
                Layer::Roads,
                14,
                json!({"text-color": "#495057", "text-halo-color": "#ffffff", "text-halo-width": 1.5}),
            ),
            "layout",
            json!({
                "symbol-placement": "line", "text-field": text_name, "text-font": font, "text-size": 12
            }),
        ),
        with(
            l(
                "labels",
                "symbol",
                Layer::Labels,
                11,
                json!({"text-color": ["match", ["get", "kind"], "community", "#212529", "compound", "#495057", grid_colour], "text-halo-color": "#ffffff", "text-halo-width": 1.5}),
            ),
            "layout",
            json!({
                "text-field": text_name, "text-font": font,
                "text-size": ["match", ["get", "kind"], "community", 16, "compound", 12, 13]
            }),
        ),
        with(
            l(
                "place-labels",
                "symbol",
                Layer::Places,
                15,
                json!({"text-color": "#2b8a3e", "text-halo-color": "#ffffff", "text-halo-width": 1}),
            ),
            "layout",
            json!({
                "text-field": text_name.clone(), "text-font": font.clone(), "text-size": 11, "text-offset": [0, 1.2], "text-anchor": "top"
            }),
        ),
    ];
    json!({
        "version": 8,
        "name": title,
        "metadata": {"wangge:overdue-label": overdue, "wangge:localIdeographFontFamily": "sans-serif"},
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
