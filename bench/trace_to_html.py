#!/usr/bin/env python3
"""Renders a weft trace (scheduler::write_trace, Chrome trace-event JSON) as
one self-contained HTML file: an inline SVG timeline with one lane per
worker, its task runs, its parks and its steals. Standard library only; the
page loads nothing from the network.

    python3 bench/trace_to_html.py trace.json trace.html
    python3 bench/trace_to_html.py trace.json trace.html --start 1.5 --end 3   # a window, in ms

The same JSON opens in ui.perfetto.dev and chrome://tracing for zooming.

Spans closer than half a pixel are drawn as one rectangle (its tooltip
says how many task runs it holds), so a trace of a million tiny tasks
still makes a small page.
"""

import argparse
import html
import json
import math
import sys

LABEL_W = 120        # px left of the timeline
LANE_H = 84          # px per worker lane
RUN_H = 48           # height of the run band inside a lane
PARK_H = 14          # height of the park band under it
TOP = 58             # px above the first lane (title, axis)
RUN_COLOR = "#2563eb"
PARK_COLOR = "#94a3b8"
STEAL_COLOR = "#dc2626"


def load(path):
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    events = doc["traceEvents"] if isinstance(doc, dict) else doc
    names, runs, parks, steals = {}, {}, {}, {}
    for e in events:
        tid = e.get("tid", 0)
        ph = e.get("ph")
        if ph == "M" and e.get("name") == "thread_name":
            names[tid] = e.get("args", {}).get("name", "worker %s" % tid)
        elif ph == "X" and e.get("cat") == "run":
            runs.setdefault(tid, []).append((float(e["ts"]), float(e["dur"]), e.get("name", "")))
        elif ph == "X" and e.get("cat") == "park":
            parks.setdefault(tid, []).append((float(e["ts"]), float(e["dur"]), "park"))
        elif ph == "i" and e.get("cat") == "steal":
            steals.setdefault(tid, []).append((float(e["ts"]), 0.0, e.get("name", "steal")))
    lanes = sorted(set(names) | set(runs) | set(parks) | set(steals))
    for tid in lanes:
        names.setdefault(tid, "worker %s" % tid)
        for table in (runs, parks, steals):
            table.setdefault(tid, []).sort()
    return lanes, names, runs, parks, steals


def merge(spans, t0, scale, min_gap_px=0.5):
    """Coalesces spans (ts, dur, name) into pixel rectangles:
    [(x0, x1, count, first_ts, last_end, busy_us, names)]."""
    out = []
    for ts, dur, name in spans:
        x0 = (ts - t0) * scale
        x1 = (ts + dur - t0) * scale
        if out and x0 - out[-1][1] < min_gap_px:
            r = out[-1]
            r[1] = max(r[1], x1)
            r[2] += 1
            r[4] = max(r[4], ts + dur)
            r[5] += dur
            if len(r[6]) < 3:
                r[6].append(name)
        else:
            out.append([x0, x1, 1, ts, ts + dur, dur, [name]])
    return out


def nice_step(span_us, target_ticks=10):
    raw = span_us / target_ticks
    p = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1
    for m in (1, 2, 5, 10):
        if raw <= m * p:
            return m * p
    return 10 * p


def fmt_us(us):
    if abs(us) >= 1000:
        return "%g ms" % round(us / 1000, 3)
    return "%g µs" % round(us, 3)


def render(lanes, names, runs, parks, steals, width, start_ms, end_ms, title):
    all_spans = [s for table in (runs, parks, steals) for tid in lanes for s in table[tid]]
    if not all_spans:
        raise SystemExit("the trace holds no run, park or steal events")
    t0 = min(ts for ts, _, _ in all_spans)
    t1 = max(ts + dur for ts, dur, _ in all_spans)
    if start_ms is not None:
        t0 = start_ms * 1000
    if end_ms is not None:
        t1 = end_ms * 1000
    if t1 <= t0:
        raise SystemExit("empty time window: --end must be after --start")

    def window(spans):
        return [s for s in spans if s[0] + s[1] >= t0 and s[0] <= t1]

    plot_w = width - LABEL_W - 20
    scale = plot_w / (t1 - t0)
    height = TOP + LANE_H * len(lanes) + 60
    svg = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
           'font-family="system-ui, sans-serif" font-size="12">' % (width, height)]
    svg.append('<defs><pattern id="hatch" width="4" height="4" patternUnits="userSpaceOnUse" '
               'patternTransform="rotate(45)"><rect width="4" height="4" fill="#e2e8f0"/>'
               '<line x1="0" y1="0" x2="0" y2="4" stroke="%s" stroke-width="2"/></pattern>'
               '<clipPath id="plot"><rect x="%d" y="0" width="%d" height="%d"/></clipPath></defs>'
               % (PARK_COLOR, LABEL_W, plot_w, height))
    svg.append('<rect width="100%" height="100%" fill="white"/>')
    svg.append('<text x="10" y="20" font-size="15" font-weight="600">%s</text>' % html.escape(title))

    # Time axis: ticks relative to the window's start.
    step = nice_step(t1 - t0)
    axis_y = TOP - 8
    svg.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#334155"/>'
               % (LABEL_W, axis_y, LABEL_W + plot_w, axis_y))
    tick = 0.0
    while tick <= (t1 - t0) + 1e-9:
        x = LABEL_W + tick * scale
        svg.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#e2e8f0"/>'
                   % (x, axis_y, x, TOP + LANE_H * len(lanes)))
        svg.append('<text x="%.1f" y="%d" text-anchor="middle" fill="#334155">%s</text>'
                   % (x, axis_y - 5, fmt_us(tick)))
        tick += step

    summary = []
    for i, tid in enumerate(lanes):
        y = TOP + i * LANE_H
        svg.append('<rect x="0" y="%d" width="%d" height="%d" fill="%s"/>'
                   % (y, width, LANE_H, "#f8fafc" if i % 2 == 0 else "white"))
        svg.append('<text x="10" y="%d" font-weight="600">%s</text>'
                   % (y + LANE_H // 2 + 4, html.escape(names[tid])))
        g = ['<g clip-path="url(#plot)">']
        lane_runs, lane_parks, lane_steals = window(runs[tid]), window(parks[tid]), window(steals[tid])
        for x0, x1, count, first, last, busy, some in merge(lane_runs, t0, scale):
            tip = ("%s: %d task run%s, %s busy, %s to %s (%s%s)"
                   % (names[tid], count, "" if count == 1 else "s", fmt_us(busy), fmt_us(first - t0),
                      fmt_us(last - t0), ", ".join(some), ", ..." if count > len(some) else ""))
            g.append('<rect x="%.2f" y="%d" width="%.2f" height="%d" fill="%s"><title>%s</title></rect>'
                     % (LABEL_W + x0, y + 6, max(x1 - x0, 0.6), RUN_H, RUN_COLOR, html.escape(tip)))
        for x0, x1, count, first, last, busy, _ in merge(lane_parks, t0, scale):
            tip = "%s: parked %s (%d park%s)" % (names[tid], fmt_us(busy), count, "" if count == 1 else "s")
            g.append('<rect x="%.2f" y="%d" width="%.2f" height="%d" fill="url(#hatch)" '
                     'stroke="%s" stroke-width="0.5"><title>%s</title></rect>'
                     % (LABEL_W + x0, y + 8 + RUN_H, max(x1 - x0, 0.6), PARK_H, PARK_COLOR,
                        html.escape(tip)))
        for x0, _, count, first, _, _, some in merge(lane_steals, t0, scale, min_gap_px=3):
            x = LABEL_W + x0
            tip = "%s: %d steal%s at %s (%s)" % (names[tid], count, "" if count == 1 else "s",
                                                  fmt_us(first - t0), ", ".join(some))
            g.append('<path d="M%.1f %d l-4 -6 h8 z" fill="%s"><title>%s</title></path>'
                     % (x, y + 6, STEAL_COLOR, html.escape(tip)))
        g.append('</g>')
        svg.extend(g)
        busy = sum(min(ts + d, t1) - max(ts, t0) for ts, d, _ in lane_runs)
        parked = sum(min(ts + d, t1) - max(ts, t0) for ts, d, _ in lane_parks)
        summary.append((names[tid], len(lane_runs), busy, len(lane_parks), parked, len(lane_steals)))

    # Legend.
    ly = TOP + LANE_H * len(lanes) + 26
    svg.append('<rect x="%d" y="%d" width="18" height="10" fill="%s"/><text x="%d" y="%d">task run</text>'
               % (LABEL_W, ly - 9, RUN_COLOR, LABEL_W + 24, ly))
    svg.append('<rect x="%d" y="%d" width="18" height="10" fill="url(#hatch)" stroke="%s"/>'
               '<text x="%d" y="%d">parked (asleep, no work)</text>'
               % (LABEL_W + 110, ly - 9, PARK_COLOR, LABEL_W + 134, ly))
    svg.append('<path d="M%d %d l-4 -6 h8 z" fill="%s"/><text x="%d" y="%d">steal (took a task from another worker)</text>'
               % (LABEL_W + 320, ly + 1, STEAL_COLOR, LABEL_W + 332, ly))
    svg.append('<text x="%d" y="%d" fill="#64748b">window %s, %s per pixel; hover a mark for details</text>'
               % (LABEL_W, ly + 22, fmt_us(t1 - t0), fmt_us((t1 - t0) / plot_w)))
    svg.append('</svg>')

    rows = "\n".join(
        "<tr><td>%s</td><td>%d</td><td>%s</td><td>%.0f%%</td><td>%d</td><td>%s</td><td>%d</td></tr>"
        % (html.escape(n), r, fmt_us(b), 100 * b / (t1 - t0), p, fmt_us(pt), s)
        for n, r, b, p, pt, s in summary)
    return """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>%s</title>
<style>
body { font-family: system-ui, sans-serif; margin: 16px; color: #0f172a; }
.timeline { overflow-x: auto; border: 1px solid #e2e8f0; }
table { border-collapse: collapse; margin-top: 12px; font-size: 13px; }
td, th { border: 1px solid #e2e8f0; padding: 3px 10px; text-align: right; }
td:first-child, th:first-child { text-align: left; }
</style></head>
<body>
<div class="timeline">%s</div>
<table><tr><th>worker</th><th>task runs</th><th>busy</th><th>busy %%</th><th>parks</th>
<th>parked</th><th>steals</th></tr>
%s
</table>
</body></html>
""" % (html.escape(title), "\n".join(svg), rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("trace", help="trace JSON written by weft::scheduler::write_trace")
    ap.add_argument("html", help="HTML file to write")
    ap.add_argument("--width", type=int, default=1360, help="page width in px (default 1360)")
    ap.add_argument("--start", type=float, help="window start in ms from the trace's origin")
    ap.add_argument("--end", type=float, help="window end in ms from the trace's origin")
    ap.add_argument("--title", help="heading (default: the trace file's name)")
    args = ap.parse_args()
    lanes, names, runs, parks, steals = load(args.trace)
    if not lanes:
        raise SystemExit("%s holds no weft trace events" % args.trace)
    page = render(lanes, names, runs, parks, steals, args.width, args.start, args.end,
                  args.title or "weft trace: " + args.trace)
    with open(args.html, "w", encoding="utf-8") as f:
        f.write(page)
    print("wrote %s (%d workers, %d bytes)" % (args.html, len(lanes), len(page)), file=sys.stderr)


if __name__ == "__main__":
    main()
