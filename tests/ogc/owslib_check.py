"""OWSLib (PyPI) against a running `wangge serve`: conformance, collections,
queryables, items with bbox and limit, one feature; every count equal to our
own JSON API's for the same caller. Called by tests/ogc/check.sh:
    python owslib_check.py BASE_URL COOKIE
"""
import json
import sys
import urllib.request

from owslib.ogcapi.features import Features

base, cookie = sys.argv[1], sys.argv[2]
headers = {"Cookie": cookie}
failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


def ours(kind, query=""):
    req = urllib.request.Request(f"{base}/api/v1/{kind}?limit=10000{query}", headers=headers)
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.load(r)


w = Features(f"{base}/ogc", headers=headers, timeout=60)
conf = w.conformance()["conformsTo"]
for c in ("conf/core", "conf/geojson", "conf/oas30", "ogcapi-features-2/1.0/conf/crs"):
    check(any(c in x for x in conf), f"OWSLib conformance lists {c}")
check("/collections/buildings/items" in w.api()["paths"], "OWSLib reads the OpenAPI document")
ids = w.feature_collections()
want = ["communities", "grids", "compounds", "buildings", "places", "roads", "events"]
check(ids == want, f"OWSLib feature collections {ids}")
q = w.collection_queryables("buildings")
check("usage" in q["properties"], "OWSLib queryables of buildings name usage")

info = json.load(urllib.request.urlopen(urllib.request.Request(f"{base}/api/v1/info", headers=headers), timeout=60))
west, south, east, north = info["extent"]
cx, cy = (west + east) / 2, (south + north) / 2
for kind in want:
    api = ours(kind)
    items = w.collection_items(kind, limit=10000)
    # 10000 is the server's largest page: events need a next link beyond it.
    check(items["numberMatched"] == api["total"] and len(items["features"]) == min(10000, api["total"]),
          f"OWSLib {kind}: numberMatched {items['numberMatched']}, returned {len(items['features'])}, /api/v1/{kind} {api['total']}")
    bbox = [west, south, cx, cy]
    api_b = ours(kind, "&bbox=" + ",".join(map(str, bbox)))
    items_b = w.collection_items(kind, bbox=bbox, limit=10000)
    check(items_b["numberMatched"] == api_b["total"],
          f"OWSLib {kind} bbox: {items_b['numberMatched']}, /api/v1/{kind}?bbox: {api_b['total']}")
    page = w.collection_items(kind, limit=7)
    nxt = [l for l in page["links"] if l["rel"] == "next"]
    check(len(page["features"]) == min(7, api["total"]) and (bool(nxt) == (api["total"] > 7)),
          f"OWSLib {kind} limit=7: {len(page['features'])} features, next link {bool(nxt)}")
    if page["features"]:
        fid = page["features"][0]["id"]
        one = w.collection_item(kind, str(fid))
        check(one["id"] == fid, f"OWSLib {kind} item {fid}")

sys.exit(1 if failures else 0)
