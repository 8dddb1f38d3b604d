//! Writes sample tiles, TileJSON, the style and LAYERS.md from the built-in
//! sample town, so the JS/Python decode checks and the style validator run
//! without the server:
//!
//! ```sh
//! cargo run -p tiles --example dump -- OUTDIR
//! ```
//!
//! Layout: `OUTDIR/tiles/{layer}/{z}/{x}/{y}.mvt`, `OUTDIR/{layer}.json`,
//! `OUTDIR/style.json` and `OUTDIR/style-dark.json` (the pages' style), `OUTDIR/LAYERS.md`, `OUTDIR/expected.json` (layers
//! expected in each tile file, for the checks).

use std::path::{Path, PathBuf};

use tiles::{lonlat_to_tile, Layer, TileFilter, TileOptions, TileSet};

fn write(path: &Path, bytes: &[u8]) -> Result<(), Box<dyn std::error::Error>> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, bytes).map_err(|e| format!("writing {}: {e}", path.display()).into())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = PathBuf::from(std::env::args().nth(1).ok_or("usage: dump OUTDIR")?);
    let ds = tiles::sample::dataset()?;
    let set = TileSet::build(&ds, TileOptions::default());
    let filter = TileFilter::at(tiles::sample::now());
    let mut expected = serde_json::Map::new();
    let mut n = 0;
    for z in [12u8, 14, 15, 16] {
        let (x, y) = lonlat_to_tile(
            tiles::sample::CENTRE[0] - 0.0045,
            tiles::sample::CENTRE[1] + 0.0018,
            z,
        );
        for layer in Layer::ALL {
            let bytes = set.tile(*layer, z, x, y, &filter)?;
            if bytes.is_empty() {
                continue;
            }
            let rel = format!("tiles/{}/{z}/{x}/{y}.mvt", layer.name());
            write(&out.join(&rel), &bytes)?;
            let names: Vec<&str> = if *layer == Layer::All {
                Layer::PARTS
                    .iter()
                    .filter(|p| z >= p.min_zoom())
                    .map(|p| p.name())
                    .collect()
            } else {
                vec![layer.name()]
            };
            expected.insert(rel, serde_json::json!(names));
            n += 1;
        }
    }
    let bounds = set.bounds().unwrap_or([-180.0, -85.0, 180.0, 85.0]);
    for layer in Layer::ALL {
        let tj = tiles::style::tilejson(*layer, "http://localhost:8080", 0, 16, bounds);
        write(
            &out.join(format!("{}.json", layer.name())),
            serde_json::to_string_pretty(&tj)?.as_bytes(),
        )?;
    }
    // The pages' style: light (viewer, embed) and dark (the wall).
    for (file, theme) in [
        ("style.json", tiles::style::Theme::Light),
        ("style-dark.json", tiles::style::Theme::Dark),
    ] {
        let opts = tiles::style::StyleOptions {
            theme,
            ..Default::default()
        };
        let style = tiles::style::style_json("http://localhost:8080", opts);
        write(
            &out.join(file),
            serde_json::to_string_pretty(&style)?.as_bytes(),
        )?;
    }
    write(&out.join("LAYERS.md"), tiles::layers_markdown().as_bytes())?;
    write(
        &out.join("expected.json"),
        serde_json::to_string_pretty(&expected)?.as_bytes(),
    )?;
    println!(
        "wrote {n} tiles, {} TileJSON, style.json, style-dark.json and LAYERS.md to {}",
        Layer::ALL.len(),
        out.display()
    );
    Ok(())
}
