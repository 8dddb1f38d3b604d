//! Tile paths `/tiles/{layer}/{z}/{x}/{y}.mvt`: the path split as the router
//! splits it, each part parsed as the tile route parses it.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(path) = std::str::from_utf8(data) else {
        return;
    };
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let [layer, z, x, y] = parts.as_slice() else {
        return;
    };
    let _ = tiles::Layer::parse(layer);
    let (Ok(z), Ok(x)) = (z.parse::<u8>(), x.parse::<u32>()) else {
        return;
    };
    let _ = web_viewer::query::tile_address(z, x, y);
});
