#!/usr/bin/env python3
"""Writes the small "office files" the onboarding tests read (tests/data/).

A made-up estate in the style of a domestic map vendor's building export:
slab blocks with floor counts (层数) and uses (用途) but no household counts,
and every ID 0 (the vendor's FID column left unset). The same buildings are
written in WGS84 and, with a GeoJSON `crs` member, in Web Mercator
(EPSG:3857), and once more naming a projected CRS the import must refuse
(EPSG:4547, CGCS2000 / 3-degree Gauss-Kruger CM 114E).

Nothing here comes from a real survey: the positions are a regular layout
near 31.23 N, 121.50 E. Standard library only; run from this folder:

    python3 make_office_files.py
"""
import json
import math

R = 6378137.0
LON0, LAT0 = 121.5000, 31.2300
M_LON = 1.0 / (111320.0 * math.cos(math.radians(LAT0)))
M_LAT = 1.0 / 110574.0


def slab(x_m, y_m, w_m, h_m):
    x0, y0 = LON0 + x_m * M_LON, LAT0 + y_m * M_LAT
    x1, y1 = x0 + w_m * M_LON, y0 + h_m * M_LAT
    return [[round(x0, 7), round(y0, 7)], [round(x1, 7), round(y0, 7)],
            [round(x1, 7), round(y1, 7)], [round(x0, 7), round(y1, 7)],
            [round(x0, 7), round(y0, 7)]]


def buildings():
    feats = []
    uses = ["住宅", "住宅", "宿舍", "住宅", "商业", "住宅"]
    for row in range(6):
        for col in range(5):
            i = row * 5 + col
            levels = 6 if row < 4 else 11
            use = uses[(row + col) % len(uses)]
            feats.append({
                "type": "Feature",
                "properties": {"id": 0, "名称": f"{row + 1}排{col + 1}号楼",
                               "层数": levels, "用途": use},
                "geometry": {"type": "Polygon",
                             "coordinates": [slab(col * 80.0, row * 40.0, 60.0, 12.0)]},
            })
    return feats


def mercator(ring):
    out = []
    for lon, lat in ring:
        x = math.radians(lon) * R
        y = math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)) * R
        out.append([round(x, 3), round(y, 3)])
    return out


def write(name, feats, crs=None):
    doc = {"type": "FeatureCollection"}
    if crs:
        doc["crs"] = {"type": "name", "properties": {"name": crs}}
    doc["features"] = feats
    with open(name, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=1)
        f.write("\n")


def main():
    feats = buildings()
    write("vendor-buildings.geojson", feats)
    merc = json.loads(json.dumps(feats))
    for f in merc:
        f["geometry"]["coordinates"] = [mercator(r) for r in f["geometry"]["coordinates"]]
    write("vendor-buildings-3857.geojson", merc, "urn:ogc:def:crs:EPSG::3857")
    write("vendor-buildings-4547.geojson", merc[:2], "urn:ogc:def:crs:EPSG::4547")
    # A compound's buildings the vendor joined into one MultiPolygon feature,
    # beside a plain one and a one-part MultiPolygon.
    multi = [
        {"type": "Feature", "properties": {"id": 0, "层数": 6, "用途": "住宅"},
         "geometry": {"type": "Polygon", "coordinates": [slab(0.0, 300.0, 60.0, 12.0)]}},
        {"type": "Feature", "properties": {"id": 0, "层数": 6, "用途": "住宅"},
         "geometry": {"type": "MultiPolygon", "coordinates": [
             [slab(0.0, 340.0, 40.0, 12.0)], [slab(80.0, 340.0, 60.0, 12.0)]]}},
        {"type": "Feature", "properties": {"id": 0, "层数": 3, "用途": "商业"},
         "geometry": {"type": "MultiPolygon", "coordinates": [[slab(160.0, 340.0, 20.0, 20.0)]]}},
    ]
    write("vendor-multipart.geojson", multi)


if __name__ == "__main__":
    main()
