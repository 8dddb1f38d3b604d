"""Reads the exports of tests/export/check.sh with pyarrow, geopandas and
openpyxl and compares them with the GeoJSON export of the same kind.

    python check.py WORKDIR     (WORKDIR/cli and WORKDIR/api as check.sh fills them)
"""

import json
import re
import sys
import warnings
from pathlib import Path

import geopandas
import openpyxl
import pyarrow.parquet as pq
import shapely
from shapely.geometry import shape

# Areas in square degrees are compared, not used: geopandas' warning about a
# geographic CRS does not apply.
warnings.filterwarnings("ignore", message="Geometry is in a geographic CRS")
work = Path(sys.argv[1])
failed = False


def ok(msg):
    print(f"ok   {msg}")


def bad(msg):
    global failed
    failed = True
    print(f"FAIL {msg}")


def check(cond, msg):
    (ok if cond else bad)(msg)


def geojson(path):
    return json.loads(Path(path).read_text(encoding="utf-8"))["features"]


def meta(path):
    kv = pq.ParquetFile(path).metadata.metadata or {}
    return json.loads(kv[b"geo"]) if b"geo" in kv else None


def parquet_matches_geojson(pq_path, features, label):
    """Metadata, count, and every geometry and ID equal to the GeoJSON's."""
    m = meta(pq_path)
    if m is None:
        bad(f"{label}: no 'geo' metadata")
        return
    col = m["columns"]["geometry"]
    check(
        m["version"] == "1.0.0" and m["primary_column"] == "geometry" and col["encoding"] == "WKB",
        f"{label}: GeoParquet {m['version']} metadata, WKB, types {col['geometry_types']}",
    )
    table = pq.read_table(pq_path)
    check(table.num_rows == len(features), f"{label}: pyarrow reads {table.num_rows} rows = {len(features)} GeoJSON features")
    gdf = geopandas.read_parquet(pq_path)
    check(len(gdf) == len(features), f"{label}: geopandas reads {len(gdf)} rows")
    check(gdf.crs is not None and gdf.crs.to_string() in ("OGC:CRS84", "EPSG:4326"), f"{label}: CRS {gdf.crs}")
    theirs = [shape(f["geometry"]) for f in features]
    ids = [f["properties"].get("id") for f in features]
    same = all(
        a.equals_exact(b, 1e-9) for a, b in zip(gdf.geometry, theirs)
    ) and list(gdf["id"]) == ids
    check(same, f"{label}: every geometry and ID equal to the GeoJSON's, in order")
    minx, miny, maxx, maxy = gdf.total_bounds
    want = shapely.total_bounds(theirs)
    check(
        max(abs(a - b) for a, b in zip((minx, miny, maxx, maxy), want)) < 1e-9
        and max(abs(a - b) for a, b in zip(col["bbox"], want)) < 1e-9,
        f"{label}: bounds {[round(float(x), 5) for x in want]} equal, and the metadata's bbox",
    )
    area = float(gdf.geometry.area.sum())
    want_area = float(sum(g.area for g in theirs))
    check(abs(area - want_area) <= 1e-9 * max(1.0, want_area), f"{label}: total area {area:.8f} deg² equal")


# --- GeoParquet of the CLI against the CLI's GeoJSON.
for kind in ["communities", "buildings", "places", "roads", "events"]:
    parquet_matches_geojson(work / "cli" / f"{kind}.parquet", geojson(work / "cli" / f"{kind}.geojson"), f"cli {kind}")

# --- GeoParquet of the API against the API's JSON of the same caller.
api_buildings = geojson(work / "api" / "buildings.json")
status, ctype = (work / "api" / "buildings.parquet.meta").read_text().split(maxsplit=1)
check(status == "200" and ctype.strip() == "application/vnd.apache.parquet", f"api buildings geoparquet: {status} {ctype.strip()}")
gdf = geopandas.read_parquet(work / "api" / "buildings.parquet")
check(len(gdf) == len(api_buildings), f"api buildings: {len(gdf)} rows = {len(api_buildings)} of /api/v1/buildings")
near = all(
    a.equals_exact(shape(f["geometry"]), 1e-7) for a, f in zip(gdf.geometry, api_buildings)
)
check(near, "api buildings: every geometry within 1e-7° of the JSON answer's")
leader_events = pq.read_table(work / "api" / "events.parquet")
screen_events = pq.read_table(work / "api" / "screen-events.parquet")
check(
    "title" in leader_events.column_names and "title" not in screen_events.column_names,
    "api events: the leader's have titles, the screen's (coarse copy) none",
)
status = (work / "api" / "persons.parquet.meta").read_text().split()[0]
check(status == "400", f"api persons geoparquet: {status} (no geometry)")

# --- XLSX: counts and masking.
NATIONAL_ID_MASKED = re.compile(r"^\d{6}\*{12}$")


def sheet(path):
    wb = openpyxl.load_workbook(path, read_only=True)
    rows = list(wb.worksheets[0].iter_rows(values_only=True))
    return rows[0], rows[1:]


for kind in ["buildings", "persons", "households"]:
    head, rows = sheet(work / "cli" / f"{kind}.xlsx")
    want = len(geojson(work / "cli" / f"{kind}.geojson"))
    check(len(rows) == want, f"cli {kind} xlsx: {len(rows)} rows = {want} GeoJSON features")
    check(head[0] == "编号 id", f"cli {kind} xlsx: headers read {head[:3]}")
    ids = [r[0] for r in rows]
    check(all(isinstance(i, (int, float)) for i in ids), f"cli {kind} xlsx: IDs are numbers")

head, rows = sheet(work / "cli" / "persons.xlsx")
col = {h.split()[-1]: i for i, h in enumerate(head)}
nids = [r[col["national_id"]] for r in rows if r[col["national_id"]]]
names = [r[col["name"]] for r in rows]
check(nids and all(NATIONAL_ID_MASKED.match(n) for n in nids), f"cli persons xlsx: {len(nids)} ID numbers all masked")
check(all("*" in n for n in names if len(n) > 1), "cli persons xlsx: names masked")
phones = [r[col["phone"]] for r in rows if r[col["phone"]]]
check(all("****" in p for p in phones), f"cli persons xlsx: {len(phones)} phones masked")

status, ctype = (work / "api" / "persons.xlsx.meta").read_text().split(maxsplit=1)
check(
    status == "200" and ctype.strip() == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    f"api persons xlsx: {status} {ctype.strip()}",
)
head, rows = sheet(work / "api" / "persons.xlsx")
in_scope = json.loads((work / "api" / "info.json").read_text())["elements"]["persons"]
check(len(rows) == in_scope, f"api persons xlsx: {len(rows)} rows = the {in_scope} persons of /api/v1/info")
head_ids = [r[0] for r in rows[:50]]
first = [f["properties"]["id"] for f in geojson(work / "api" / "persons.json")[:50]]
check(head_ids == first, "api persons xlsx: the first rows are those of /api/v1/persons, in order")
text = json.dumps([list(map(str, r)) for r in rows], ensure_ascii=False)
raw_ids = re.findall(r"\b\d{17}[\dX]\b", text)
check(not raw_ids, f"api persons xlsx: no full ID number ({len(raw_ids)} found)")
status = (work / "api" / "screen-persons.xlsx.meta").read_text().split()[0]
check(status == "403", f"api persons xlsx as the big screen: {status}")

sys.exit(1 if failed else 0)
