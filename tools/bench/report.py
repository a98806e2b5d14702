#!/usr/bin/env python3
"""Writes BENCHMARKS.md (and bench/*.png plots) from the raw results that
tools/bench/run_all.sh left in a directory.

    python3 tools/bench/report.py RESULTS_DIR REPO_ROOT

The tables are generated; the prose (method, findings, why a target was
missed) is tools/bench/notes.md, written by hand and pasted in where its
'## ' headings name a section. Every figure in BENCHMARKS.md comes from
RESULTS_DIR; nothing is typed in.
"""
import json
import os
import re
import shutil
import subprocess
import sys


def load_json_documents(path):
    """One or more JSON documents, concatenated (bench prints one per run)."""
    if not os.path.exists(path):
        return []
    text = open(path).read()
    decoder = json.JSONDecoder()
    docs, at = [], 0
    while True:
        while at < len(text) and text[at].isspace():
            at += 1
        if at >= len(text):
            return docs
        doc, at = decoder.raw_decode(text, at)
        docs.append(doc)


def rows_of(path):
    rows = []
    for doc in load_json_documents(path):
        rows.extend(doc["results"])
    return rows


def notes(root):
    """tools/bench/notes.md split by '## ' heading."""
    path = os.path.join(root, "tools/bench/notes.md")
    sections, current = {}, None
    if not os.path.exists(path):
        return sections
    for line in open(path):
        if line.startswith("## "):
            current = line[3:].strip()
            sections[current] = []
        elif current is not None:
            sections[current].append(line)
    return {k: "".join(v).strip() + "\n" for k, v in sections.items()}


def fmt(x, digits=3):
    return f"{x:.{digits}f}"


def verdict(ratio, target):
    return f"{fmt(ratio, 2)}x {'≥' if ratio >= target else '<'} {target}x {'met' if ratio >= target else '**missed**'}"


def spread(row, key, digits, range_digits):
    """A median with its repetitions' spread: 'M (MIN..MAX)'."""
    return f"{fmt(row[key], digits)} ({fmt(row[key + '_min'], range_digits)}..{fmt(row[key + '_max'], range_digits)})"


def by_setup(rows, column):
    """bench's result rows keyed by (setup, row[column]), the column's values
    sorted, and the setups in the order they first come."""
    by = {(r["setup"], r[column]): r for r in rows}
    return by, sorted({r[column] for r in rows}), list(dict.fromkeys(r["setup"] for r in rows))


def curves(by, names, columns, key):
    """Plot series: per name, (column, by[(name, column)][key]) where measured."""
    return {n: [(c, by[(n, c)][key]) for c in columns if (n, c) in by] for n in names}


def table(md, titles, rows):
    """Appends a Markdown table (a header of `titles`, a line per row of
    cells, an empty cell as `| |`) and the blank line after it."""
    def line(cells):
        return "|" + "".join(f" {c} |" if c else " |" for c in cells)
    md.append(line(titles))
    md.append("|" + "---|" * len(titles))
    md.extend(line(row) for row in rows)
    md.append("")


def grid(by, names, columns, cell):
    """Rows of a table of measurements: per name, its cell(by[(name, column)])
    in each column, "—" where there is none."""
    return [[str(name)] + [cell(by[(name, c)]) if (name, c) in by else "—" for c in columns] for name in names]


def ratio_grid(by, pairs, columns, key, cell):
    """Rows comparing two names of `by` per column: (ours, theirs, extra)
    pairs; each cell is cell(ours' key / theirs' key, column, extra), "—"
    where either is missing."""
    rows = []
    for ours, theirs, extra in pairs:
        cells = [ours, theirs]
        for c in columns:
            if (ours, c) not in by or (theirs, c) not in by:
                cells.append("—")
                continue
            cells.append(cell(by[(ours, c)][key] / by[(theirs, c)][key], c, extra))
        rows.append(cells)
    return rows


def add_plot(md, alt, root, name, title, xlabel, ylabel, series):
    """plot(), then its image in md when one was written."""
    png = plot(root, name, title, xlabel, ylabel, series)
    if png:
        md.append(f"![{alt}]({png})\n")


def plot(root, name, title, xlabel, ylabel, series, logx=True):
    """series: {label: [(x, y), ...]}; writes bench/NAME.png with gnuplot."""
    if not shutil.which("gnuplot") or not series:
        return None
    out_dir = os.path.join(root, "bench")
    os.makedirs(out_dir, exist_ok=True)
    data_files, plots = [], []
    for i, (label, points) in enumerate(series.items()):
        data = os.path.join(out_dir, f".{name}.{i}.dat")
        with open(data, "w") as f:
            for x, y in points:
                f.write(f"{x} {y}\n")
        data_files.append(data)
        plots.append(f"'{data}' using 1:2 with linespoints title '{label}'")
    script = "\n".join([
        "set terminal png size 900,540",
        f"set output '{os.path.join(out_dir, name + '.png')}'",
        f"set title '{title}'",
        f"set xlabel '{xlabel}'",
        f"set ylabel '{ylabel}'",
        "set logscale x 2" if logx else "",
        "set key outside right",
        "set grid",
        "plot " + ", ".join(plots),
    ])
    subprocess.run(["gnuplot"], input=script, text=True, check=True)
    for data in data_files:
        os.remove(data)
    return f"bench/{name}.png"


def nop_section(results, root, md):
    rows = rows_of(os.path.join(results, "nop.json"))
    if not rows:
        return
    md.append("## 1. NOP round trip (`bench nop`)\n")
    md.append("Millions of NOPs per second (median of the repetitions, spread min..max), one "
              "`io_uring_enter` per batch; ratios against liburing 2.3 with the same setup flags.\n")
    by, batches, setups = by_setup(rows, "batch")
    columns = [f"batch {b}" for b in batches]
    table(md, ["setup"] + columns, grid(by, setups, batches, lambda r: spread(r, "mops", 3, 2)))
    md.append("Kernel CPU time per NOP (ns, the submitting thread, getrusage), the same runs:\n")
    table(md, ["setup"] + columns, grid(by, setups, batches, lambda r: fmt(r["sys_ns_per_op"], 1)))
    pairs = [("plain", "liburing", 1.05), ("regfd", "liburing-regfd", 1.05), ("defer", "liburing-defer", 1.05),
             ("sqpoll", "liburing-sqpoll", 1.05)]
    md.append("Targets (uring / liburing, identical setup flags: ≥ 1.05x; uring's `default` / liburing's "
              "default: ≥ 1.3x at batch 1, ≥ 1.15x at 128):\n")

    def target_cell(ratio, b, target):
        t = target if target else (1.3 if b == 1 else 1.15 if b == 128 else None)
        return verdict(ratio, t) if t else f"{fmt(ratio, 2)}x"

    table(md, ["uring", "liburing"] + columns,
          ratio_grid(by, pairs + [("default", "liburing", None)], batches, "mops", target_cell))
    add_plot(md, "NOP Mops vs batch", root, "nop", "NOP Mops vs batch", "batch (NOPs per enter)", "Mops/s",
             curves(by, setups, batches, "mops"))


def callgrind_section(results, root, md):
    path = os.path.join(results, "callgrind.txt")
    if not os.path.exists(path):
        return
    counts = {}
    for line in open(path):
        m = re.match(r"callgrind setup=(\S+) batch=(\d+) instructions_per_op=(\d+)", line)
        if m:
            counts[(m.group(1), int(m.group(2)))] = int(m.group(3))
    if not counts:
        return
    md.append("### User-space instructions per NOP (callgrind)\n")
    md.append("`tools/bench/callgrind.sh` (runs with N and 2N NOPs, the difference over N). "
              "Target: uring ≤ 0.6x liburing.\n")
    batches = sorted({b for _, b in counts})
    setups = sorted({s for s, _ in counts}, key=lambda s: ["liburing", "plain", "default", "raw"].index(s)
                    if s in ["liburing", "plain", "default", "raw"] else 9)
    rows = grid(counts, setups, batches, str)
    cells = []
    for b in batches:
        if ("plain", b) in counts and ("liburing", b) in counts:
            r = counts[("plain", b)] / counts[("liburing", b)]
            cells.append(f"{fmt(r, 2)}x {'≤' if r <= 0.6 else '>'} 0.6x {'met' if r <= 0.6 else '**missed**'}")
        else:
            cells.append("—")
    rows.append(["plain / liburing"] + cells)
    table(md, ["setup"] + [f"batch {b}" for b in batches], rows)


def strace_section(results, root, md):
    rows = []
    for setup in ["plain", "default", "liburing"]:
        path = os.path.join(results, f"strace-{setup}.txt")
        if not os.path.exists(path):
            continue
        calls = 0
        for line in open(path):
            fields = line.split()
            if fields and fields[-1] == "io_uring_enter":
                calls = int(fields[3])  # % time, seconds, usecs/call, calls, [errors,] syscall
        rows.append((setup, calls))
    if not rows:
        return
    md.append("### System calls (`strace -c -f`, 32,000 NOPs in batches of 32 = 1,000 batches)\n")
    table(md, ["setup", "io_uring_enter calls", "per batch"],
          [[setup, str(calls), fmt(calls / 1000, 2)] for setup, calls in rows])


def read_section(results, root, md):
    rows = rows_of(os.path.join(results, "read.json"))
    if not rows:
        return
    md.append("## 2. Random 4 KiB reads from the page cache (`bench read`)\n")
    md.append("Thousands of reads per second (median, spread); fio's io_uring engine at the same queue depth "
              "and block size, run in the same process run, interleaved (`--invalidate=0`).\n")
    by, depths, setups = by_setup(rows, "qd")
    columns = [f"QD {q}" for q in depths]
    table(md, ["setup"] + columns, grid(by, setups, depths, lambda r: spread(r, "kiops", 0, 0)))
    md.append("Targets: ≥ fio in each matching configuration; ≥ psync (fio's) at QD ≥ 32:\n")
    pairs = [("plain", "fio"), ("fixed", "fio-fixed"), ("sqpoll", "fio-sqpoll"), ("sqpoll-spin", "fio-sqpoll"),
             ("plain", "fio-psync"),
             ("fixed", "fio-psync"), ("plain", "pread")]

    def target_cell(ratio, q, theirs):
        # psync below QD 32 and pread have no target: the ratio alone.
        if (theirs == "fio-psync" and q < 32) or theirs == "pread":
            return f"{fmt(ratio, 2)}x"
        return verdict(ratio, 1.0)

    table(md, ["uring", "baseline"] + columns,
          ratio_grid(by, [(ours, theirs, theirs) for ours, theirs in pairs], depths, "kiops", target_cell))
    add_plot(md, "kIOPS vs queue depth", root, "read", "4 KiB random reads: kIOPS vs queue depth", "queue depth",
             "kIOPS", curves(by, setups, depths, "kiops"))


def scale_section(results, root, md):
    docs = load_json_documents(os.path.join(results, "scale-entries.json"))
    if not docs:
        return
    md.append("## 5. Scale\n")
    md.append("### NOP rate vs ring size (batch 8)\n")
    # Each document is one ring size; its command line is not in it, so the
    # order of run_all.sh's loop gives the size.
    sizes = [8, 32, 128, 512, 2048, 8192, 32768][: len(docs)]
    setups = [r["setup"] for r in docs[0]["results"]]
    by = {(size, r["setup"]): r for size, doc in zip(sizes, docs) for r in doc["results"]}
    table(md, ["entries"] + [f"{s} Mops" for s in setups],
          grid(by, sizes, setups, lambda r: fmt(r["mops"])))
    series = {s: [(size, by[(size, s)]["mops"]) for size in sizes if (size, s) in by] for s in setups}
    add_plot(md, "NOP Mops vs ring size", root, "scale-entries", "NOP Mops vs ring size (batch 8)", "SQ entries",
             "Mops/s", series)


def jsonl(path):
    if not os.path.exists(path):
        return []
    return [json.loads(line) for line in open(path) if line.strip()]


def median(values):
    values = sorted(values)
    n = len(values)
    if n == 0:
        return 0
    return values[n // 2] if n % 2 else (values[n // 2 - 1] + values[n // 2]) / 2


def echo_section(results, root, md):
    rows = [r for r in jsonl(os.path.join(results, "echo.jsonl")) if "requests_per_second" in r.get("load", {})]
    if not rows:
        return
    md.append("## 3. Echo (`tools/load` against `tools/echo` and `tools/echo_epoll`)\n")
    md.append("Requests per second (median of the repetitions; one request = one message sent and echoed back "
              "whole, depth 1), p99 latency, and the server's CPU time per request (user + system, all its "
              "threads, from /proc). Server and client pinned to different CPUs; the two servers run side by "
              "side and are loaded alternately.\n")
    points = {}
    for r in rows:
        points.setdefault((r["size"], r["connections"], r["server"]), []).append(r)
    sizes = sorted({r["size"] for r in rows})
    conns = sorted({r["connections"] for r in rows})
    rows, series = [], {}
    for size in sizes:
        for c in conns:
            e = points.get((size, c, "echo"), [])
            p = points.get((size, c, "echo_epoll"), [])
            if not e or not p:
                continue
            er = median([x["load"]["requests_per_second"] for x in e])
            pr = median([x["load"]["requests_per_second"] for x in p])
            ep99 = median([x["load"]["latency_us"]["p99"] for x in e])
            pp99 = median([x["load"]["latency_us"]["p99"] for x in p])
            ecpu = median([x["server_cpu_s"] * 1e6 / max(1, x["load"]["requests"]) for x in e])
            pcpu = median([x["server_cpu_s"] * 1e6 / max(1, x["load"]["requests"]) for x in p])
            target = 1.1 if (c == 256 and size == 64) else 1.0
            # The ratio of each repetition (the two servers loaded one after
            # the other): their median, and their range beside it.
            by_rep = {x["rep"]: x["load"]["requests_per_second"] for x in p}
            per_rep = [x["load"]["requests_per_second"] / by_rep[x["rep"]] for x in e if by_rep.get(x["rep"])]
            ratio = median(per_rep) if per_rep else (er / pr if pr else 0)
            shown = f"{fmt(ratio, 2)}x"
            if len(per_rep) > 1:
                shown += f" ({fmt(min(per_rep), 2)}..{fmt(max(per_rep), 2)})"
            rows.append([f"{size} B", str(c), f"{er:,.0f}", f"{pr:,.0f}", shown,
                         f"{'met' if ratio >= target else '**missed**'} (≥ {target}x)", f"{ep99:.0f}", f"{pp99:.0f}",
                         f"{ecpu:.2f}", f"{pcpu:.2f}"])
            series.setdefault(f"echo {size} B", []).append((c, er))
            series.setdefault(f"epoll {size} B", []).append((c, pr))
    table(md, ["size", "connections", "echo req/s", "epoll req/s", "ratio (range)", "target", "echo p99 µs", "epoll p99 µs",
               "echo CPU µs/req", "epoll CPU µs/req"], rows)
    add_plot(md, "echo requests/s vs connections", root, "echo", "echo requests/s vs connections", "connections",
             "requests/s", series)
    p99 = {}
    for (size, c, server), rs in sorted(points.items()):
        p99.setdefault(f"{'echo' if server == 'echo' else 'epoll'} {size} B", []).append(
            (c, median([x["load"]["latency_us"]["p99"] for x in rs])))
    add_plot(md, "echo p99 vs connections", root, "echo-p99", "echo p99 latency vs connections", "connections",
             "p99 latency (µs)", p99)
    # System calls per request (strace -c -f on the server, 256 x 64 B).
    lines = []
    for server in ["echo", "echo_epoll"]:
        trace = os.path.join(results, f"strace-{server}.txt")
        load = os.path.join(results, f"strace-{server}-load.json")
        if not os.path.exists(trace) or not os.path.exists(load):
            continue
        total = 0
        for line in open(trace):
            fields = line.split()
            if fields and fields[-1] == "total":
                total = int(fields[3])
        try:
            requests = json.load(open(load))["requests"]
        except (ValueError, KeyError):
            continue
        lines.append((server, total, requests))
    if lines:
        md.append("Server system calls per request (`strace -c -f -p`, 256 connections x 64 B, 2 s; strace "
                  "slows both servers, so the rate here is not the table's). Target: echo ≤ 0.2x epoll's.\n")
        per = {server: total / max(1, requests) for server, total, requests in lines}
        rows = [[server, f"{total:,}", f"{requests:,}", f"{per[server]:.3f}"] for server, total, requests in lines]
        if "echo" in per and "echo_epoll" in per and per["echo_epoll"] > 0:
            r = per["echo"] / per["echo_epoll"]
            rows.append(["ratio", "", "", f"{fmt(r, 3)}x {'met' if r <= 0.2 else '**missed**'} (≤ 0.2x)"])
        table(md, ["server", "system calls", "requests", "per request"], rows)


def http_section(results, root, md):
    path = os.path.join(results, "http.txt")
    if not os.path.exists(path):
        return
    runs, current = {}, None
    for line in open(path):
        m = re.match(r"== server=(\S+) file=(\S+) rep=(\d+)", line)
        if m:
            current = (m.group(1), m.group(2))
            continue
        m = re.match(r"Requests/sec:\s+([0-9.]+)", line)
        if m and current:
            runs.setdefault(current, []).append(float(m.group(1)))
    if not runs:
        return
    md.append("## 4. HTTP (`wrk -t1 -c32` against `tools/httpd` and nginx)\n")
    md.append("Requests per second (median of the repetitions), the same files, server and wrk pinned to "
              "different CPUs; nginx with 1 worker, access log off, sendfile on.\n")
    rows = []
    for name, size in [("1k.bin", 1024), ("1m.bin", 1 << 20)]:
        h = median(runs.get(("httpd", name), []))
        n = median(runs.get(("nginx", name), []))
        if not h or not n:
            continue
        r = h / n
        rows.append([name, f"{h:,.0f}", f"{n:,.0f}", f"{fmt(r, 2)}x", f"{h * size / 1e9:.2f}", f"{n * size / 1e9:.2f}",
                     f"{'met' if r >= 1.0 else '**missed**'} (≥ 1.0x)"])
    table(md, ["file", "httpd req/s", "nginx req/s", "ratio", "httpd GB/s", "nginx GB/s", "target"], rows)


def scale_connections_section(results, root, md):
    rows = [r for r in jsonl(os.path.join(results, "scale-connections.jsonl"))
            if "requests_per_second" in r.get("load", {})]
    if not rows:
        return
    md.append("### Echo vs connection count (64 B, depth 1), and server memory\n")
    by = {(r["server"], r["connections"]): r for r in rows}
    series = {"echo": [], "echo_epoll": []}
    cells = []
    for c in sorted({r["connections"] for r in rows}):
        e, p = by.get(("echo", c)), by.get(("echo_epoll", c))
        if not e or not p:
            continue
        cells.append([str(c), f"{e['load']['requests_per_second']:,.0f}", f"{p['load']['requests_per_second']:,.0f}",
                      f"{e['server_rss_kib'] / 1024:.1f}", f"{p['server_rss_kib'] / 1024:.1f}",
                      f"{e['server_rss_kib'] / c:.1f}", f"{p['server_rss_kib'] / c:.1f}"])
        series["echo"].append((c, e["load"]["requests_per_second"]))
        series["echo_epoll"].append((c, p["load"]["requests_per_second"]))
    table(md, ["connections", "echo req/s", "epoll req/s", "echo RSS MiB", "epoll RSS MiB", "echo KiB/conn",
               "epoll KiB/conn"], cells)
    md.append("RSS is the server's resident memory at the end of the run (it includes echo's buffer ring, "
              "allocated up front, and what each server still holds from earlier runs), divided by the "
              "connections of that run.\n")
    add_plot(md, "echo vs connections", root, "scale-connections", "echo requests/s vs connections (64 B)",
             "connections", "requests/s", series)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: report.py RESULTS_DIR REPO_ROOT")
    results, root = sys.argv[1], sys.argv[2]
    prose = notes(root)
    md = ["# Benchmarks", "",
          "Generated by `tools/bench/run_all.sh` (tables and plots from its raw results; the prose from "
          "`tools/bench/notes.md`). Every figure is a median of interleaved repetitions with its baseline "
          "measured in the same run.", ""]
    machine = os.path.join(results, "machine.txt")
    if os.path.exists(machine):
        md.append("## Machine\n")
        md.extend(f"- {line.strip()}" for line in open(machine) if line.strip())
        md.append("")
    for title in ["Method", "Summary"]:
        if title in prose:
            md.append(f"## {title}\n")
            md.append(prose[title])
    # Each part's tables (a section with no results adds nothing), then its
    # findings from notes.md.
    for sections, findings in [([nop_section, callgrind_section, strace_section], "NOP findings"),
                               ([read_section], "Read findings"),
                               ([echo_section], "Echo findings"),
                               ([http_section], "HTTP findings"),
                               ([scale_section, scale_connections_section], "Scale findings")]:
        for section in sections:
            section(results, root, md)
        if findings in prose:
            md.append("### Findings\n")
            md.append(prose[findings])
    open(os.path.join(root, "BENCHMARKS.md"), "w").write("\n".join(md) + "\n")


if __name__ == "__main__":
    main()
