"""Run spopt's MaxPHeuristic on instances written by
`analytics/examples/export_instances.rs` and print it beside our results.

MaxPHeuristic gets the same adjacency graph (all edges, barriers included:
spopt has no notion of them), threshold = the minimum households (30); it has
no maximum, so we count its regions above 80. Each size runs in a child
process with a timeout; its peak resident memory (ru_maxrss, including the
Python/geopandas import) is reported as spopt_MiB, and speed-up is
spopt time / our time.
"""

import argparse
import csv
import json
import multiprocessing as mp
import os
import resource
import time

MIN_HH, MAX_HH = 30, 80


def load(d, n):
    ids, xs, ys, hh = [], [], [], []
    with open(os.path.join(d, f"units_{n}.csv")) as f:
        for r in csv.DictReader(f):
            ids.append(int(r["id"]))
            xs.append(float(r["x_m"]))
            ys.append(float(r["y_m"]))
            hh.append(int(r["households"]))
    # spopt's max-p indexes neighbours by row position: key them 0..n-1.
    pos = {u: i for i, u in enumerate(ids)}
    nb = {i: [] for i in range(len(ids))}
    with open(os.path.join(d, f"edges_{n}.csv")) as f:
        for r in csv.DictReader(f):
            a, b = pos[int(r["a"])], pos[int(r["b"])]
            nb[a].append(b)
            nb[b].append(a)
    return ids, xs, ys, hh, nb


def run_spopt(d, n, q):
    import warnings

    import geopandas as gpd
    import libpysal
    from shapely.geometry import Point
    from spopt.region import MaxPHeuristic

    warnings.filterwarnings("ignore")
    ids, xs, ys, hh, nb = load(d, n)
    gdf = gpd.GeoDataFrame(
        {"id": ids, "x": xs, "y": ys, "households": hh},
        geometry=[Point(x, y) for x, y in zip(xs, ys)],
    )
    w = libpysal.weights.W(nb, silence_warnings=True)
    t = time.perf_counter()
    model = MaxPHeuristic(gdf, w, ["x", "y"], "households", MIN_HH, top_n=2)
    model.solve()
    secs = time.perf_counter() - t
    loads = {}
    for h, lab in zip(hh, model.labels_):
        loads[lab] = loads.get(lab, 0) + h
    real = {k: v for k, v in loads.items() if k != 0} if 0 in loads and loads[0] < MIN_HH else loads
    q.put(
        {
            "time_ms": secs * 1000,
            "regions": len(real),
            "above_max": sum(1 for v in real.values() if v > MAX_HH),
            "below_min": sum(1 for v in real.values() if v < MIN_HH),
            "unassigned_hh": loads.get(0, 0) if len(real) != len(loads) else 0,
            "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }
    )


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("sizes", nargs="*", type=int, default=[500, 2000, 5000, 10000])
    ap.add_argument("--timeout", type=float, default=600)
    a = ap.parse_intermixed_args()
    head = (
        f"{'units':>6} | {'ours_ms':>8} {'grids':>6} {'viol':>5} | "
        f"{'spopt_ms':>10} {'regions':>7} {'>max':>5} {'<min':>5} {'spopt_MiB':>9} | "
        f"{'speed-up':>8}"
    )
    print(head, flush=True)
    for n in a.sizes:
        with open(os.path.join(a.dir, f"ours_{n}.json")) as f:
            ours = json.load(f)
        q = mp.Queue()
        p = mp.Process(target=run_spopt, args=(a.dir, n, q))
        p.start()
        p.join(a.timeout)
        if p.is_alive():
            p.terminate()
            p.join()
            sp = None
        else:
            sp = q.get() if not q.empty() else None
        if sp is None:
            failed = "timeout " + str(int(a.timeout)) + "s" if p.exitcode is None or p.exitcode < 0 else "failed"
            # a timeout still bounds the speed-up from below
            lower = f">{a.timeout * 1000 / max(ours['time_ms'], 1e-3):.0f}x" if failed.startswith("timeout") else "-"
            spcols = f"{failed:>10} {'-':>7} {'-':>5} {'-':>5} {'-':>9} | {lower:>8}"
        else:
            speed = sp["time_ms"] / max(ours["time_ms"], 1e-3)
            spcols = (
                f"{sp['time_ms']:>10.0f} {sp['regions']:>7} {sp['above_max']:>5} {sp['below_min']:>5} "
                f"{sp['peak_mib']:>9.0f} | {speed:>7.0f}x"
            )
        row = (
            f"{n:>6} | {ours['time_ms']:>8.0f} {ours['grids']:>6} {ours['violations']:>5} | {spcols}"
        )
        print(row, flush=True)


if __name__ == "__main__":
    main()
