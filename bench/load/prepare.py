"""prepare.py BASE SECRET OUTDIR: the bench's path lists, read from a running server.

Writes OUTDIR/tiles.txt (z14-z16 tiles of the `all` and `events` layers over
the town's extent, each fetched once, so that the cache holds them; only those
answered 200 are listed), OUTDIR/api.txt (lists and details: event pages, an
element list, event, building and grid details) and prints the town's box
`w,s,e,n` on stdout. Fails naming the request when one answers an error.
"""
import json
import math
import sys
import urllib.request

base, secret, out = sys.argv[1], sys.argv[2], sys.argv[3]
HEADERS = {"X-Wangge-Role": "leader", "X-Wangge-Proxy-Secret": secret}


def get(path):
    req = urllib.request.Request(base + path, headers=HEADERS)
    with urllib.request.urlopen(req, timeout=60) as r:
        return r.status, r.read()


def tile(lon, lat, z):
    n = 2 ** z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


status, body = get("/tiles/all.json")
w, s, e, n = json.loads(body)["bounds"]
tiles = []
for layer in ("all", "events"):
    for z in (14, 15, 16):
        x0, y0 = tile(w, n, z)
        x1, y1 = tile(e, s, z)
        for x in range(x0, x1 + 1):
            for y in range(y0, y1 + 1):
                path = f"/tiles/{layer}/{z}/{x}/{y}.mvt"
                try:
                    st, _ = get(path)
                except urllib.error.HTTPError as err:
                    st = err.code
                if st == 200:
                    tiles.append(path)
if not tiles:
    sys.exit(f"prepare.py: no tile of the town answered 200 under {base}/tiles")
with open(f"{out}/tiles.txt", "w") as f:
    f.write("\n".join(tiles) + "\n")

api = []
status, body = get("/api/v1/events?limit=100")
events = json.loads(body)
total = events["total"]
ids = [f["properties"]["id"] for f in events["features"]]
for off in range(0, min(total, 2000), 200):
    api.append(f"/api/v1/events?limit=100&offset={off}")
api.append("/api/v1/events?limit=100&status=reported")
api.append("/api/v1/buildings?limit=100")
api.append("/api/v1/grids?limit=100")
for i in ids[:50]:
    api.append(f"/api/v1/events/{i}")
status, body = get("/api/v1/buildings?limit=50")
for f in json.loads(body)["features"]:
    api.append(f"/api/v1/buildings/{f['properties']['id']}")
status, body = get("/api/v1/grids?limit=30")
for f in json.loads(body)["features"]:
    code = f["properties"].get("code")
    if code:
        api.append(f"/api/v1/grids/{code}")
for path in api:
    st, _ = get(path)
    if st != 200:
        sys.exit(f"prepare.py: {path} answered {st}")
with open(f"{out}/api.txt", "w") as f:
    f.write("\n".join(api) + "\n")
print(f"{w},{s},{e},{n}")
print(f"prepare.py: {len(tiles)} tiles, {len(api)} API paths, {total} events", file=sys.stderr)
