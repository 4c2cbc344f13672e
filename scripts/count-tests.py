#!/usr/bin/env python3
"""Counts test cases over meson test runs, for scripts/test.sh's closing line.

A Catch2 binary writes "<passed> <failed>" test-case counts to REPORT_DIR/<name>.counts
(test/support/main.cpp). A test with no counts file (a script, or a binary that died
before writing it) counts as one case. A binary that meson saw fail but whose counts say
nothing failed (a leak or sanitizer report at exit) counts one more failure.

Usage: count-tests.py BUILD_DIR:REPORT_DIR... [--extra PASSED FAILED]...
Prints "N passed, N failed" and exits 1 when anything failed.
"""
import json
import os
import sys


def count_tree(build_dir, report_dir):
    passed = failed = 0
    log = os.path.join(build_dir, "meson-logs", "testlog.json")
    with open(log) as f:
        for line in f:
            t = json.loads(line)
            ok = t["result"] in ("OK", "EXPECTEDFAIL", "SKIP")
            # meson names a test "project:suite / name"
            name = t["name"].rsplit(" / ", 1)[-1]
            counts = os.path.join(report_dir, name + ".counts")
            if os.path.exists(counts):
                p, fl = (int(x) for x in open(counts).read().split())
                if not ok and fl == 0:
                    fl = 1
                passed += p
                failed += fl
            elif ok:
                passed += 1
            else:
                failed += 1
    return passed, failed


def main(argv):
    passed = failed = 0
    i = 0
    while i < len(argv):
        if argv[i] == "--extra":
            passed += int(argv[i + 1])
            failed += int(argv[i + 2])
            i += 3
            continue
        build_dir, report_dir = argv[i].split(":", 1)
        p, f = count_tree(build_dir, report_dir)
        passed += p
        failed += f
        i += 1
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
