"""The PyPI Open311 client `georeport` (read side, XML and JSON) and form
POSTs with `requests` against a running `wangge serve`. Called by
tests/open311/check.sh:
    python georeport_check.py BASE_URL API_KEY LEADER_COOKIE JURISDICTION
Every count equals our own JSON API's (as the leader); public answers carry
no description, address or exact place; posts without the key, with a
session cookie or as JSON are refused in the Open311 error form.
"""
import datetime as dt
import json
import sys
import urllib.request

import requests
import xmltodict
from georeport import GeoReport

base, key, cookie, jurisdiction = sys.argv[1:5]
root = f"{base}/open311/v2"
failures = []
CLOSED = {"resolved", "reviewed", "closed", "rejected", "merged"}


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


def ours(path):
    req = urllib.request.Request(f"{base}{path}", headers={"Cookie": cookie})
    with urllib.request.urlopen(req, timeout=120) as r:
        return json.load(r)


def as_list(x):
    """xmltodict gives a dict for one element, a list for several."""
    if x is None:
        return []
    return x if isinstance(x, list) else [x]


xml = GeoReport(root, jurisdiction=jurisdiction, output_format="xml")
js = GeoReport(root, jurisdiction=jurisdiction, output_format="json")

# --- services: our taxonomy (zh and en) and the configured foreign code.
sx, sj = as_list(xml.get_service_list()), js.get_service_list()
check(len(sx) == len(sj) and len(sj) > 20, f"georeport service list: {len(sx)} in XML = {len(sj)} in JSON")
codes = {s["service_code"] for s in sx}
check({"02.05", "04.01", "HOTLINE-0205"} <= codes, "services hold our codes and the 12345 code HOTLINE-0205")
lamp = next(s for s in sj if s["service_code"] == "02.05")
check(lamp["service_name"] and lamp["description"], f"02.05 named in zh and en: {lamp['service_name']} / {lamp['description']}")
d = xml.get_service_definition("HOTLINE-0205")
attr = d["attributes"]["attribute"]
check(attr["code"] == "location_detail", "georeport reads the service definition (XML)")
check(js.get_service_definition("02.05")["attributes"][0]["code"] == "location_detail", "georeport reads the service definition (JSON)")

# --- a position inside the town (the leader's first event), and a window
# of 5 days before the newest event (under the 1000-request cap).
ev = ours("/api/v1/events?limit=10000")
feats = ev["features"]
lon, lat = feats[0]["geometry"]["coordinates"]
newest = max(dt.datetime.fromisoformat(f["properties"]["reported_at"]) for f in feats)
start, end = newest - dt.timedelta(days=5), newest
fmt = lambda t: t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

# --- posts (form-encoded; georeport 0.3.1 has no post method).
form = {
    "api_key": key,
    "jurisdiction_id": jurisdiction,
    "service_code": "HOTLINE-0205",
    "lat": str(lat),
    "long": str(lon),
    "description": "路灯不亮，来电人李四 13900001111",
    "attribute[location_detail]": "5号楼",
    "phone": "13900001111",
}
r = requests.post(f"{root}/requests.xml", data=form, timeout=60)
check(r.status_code == 201, f"form POST requests.xml with the api_key: {r.status_code}")
created = xmltodict.parse(r.content)["service_requests"]["request"]
rid, token = created["service_request_id"], created["token"]
check(rid.isdigit() and token.startswith("R"), f"the post answers service_request_id {rid} and a token")
r = requests.post(f"{root}/requests.json", data=dict(form, description="井盖缺失"), timeout=60)
check(r.status_code == 201, f"form POST requests.json: {r.status_code}")
rid2 = r.json()[0]["service_request_id"]
mine = ours(f"/api/v1/events/{rid}")
check(mine["source"] == "hotline" and mine["category"] == "02.05" and mine["handler"] and mine["deadline"],
      f"the request entered the intake: source {mine['source']}, handler {mine['handler']}, deadline {mine['deadline']}")

# --- the attacks, each in the Open311 error form.
bad = dict(form)
bad.pop("api_key")
r = requests.post(f"{root}/requests.xml", data=bad, timeout=60)
err = xmltodict.parse(r.content)["errors"]["error"] if r.content.startswith(b"<?xml") else {}
check(r.status_code == 401 and err.get("code") == "401", f"a post without api_key: {r.status_code} {err}")
r = requests.post(f"{root}/requests.json", data=dict(form, api_key="wgo_" + "0" * 12 + "_" + "0" * 64), timeout=60)
check(r.status_code == 401 and r.json()[0]["code"] == 401, f"a post with a wrong api_key: {r.status_code}")
r = requests.post(f"{root}/requests.json", data=bad, headers={"Cookie": cookie}, timeout=60)
check(r.status_code == 403, f"a leader's cookie form post: {r.status_code} {r.text[:120]}")
r = requests.post(f"{root}/requests.json", json=form, timeout=60)
check(r.status_code == 415, f"the key in a JSON body: {r.status_code}")
r = requests.get(f"{root}/requests.json", params={"jurisdiction_id": "elsewhere"}, timeout=60)
check(r.status_code == 400 and "bad_jurisdiction" in r.json()[0]["description"], "another jurisdiction_id is refused")

# --- reads with georeport: one request, the list, by ID, by code, status.
one = xml.get_service_request(rid)
check(one["service_request_id"] == rid and one["status"] == "open", f"georeport reads request {rid} (XML): {one['status']}")
onej = js.get_service_request(rid)
check(onej["service_code"] == "02.05", "georeport reads it (JSON)")
public = json.dumps(onej, ensure_ascii=False)
check(all(s not in public for s in ("路灯不亮", "李四", "13900001111", "5号楼", token)),
      "the public request holds no description, name, phone, detail or token")
check(onej["description"] is None and onej["address"] is None, "no description or address")
check((onej["long"], onej["lat"]) != (lon, lat), f"not the exact place: {onej['long']},{onej['lat']} vs {lon},{lat}")

both = as_list(xml.get_service_requests(service_request_id=f"{rid},{rid2}"))
check(sorted(x["service_request_id"] for x in both) == sorted([rid, rid2]), "service_request_id lists both posts")

# Disputes (01), people services (05) and key persons (06.03) are withheld
# from the public (web-viewer/src/open311.rs, is_public).
def public(f):
    c = f["properties"]["category"]
    return not (c.startswith("01.") or c.startswith("05.") or c == "06.03")


want_closed = [f for f in feats
               if start <= dt.datetime.fromisoformat(f["properties"]["reported_at"]) <= end
               and f["properties"]["status"] in CLOSED and public(f)]
got = as_list(xml.get_service_requests(status="closed", start_date=fmt(start), end_date=fmt(end)))
check(len(got) == min(len(want_closed), 1000),
      f"georeport closed requests of 5 days (XML): {len(got)} = /api/v1/events: {len(want_closed)}")
gotj = js.get_service_requests(status="closed", start_date=fmt(start), end_date=fmt(end))
check(len(gotj) == len(got), f"the same in JSON: {len(gotj)}")
want_lamp = [f for f in feats
             if start <= dt.datetime.fromisoformat(f["properties"]["reported_at"]) <= end
             and f["properties"]["category"] == "02.05"]
got = js.get_service_requests(service_code="02.05", start_date=fmt(start), end_date=fmt(end))
check(len(got) == min(len(want_lamp), 1000), f"service_code=02.05 of 5 days: {len(got)} = {len(want_lamp)}")
got_foreign = js.get_service_requests(service_code="HOTLINE-0205", start_date=fmt(start), end_date=fmt(end))
check(len(got_foreign) == len(got), "the 12345 code filters as the category it maps to")
text = json.dumps(gotj, ensure_ascii=False)
titles = [f["properties"]["title"] for f in feats if len(f["properties"].get("title") or "") >= 4]
check(not any(t in text for t in titles), "no event title in the public list")
check(all(x["description"] is None and x["address"] is None for x in gotj), "no description or address in the list")

print(f"open311 georeport: {len(failures)} failed")
sys.exit(1 if failures else 0)
