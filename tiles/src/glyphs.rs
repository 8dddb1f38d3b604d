//! SDF glyph ranges for offline labels.
//!
//! We ship one font stack, [`FONT_STACK`] (`Wangge Sans`): SDF glyphs of
//! DejaVu Sans (Debian's `fonts-dejavu-core`, a free licence) for the ranges
//! in [`SHIPPED_RANGES`] — Basic Latin + Latin-1, Latin Extended-A/B and
//! General Punctuation — pre-generated once with `pbf_font_tools` (the
//! generator Martin uses; see `tiles/glyphs/README.md`) and compiled in, so
//! serving needs no font file and no system library. Any other range of any
//! requested stack is answered with a valid, empty glyph PBF: Chinese text is
//! drawn by the browser through MapLibre's `localIdeographFontFamily`.

use pbf_font_tools::prost::Message;
use pbf_font_tools::{Fontstack, Glyphs};

use crate::error::TileError;

/// The font stack name used in the style.
pub const FONT_STACK: &str = "Wangge Sans";

/// Ranges shipped with glyphs, as `(start, bytes)`.
pub const SHIPPED_RANGES: &[(u32, &[u8])] = &[
    (0, include_bytes!("../glyphs/Wangge Sans/0-255.pbf")),
    (256, include_bytes!("../glyphs/Wangge Sans/256-511.pbf")),
    (8192, include_bytes!("../glyphs/Wangge Sans/8192-8447.pbf")),
];

/// The glyph PBF for `fontstack` (a comma-separated list as MapLibre sends
/// it) and code points `start..=end`, which must be an aligned block of 256.
///
/// ```
/// let pbf = tiles::glyphs::range("Wangge Sans", 0, 255).unwrap();
/// assert!(pbf.len() > 10_000);
/// let empty = tiles::glyphs::range("Wangge Sans", 19968, 20223).unwrap();
/// assert!(empty.len() < 64);
/// assert!(tiles::glyphs::range("Wangge Sans", 5, 300).is_err());
/// ```
pub fn range(fontstack: &str, start: u32, end: u32) -> Result<Vec<u8>, TileError> {
    if !start.is_multiple_of(256) || end != start + 255 || end > 0xFFFF {
        return Err(TileError::GlyphRange {
            start,
            end,
            reason: "expected an aligned block N*256..=N*256+255 below 65536",
        });
    }
    if fontstack.trim().is_empty() || fontstack.len() > 256 {
        return Err(TileError::UnknownFontStack {
            fontstack: fontstack.chars().take(64).collect(),
            expected: FONT_STACK.into(),
        });
    }
    let ours = fontstack.split(',').any(|f| f.trim() == FONT_STACK);
    if ours {
        if let Some((_, bytes)) = SHIPPED_RANGES.iter().find(|(s, _)| *s == start) {
            return Ok(bytes.to_vec());
        }
    }
    let empty = Glyphs {
        stacks: vec![Fontstack {
            name: fontstack.to_string(),
            range: format!("{start}-{end}"),
            glyphs: vec![],
        }],
    };
    Ok(empty.encode_to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_range_decodes_with_letters() {
        let bytes = range("Wangge Sans,Noto Sans Regular", 0, 255).unwrap();
        let g = Glyphs::decode(bytes.as_slice()).unwrap();
        let ids: Vec<u32> = g.stacks[0].glyphs.iter().map(|g| g.id).collect();
        for c in ['A', 'z', '0', '-'] {
            assert!(ids.contains(&(c as u32)), "{c} missing");
        }
    }

    #[test]
    fn other_range_is_empty_but_valid() {
        let g = Glyphs::decode(range("Foo", 512, 767).unwrap().as_slice()).unwrap();
        assert_eq!(g.stacks[0].range, "512-767");
        assert!(g.stacks[0].glyphs.is_empty());
    }
}
