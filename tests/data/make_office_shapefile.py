#!/usr/bin/env python3
"""Writes the GBK-encoded Shapefiles the onboarding tests read (tests/data/).

Building outlines as an ArcGIS user in a town office would hand them over:
a DBF in GBK with Chinese field names and values (ID all 0, 层数, 用途, 户数
for some buildings, 地址), a WGS84 .prj and a .cpg saying GBK; the same
files zipped without the .cpg (the encoding must then be detected); and a zip
whose .prj is a Gauss-Kruger projection the import must refuse.

Made up: a regular layout near 31.231 N, 121.501 E, no real survey. Needs
pyshp (PyPI `pyshp`, MIT); run from this folder:

    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install pyshp
    /tmp/venv/bin/python make_office_shapefile.py
"""
import math
import os
import zipfile

import shapefile  # pyshp

LON0, LAT0 = 121.5010, 31.2310
M_LON = 1.0 / (111320.0 * math.cos(math.radians(LAT0)))
M_LAT = 1.0 / 110574.0

WGS84_PRJ = ('GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,'
             '298.257223563]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]')
GK_PRJ = ('PROJCS["Xian_1980_3_Degree_GK_CM_120E",GEOGCS["GCS_Xian_1980",DATUM["D_Xian_1980",'
          'SPHEROID["Xian_1980",6378140.0,298.257]],PRIMEM["Greenwich",0.0],'
          'UNIT["Degree",0.0174532925199433]],PROJECTION["Gauss_Kruger"],'
          'PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",0.0],'
          'PARAMETER["Central_Meridian",120.0],PARAMETER["Scale_Factor",1.0],'
          'PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]')


def ring(x_m, y_m, w_m, h_m):
    x0, y0 = LON0 + x_m * M_LON, LAT0 + y_m * M_LAT
    x1, y1 = x0 + w_m * M_LON, y0 + h_m * M_LAT
    # Shapefile outer rings run clockwise.
    return [(x0, y0), (x0, y1), (x1, y1), (x1, y0), (x0, y0)]


def write(stem):
    w = shapefile.Writer(stem, shapeType=shapefile.POLYGON, encoding="gbk")
    w.field("ID", "N", 10, 0)
    w.field("层数", "N", 4, 0)
    w.field("用途", "C", 20)
    w.field("户数", "N", 6, 0)
    w.field("地址", "C", 60)
    uses = ["住宅", "住宅", "商住", "商业"]
    for i in range(12):
        row, col = divmod(i, 4)
        use = uses[i % 4]
        households = 36 if i % 3 == 0 and use == "住宅" else 0
        w.poly([ring(col * 80.0, row * 40.0, 60.0, 12.0)])
        w.record(0, 6 if row < 2 else 9, use, households, f"幸福路{i + 1}号{row + 1}幢")
    w.close()
    with open(stem + ".prj", "w") as f:
        f.write(WGS84_PRJ)


def main():
    stem = "office-buildings-gbk"
    write(stem)
    with open(stem + ".cpg", "w") as f:
        f.write("GBK")
    with zipfile.ZipFile(stem + ".zip", "w", zipfile.ZIP_DEFLATED) as z:
        for ext in ("shp", "shx", "dbf", "prj"):  # no .cpg: detected
            z.write(f"{stem}.{ext}", f"楼栋/{stem}.{ext}")
    gk = "office-buildings-gk"
    with zipfile.ZipFile(gk + ".zip", "w", zipfile.ZIP_DEFLATED) as z:
        for ext in ("shp", "shx", "dbf", "cpg"):
            z.write(f"{stem}.{ext}", f"{gk}.{ext}")
        z.writestr(f"{gk}.prj", GK_PRJ)


if __name__ == "__main__":
    os.chdir(os.path.dirname(os.path.abspath(__file__)))
    main()
