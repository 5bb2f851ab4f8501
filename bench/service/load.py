#!/usr/bin/env python3
"""Load tests of the weft HTTP service (examples/service) on 127.0.0.1.

    python3 bench/service/load.py BUILD_DIR matrix   # wrk at 16/64/256 connections, +/- abandoner
    python3 bench/service/load.py BUILD_DIR abandon  # CPU after hang-ups, cancel on/off
    python3 bench/service/load.py BUILD_DIR soak [SECONDS] [--plot PNG]  # RSS and latency over time
    /usr/bin/python3 bench/service/load.py BUILD_DIR soak --replot --plot PNG  # redraw from the JSON

Each mode builds the service (cmake --build BUILD_DIR --target weft_service),
starts it on an ephemeral port with 2 workers, drives it with wrk (mix.lua:
fib, nqueens and mandelbrot at random) and, where stated, with a second
client that abandons a share of its requests early, stops it with SIGINT and
prints a Markdown table (also written as JSON next to the build). Every run
is bounded in time and stops by itself.
"""

import argparse
import asyncio
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
MIX_LUA = os.path.join(HERE, "mix.lua")
CLK_TCK = os.sysconf("SC_CLK_TCK")
# The abandoning client's requests: heavy enough that a hang-up leaves most
# of the computation undone (about 50-100 ms each on 2 workers).
HEAVY = ["/fib?n=36&deadline_ms=10000", "/nqueens?n=13&deadline_ms=10000",
         "/mandelbrot?size=1024&deadline_ms=10000"]


class Service:
    """weft_service started on 127.0.0.1:0; stopped by SIGINT."""

    def __init__(self, build_dir, *flags):
        exe = os.path.join(build_dir, "examples", "service", "weft_service")
        self.proc = subprocess.Popen([exe, "--port", "0", "--workers", "2", *flags],
                                     stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        m = re.search(r"127\.0\.0\.1:(\d+)", line)
        if not m:
            self.proc.kill()
            raise RuntimeError("weft_service did not say where it listens: " + line)
        self.port = int(m.group(1))
        self.url = "http://127.0.0.1:%d" % self.port

    def cpu_seconds(self):
        with open("/proc/%d/stat" % self.proc.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime

    def rss_mib(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
        return 0.0

    def stats(self):
        with urllib.request.urlopen(self.url + "/stats", timeout=10) as r:
            return json.loads(r.read())

    def stop(self):
        self.proc.send_signal(signal.SIGINT)
        out, _ = self.proc.communicate(timeout=60)
        if self.proc.returncode != 0:
            raise RuntimeError("weft_service exited with %d" % self.proc.returncode)
        return out.strip().splitlines()[-1] if out.strip() else ""


def wrk(url, connections, seconds):
    """Runs wrk with mix.lua; returns its JSON summary (latencies in us)."""
    out = subprocess.run(["wrk", "-t2", "-c%d" % connections, "-d%ds" % seconds, "--timeout", "10s",
                          "-s", MIX_LUA, url], capture_output=True, text=True,
                         timeout=seconds + 60).stdout
    m = re.search(r"^WRK_JSON (.*)$", out, re.M)
    if not m:
        raise RuntimeError("wrk printed no summary:\n" + out)
    r = json.loads(m.group(1))
    r["rps"] = r["requests"] / (r["duration_us"] / 1e6)
    return r


class Abandoner:
    """`connections` clients in a loop: each sends one heavy request on a
    fresh connection; a share of them (`share`) is abandoned after a random
    1-20 ms, the rest are read to the end; then it waits `pause` seconds.
    Runs on its own thread until stop()."""

    def __init__(self, port, connections, share, pause=0.0):
        self.port, self.connections, self.share, self.pause = port, connections, share, pause
        self.sent = self.abandoned = self.answered = self.failed = 0
        self.statuses = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()))

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=60)

    async def _main(self):
        await asyncio.gather(*(self._client(i) for i in range(self.connections)))

    async def _client(self, i):
        rng = random.Random(i)
        while not self._stop.is_set():
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.write(("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
                              % rng.choice(HEAVY)).encode())
                await writer.drain()
                self.sent += 1
                if rng.random() < self.share:
                    await asyncio.sleep(rng.uniform(0.001, 0.020))
                    self.abandoned += 1
                else:
                    head = await asyncio.wait_for(reader.readline(), 30)
                    status = head.split()[1].decode() if len(head.split()) > 1 else "none"
                    self.statuses[status] = self.statuses.get(status, 0) + 1
                    await asyncio.wait_for(reader.read(), 30)
                    self.answered += 1
                writer.close()
                if self.pause:
                    await asyncio.sleep(self.pause)
            except (OSError, asyncio.TimeoutError):
                self.failed += 1
                await asyncio.sleep(0.01)


def ms(us):
    return "%.1f" % (us / 1000.0)


def matrix(args):
    """wrk at 16, 64 and 256 connections: alone, then next to a client that
    abandons every one of its heavy requests (4 connections), with
    cancellation on disconnect on and off."""
    rows = []
    for setting, abandoning, cancel in (("wrk alone", False, True), ("+ abandoner, cancel on", True, True),
                                        ("+ abandoner, cancel off", True, False)):
        for conns in (16, 64, 256):
            flags = [] if cancel else ["--no-cancel-on-disconnect"]
            svc = Service(args.build_dir, *flags)
            ab = Abandoner(svc.port, 4, 1.0).start() if abandoning else None
            r = wrk(svc.url, conns, args.seconds)
            if ab:
                ab.stop()
            s = svc.stats()["service"]
            svc.stop()
            ok = r["statuses"].get("200", 0)
            rows.append({"setting": setting, "connections": conns, **r,
                         "ok_per_s": ok / (r["duration_us"] / 1e6),
                         "abandoned": ab.abandoned if ab else 0,
                         "cancelled_by_disconnect": s["cancelled_by_disconnect"]})
            print(json.dumps(rows[-1]), file=sys.stderr)
    print("| load | connections | requests/s | of them 200/s | p50 ms | p99 ms | p99.9 ms | socket errors | statuses |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        errors = sum(r["errors"].values()) - r["errors"]["status"]
        print("| %s | %d | %.0f | %.0f | %s | %s | %s | %d | %s |" % (
            r["setting"], r["connections"], r["rps"], r["ok_per_s"], ms(r["p50_us"]), ms(r["p99_us"]),
            ms(r["p999_us"]), errors, " ".join("%s: %d" % kv for kv in sorted(r["statuses"].items()))))
    return rows


def abandon(args):
    """The same abandoning client with and without cancellation on
    disconnect: one connection at a time, every request abandoned after
    1-20 ms, 0.25 s apart, so the service is never saturated and its CPU
    time is the work each abandoned request cost."""
    rows = []
    for cancel in (True, False):
        flags = [] if cancel else ["--no-cancel-on-disconnect"]
        svc = Service(args.build_dir, *flags)
        cpu0 = svc.cpu_seconds()
        ab = Abandoner(svc.port, 1, 1.0, pause=0.25).start()
        time.sleep(args.seconds)  # the load runs for this long (not synchronisation)
        ab.stop()
        # The work left behind by the last hang-ups runs out (bounded).
        deadline = time.time() + 60
        while svc.stats()["service"]["computing"] > 0 and time.time() < deadline:
            time.sleep(0.05)
        cpu = svc.cpu_seconds() - cpu0
        s = svc.stats()["service"]
        svc.stop()
        rows.append({"cancel_on_disconnect": cancel, "abandoned": ab.abandoned, "cpu_s": cpu,
                     "cancelled_by_disconnect": s["cancelled_by_disconnect"],
                     "cpu_ms_per_abandoned": 1000.0 * cpu / max(1, ab.abandoned)})
        print(json.dumps(rows[-1]), file=sys.stderr)
    print("| cancel on disconnect | requests abandoned | cancelled by disconnect | service CPU s | CPU ms per abandoned request |")
    print("| --- | --- | --- | --- | --- |")
    for r in rows:
        print("| %s | %d | %d | %.2f | %.2f |" % ("on" if r["cancel_on_disconnect"] else "off", r["abandoned"],
                                                r["cancelled_by_disconnect"], r["cpu_s"], r["cpu_ms_per_abandoned"]))
    return rows


def soak(args):
    """64 connections of wrk in 10 s slices back to back, next to an
    abandoning client (30 % of its requests abandoned); RSS and the
    slice's latency every 10 s."""
    svc = Service(args.build_dir)
    ab = Abandoner(svc.port, 2, 0.3).start()
    samples = []
    start = time.time()
    while time.time() - start < args.seconds:
        r = wrk(svc.url, 64, 10)
        samples.append({"t_s": time.time() - start, "rss_mib": svc.rss_mib(), "rps": r["rps"],
                        "p50_us": r["p50_us"], "p99_us": r["p99_us"], "p999_us": r["p999_us"],
                        "errors": sum(r["errors"].values()) - r["errors"]["status"],
                        "statuses": r["statuses"]})
        print(json.dumps(samples[-1]), file=sys.stderr)
    ab.stop()
    s = svc.stats()
    last = svc.stop()
    unexpected = sum(x["errors"] for x in samples) + ab.failed + sum(
        n for x in samples for st, n in x["statuses"].items() if st not in ("200", "504"))
    result = {"samples": samples, "abandoner": {"sent": ab.sent, "abandoned": ab.abandoned,
                                                "answered": ab.answered, "failed": ab.failed,
                                                "statuses": ab.statuses},
              "stats": s, "final": last, "unexpected": unexpected}
    rss = [x["rss_mib"] for x in samples]
    print("soak: %d s, %d slices; RSS first %.1f MiB, min %.1f, max %.1f, last %.1f; requests/s median %.0f;"
          " p99 median %s ms, worst %s ms; abandoner sent %d, abandoned %d; unexpected errors %d" % (
              args.seconds, len(samples), rss[0], min(rss), max(rss), rss[-1],
              sorted(x["rps"] for x in samples)[len(samples) // 2],
              ms(sorted(x["p99_us"] for x in samples)[len(samples) // 2]), ms(max(x["p99_us"] for x in samples)),
              ab.sent, ab.abandoned, unexpected))
    return result


def plot_soak(samples, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    t = [x["t_s"] / 60 for x in samples]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
    top.plot(t, [x["rss_mib"] for x in samples], marker=".")
    top.set_ylabel("service RSS (MiB)")
    top.set_ylim(bottom=0)
    top.set_title("weft service soak: 64 wrk connections + abandoning client (30 %), 2 workers")
    for key, label in (("p50_us", "p50"), ("p99_us", "p99"), ("p999_us", "p99.9")):
        bottom.plot(t, [x[key] / 1000 for x in samples], marker=".", label=label)
    bottom.set_ylabel("wrk latency per 10 s (ms)")
    bottom.set_xlabel("minutes")
    bottom.set_ylim(bottom=0)
    bottom.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    print("wrote " + path)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("build_dir")
    p.add_argument("mode", choices=["matrix", "abandon", "soak"])
    p.add_argument("seconds", nargs="?", type=int, help="run length (matrix: per row, default 15; "
                   "abandon: per run, default 20; soak: total, default 600)")
    p.add_argument("--plot", help="soak: write the RSS and latency plot to this PNG")
    p.add_argument("--replot", action="store_true",
                   help="soak: only redraw --plot from BUILD_DIR/service-soak.json")
    args = p.parse_args()
    args.seconds = args.seconds or {"matrix": 15, "abandon": 20, "soak": 600}[args.mode]
    out = os.path.join(args.build_dir, "service-%s.json" % args.mode)
    if not args.replot:
        subprocess.run(["cmake", "--build", args.build_dir, "--target", "weft_service"], check=True,
                       stdout=subprocess.DEVNULL)
        result = {"matrix": matrix, "abandon": abandon, "soak": soak}[args.mode](args)
        with open(out, "w") as f:
            json.dump(result, f, indent=1)
        print("(raw figures: %s)" % out)
    if args.mode == "soak" and args.plot:
        with open(out) as f:
            samples = json.load(f)["samples"]
        try:
            plot_soak(samples, args.plot)
        except ImportError:
            print("matplotlib is missing in this Python; redraw with Debian's (python3-matplotlib):\n"
                  "  /usr/bin/python3 bench/service/load.py %s soak --replot --plot %s" % (args.build_dir, args.plot))


if __name__ == "__main__":
    main()
