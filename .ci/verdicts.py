#!/usr/bin/env python3
"""Turns one `bazel test` pass into verdicts CI can trust.

The verdict of each test target comes from Bazel itself (the build event
protocol's testSummary, written with --build_event_json_file), never from what
the test printed: a target that failed to build, did not run, timed out, or
exited non-zero for any reason (a sanitizer report at exit, a crash in a static
destructor) is a failure, whatever doctest's summary line says. The set of
targets that must have run comes from `bazel query`, so a target Bazel never
got to is a failure too.

Inside a passing target, doctest's summary gives the detail: its test cases,
of which those that printed `uring-skip: [case] reason` are skips.

  verdicts.py --bep FILE --expected FILE --label NAME --counts FILE --skips FILE
              [--expect-failure LABEL=SIGNATURE ...]

--expect-failure names a canary (a `manual` target that must fail, e.g. with a
deliberate leak) and the text its log must hold to prove it failed for that
reason ("LeakSanitizer: detected memory leaks"); SIGNATURE "build" means it
must fail to build. A canary that passes, or fails for another reason, is a
failure of CI; a canary that fails as it must is not counted.

Appends "passed failed skipped" to --counts, and one "reason<TAB>target" line
per skip to --skips. Exits 0 (the counts carry the verdict).
"""

import argparse
import json
import re
import sys
from urllib.parse import unquote, urlparse

DOCTEST_SUMMARY = re.compile(r"^\[doctest\] test cases:\s*(\d+)\s*\|\s*(\d+) passed\s*\|\s*(\d+) failed")
SKIP_LINE = re.compile(r"^uring-skip: \[(.*?)\] (.*)$")
SKIPPED_CASES = re.compile(r"^uring-skipped-test-cases: (\d+)")


def read_events(path):
    events = []
    try:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line:
                    events.append(json.loads(line))
    except (OSError, ValueError) as e:
        print(f"cannot read build events {path}: {e}", file=sys.stderr)
    return events


def log_path(uri):
    return unquote(urlparse(uri).path)


def read_log(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bep", required=True)
    ap.add_argument("--expected", required=True)
    ap.add_argument("--label", required=True)
    ap.add_argument("--counts", required=True)
    ap.add_argument("--skips", required=True)
    ap.add_argument("--expect-failure", action="append", default=[])
    args = ap.parse_args()

    with open(args.expected) as f:
        expected = [line.strip() for line in f if line.strip()]
    canaries = dict(item.split("=", 1) for item in args.expect_failure)

    summaries = {}  # label -> overallStatus
    logs = {}  # label -> test.log path of the (last) attempt
    aborted = {}  # label -> reason Bazel gave for not running it
    for event in read_events(args.bep):
        ident = event.get("id", {})
        if "testSummary" in ident:
            summaries[ident["testSummary"]["label"]] = event.get("testSummary", {}).get("overallStatus", "NO_STATUS")
        elif "testResult" in ident:
            for output in event.get("testResult", {}).get("testActionOutput", []):
                if output.get("name") == "test.log":
                    logs[ident["testResult"]["label"]] = log_path(output["uri"])
        elif "targetCompleted" in ident and "aborted" in event:
            aborted[ident["targetCompleted"]["label"]] = event["aborted"].get("reason", "aborted")
        elif "targetCompleted" in ident and not event.get("completed", {}).get("success", True):
            aborted.setdefault(ident["targetCompleted"]["label"], "failed to build")

    passed = failed = skipped = 0
    ran_ok = 0
    skip_lines = []
    for label in expected:
        status = summaries.get(label)
        text = read_log(logs[label]) if label in logs else ""
        if label in canaries:
            signature = canaries[label]
            if signature == "build":
                ok = status in (None, "FAILED_TO_BUILD") and label not in logs
                how = f"status {status or 'none'}, {'ran' if label in logs else 'did not run'}"
            else:
                ok = status == "FAILED" and signature in text
                how = f"status {status or 'none'}, {'log has' if signature in text else 'log lacks'} '{signature}'"
            if ok:
                print(f"{args.label}: canary {label} failed as it must ({how})")
            else:
                print(f"{args.label}: FAILED: canary {label} did not fail as it must ({how}): this pass could "
                      f"not have caught that kind of bug")
                failed += 1
            continue

        if status != "PASSED":
            reason = status or aborted.get(label) or "never ran (no test summary from Bazel)"
            cases = [m for m in (DOCTEST_SUMMARY.match(l) for l in text.splitlines()) if m]
            detail = f"; doctest counted {cases[-1].group(3)} failed case(s)" if cases else ""
            print(f"{args.label}: FAILED: {label}: {reason}{detail}" + (f" (log: {logs[label]})" if label in logs else ""))
            tail = text.strip().splitlines()[-15:]
            for line in tail:
                print(f"    {line}")
            failed += max(1, int(cases[-1].group(3)) if cases else 1)
            continue

        lines = text.splitlines()
        cases = [m for m in (DOCTEST_SUMMARY.match(l) for l in lines) if m]
        skip_counts = [m for m in (SKIPPED_CASES.match(l) for l in lines) if m]
        if not cases or not skip_counts:
            print(f"{args.label}: FAILED: {label}: Bazel says PASSED but its log has no doctest/uring summary")
            failed += 1
            continue
        total, ok, bad = (int(x) for x in cases[-1].groups())
        skips = int(skip_counts[-1].group(1))
        if bad:  # cannot happen with exit status 0, but never trust one source
            print(f"{args.label}: FAILED: {label}: doctest counted {bad} failed case(s)")
            failed += bad
        passed += ok - skips
        skipped += skips
        ran_ok += 1
        for line in lines:
            m = SKIP_LINE.match(line)
            if m:
                skip_lines.append(f"{m.group(2)}\t{label} [{m.group(1)}]")

    extra = sorted(set(summaries) - set(expected) - set(canaries))
    for label in extra:
        print(f"{args.label}: note: {label} ran but is not in the expected list")
    real = [l for l in expected if l not in canaries]
    if real:
        print(f"{args.label}: {ran_ok} of {len(real)} test targets ran and passed; "
              f"{passed} passed, {failed} failed, {skipped} skipped (test cases)")

    with open(args.counts, "a") as f:
        f.write(f"{passed} {failed} {skipped}\n")
    with open(args.skips, "a") as f:
        for line in skip_lines:
            f.write(f"{args.label}\t{line}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
