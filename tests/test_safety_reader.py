"""The safety net's learned reader (`alliance_monitor._safety_reader`): risk said without the
words the phrase lists know, read beside them at a conservative threshold.

The reader's weights were fitted only on statements the project wrote
(``training/written_safety_*.txt`` and the written sets); ``tests/data/safety_reader_check.jsonl``
was written at the same time, before the reader was fitted, and is never trained on: the floors
below sit a little under its figures. Assertion messages give counts, never message text.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from alliance_monitor import _safety, _safety_reader
from alliance_monitor._safety import reader_features, scan_risk

REPO = Path(__file__).resolve().parents[1]
CHECK = [
    json.loads(line)
    for line in (REPO / "tests" / "data" / "safety_reader_check.jsonl")
    .read_text(encoding="utf-8")
    .splitlines()
    if line.strip()
]
#: (recall at least, false alarms at most) per language on the reader's check set, measured
#: 0.233 / 5.0% (English) and 0.383 / 0.0% (Chinese); the phrase lists alone: 0.183 / 5.0% and
#: 0.183 / 0.0%.
FLOORS = {"en": (0.18, 0.06), "zh": (0.29, 0.02)}


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_reader_check_set(lang: str) -> None:
    risk = [r["text"] for r in CHECK if r["lang"] == lang and r["risk"]]
    ordinary = [r["text"] for r in CHECK if r["lang"] == lang and not r["risk"]]
    assert len(risk) >= 60 and len(ordinary) >= 60
    caught = sum(scan_risk(t) is not None for t in risk)
    alarms = sum(scan_risk(t) is not None for t in ordinary)
    figures = f"recall {caught}/{len(risk)}, false alarms {alarms}/{len(ordinary)}"
    recall_floor, alarm_ceiling = FLOORS[lang]
    assert caught / len(risk) >= recall_floor, figures
    assert alarms / len(ordinary) <= alarm_ceiling, figures


@pytest.mark.parametrize(
    ("text", "label"),
    [
        (
            "i've been standing on the bridge every night this week thinking about stepping off",
            "implicit_risk",
        ),
        ("cut again last night, deeper this time", "implicit_risk"),
        ("绳子我已经放在车后备箱里了，就等一个合适的晚上", "implicit_risk"),
        ("给我妈和我妹的信都写好了，放在抽屉里", "implicit_risk"),
    ],
)
def test_reader_reads_implicit_forms(text: str, label: str) -> None:
    """Written training statements the phrase lists miss are read by the reader, with its own
    cue label (the lists' labels are for the phrases they know)."""
    hit = scan_risk(text)
    assert hit is not None and hit.cues == (label,) and hit.category == "self_harm"


def test_reader_is_quiet_on_the_bundled_conversations() -> None:
    """No client message of the bundled sample and demo (ordinary counselling talk, one client at
    risk whom the lists read) is flagged by the reader alone. The reader was fitted with
    counselling-talk negatives written after it flagged one of them ("I'll do it tonight", a client
    agreeing to try a task), so this guards ground won, it does not measure reach."""
    flagged = 0
    for name in ("sample.jsonl", "demo.jsonl"):
        path = REPO / "alliance_monitor" / "demo_data" / name
        for line in path.read_text(encoding="utf-8").splitlines():
            for msg in json.loads(line)["messages"]:
                if msg["role"] == "client":
                    hit = scan_risk(msg["text"])
                    flagged += hit is not None and hit.cues in (
                        ("implicit_risk",),
                        ("implicit_threat",),
                    )
    assert flagged == 0


def test_reader_threat_to_others_has_its_category() -> None:
    reader = _safety_reader.load_reader()
    feats = reader_features("i'm going to burn his house down tonight, i already bought the gas")
    ordinary, self_harm, others = reader.probabilities(feats)
    assert others > self_harm and others > ordinary


@pytest.mark.parametrize(
    "text",
    [
        "my friend told me she wants to die, how do i help her",  # the lists set it aside
        "我朋友说她想死",
        "i'm going to the store, need milk and bread",
        "周末烧烤买了木炭",
        "",
        "   ",
        "🙂",
    ],
)
def test_reader_stays_quiet_on_ordinary_text(text: str) -> None:
    assert scan_risk(text) is None


def test_reader_does_not_overrule_the_lists() -> None:
    """Where the lists saw a phrase and set it aside (denial, someone else), the reader is not
    asked: a message the lists read as a denial stays ordinary whatever the reader says."""
    saved = _safety._READER
    _safety._READER = _safety_reader.Reader(weights={}, bias=(0.0, 9.0, 0.0), threshold=0.5)
    try:
        assert scan_risk("i'm not suicidal, just tired") is None
        assert scan_risk("she wants to die, she told me") is None
        assert scan_risk("we're going camping this weekend") is not None  # no phrase: asked
    finally:
        _safety._READER = saved


def test_features_are_bounded_and_plain() -> None:
    assert reader_features("") == []
    long_text = "word " * 100_000
    assert len(reader_features(long_text)) < 1000  # the reader reads the first 2,000 chars
    zh = reader_features("我想消失|真的")
    assert "消失" in zh and "^我" in zh and "|" not in "".join(zh)


def test_shipped_weights_are_what_the_training_script_writes() -> None:
    """The weights in the package come from the written statements by the script, bit for bit."""
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "train_safety_reader.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-500:]
