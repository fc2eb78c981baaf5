"""Figures on the sealed held-out sets: the safety scan and the redaction of identifiers.

The three sets in ``tests/data`` (``heldout_safety_en.jsonl``, ``heldout_safety_zh.jsonl``,
``heldout_redact.jsonl``; see ``tests/data/HELDOUT.md``) were written without looking at the rules
and are never tuned on. This script prints only aggregate figures, so that reading its output
does not turn the sets into tuning material:

* safety, per language (and per script for Chinese): recall (risk lines flagged / risk lines) and
  false-alarm rate (ordinary lines flagged / ordinary lines), with the counts;
* redaction, per language: identifiers caught (the exact substring no longer in the redacted
  text) and fully removed (no distinctive piece of it left either) over all identifiers, and
  ordinary messages changed over all ordinary messages.

Run from the project root:
    .venv/bin/python benchmarks/heldout.py [--json]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import unicodedata
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from alliance_monitor._models import sanitize_text
from alliance_monitor._safety import SafetyHit, scan_risk
from alliance_monitor.scoring import basic_redactor

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
SAFETY_FILES = {"en": "heldout_safety_en.jsonl", "zh": "heldout_safety_zh.jsonl"}
REDACT_FILE = "heldout_redact.jsonl"

# Pieces of an identifier that say nothing about the person when left behind.
GENERIC = frozenset(
    [
        "com",
        "net",
        "org",
        "edu",
        "gov",
        "www",
        "http",
        "https",
        "gmail",
        "yahoo",
        "outlook",
        "hotmail",
        "protonmail",
        "qq",
        "126",
        "163",
        "dot",
        "at",
        "apt",
        "flat",
        "street",
        "st",
        "rd",
        "road",
        "ave",
        "avenue",
        "lane",
        "ln",
        "drive",
        "rue",
        "des",
    ]
)
_PIECE = re.compile(r"[A-Za-z0-9]{3,}|[\u3400-\u9fff]{2,}")
_SPACE = re.compile(r"\s+")


def scan(text: str) -> SafetyHit | None:
    """The scan as the Monitor runs it on a client message (`Monitor.scan_safety`)."""
    return scan_risk(sanitize_text(text))


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def rate(hits: int, total: int) -> float:
    return hits / total if total else float("nan")


def safety_figures(rows: Iterable[dict[str, Any]], scan: Callable[[str], object]) -> dict[str, Any]:
    """Recall and false-alarm rate of `scan` (truthy = flagged) over labelled rows."""
    tp = fn = fp = tn = 0
    for row in rows:
        flagged = bool(scan(row["text"]))
        if row["risk"]:
            tp, fn = (tp + 1, fn) if flagged else (tp, fn + 1)
        else:
            fp, tn = (fp + 1, tn) if flagged else (fp, tn + 1)
    return {
        "risk": tp + fn,
        "ordinary": fp + tn,
        "flagged_risk": tp,
        "flagged_ordinary": fp,
        "recall": rate(tp, tp + fn),
        "false_alarm_rate": rate(fp, fp + tn),
    }


def _present(identifier: str, text: str) -> bool:
    """Whether `identifier` still appears in `text` (word-bounded when it starts/ends in ASCII)."""
    left = r"(?<![A-Za-z0-9])" if identifier[:1].isascii() and identifier[:1].isalnum() else ""
    right = r"(?![A-Za-z0-9])" if identifier[-1:].isascii() and identifier[-1:].isalnum() else ""
    return re.search(left + re.escape(identifier) + right, text) is not None


def _pieces(identifier: str) -> list[str]:
    folded = unicodedata.normalize("NFKC", identifier)
    return [p for p in _PIECE.findall(folded) if p.lower() not in GENERIC]


def _fully_removed(identifier: str, redacted: str) -> bool:
    if _present(identifier, redacted):
        return False
    folded = unicodedata.normalize("NFKC", redacted)
    return not any(_present(piece, folded) for piece in _pieces(identifier))


def _canon(text: str) -> str:
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text)).strip()


def redaction_figures(
    rows: Iterable[dict[str, Any]], redact: Callable[[str], str]
) -> dict[str, Any]:
    ids = caught = removed = ordinary = changed = 0
    for row in rows:
        out = redact(row["text"])
        if row["identifiers"]:
            for identifier in row["identifiers"]:
                ids += 1
                caught += not _present(identifier, out)
                removed += _fully_removed(identifier, out)
        else:
            ordinary += 1
            changed += _canon(out) != _canon(row["text"])
    return {
        "identifiers": ids,
        "caught": caught,
        "fully_removed": removed,
        "caught_rate": rate(caught, ids),
        "fully_removed_rate": rate(removed, ids),
        "ordinary": ordinary,
        "ordinary_changed": changed,
        "ordinary_changed_rate": rate(changed, ordinary),
    }


def measure(data: Path = DATA) -> dict[str, Any]:
    safety: dict[str, Any] = {}
    for lang, name in SAFETY_FILES.items():
        rows = read_jsonl(data / name)
        safety[lang] = safety_figures(rows, scan)
        if lang == "zh":
            for script in ("hans", "hant"):
                part = [r for r in rows if r.get("script") == script]
                safety[f"zh-{script}"] = safety_figures(part, scan)
    rows = read_jsonl(data / REDACT_FILE)
    redaction = {
        lang: redaction_figures([r for r in rows if r["lang"] == lang], basic_redactor)
        for lang in ("en", "zh")
    }
    redaction["all"] = redaction_figures(rows, basic_redactor)
    return {"safety": safety, "redaction": redaction}


def report(res: dict[str, Any]) -> str:
    lines = ["held-out safety scan (scan_risk on sanitized text, as Monitor.scan_safety)"]
    for name, f in res["safety"].items():
        lines.append(
            f"  {name:8} recall {f['recall']:.3f} ({f['flagged_risk']}/{f['risk']})"
            f"   false alarms {f['false_alarm_rate']:.3f} ({f['flagged_ordinary']}/{f['ordinary']})"
        )
    lines.append("held-out redaction (basic_redactor)")
    for name, f in res["redaction"].items():
        lines.append(
            f"  {name:8} identifiers caught {f['caught']}/{f['identifiers']} ({f['caught_rate']:.3f})"
            f", fully removed {f['fully_removed']}/{f['identifiers']} ({f['fully_removed_rate']:.3f})"
            f"   ordinary changed {f['ordinary_changed']}/{f['ordinary']}"
            f" ({f['ordinary_changed_rate']:.3f})"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args(argv)
    res = measure()
    sys.stdout.write((json.dumps(res, indent=2) if args.json else report(res)) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
