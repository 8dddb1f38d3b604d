"""Decodes every .mvt written by `cargo run -p tiles --example dump -- DIR` with
PyPI `mapbox-vector-tile` and asserts the expected layers, attribute types from
the TileJSON, coordinates within the buffer and no personal data.

Usage: python3 decode.py DIR
"""

import json
import sys
from pathlib import Path

import mapbox_vector_tile

PERSONAL = ["张秀英", "13812345678", "11010519491231002X", "李建国", "楼道堆物", "建设路12号"]
TYPES = {"String": (str,), "Number": (int, float), "Boolean": (bool,)}


def coords(geom):
    """Yields every (x, y) of a GeoJSON-like geometry."""
    c = geom["coordinates"]

    def walk(v):
        if isinstance(v, (list, tuple)) and v and isinstance(v[0], (int, float)):
            yield v
        else:
            for w in v:
                yield from walk(w)

    yield from walk(c)


def check(root: Path, rel: str, layers: list) -> list:
    problems = []
    data = (root / rel).read_bytes()
    text = data.decode("utf-8", errors="ignore")
    problems += [f"leaks {s}" for s in PERSONAL if s in text]
    # y_coord_down keeps tile coordinates as encoded (no flip).
    tile = mapbox_vector_tile.decode(data, default_options={"y_coord_down": True})
    if not tile:
        problems.append("no layers")
    for name, layer in tile.items():
        if name not in layers:
            problems.append(f"unexpected layer {name}")
        if layer["extent"] != 4096:
            problems.append(f"{name}: extent {layer['extent']}")
        schema = json.loads((root / f"{name}.json").read_text())["vector_layers"][0]["fields"]
        if not layer["features"]:
            problems.append(f"{name}: empty layer")
        for f in layer["features"]:
            for k, v in f["properties"].items():
                if k not in schema:
                    problems.append(f"{name}: undocumented attribute {k}")
                elif schema[k] == "Number" and isinstance(v, bool):
                    problems.append(f"{name}.{k}: bool, expected Number")
                elif not isinstance(v, TYPES[schema[k]]):
                    problems.append(f"{name}.{k}: {type(v).__name__}, expected {schema[k]}")
            for x, y in coords(f["geometry"]):
                if not (-64 <= x <= 4160 and -64 <= y <= 4160):
                    problems.append(f"{name}: coord {x},{y} outside buffer")
                    break
    return problems


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: python3 decode.py DIR (output of the dump example)", file=sys.stderr)
        return 2
    root = Path(sys.argv[1])
    expected = json.loads((root / "expected.json").read_text())
    passed = failed = 0
    for rel, layers in expected.items():
        problems = check(root, rel, layers)
        if problems:
            failed += 1
            print(f"FAIL {rel}: {'; '.join(sorted(set(problems))[:5])}")
        else:
            passed += 1
    print(f"decode.py: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
