// Decodes every .mvt file written by `cargo run -p tiles --example dump -- DIR`
// with @mapbox/vector-tile (the decoder MapLibre GL JS uses) and asserts:
// the expected layers, extent 4096, coordinates within the 64-unit buffer,
// exterior rings clockwise on screen (positive surveyor area, y down),
// attributes typed as the TileJSON says, and no personal data.
// Usage: node decode.mjs DIR
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { VectorTile } from "@mapbox/vector-tile";
import { PbfReader } from "pbf";

const dir = process.argv[2];
if (!dir) {
  console.error("usage: node decode.mjs DIR (output of the dump example)");
  process.exit(2);
}
const expected = JSON.parse(readFileSync(join(dir, "expected.json"), "utf8"));
const PERSONAL = ["张秀英", "13812345678", "11010519491231002X", "李建国", "楼道堆物", "建设路12号"];
const TYPES = { String: "string", Number: "number", Boolean: "boolean" };
let passed = 0;
let failed = 0;

function fields(layer) {
  const tj = JSON.parse(readFileSync(join(dir, `${layer}.json`), "utf8"));
  return tj.vector_layers[0].fields;
}

function area2(ring) {
  let a = 0;
  for (let i = 0; i < ring.length; i++) {
    const p = ring[i];
    const q = ring[(i + 1) % ring.length];
    a += p.x * q.y - q.x * p.y;
  }
  return a;
}

for (const [rel, layers] of Object.entries(expected)) {
  const problems = [];
  const bytes = readFileSync(join(dir, rel));
  const text = bytes.toString("utf8");
  for (const s of PERSONAL) if (text.includes(s)) problems.push(`leaks ${s}`);
  const tile = new VectorTile(new PbfReader(bytes));
  const got = Object.keys(tile.layers).sort();
  const want = [...layers].sort();
  for (const name of got) {
    const layer = tile.layers[name];
    if (layer.extent !== 4096) problems.push(`${name}: extent ${layer.extent}`);
    if (layer.length === 0) problems.push(`${name}: empty layer`);
    const schema = fields(name);
    for (let i = 0; i < layer.length; i++) {
      const f = layer.feature(i);
      for (const [k, v] of Object.entries(f.properties)) {
        if (!(k in schema)) problems.push(`${name}: undocumented attribute ${k}`);
        else if (typeof v !== TYPES[schema[k]]) problems.push(`${name}.${k}: ${typeof v}, expected ${schema[k]}`);
      }
      const rings = f.loadGeometry();
      for (const ring of rings)
        for (const p of ring)
          if (p.x < -64 || p.x > 4160 || p.y < -64 || p.y > 4160) problems.push(`${name}: coord ${p.x},${p.y} outside buffer`);
      if (f.type === 3) {
        // first ring of a polygon is an exterior: positive area
        if (!(area2(rings[0]) > 0)) problems.push(`${name}: first ring not clockwise`);
      }
      if (f.type === 2) for (const r of rings) if (r.length < 2) problems.push(`${name}: line with ${r.length} points`);
    }
  }
  // a layer may be absent when nothing of it is in this tile; none may be extra
  for (const name of got) if (!want.includes(name)) problems.push(`unexpected layer ${name}`);
  if (got.length === 0) problems.push("no layers");
  if (problems.length) {
    failed++;
    console.log(`FAIL ${rel}: ${[...new Set(problems)].slice(0, 5).join("; ")}`);
  } else {
    passed++;
  }
}
console.log(`decode.mjs: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
