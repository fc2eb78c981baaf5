"""The safety net's learned reader (`alliance_monitor._safety_reader`, English): risk said
without the words the phrase lists know, read beside them at a conservative threshold and only
for messages that name a word of the domain (`_safety._READER_GATE`).

The reader's weights were fitted on English statements the project wrote
(``training/written_safety_en.txt`` and the written sets before their fourth round) and, as
ordinary text, on the client messages of AnnoMI's even-numbered conversations.
``tests/data/safety_reader_check.jsonl`` was written before a reader was first fitted and is
never trained on. Assertion messages give counts, never message text.
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


def test_reader_check_set_english() -> None:
    """Measured 0.183 / 5.0% with the reader, the same as the phrase lists alone: the reader
    adds nothing on this set, and the floor guards that it takes nothing away."""
    risk = [r["text"] for r in CHECK if r["lang"] == "en" and r["risk"]]
    ordinary = [r["text"] for r in CHECK if r["lang"] == "en" and not r["risk"]]
    assert len(risk) >= 60 and len(ordinary) >= 60
    caught = sum(scan_risk(t) is not None for t in risk)
    alarms = sum(scan_risk(t) is not None for t in ordinary)
    figures = f"recall {caught}/{len(risk)}, false alarms {alarms}/{len(ordinary)}"
    assert caught / len(risk) >= 0.16, figures
    assert alarms / len(ordinary) <= 0.06, figures


@pytest.mark.parametrize(
    "text",
    [
        "i've been standing on the bridge every night this week thinking about stepping off",
        "cut again last night, deeper this time",
        "i want to go to sleep and stay asleep forever",
    ],
)
def test_reader_reads_implicit_forms(text: str) -> None:
    """Written training statements the phrase lists miss are read by the reader, with its own
    cue label (the lists' labels are for the phrases they know)."""
    hit = scan_risk(text)
    assert hit is not None and hit.cues == ("implicit_risk",) and hit.category == "self_harm"


def test_reader_threat_to_others_has_its_category() -> None:
    hit = scan_risk("i'm going to burn his house down tonight, i already bought the gas")
    assert hit is not None and hit.cues == ("implicit_threat",)
    assert hit.category == "harm_to_others"


def test_reader_is_quiet_on_the_bundled_conversations() -> None:
    """No client message of the bundled sample and demo (ordinary counselling talk, one client at
    risk whom the lists read) is flagged by the reader alone."""
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


@pytest.mark.parametrize(
    "text",
    [
        "my friend told me she wants to die, how do i help her",  # the lists set it aside
        "i'm just so stupid",  # self-doubt: what the first reader paged on
        "I made oatmeal cookies last week. I love baking",
        "i'm going to the store, need milk and bread",
        "我朋友说她想死",
        "",
        "   ",
        "🙂",
    ],
)
def test_reader_stays_quiet_on_ordinary_text(text: str) -> None:
    assert scan_risk(text) is None


def test_reader_is_asked_only_where_the_lists_saw_nothing_and_the_domain_is_named() -> None:
    """Where the lists saw a phrase and set it aside (denial, someone else), the reader is not
    asked; nor for a message that names no word of the domain, nor for Chinese text."""
    saved = _safety._READER
    _safety._READER = _safety_reader.Reader(weights={}, bias=(0.0, 9.0, 0.0), threshold=0.5)
    try:
        assert scan_risk("i'm not suicidal, just tired") is None
        assert scan_risk("she wants to die, she told me") is None
        assert scan_risk("we're going camping this weekend") is None  # no domain word
        assert scan_risk("我今天很累") is None  # Chinese: the lists alone
        hit = scan_risk("i'm so tired tonight")  # no phrase, a domain word: asked
        assert hit is not None and hit.cues == ("implicit_risk",)
    finally:
        _safety._READER = saved


def test_features_are_bounded_and_plain() -> None:
    assert reader_features("") == []
    long_text = "word " * 100_000
    assert len(reader_features(long_text)) < 1000  # the reader reads the first 2,000 chars
    feats = reader_features("I want to DISAPPEAR")  # the lists' skeleton: one letter per run
    assert "disapear" in feats and "^i" in feats and "disapear$" in feats


def test_shipped_weights_are_what_the_training_script_writes() -> None:
    """The weights in the package come from the written statements and AnnoMI by the script,
    bit for bit."""
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "train_safety_reader.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-500:]
