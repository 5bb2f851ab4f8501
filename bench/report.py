#!/usr/bin/env python3
"""Run weft's benchmark suite and write the comparison table.

    python3 bench/report.py BUILD_DIR [REPETITIONS] [--quick] [--filter REGEX]
    python3 bench/report.py BUILD_DIR --replot

Runs every bench/bench_<family> executable in BUILD_DIR, each row
("<family>/<runtime>/workers:<n>") in a fresh process, with Google Benchmark's
JSON output and REPETITIONS repetitions (default 5), keeping the medians.
Prints one markdown table (workload, runtime, workers, median time, the
ratios weft/oneTBB and weft/OpenMP, the work overhead T1/T(serial coroutine),
the speedup T1/Tp, peak RSS), writes it into bench/RESULTS.md between the
markers and, if matplotlib is importable, plots time against workers to
bench/results.png.

A fresh process per row keeps rows from disturbing each other (OpenMP's and
oneTBB's idle threads spin for a while after a parallel region; allocators
keep memory) and makes the peak-RSS counter (getrusage's ru_maxrss, a
high-water mark that never goes down) describe that row alone.

The raw medians are saved to BUILD_DIR/bench-results.json; --replot rebuilds
the table, RESULTS.md and the plot from that file without running anything
(e.g. with another Python that has matplotlib).

--quick runs the tiny smoke sizes with one repetition: it checks the script
and the suite end to end in seconds, prints the table and writes nothing.

Exits 1 if any row failed its result check (SkipWithError) or crashed.
Python standard library only; matplotlib is optional.
"""

import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import sys
from collections import OrderedDict

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS_MD = os.path.join(HERE, "RESULTS.md")
RESULTS_PNG = os.path.join(HERE, "results.png")
BEGIN = "<!-- weft-bench-table:begin (written by bench/report.py) -->"
END = "<!-- weft-bench-table:end -->"
FAMILIES = ["fib", "skynet", "nqueens", "matmul", "injection", "cancel", "cancel_tree", "ops",
            "state_poll", "sync", "loops", "fairness"]
TO_MS = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}
# Counters shown in the notes column, with their labels.
NOTE_COUNTERS = [("p50_us", "p50 {:.1f} µs"), ("p99_us", "p99 {:.1f} µs"),
                 ("cancel_p50_us", "cancel→done p50 {:.0f} µs"),
                 ("cancel_p99_us", "p99 {:.0f} µs"),
                 ("finished_first", "{:.0f} runs ended before the cancel"),
                 ("win_p50_us", "winner→done p50 {:.0f} µs"), ("win_p99_us", "p99 {:.0f} µs"),
                 ("ns_per_op", "{:.1f} ns/op"), ("ns_per_child", "{:.0f} ns/child"),
                 ("tasks_per_s", "{:.3g} tasks/s"), ("items_per_s", "{:.3g} items/s"),
                 ("handoffs_per_s", "{:.3g} hand-offs/s"), ("polls_per_s", "{:.3g} polls/s"),
                 ("after_rows_p50_us", "after the running rows p50 {:.1f} µs"),
                 ("after_rows_p99_us", "p99 {:.1f} µs"), ("chunk_us", "a chunk {:.0f} µs"), ("chunk_max_us", "the longest {:.0f} µs"),
                 ("max_us", "max {:.1f} µs")]


def kind(runtime):
    """weft, tbb, omp or serial, from the row's runtime name prefix."""
    for prefix in ("weft", "tbb", "omp", "serial"):
        if runtime.startswith(prefix):
            return prefix
    return "other"


def parse_name(name):
    """'fib/weft_spawn/workers:2/real_time' -> ('fib', 'weft_spawn', 2)."""
    parts = name.split("/")
    workers = 1
    for part in parts[2:]:
        if part.startswith("workers:"):
            workers = int(part.split(":", 1)[1])
    return parts[0], parts[1], workers


def list_rows(exe, env):
    out = subprocess.run([exe, "--benchmark_list_tests=true"], env=env, check=True,
                         capture_output=True, text=True).stdout
    return [line.strip() for line in out.splitlines() if line.strip()]


def run_row(exe, name, repetitions, env):
    """Runs one row alone; returns (entry dict or None, context, error text)."""
    cmd = [exe, "--benchmark_filter=^" + re.escape(name) + "$",
           "--benchmark_format=json",
           "--benchmark_repetitions=%d" % repetitions,
           "--benchmark_report_aggregates_only=true"]
    if env.get("WEFT_BENCH_SMOKE"):
        cmd.append("--benchmark_min_time=0")
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1800)
    try:
        data = json.loads(proc.stdout)
    except json.JSONDecodeError:
        return None, {}, "crashed (exit %d): %s" % (proc.returncode, proc.stderr.strip()[-300:])
    entries = data.get("benchmarks", [])
    errors = [e.get("error_message", "?") for e in entries if e.get("error_occurred")]
    if errors:
        return None, data.get("context", {}), "result check failed: " + errors[0]
    if proc.returncode != 0:
        return None, data.get("context", {}), "exit %d" % proc.returncode
    medians = [e for e in entries if e.get("aggregate_name") == "median"]
    chosen = medians[0] if medians else (entries[0] if entries else None)
    if chosen is None:
        return None, data.get("context", {}), "no result"
    return chosen, data.get("context", {}), None


def fmt_time(ms):
    if ms >= 1000:
        return "%.2f s" % (ms / 1000)
    if ms >= 1:
        return "%.2f ms" % ms
    return "%.1f µs" % (ms * 1000)


def fmt_ratio(x):
    return "" if x is None else "%.2f" % x


def collect(build_dir, repetitions, quick, pattern):
    env = dict(os.environ)
    if quick:
        env["WEFT_BENCH_SMOKE"] = "1"
    else:
        env.pop("WEFT_BENCH_SMOKE", None)
    rows = OrderedDict()  # (workload, runtime, workers) -> dict
    context = {}
    failures = []
    for family in FAMILIES:
        exe = os.path.join(build_dir, "bench", "bench_" + family)
        if not os.path.exists(exe):
            print("skipping %s: %s not built" % (family, exe), file=sys.stderr)
            continue
        for name in list_rows(exe, env):
            if pattern and not re.search(pattern, name):
                continue
            print("running %s" % name, file=sys.stderr, flush=True)
            entry, ctx, error = run_row(exe, name, repetitions, env)
            context = context or ctx
            workload, runtime, workers = parse_name(name)
            row = {"workload": workload, "runtime": runtime, "workers": workers,
                   "ms": None, "error": error, "counters": {}}
            if entry is not None:
                row["ms"] = entry["real_time"] * TO_MS[entry.get("time_unit", "ns")]
                for key, value in entry.items():
                    if key in ("peak_rss_mib",) or key in dict(NOTE_COUNTERS):
                        row["counters"][key] = value
            else:
                failures.append("%s: %s" % (name, error))
            rows[(workload, runtime, workers)] = row
    return rows, context, failures


def build_table(rows):
    def time_of(workload, runtime, workers):
        row = rows.get((workload, runtime, workers))
        return row["ms"] if row else None

    def peer(workload, wanted, workers):
        """The time of the fastest row of runtime kind `wanted` at `workers`
        (loops has two OpenMP schedules: weft is compared with the faster)."""
        times = [row["ms"] for (w, runtime, n), row in rows.items()
                 if w == workload and n == workers and kind(runtime) == wanted and row["ms"]]
        return min(times) if times else None

    def serial_baseline(workload):
        for name in ("serial_coroutine", "serial"):
            t = time_of(workload, name, 1)
            if t:
                return t
        # A workload with one serial row of another name (sync_lock's
        # serial_std_mutex): that one.
        return peer(workload, "serial", 1)

    lines = ["| workload | runtime | workers | median time | weft/oneTBB | weft/OpenMP "
             "| T1/T(serial coroutine) | speedup T1/Tp | peak RSS | notes |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for (workload, runtime, workers), row in rows.items():
        ms = row["ms"]
        k = kind(runtime)
        vs_tbb = vs_omp = overhead = speedup = None
        if ms is not None and k == "weft":
            tbb, omp = peer(workload, "tbb", workers), peer(workload, "omp", workers)
            vs_tbb = ms / tbb if tbb else None
            vs_omp = ms / omp if omp else None
            base = serial_baseline(workload)
            if workers == 1 and base:
                overhead = ms / base
        t1 = time_of(workload, runtime, 1)
        if ms and t1 and k != "serial":
            speedup = t1 / ms
        rss = row["counters"].get("peak_rss_mib")
        notes = [label.format(row["counters"][key]) for key, label in NOTE_COUNTERS
                 if key in row["counters"]]
        if row["error"]:
            notes.append("**ERROR: %s**" % row["error"])
        lines.append("| %s | %s | %d | %s | %s | %s | %s | %s | %s | %s |" % (
            workload, runtime, workers, fmt_time(ms) if ms is not None else "—",
            fmt_ratio(vs_tbb), fmt_ratio(vs_omp), fmt_ratio(overhead), fmt_ratio(speedup),
            "%.1f MiB" % rss if rss is not None else "", "; ".join(notes)))
    return "\n".join(lines)


def machine_line(context):
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return "%s, %s CPUs at %s MHz, %s; Google Benchmark library built as %s" % (
        cpu, context.get("num_cpus", os.cpu_count()), context.get("mhz_per_cpu", "?"),
        platform.platform(), context.get("library_build_type", "?"))


def measured_at(context):
    """When the run began (its first row's Google Benchmark context), so
    that --replot keeps the time of the measurement, not its own."""
    try:
        return datetime.datetime.fromisoformat(context["date"]).strftime("%Y-%m-%d %H:%M")
    except (KeyError, ValueError):
        return datetime.datetime.now().strftime("%Y-%m-%d %H:%M")


def write_results(table, context, repetitions):
    stamp = measured_at(context)
    block = "\n".join([
        BEGIN,
        "Measured %s, %d repetitions, medians; machine: %s." % (stamp, repetitions,
                                                               machine_line(context)),
        "",
        table,
        END])
    with open(RESULTS_MD) as f:
        text = f.read()
    if BEGIN not in text or END not in text:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    else:
        head, rest = text.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        text = head + block + tail
    with open(RESULTS_MD, "w") as f:
        f.write(text)


def plot(rows):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not importable by %s: no plot (Debian: python3-matplotlib for "
              "/usr/bin/python3; then run with --replot)" % sys.executable, file=sys.stderr)
        return False
    workloads = list(OrderedDict.fromkeys(w for (w, _, _) in rows))
    cols = 3
    nrows = (len(workloads) + cols - 1) // cols
    fig, axes = plt.subplots(nrows, cols, figsize=(5 * cols, 3.6 * nrows), squeeze=False)
    # The same colour for a runtime in every panel: oneTBB orange, OpenMP
    # green, weft's rows in blues and purples.
    fixed = {"tbb": "tab:orange", "omp": "tab:green"}
    weft_colours = ["tab:blue", "tab:purple", "tab:cyan", "tab:pink", "tab:brown"]
    for ax, workload in zip(axes.flat, workloads):
        runtimes = OrderedDict.fromkeys(r for (w, r, _) in rows if w == workload)
        weft_index = 0
        for runtime in runtimes:
            points = sorted((n, row["ms"]) for (w, r, n), row in rows.items()
                            if w == workload and r == runtime and row["ms"] is not None)
            if not points:
                continue
            xs, ys = zip(*points)
            if kind(runtime) == "serial":
                ax.axhline(ys[0], linestyle="--", linewidth=1, label=runtime,
                           color="gray" if runtime != "serial_coroutine" else "black")
            else:
                colour = fixed.get(kind(runtime))
                if colour is None:
                    colour = weft_colours[weft_index % len(weft_colours)]
                    weft_index += 1
                ax.plot(xs, ys, marker="o", label=runtime, color=colour)
        ax.set_title(workload)
        ax.set_xlabel("workers")
        ax.set_ylabel("median time (ms)")
        ax.set_xticks(sorted({n for (w, _, n) in rows if w == workload}))
        ax.set_ylim(bottom=0)
        ax.legend(fontsize="small")
    for ax in list(axes.flat)[len(workloads):]:
        ax.set_visible(False)
    fig.tight_layout()
    fig.savefig(RESULTS_PNG, dpi=110)
    return True


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("build_dir", help="CMake build directory holding bench/bench_*")
    parser.add_argument("repetitions", nargs="?", type=int, default=5,
                        help="Google Benchmark repetitions per row (default 5)")
    parser.add_argument("--quick", action="store_true",
                        help="tiny smoke sizes, 1 repetition, print only (writes nothing)")
    parser.add_argument("--replot", action="store_true",
                        help="rebuild table, RESULTS.md and plot from BUILD_DIR/bench-results.json")
    parser.add_argument("--filter", default="",
                        help="only rows whose name matches this regex (prints only)")
    args = parser.parse_args()
    repetitions = 1 if args.quick else max(1, args.repetitions)
    saved = os.path.join(os.path.abspath(args.build_dir), "bench-results.json")
    if args.replot:
        with open(saved) as f:
            data = json.load(f)
        repetitions = data["repetitions"]
        context, failures = data["context"], data["failures"]
        rows = OrderedDict(((r["workload"], r["runtime"], r["workers"]), r) for r in data["rows"])
    else:
        rows, context, failures = collect(os.path.abspath(args.build_dir), repetitions,
                                          args.quick, args.filter)
        if not args.quick and not args.filter:
            with open(saved, "w") as f:
                json.dump({"repetitions": repetitions, "context": context, "failures": failures,
                           "rows": list(rows.values())}, f, indent=1)
    table = build_table(rows)
    print(table)
    if not args.quick and not args.filter:
        write_results(table, context, repetitions)
        print("\nwrote %s" % RESULTS_MD, file=sys.stderr)
        if plot(rows):
            print("wrote %s" % RESULTS_PNG, file=sys.stderr)
    for failure in failures:
        print("FAILED: " + failure, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
