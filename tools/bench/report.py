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
    by = {(r["setup"], r["batch"]): r for r in rows}
    batches = sorted({r["batch"] for r in rows})
    setups = []
    for r in rows:
        if r["setup"] not in setups:
            setups.append(r["setup"])
    md.append("| setup | " + " | ".join(f"batch {b}" for b in batches) + " |")
    md.append("|---|" + "---|" * len(batches))
    for s in setups:
        cells = []
        for b in batches:
            r = by.get((s, b))
            cells.append(f"{fmt(r['mops'])} ({fmt(r['mops_min'], 2)}..{fmt(r['mops_max'], 2)})" if r else "—")
        md.append(f"| {s} | " + " | ".join(cells) + " |")
    md.append("")
    md.append("Kernel CPU time per NOP (ns, the submitting thread, getrusage), the same runs:\n")
    md.append("| setup | " + " | ".join(f"batch {b}" for b in batches) + " |")
    md.append("|---|" + "---|" * len(batches))
    for s in setups:
        md.append(f"| {s} | " + " | ".join(fmt(by[(s, b)]["sys_ns_per_op"], 1) if (s, b) in by else "—"
                                            for b in batches) + " |")
    md.append("")
    pairs = [("plain", "liburing", 1.05), ("regfd", "liburing-regfd", 1.05), ("defer", "liburing-defer", 1.05),
             ("sqpoll", "liburing-sqpoll", 1.05)]
    md.append("Targets (uring / liburing, identical setup flags: ≥ 1.05x; uring's `default` / liburing's "
              "default: ≥ 1.3x at batch 1, ≥ 1.15x at 128):\n")
    md.append("| uring | liburing | " + " | ".join(f"batch {b}" for b in batches) + " |")
    md.append("|---|---|" + "---|" * len(batches))
    for ours, theirs, target in pairs + [("default", "liburing", None)]:
        cells = []
        for b in batches:
            if (ours, b) not in by or (theirs, b) not in by:
                cells.append("—")
                continue
            ratio = by[(ours, b)]["mops"] / by[(theirs, b)]["mops"]
            t = target if target else (1.3 if b == 1 else 1.15 if b == 128 else None)
            cells.append(verdict(ratio, t) if t else f"{fmt(ratio, 2)}x")
        md.append(f"| {ours} | {theirs} | " + " | ".join(cells) + " |")
    md.append("")
    series = {s: [(b, by[(s, b)]["mops"]) for b in batches if (s, b) in by] for s in setups}
    png = plot(root, "nop", "NOP Mops vs batch", "batch (NOPs per enter)", "Mops/s", series)
    if png:
        md.append(f"![NOP Mops vs batch]({png})\n")


def callgrind_section(results, md):
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
    md.append("| setup | " + " | ".join(f"batch {b}" for b in batches) + " |")
    md.append("|---|" + "---|" * len(batches))
    for s in sorted({s for s, _ in counts}, key=lambda s: ["liburing", "plain", "default", "raw"].index(s)
                    if s in ["liburing", "plain", "default", "raw"] else 9):
        md.append(f"| {s} | " + " | ".join(str(counts.get((s, b), "—")) for b in batches) + " |")
    cells = []
    for b in batches:
        if ("plain", b) in counts and ("liburing", b) in counts:
            r = counts[("plain", b)] / counts[("liburing", b)]
            cells.append(f"{fmt(r, 2)}x {'≤' if r <= 0.6 else '>'} 0.6x {'met' if r <= 0.6 else '**missed**'}")
        else:
            cells.append("—")
    md.append("| plain / liburing | " + " | ".join(cells) + " |")
    md.append("")


def strace_section(results, md):
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
    md.append("| setup | io_uring_enter calls | per batch |")
    md.append("|---|---|---|")
    for setup, calls in rows:
        md.append(f"| {setup} | {calls} | {fmt(calls / 1000, 2)} |")
    md.append("")


def read_section(results, root, md):
    rows = rows_of(os.path.join(results, "read.json"))
    if not rows:
        return
    md.append("## 2. Random 4 KiB reads from the page cache (`bench read`)\n")
    md.append("Thousands of reads per second (median, spread); fio's io_uring engine at the same queue depth "
              "and block size, run in the same process run, interleaved (`--invalidate=0`).\n")
    by = {(r["setup"], r["qd"]): r for r in rows}
    depths = sorted({r["qd"] for r in rows})
    setups = []
    for r in rows:
        if r["setup"] not in setups:
            setups.append(r["setup"])
    md.append("| setup | " + " | ".join(f"QD {q}" for q in depths) + " |")
    md.append("|---|" + "---|" * len(depths))
    for s in setups:
        md.append(f"| {s} | " + " | ".join(
            f"{fmt(by[(s, q)]['kiops'], 0)} ({fmt(by[(s, q)]['kiops_min'], 0)}..{fmt(by[(s, q)]['kiops_max'], 0)})"
            if (s, q) in by else "—" for q in depths) + " |")
    md.append("")
    md.append("Targets: ≥ fio in each matching configuration; ≥ psync (fio's) at QD ≥ 32:\n")
    md.append("| uring | baseline | " + " | ".join(f"QD {q}" for q in depths) + " |")
    md.append("|---|---|" + "---|" * len(depths))
    for ours, theirs in [("plain", "fio"), ("fixed", "fio-fixed"), ("sqpoll", "fio-sqpoll"), ("plain", "fio-psync"),
                         ("fixed", "fio-psync"), ("plain", "pread")]:
        cells = []
        for q in depths:
            if (ours, q) not in by or (theirs, q) not in by:
                cells.append("—")
                continue
            ratio = by[(ours, q)]["kiops"] / by[(theirs, q)]["kiops"]
            if theirs == "fio-psync" and q < 32:
                cells.append(f"{fmt(ratio, 2)}x")
            elif theirs == "pread":
                cells.append(f"{fmt(ratio, 2)}x")
            else:
                cells.append(verdict(ratio, 1.0))
        md.append(f"| {ours} | {theirs} | " + " | ".join(cells) + " |")
    md.append("")
    series = {s: [(q, by[(s, q)]["kiops"]) for q in depths if (s, q) in by] for s in setups}
    png = plot(root, "read", "4 KiB random reads: kIOPS vs queue depth", "queue depth", "kIOPS", series)
    if png:
        md.append(f"![kIOPS vs queue depth]({png})\n")


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
    md.append("| entries | " + " | ".join(f"{s} Mops" for s in setups) + " |")
    md.append("|---|" + "---|" * len(setups))
    series = {s: [] for s in setups}
    for size, doc in zip(sizes, docs):
        by = {r["setup"]: r for r in doc["results"]}
        md.append(f"| {size} | " + " | ".join(fmt(by[s]["mops"]) if s in by else "—" for s in setups) + " |")
        for s in setups:
            if s in by:
                series[s].append((size, by[s]["mops"]))
    md.append("")
    png = plot(root, "scale-entries", "NOP Mops vs ring size (batch 8)", "SQ entries", "Mops/s", series)
    if png:
        md.append(f"![NOP Mops vs ring size]({png})\n")


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
    nop_section(results, root, md)
    callgrind_section(results, md)
    strace_section(results, md)
    if "NOP findings" in prose:
        md.append("### Findings\n")
        md.append(prose["NOP findings"])
    read_section(results, root, md)
    if "Read findings" in prose:
        md.append("### Findings\n")
        md.append(prose["Read findings"])
    scale_section(results, root, md)
    open(os.path.join(root, "BENCHMARKS.md"), "w").write("\n".join(md) + "\n")


if __name__ == "__main__":
    main()
