"""Regenerate the figures README.md shows from a command, so they cannot go stale unnoticed.

    .venv/bin/python scripts/readme_figures.py          # rewrite the generated blocks
    .venv/bin/python scripts/readme_figures.py --check  # exit 1 if a block is stale

A generated block sits between two markers in README.md:

    <!-- generated: NAME (scripts/readme_figures.py) -->
    ...
    <!-- end generated: NAME -->

Blocks: `study-sample` (Tables 1 and 2 of `alliance-monitor study` on the bundled sample; always
checked, tests/test_readme_figures.py) and `study-annomi` (the same on AnnoMI, from the project's
measurement data beside the repository, ../shared/data or $ALLIANCE_MONITOR_SHARED_DATA; skipped
when that is absent).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
BLOCK = re.compile(
    r"(<!-- generated: (?P<name>[\w-]+) \(scripts/readme_figures.py\) -->\n)(?P<body>.*?)"
    r"(<!-- end generated: (?P=name) -->)",
    re.S,
)


def shared_data() -> Path:
    return Path(os.environ.get("ALLIANCE_MONITOR_SHARED_DATA") or REPO.parent / "shared" / "data")


def _cli(*args: str, cwd: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "alliance_monitor.cli", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    )


def _study_tables(transcripts: Path | None) -> str:
    """Tables 1 and 2 of `study` (the embedded scorer) on `transcripts`, or on the bundled
    sample when None, as summary.md writes them."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if transcripts is None:
            _cli("sample", "-o", "sample.jsonl", cwd=work)
            transcripts = work / "sample.jsonl"
        _cli("study", str(transcripts), "--out", "out", "--no-replay", cwd=work)
        md = (work / "out" / "summary.md").read_text(encoding="utf-8")
        summary = json.loads((work / "out" / "summary.json").read_text(encoding="utf-8"))
    reading = _reading(summary, paper=transcripts.name != "sample.jsonl")
    lines = [*_table(md, "Table 1."), "", *_table(md, "Table 2."), "", *reading]
    return "\n".join(lines) + "\n"


def _reading(summary: dict[str, object], *, paper: bool) -> list[str]:
    """What Tables 1 and 2 say, in numbers taken from the same run (so this cannot go stale)."""
    traj = summary["trajectories"]["overall"]  # type: ignore[index]
    phases = summary["phases"]  # type: ignore[index]
    n, counts = traj["n"], traj["counts"]
    lacking = counts["insufficient_evidence"]
    with_evidence = n - lacking
    flat = counts["declined"] + counts["unchanged"]
    p_min = min(phases[d]["friedman"]["p"] for d in ("goal", "task", "bond", "overall"))
    n_phase = phases["overall"]["early"]["n"]
    text = (
        f"{lacking} of the {n} transcripts ({lacking / n:.0%}) have an early or late phase without "
        "enough evidence: they count as *insufficient evidence*, not as unchanged, and stay out "
        f"of the phase means (n = {n_phase}). Of the {with_evidence} pairs with evidence, "
        f"{flat / with_evidence:.0%} declined or stayed unchanged overall"
        + (" (paper: nearly 50%)" if paper else "")
        + f" and {counts['improved_ge1']} improved by a level or more"
        + (" (paper: under 3%)" if paper else "")
        + ". The "
        f"smallest Friedman p of the four dimensions is {p_min:.3f} (family-wise threshold "
        "0.0125)."
    )
    return _wrap(text)


def _wrap(text: str, width: int = 96) -> list[str]:
    import textwrap

    return textwrap.wrap(text, width=width, break_on_hyphens=False)


def _table(md: str, title: str) -> list[str]:
    """The bold caption starting with `title` and the Markdown table under it."""
    lines = md.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"**{title}"))
    out = [lines[start], ""]
    i = start + 1
    while i < len(lines) and not lines[i].startswith("|"):
        i += 1
    while i < len(lines) and lines[i].startswith("|"):
        out.append(lines[i])
        i += 1
    return out


def _annomi() -> str | None:
    path = shared_data() / "annomi.jsonl"
    return _study_tables(path) if path.is_file() else None


GENERATORS: dict[str, Callable[[], str | None]] = {
    "study-sample": lambda: _study_tables(None),
    "study-annomi": _annomi,
}


def regenerate(text: str, only: set[str] | None = None) -> tuple[str, list[str], list[str]]:
    """README text with every block regenerated; (text, stale block names, skipped names)."""
    stale: list[str] = []
    skipped: list[str] = []

    def one(m: re.Match[str]) -> str:
        name = m.group("name")
        if only is not None and name not in only:
            return m.group(0)
        body = GENERATORS[name]()
        if body is None:
            skipped.append(name)
            return m.group(0)
        if body != m.group("body"):
            stale.append(name)
        return m.group(1) + body + m.group(4)

    new = BLOCK.sub(one, text)
    return new, stale, skipped


def main() -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--check", action="store_true", help="only report stale blocks (exit 1)")
    p.add_argument("--only", action="append", choices=sorted(GENERATORS), help="these blocks")
    args = p.parse_args()
    text = README.read_text(encoding="utf-8")
    found = {m.group("name") for m in BLOCK.finditer(text)}
    unknown = found - set(GENERATORS)
    if unknown:
        print(f"unknown generated block(s) in README.md: {sorted(unknown)}", file=sys.stderr)
        return 1
    new, stale, skipped = regenerate(text, set(args.only) if args.only else None)
    for name in skipped:
        print(f"skipped {name}: its data is not here ({shared_data()})", file=sys.stderr)
    if args.check:
        if stale:
            print(
                f"stale in README.md: {', '.join(stale)}; run "
                "`.venv/bin/python scripts/readme_figures.py`",
                file=sys.stderr,
            )
            return 1
        return 0
    if new != text:
        README.write_text(new, encoding="utf-8")
    print(f"regenerated: {', '.join(stale) or 'nothing was stale'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
