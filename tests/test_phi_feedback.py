"""Planted synthetic identifiers never leave through LLM-written feedback (issue 11, finding 3).

A scripted model (the test doubles' OpenAI-compatible server on httpx.MockTransport: no real
model echoes on demand) answers every feedback request by repeating what it was shown: the
client's name, record number, phone number, e-mail, workplace, redaction placeholders, copied
phrases; one answer in five is clean. Everything goes through the live monitor, the SQLite store,
the signed-webhook dispatcher with its SQLite outbox and a real loopback receiver. Every exit is
searched: events, webhook payloads, outbox rows and files, logs, stats, exception messages.
"""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest
from helpers import alternating, capture_logs
from llm_helpers import FakeLLM, completion, make_client

from alliance_monitor import Monitor, WindowPolicy
from alliance_monitor._errors import ScoringError
from alliance_monitor.alerts import AlertDispatcher, WebhookEndpoint, generate_webhook_secret
from alliance_monitor.alerts.testing import LoopbackReceiver
from alliance_monitor.scoring._feedback_llm import LLMFeedbackWriter
from alliance_monitor.scoring._phi import find_leak
from alliance_monitor.store import SQLiteStore
from alliance_monitor.testing import EventCollector, StaticScorer

pytestmark = pytest.mark.anyio

CLIENT_LINES = [
    "My name is Jane Q. Doe (PATIENT-ZX81) and I keep thinking about it.",
    "You can call me on 555-0142 or write to jane.doe@example.org if you need to.",
    "Since 2019 I have worked nights at Riverside Clinic and nobody there knows.",
    "Wendell, my brother, says I should just get over it.",
]
# Case-sensitive patterns for names, case-insensitive for numbers and addresses.
PLANTED = [re.compile(p) for p in (r"\bJane\b", r"\bDoe\b", r"\bRiverside\b", r"\bWendell\b")] + [
    re.compile(p, re.IGNORECASE)
    for p in (
        r"ZX81",
        r"555.?0142",
        r"jane\.doe",
        r"example\.org",
        r"\bjane\b",
        r"\bwendell\b",
        r"\[PERSON\]",
        r"\[PHONE\]",
        r"\[EMAIL\]",
    )
]


def leaks(text: str) -> list[str]:
    return [p.pattern for p in PLANTED if p.search(text)]


_FLAGGED = re.compile(r"Flagged counselor messages: (m\d+)")

# What an echoing model writes when it has seen a given piece of the window (as sent to it,
# after the default redaction): the name in several spellings, the record number, the
# placeholders, the workplace, the brother, and a copied phrase.
ECHOES = {
    "Jane": [
        "In [{m}] you gave Jane a brief reply; this passive pattern can weaken the bond.",
        "In [{m}] you did not follow up when jane spoke about herself.",
        "In [{m}] you answered briefly after Ms. Doe opened up.",
    ],
    "PATIENT-ZX81": [
        "In [{m}] the reply passed over record PATIENT-ZX81; ask what it means.",
        "In [{m}] the answer skipped the note about zx81.",
    ],
    "[PHONE]": ["In [{m}] you did not follow up when they offered [PHONE] as a contact."],
    "[EMAIL]": ["In [{m}] they offered [EMAIL]; acknowledge it before moving on."],
    "Riverside": ["In [{m}] you answered briefly after they mentioned Riverside Clinic."],
    "Wendell": ["In [{m}] you could have asked how Wendell's comment landed."],
    "nobody there knows": ["In [{m}] the client said nobody there knows; give that room."],
}
CLEAN = "In [{m}] you answered with a brief acknowledgement; reflecting the feeling would help."


def scripted(counter: list[int], shown: list[str]) -> Any:
    """An OpenAI-compatible reply function that echoes what the request showed it."""

    def reply(body: dict[str, Any]) -> httpx.Response:
        user = body["messages"][-1]["content"]
        shown.append(user)
        label = _FLAGGED.search(user)
        m = label.group(1) if label else "m1"
        n = counter[0]
        counter[0] += 1
        options = [s for key, ss in ECHOES.items() if key in user for s in ss]
        summary = CLEAN if n % 5 == 4 or not options else options[n % len(options)]
        return completion(
            json.dumps(
                {
                    "summary": summary.format(m=m),
                    "suggestion": "Reflect what you heard and ask one open question about it.",
                }
            )
        )

    return reply


async def test_planted_identifiers_never_leave_through_llm_feedback(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    calls = [0]
    shown: list[str] = []
    fake = FakeLLM([scripted(calls, shown)])
    writer = LLMFeedbackWriter(make_client(fake))
    secret = generate_webhook_secret()
    events = EventCollector()
    outbox = tmp_path / "outbox.db"
    with capture_logs(caplog) as logs:
        async with (
            LoopbackReceiver([secret]) as rx,
            AlertDispatcher(
                [WebhookEndpoint(rx.url, [secret], name="sup")],
                outbox_path=str(outbox),
                retry_schedule=(0, 0.05),
                allow_private=True,
            ) as dispatcher,
        ):
            async with Monitor(
                scorer=StaticScorer(3.0, passive=0.9),
                feedback_writer=writer,
                idle_check_interval=None,
                window=WindowPolicy(max_exchanges=3),
                store=SQLiteStore(tmp_path / "state.db"),
            ) as monitor:
                monitor.on(events)
                monitor.on(dispatcher.submit)
                for p in range(6):
                    for i, m in enumerate(alternating(f"pair-{p}", 40)):
                        if m["role"] == "client":
                            m["text"] = CLIENT_LINES[(i // 2) % len(CLIENT_LINES)]
                        else:
                            m["text"] = "Ok."
                        await monitor.ingest(m)
                await monitor.end_all_sessions()
                await monitor.flush()
                mon_stats = monitor.stats()
            assert await dispatcher.drain(20)
            disp_stats = dispatcher.stats()
    # The model was asked, was shown the planted identifiers (the default redaction replaces
    # only the phone number and the address), and echoed them most of the time.
    assert calls[0] >= 10, calls
    assert any("PATIENT-ZX81" in s and "Jane" in s for s in shown)
    llm_fb = [
        e
        for e in events.events
        if getattr(e, "feedback", None) is not None and e.feedback.source == "llm"
    ]
    assert llm_fb, "the clean answers are used"
    assert writer.stats.identifiers + writer.stats.copied_text >= calls[0] * 3 // 5
    # Every exit: events, webhook payloads, outbox rows and files, logs, stats.
    exits = {
        "events": "\n".join(e.model_dump_json() for e in events.events),
        "webhooks": "\n".join(d.body.decode() for d in rx.requests),
        "outbox_rows": "\n".join(
            repr(r) for r in sqlite3.connect(outbox).execute("SELECT * FROM alerts")
        ),
        "outbox_files": _files_text(tmp_path, "outbox.db*"),
        "logs": json.dumps(logs, default=str),
        "stats": json.dumps([mon_stats, writer.stats.as_dict()], default=str) + repr(disp_stats),
        "console": "".join(capfd.readouterr()),
    }
    assert rx.requests and len(rx.processed) >= 6
    found = {where: leaks(text) for where, text in exits.items()}
    assert found == {where: [] for where in exits}, found


def _files_text(folder: Path, pattern: str) -> str:
    return "".join(p.read_bytes().decode("utf-8", "replace") for p in folder.glob(pattern))


async def test_identifiers_stay_out_of_exception_messages() -> None:
    """A server error whose body echoes the prompt never reaches an exception message."""
    body = "upstream failed on: My name is Jane Q. Doe (PATIENT-ZX81), 555-0142"
    for status in (400, 500):
        fake = FakeLLM([httpx.Response(status, text=body)])
        client = make_client(fake)
        with pytest.raises(ScoringError) as info:
            await client.chat([{"role": "user", "content": CLIENT_LINES[0]}], max_tokens=10)
        await client.aclose()
        assert leaks(str(info.value)) == [] and leaks(repr(info.value)) == []


@pytest.mark.parametrize(
    ("output", "reason"),
    [
        ("In the reply you gave Jane, the pattern was passive.", "identifier"),
        ("In the reply you gave jane, the pattern was passive.", "identifier"),
        ("Ms. Doe needed more room.", "identifier"),
        ("Check record zx81 with them.", "identifier"),
        ("They offered 555-0142 as a contact.", "identifier"),
        ("Since 2019 things have been hard.", "identifier"),
        ("Ask how Wendell's comment landed.", "identifier"),
        ("Ask [PERSON] what happened.", "placeholder"),
        ("Notice that nobody there knows about it.", "copied_text"),
        ("你说没有人知道这件事情", "copied_text"),
        ("Reflect the feeling, then ask one open question.", None),
        ("Work on reflecting what they share.", None),
    ],
)
def test_find_leak_cases(output: str, reason: str | None) -> None:
    window = [*CLIENT_LINES, "我觉得没有人知道这件事情。", "Ok."]
    assert find_leak(output, window) == reason
