"""sse.py HOST PORT SECRET STREAMS EVENTS BBOX: many open event streams.

Opens STREAMS connections to /api/v1/stream/events (as the authenticating
proxy speaking for a leader), waits until every one has its `event: hello`,
then files EVENTS events by intake (one at a time, on one more connection)
and waits (at most 120 s) until every stream has received every filed event.
Prints one line:
  SSE streams_open streams_complete events_filed p50_ms p99_ms max_ms refused
where the times run from sending an intake to a stream receiving that event,
over all (stream, event) pairs, and `refused` counts streams answered other
than 200. Needs `ulimit -n` above STREAMS.
"""
import asyncio
import json
import random
import sys
import time

host, port, secret = sys.argv[1], int(sys.argv[2]), sys.argv[3]
n_streams, n_events = int(sys.argv[4]), int(sys.argv[5])
w, s, e, n = (float(v) for v in sys.argv[6].split(","))

HEAD = (
    "GET /api/v1/stream/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    f"X-Wangge-Role: leader\r\nX-Wangge-Proxy-Secret: {secret}\r\n"
    "Accept: text/event-stream\r\n\r\n"
)

def eid_of(d):
    """The event ID of an intake answer or a stream message."""
    for v in (d, d.get("event") or {}, d.get("properties") or {}):
        if isinstance(v, dict) and v.get("id") is not None:
            return v["id"]
    return None


filed = {}  # event id -> time its 201 arrived
seen = []  # per stream: {event id: time received}
delays = []


async def stream(k, hello, refused):
    got = {}
    seen.append(got)
    try:
        reader, writer = await asyncio.open_connection(host, port)
    except OSError:
        refused.append(k)
        hello.release()
        return
    writer.write(HEAD.encode())
    await writer.drain()
    status = await reader.readline()
    if b" 200 " not in status:
        refused.append(k)
        hello.release()
        writer.close()
        return
    said_hello = False
    kind = None
    try:
        while True:
            line = await reader.readline()
            if not line:
                break
            line = line.decode("utf-8", "replace").rstrip("\r\n")
            if line.startswith("event:"):
                kind = line[6:].strip()
                if kind == "hello" and not said_hello:
                    said_hello = True
                    hello.release()
            elif line.startswith("data:") and kind == "event":
                try:
                    data = json.loads(line[5:])
                except ValueError:
                    continue
                eid = eid_of(data)
                if eid is not None and eid not in got:
                    got[eid] = time.monotonic()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


async def post_event(i):
    body = json.dumps({
        "category": "09.01",
        "title": f"stream test {i}",
        "lon": w + (e - w) * random.random(),
        "lat": s + (n - s) * random.random(),
    }).encode()
    reader, writer = await asyncio.open_connection(host, port)
    sent = time.monotonic()
    writer.write((
        "POST /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"X-Wangge-Role: leader\r\nX-Wangge-Proxy-Secret: {secret}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n").encode() + body)
    await writer.drain()
    raw = await reader.read()
    writer.close()
    head, _, rest = raw.partition(b"\r\n\r\n")
    if b" 201 " not in head.split(b"\r\n")[0]:
        sys.exit(f"sse.py: intake answered {head[:200]!r} {rest[:300]!r}")
    if b"chunked" in head.lower():
        # One chunk: size line, then the JSON.
        rest = rest.split(b"\r\n", 1)[1].rsplit(b"\r\n0\r\n", 1)[0]
    data = json.loads(rest)
    eid = eid_of(data)
    filed[eid] = sent


async def main():
    hello = asyncio.Semaphore(0)
    refused = []
    tasks = [asyncio.create_task(stream(k, hello, refused)) for k in range(n_streams)]
    for _ in range(n_streams):
        await asyncio.wait_for(hello.acquire(), 120)
    opened = n_streams - len(refused)
    for i in range(n_events):
        await post_event(i)
        await asyncio.sleep(0.05)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        done = sum(1 for g in seen if all(eid in g for eid in filed))
        if done >= opened:
            break
        await asyncio.sleep(0.2)
    complete = sum(1 for g in seen if all(eid in g for eid in filed))
    for g in seen:
        for eid, t in filed.items():
            if eid in g:
                delays.append((g[eid] - t) * 1000)
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    delays.sort()
    pct = lambda p: delays[min(len(delays) - 1, int(p * len(delays)))] if delays else float("nan")
    print(f"SSE {opened} {complete} {len(filed)} {pct(0.5):.1f} {pct(0.99):.1f} "
          f"{(delays[-1] if delays else float('nan')):.1f} {len(refused)}")


asyncio.run(main())
