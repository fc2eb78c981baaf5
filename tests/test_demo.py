"""`alliance-monitor demo` reads like a note to a clinical supervisor: grouped by pair, safety
first and emphasised, plain words instead of window indices and signed level changes, and the
same events as JSON with --json."""

from __future__ import annotations

import json
import re
from importlib import resources

import pytest

from alliance_monitor import AllianceDeclined, SessionSummary, event_adapter
from alliance_monitor._demo import level_change_words, render, stretches_words
from alliance_monitor.cli import main

#: Internal terms a supervisor should never have to decode.
JARGON = re.compile(
    r"window \d|windows \[|baseline|SESSION \d|[+-]\d\.\d\d levels|\(shutdown\)|trajectory|"
    r"PATTERN|DECLINED|LOW ALLIANCE|\[\s*(low|medium|high|info)\]",
    re.I,
)


def demo_pairs() -> list[str]:
    data = resources.files("alliance_monitor").joinpath("demo_data/demo.jsonl")
    return [json.loads(line)["conversation_id"] for line in data.read_text().splitlines() if line]


@pytest.fixture(scope="module")
def text() -> str:
    import io
    from contextlib import redirect_stdout

    buf = io.StringIO()
    with redirect_stdout(buf):
        assert main(["demo"]) == 0
    return buf.getvalue()


def sections(text: str) -> dict[str, str]:
    parts = re.split(r"^Pair (\S+).*\n-+\n", text, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def flat(text: str) -> str:
    """Lines are wrapped for the terminal: compare words, not line breaks."""
    return " ".join(text.split())


def test_every_pair_in_the_data_has_one_section(text: str) -> None:
    found = re.findall(r"^Pair (\S+)", text, flags=re.M)
    assert sorted(found) == sorted(demo_pairs())  # whatever pairs the bundled data holds


def test_safety_comes_first_and_stands_out(text: str) -> None:
    lines = [line for line in text.splitlines() if line.strip()]
    first_pair = next(i for i, line in enumerate(lines) if line.startswith("Pair "))
    assert lines[first_pair - 1].startswith("NEEDS A PERSON NOW: demo-declining")
    assert lines[first_pair].startswith("Pair demo-declining")
    body = sections(text)["demo-declining"]
    assert body.startswith("!! SAFETY:")
    assert flat(body.split("\nAlliance", 1)[0]).endswith("Route this conversation to a person now.")


def test_plain_words_and_no_internal_terms(text: str) -> None:
    assert not JARGON.search(flat(text)), JARGON.search(flat(text))
    declining = flat(sections(text)["demo-declining"])
    assert "stretch 2 of this conversation scored" in declining
    assert "below its start" in declining
    assert "Nothing to act on: the alliance held." in flat(sections(text)["demo-holding"])
    for name in ("demo-passive", "demo-directive"):
        assert "Nothing to act on" not in sections(text)[name]
    assert "Passive counselor:" in sections(text)["demo-passive"]
    assert "Directive counselor:" in sections(text)["demo-directive"]


def test_json_gives_the_same_events(capsys: pytest.CaptureFixture[str], text: str) -> None:
    assert main(["demo", "--json"]) == 0
    events = [event_adapter.validate_json(line) for line in capsys.readouterr().out.splitlines()]
    assert {e.conversation_id for e in events} == set(demo_pairs())
    assert render(events) in text  # the text is a rendering of exactly these events
    declined = [e for e in events if isinstance(e, AllianceDeclined)]
    # demo-declining, and demo-zh: a warm start, then advice pushed on a client who says "you
    # don't understand me", "whatever", "fine" (unrepaired ruptures)
    assert {e.conversation_id for e in declined} == {"demo-declining", "demo-zh"}
    assert sum(isinstance(e, SessionSummary) for e in events) == len(demo_pairs())


def test_all_adds_each_stretch(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--all"]) == 0
    out = capsys.readouterr().out
    assert re.search(
        r"^  stretch 1: goal \d\.\d, task \d\.\d, bond \d\.\d, overall \d\.\d$", out, flags=re.M
    )


@pytest.mark.parametrize(("change", "words"), [
    (0.1, "about the same"), (-0.3, "a little"), (0.52, "about half a level"),
    (-1.0, "a full level"), (1.2, "a full level"), (-1.4, "one and a half levels"),
    (1.95, "two levels"), (-2.46, "two and a half levels"),
])  # fmt: skip
def test_level_changes_in_words(change: float, words: str) -> None:
    assert level_change_words(change) == words


@pytest.mark.parametrize(("windows", "total", "words"), [
    ((1, 2), 3, "the last two stretches"), ((2,), 3, "the last stretch"),
    ((0, 1), 2, "both stretches"), ((0, 1, 2), 3, "all three stretches"),
    ((1, 2), 5, "stretches 2 and 3"), ((3,), None, "stretch 4"),
])  # fmt: skip
def test_stretches_in_words(windows: tuple[int, ...], total: int | None, words: str) -> None:
    assert stretches_words(windows, total) == words
