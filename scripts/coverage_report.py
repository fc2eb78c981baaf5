"""Print the branch coverage the test command measured, and hold the floors of the core.

    .venv/bin/python -m pytest --cov=alliance_monitor --cov-branch --cov-report= ...
    .venv/bin/python scripts/coverage_report.py

Prints the branch coverage (statements and branches together, as `coverage report` counts it)
of `alliance_monitor/` and `adapters/` and of the five modules that carry the monitor's
guarantees (the core, a pair's state, the rules, the durable part and the committer); exits 1
when one of those five is under 95%. Code run only in subprocesses (the kill -9 tests, `serve`
started as a process) is not counted: the figure is a floor.
"""

from __future__ import annotations

import io
import sys

import coverage

FLOOR = 95.0
GUARDED = ("_core.py", "_pair.py", "_rules.py", "_durable.py", "_committer.py")


def main() -> int:
    cov = coverage.Coverage()
    cov.load()

    def percent(*include: str) -> float:
        try:
            return float(cov.report(include=list(include), file=io.StringIO()))
        except coverage.exceptions.NoDataError:
            return 0.0

    print("== branch coverage (in-process)")
    both = percent("*/alliance_monitor/*", "*/adapters/*")
    print(f"   alliance_monitor/ and adapters/: {both:5.1f}%")
    print(f"   alliance_monitor/:               {percent('*/alliance_monitor/*'):5.1f}%")
    print(f"   adapters/:                       {percent('*/adapters/*'):5.1f}%")
    low = []
    for name in GUARDED:
        p = percent(f"*/alliance_monitor/{name}")
        print(f"   alliance_monitor/{name:<15} {p:5.1f}%   (floor {FLOOR:.0f}%)")
        if p < FLOOR:
            low.append(name)
    if low:
        print(f"coverage under {FLOOR:.0f}%: {', '.join(low)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
