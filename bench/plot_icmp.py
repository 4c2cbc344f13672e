#!/usr/bin/env python3
"""Summarises bench/results/icmp_pps.json (written by scripts/bench-icmp.sh).

    plot_icmp.py RESULTS.json [--png OUT.png]

Prints one row per responder (median replies/s over the runs, min..max, median p50/p99
round-trip latency, lost requests) and the pollux/testpmd ratio, both of the medians and
per repeat: the two responders of a repeat ran back to back, so their ratio is the least
touched by drift in the machine's load. With --png it draws a bar chart of the medians
with min/max whiskers (needs matplotlib; the table needs only the standard library).
"""
import argparse
import json
import statistics
import sys


# Below this share of idle time the generator, not the responder, set the pace: the
# responder's figure is then only a lower bound of what it can do.
GENERATOR_BOUND_IDLE_PCT = 2.0


def load_runs(path):
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    ok = [r for r in doc["runs"] if "error" not in r]
    failed = [r for r in doc["runs"] if "error" in r]
    return doc, ok, failed


def summarise(runs):
    by_name = {}
    for r in runs:
        by_name.setdefault(r["responder"], []).append(r)
    rows = {}
    for name, rs in by_name.items():
        pps = [r["pps"] for r in rs]
        rows[name] = {
            "runs": len(rs),
            "median": statistics.median(pps),
            "min": min(pps),
            "max": max(pps),
            "p50": statistics.median(r["p50_us"] for r in rs),
            "p99": statistics.median(r["p99_us"] for r in rs),
            "lost": sum(r["lost"] for r in rs),
            "idle": statistics.median(r.get("gen_idle_pct", 0) for r in rs),
        }
    return rows


def paired_ratios(runs, num, den):
    per_repeat = {}
    for r in runs:
        per_repeat.setdefault(r["repeat"], {})[r["responder"]] = r["pps"]
    return [p[num] / p[den] for _, p in sorted(per_repeat.items()) if num in p and den in p and p[den] > 0]


def print_table(doc, rows, runs, failed):
    p = doc["params"]
    print(f"\nICMP echo over {doc['link']}: {p['repeats']} repeats x {p['seconds']} s, window {p['window']}, "
          f"{p['size']} data bytes; load before: {doc['load_before']}")
    header = f"{'responder':<10} {'runs':>4} {'median pps':>12} {'min..max pps':>23} {'p50 us':>8} {'p99 us':>8} " \
             f"{'lost':>6} {'gen idle':>8}"
    print(header)
    print("-" * len(header))
    for name, s in sorted(rows.items()):
        span = f"{s['min']:,.0f}..{s['max']:,.0f}"
        bound = "  <- generator-bound: a lower bound" if s["idle"] < GENERATOR_BOUND_IDLE_PCT else ""
        print(f"{name:<10} {s['runs']:>4} {s['median']:>12,.0f} {span:>23} {s['p50']:>8.1f} {s['p99']:>8.1f} "
              f"{s['lost']:>6} {s['idle']:>7.1f}%{bound}")
    if "pollux" in rows and "testpmd" in rows and rows["testpmd"]["median"] > 0:
        ratio = rows["pollux"]["median"] / rows["testpmd"]["median"]
        pairs = paired_ratios(runs, "pollux", "testpmd")
        line = f"pollux/testpmd (median pps): {ratio:.2f}"
        if pairs:
            line += f"; per repeat: {', '.join(f'{x:.2f}' for x in pairs)}"
        if rows["testpmd"]["idle"] < GENERATOR_BOUND_IDLE_PCT:
            line += " (an upper bound: testpmd was generator-bound)"
        print(line)
    if rows:
        print("gen idle: share of the measured time the generator found no reply and a full window "
              "(near 0% means the generator, not the responder, was the limit)")
    for r in failed:
        print(f"FAILED: {r['responder']} run {r['repeat']}: {r['error']}")


def plot(rows, path, doc):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = sorted(rows)
    med = [rows[n]["median"] / 1e6 for n in names]
    lo = [(rows[n]["median"] - rows[n]["min"]) / 1e6 for n in names]
    hi = [(rows[n]["max"] - rows[n]["median"]) / 1e6 for n in names]
    fig, ax = plt.subplots(figsize=(5, 4))
    bars = ax.bar(names, med, yerr=[lo, hi], capsize=8, color=["#4c72b0", "#dd8452"][: len(names)])
    for b, n in zip(bars, names):
        ax.annotate(f"{rows[n]['median'] / 1e6:.2f}", (b.get_x() + b.get_width() / 2, b.get_height()),
                    ha="center", va="bottom", xytext=(0, 3), textcoords="offset points")
    p = doc["params"]
    ax.set_ylabel("echo replies (Mpps)")
    ax.set_title(f"ICMP echo over memif: median of {p['repeats']}, min/max whiskers\n"
                 f"window {p['window']}, {p['size']} B data, {p['seconds']} s per run", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"plot: {path}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results")
    ap.add_argument("--png")
    args = ap.parse_args()
    doc, runs, failed = load_runs(args.results)
    rows = summarise(runs)
    print_table(doc, rows, runs, failed)
    if args.png and rows:
        plot(rows, args.png, doc)
    return 1 if failed or not rows else 0


if __name__ == "__main__":
    sys.exit(main())
