#!/usr/bin/python3
"""Summarises a scripts/bench.sh run: the table of pollux / kernel ratios, the summary
added to the JSON, and one PNG per workload.

    bench_report.py RUNS.json [--write OUT.json] [--png-prefix PREFIX]

RUNS.json is what bench.sh collected: {"runs": [{"stack", "workload", "repeat",
"result": <loadgen's --json object, or icmp_pps's line>} or {..., "error"}], ...}.
For each workload and stack it takes the median over repeats and the spread (min..max);
a ratio's spread is pollux's min over the kernel's max .. pollux's max over the kernel's
min, so it holds every pairing of repeats. Plots need matplotlib (python3-matplotlib);
everything else is the standard library.
"""
import argparse
import json
import statistics
import sys

# workload -> (title, [(metric label, how to read it from loadgen's JSON, higher is better)])
WORKLOADS = {
    "echo1": ("echo 1 B, 1 connection (ping-pong)",
              [("req/s", lambda r: r["req_per_s"], True),
               ("p50 RTT us", lambda r: r["latency_us"]["p50"], False)]),
    "echoN": ("echo 64 B, 64 connections",
              [("req/s", lambda r: r["req_per_s"], True),
               ("p99 us", lambda r: r["latency_us"]["p99"], False)]),
    "http": ("HTTP keep-alive GET /, 32 connections",
             [("req/s", lambda r: r["req_per_s"], True),
              ("p99 us", lambda r: r["latency_us"]["p99"], False)]),
    "short": ("HTTP short connections, 16 at once",
              [("req/s", lambda r: r["req_per_s"], True),
               ("p99 us", lambda r: r["latency_us"]["p99"], False)]),
    "bulk": ("one bulk stream",
             [("Gb/s", lambda r: r["gbps"], True)]),
}
STACKS = ("kernel", "pollux")


def spread(values):
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


def summarise(runs):
    summary = {}
    for workload, (title, metrics) in WORKLOADS.items():
        entry = {"title": title, "metrics": {}, "failed_runs": 0, "errors": {}}
        present = False
        for stack in STACKS:
            mine = [r for r in runs if r["workload"] == workload and r["stack"] == stack]
            present = present or bool(mine)
            entry["failed_runs"] += sum(1 for r in mine if "error" in r)
            good = [r["result"] for r in mine if "result" in r]
            entry["errors"][stack] = sum(r["errors"]["total"] for r in good)
            # A request that never completes records no latency: say how old the oldest
            # unanswered one was when the run ended (a hang shows here, not in p99).
            entry.setdefault("unanswered_oldest_us", {})[stack] = max(
                (r.get("unanswered_at_end", {}).get("oldest_us", 0) for r in good), default=0)
            for label, get, _ in metrics:
                values = [get(r) for r in good]
                if values:
                    entry["metrics"].setdefault(label, {})[stack] = spread(values)
        if not present:
            continue
        for label, _, higher in metrics:
            m = entry["metrics"].get(label, {})
            if "kernel" in m and "pollux" in m and m["kernel"]["min"] > 0 and m["kernel"]["median"] > 0:
                k, p = m["kernel"], m["pollux"]
                m["ratio"] = {"median": p["median"] / k["median"], "min": p["min"] / k["max"],
                              "max": p["max"] / k["min"], "higher_is_better": higher}
        summary[workload] = entry
    link = [r["result"] for r in runs if r["workload"] == "link" and "result" in r]
    if link:
        summary["link"] = {"title": "link limit: testpmd icmpecho over memif (round trips/s, window 256)",
                           "pps": spread([r["pps"] for r in link]),
                           "p50_us": spread([r["p50_us"] for r in link])}
    failed_link = sum(1 for r in runs if r["workload"] == "link" and "error" in r)
    if failed_link:
        summary.setdefault("link", {})["failed_runs"] = failed_link
    return summary


def fmt(v):
    if v >= 100:
        return f"{v:,.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.3g}"


def print_table(summary, out=sys.stdout):
    rows = [("workload", "metric", "kernel (median, min-max)", "pollux (median, min-max)", "pollux/kernel (spread)")]
    for workload, entry in summary.items():
        if workload == "link":
            continue
        for label, m in entry["metrics"].items():
            cells = []
            for stack in STACKS:
                s = m.get(stack)
                cells.append(f"{fmt(s['median'])} ({fmt(s['min'])}-{fmt(s['max'])})" if s else "-")
            r = m.get("ratio")
            ratio = f"{r['median']:.2f}x ({r['min']:.2f}-{r['max']:.2f})" if r else "-"
            rows.append((workload, label, cells[0], cells[1], ratio))
        if entry["failed_runs"]:
            rows.append((workload, "FAILED runs", str(entry["failed_runs"]), "", ""))
        stuck = {k: v for k, v in entry.get("unanswered_oldest_us", {}).items() if v > 1e6}
        if stuck:
            rows.append((workload, "unanswered > 1 s", *(f"{stuck[k] / 1e6:.1f} s" if k in stuck else "" for k in STACKS), ""))
        if any(entry["errors"].values()):
            rows.append((workload, "errors", str(entry["errors"].get("kernel", 0)), str(entry["errors"].get("pollux", 0)), ""))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for n, r in enumerate(rows if len(rows) > 1 else []):
        print("  ".join(c.ljust(widths[i]) for i, c in enumerate(r)).rstrip(), file=out)
        if n == 0:
            print("  ".join("-" * w for w in widths), file=out)
    link = summary.get("link")
    if link and "pps" in link:
        p = link["pps"]
        print(f"link limit (testpmd icmpecho over memif, 1 packet each way per round trip): "
              f"{fmt(p['median'])} round trips/s ({fmt(p['min'])}-{fmt(p['max'])}), "
              f"p50 {link['p50_us']['median']:.1f} us", file=out)
        echo = summary.get("echoN", {}).get("metrics", {}).get("req/s", {}).get("pollux")
        if echo:
            print(f"  pollux echoN reaches {echo['median'] / p['median']:.1%} of it "
                  f"(each echo is at least one segment each way)", file=out)
    if link and link.get("failed_runs"):
        print(f"link limit: {link['failed_runs']} run(s) FAILED", file=out)
    print("ratios: above 1 is pollux ahead for rates; for latency (us) below 1 is pollux ahead", file=out)


def plot(summary, runs, prefix):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    written = []
    for workload, entry in summary.items():
        if workload == "link" or not entry["metrics"]:
            continue
        metrics = WORKLOADS[workload][1]
        fig, axes = plt.subplots(1, len(metrics), figsize=(4.5 * len(metrics), 4), squeeze=False)
        for ax, (label, get, _) in zip(axes[0], metrics):
            m = entry["metrics"].get(label, {})
            for i, stack in enumerate(STACKS):
                if stack not in m:
                    continue
                s = m[stack]
                ax.bar(i, s["median"], color=("#888888", "#1f77b4")[i], width=0.6)
                ax.errorbar(i, s["median"], yerr=[[s["median"] - s["min"]], [s["max"] - s["median"]]],
                            color="black", capsize=6)
                values = [get(r["result"]) for r in runs
                          if r["workload"] == workload and r["stack"] == stack and "result" in r]
                ax.plot([i] * len(values), values, "k.", alpha=0.6)
            ax.set_xticks(range(len(STACKS)))
            ax.set_xticklabels(STACKS)
            ax.set_ylabel(label)
            r = m.get("ratio")
            if r:
                ax.set_title(f"pollux/kernel {r['median']:.2f}x")
        fig.suptitle(entry["title"])
        fig.tight_layout()
        path = f"{prefix}-{workload}.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written.append(path)
    return written


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs")
    ap.add_argument("--write", help="write the input with a summary added here")
    ap.add_argument("--png-prefix", help="write PREFIX-<workload>.png (needs matplotlib)")
    a = ap.parse_args()
    with open(a.runs) as f:
        data = json.load(f)
    runs = data["runs"]
    summary = summarise(runs)
    print_table(summary)
    data["summary"] = summary
    if a.write:
        with open(a.write, "w") as f:
            json.dump(data, f, indent=1)
            f.write("\n")
    if a.png_prefix:
        for path in plot(summary, runs, a.png_prefix):
            print(f"bench: wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
