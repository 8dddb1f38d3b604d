#!/usr/bin/env python3
"""Builds the seed corpora of the fuzz targets (fuzz/) at run time, small cuts
of the real files in ../shared/data/real/ and of the repository's import
fixtures, so no large file is copied into the repository.

    python3 scripts/fuzz_seeds.py OUT_DIR REAL_DIR

Writes OUT_DIR/<target>/<seed> for the targets of the parsers; the first byte
of a seed is the target's flags byte (element kind, options, encoding).
"""
import gzip
import json
import os
import struct
import sys

KINDS = ["communities", "grids", "compounds", "buildings", "units", "households",
         "persons", "places", "events", "sentiments", "organisations", "roads"]


def write(out, target, name, data):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def geojson_cut(path, n):
    with open(path, "rb") as f:
        doc = json.load(f)
    doc["features"] = doc.get("features", [])[:n]
    return json.dumps(doc, ensure_ascii=False).encode("utf-8")


def pbf_head(path, blobs):
    """The first `blobs` blobs of a PBF (header block + data): a valid file."""
    with open(path, "rb") as f:
        data = f.read()
    pos = 0
    for _ in range(blobs):
        if pos + 4 > len(data):
            break
        (hlen,) = struct.unpack(">I", data[pos:pos + 4])
        header = data[pos + 4:pos + 4 + hlen]
        # BlobHeader: field 3 (datasize) is a varint, tag 0x18.
        i = header.index(b"\x18", header.index(b"\x12") if b"\x12" in header else 0)
        size, shift, j = 0, 0, i + 1
        while True:
            b = header[j]
            size |= (b & 0x7F) << shift
            j += 1
            shift += 7
            if b < 0x80:
                break
        pos += 4 + hlen + size
    return data[:pos]


def main():
    out, real = sys.argv[1], sys.argv[2]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    fixtures = os.path.join(root, "geo-core", "tests", "fixtures", "io")
    for name in sorted(os.listdir(fixtures)):
        kind = KINDS.index(os.path.splitext(name)[0])
        with open(os.path.join(fixtures, name), "rb") as f:
            body = f.read()
        if name.endswith(".geojson"):
            write(out, "geojson_import", name, bytes([kind]) + body)
            write(out, "geojson_import", "repair-" + name, bytes([kind | 0x10]) + body)
        else:
            write(out, "csv_import", name, bytes([kind]) + body)
            gbk = body.decode("utf-8").encode("gbk", errors="replace")
            write(out, "csv_import", "gbk-" + name, bytes([kind | 0x20]) + gbk)
    for name, kind, flags in [("hk-dcca-2019.geojson", 0, 0),
                              ("shanghai-lujiazui-buildings.geojson", 3, 0x20 | 0x40),
                              ("shanghai-lujiazui-pois.geojson", 7, 0x40),
                              ("shanghai-lujiazui-roads.geojson", 11, 0x40)]:
        write(out, "geojson_import", name, bytes([kind | flags]) + geojson_cut(os.path.join(real, name), 3))
    write(out, "osm_pbf", "sf-downtown-head.osm.pbf", pbf_head(os.path.join(real, "sf-downtown.osm.pbf"), 2))
    with gzip.open(os.path.join(real, "sf-incidents-downtown-2003-2015.csv.gz"), "rb") as f:
        lines = b"".join(f.readline() for _ in range(25))
    with open(os.path.join(root, "data", "maps", "sf-incidents.toml"), "rb") as f:
        sf_map = f.read()
    write(out, "incident_csv", "sf-head.csv", b"\x00" + lines)
    write(out, "incident_csv", "sf-head-skip.csv", b"\x01" + lines)
    write(out, "incident_csv", "sf-head.csv.gz", b"\x00" + gzip.compress(lines))
    write(out, "incident_csv", "sf-map-head.csv", b"\x08" + sf_map + b"\x00" + lines)
    small_map = b'default = "09.01"\n[map]\n"LARCENY/THEFT" = "06.01"\n'
    write(out, "incident_csv", "small-map-head.csv", b"\x09" + small_map + b"\x00" + lines)


if __name__ == "__main__":
    main()
