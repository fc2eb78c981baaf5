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
    # The model was asked, was shown the identifiers redaction cannot know (a name opening a
    # sentence, a workplace), and echoed them most of the time; the introduced name, the record
    # number, the phone and the e-mail were redacted before it saw anything.
    assert calls[0] >= 10, calls
    assert any("Wendell" in s and "Riverside" in s for s in shown)
    assert not any(re.search(r"PATIENT-ZX81|Jane|555-0142|jane\.doe", s) for s in shown)
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
        # issue 20 item 9: an e-mail echoed verbatim, a phone respelled, names typed lowercase
        ("Suggest writing to jane.doe@example.org later.", "identifier"),
        ("Suggest writing to JANE.DOE＠EXAMPLE.ORG later.", "identifier"),
        ("They offered 5550142 as a contact.", "identifier"),
        ("They offered ５５５ ０１４２ as a contact.", "identifier"),
        ("Ask how things are with Lily.", "identifier"),
        ("Ask about kevin and the pressure at work.", "identifier"),
        ("Reflect what McAllister said.", "identifier"),
        ("问问小丽最近怎么样。", "identifier"),
        ("Ask about their record A4821.", "identifier"),
        ("Check in about moon_child_77 online.", "identifier"),
        ("Ask about the example they gave.", None),
    ],
)
def test_find_leak_cases(output: str, reason: str | None) -> None:
    window = [*CLIENT_LINES, "我觉得没有人知道这件事情。", "Ok.", *LOWERCASE_LINES]
    assert find_leak(output, window) == reason


# --- issue 20 item 9: names typed lowercase, identifiers respelled, a model that echoes them -----

LOWERCASE_LINES = [
    "my daughter lily won't talk to me since the divorce.",
    "lily cried all night again and i couldn't help.",
    "my boss kevin mcallister says i'm slow.",
    "kevin doesn't know what it's like.",
    "you can mail me at jane.doe@example.org or text 555-867-5309.",
    "我女儿小丽不理我。",
    "小丽今天又哭了。",
    "my record is MRN-A4821 at the clinic, find me on insta: moon_child_77",
]
PLANTED_LOWERCASE = [
    re.compile(p, re.IGNORECASE)
    for p in (
        r"\blily\b",
        r"\bkevin\b",
        r"mcallister",
        r"jane\.?doe",
        r"555\D{0,3}867\D{0,3}5309",
        r"8675309",
        r"小丽",
        r"A4821",
        r"moon_child",
    )
]
PLANTED_IN_CONTEXT = r"lily|kevin|mcallister|jane\.doe|5309|A4821|moon_child"
#: What the echoing model picks from what it read, and how it respells it.
ECHO_SPELLINGS = {
    "lily": ["Lily", "LILY", "lily"],
    "kevin": ["Kevin", "kevin"],
    "mcallister": ["McAllister"],
    "jane.doe@example.org": ["jane.doe@example.org", "Jane.Doe@Example.org"],
    "555-867-5309": ["5558675309", "555 867 5309"],
    "小丽": ["小丽"],
    "MRN-A4821": ["A4821"],
    "moon_child_77": ["moon_child_77"],
}


def echoing(shown: list[str]) -> Any:
    """A model that repeats identifiers it read, in another case or spelling."""
    counter = [0]

    def reply(body: dict[str, Any]) -> httpx.Response:
        user = body["messages"][-1]["content"]
        shown.append(user)
        label = _FLAGGED.search(user)
        m = label.group(1) if label else "m1"
        read = [s for key, ss in ECHO_SPELLINGS.items() if key in user for s in ss]
        counter[0] += 1
        echo = read[counter[0] % len(read)] if read else None
        summary = (
            f"In [{m}] you answered briefly after they mentioned {echo}."
            if echo
            else f"In [{m}] you answered with a brief acknowledgement."
        )
        return completion(
            json.dumps({"summary": summary, "suggestion": "Reflect the feeling, then ask."})
        )

    return reply


@pytest.mark.parametrize("redaction", ["basic", "none"])
async def test_an_echoing_model_leaks_no_lowercase_name_or_respelled_identifier(
    tmp_path: Path, redaction: str
) -> None:
    """The model repeats what it read; nothing planted reaches events, webhooks or the outbox.

    With the default redaction the model never reads them (the names introduced in context
    are redacted in every message of the window). With no redaction (a deployment's own model)
    it reads and echoes them in other spellings, and the guard alone holds.
    """
    from alliance_monitor.scoring._redact import no_redaction

    shown: list[str] = []
    writer = LLMFeedbackWriter(
        make_client(FakeLLM([echoing(shown)])),
        **({"redactor": no_redaction} if redaction == "none" else {}),
    )
    secret = generate_webhook_secret()
    events = EventCollector()
    outbox = tmp_path / "outbox.db"
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
            window=WindowPolicy(max_exchanges=4),
            store=SQLiteStore(tmp_path / "state.db"),
        ) as monitor:
            monitor.on(events)
            monitor.on(dispatcher.submit)
            for p in range(4):
                for i, m in enumerate(alternating(f"pair-{p}", 32)):
                    line = (i // 2 + p) % len(LOWERCASE_LINES)
                    m["text"] = LOWERCASE_LINES[line] if m["role"] == "client" else "Ok."
                    await monitor.ingest(m)
            await monitor.end_all_sessions()
            await monitor.flush()
        assert await dispatcher.drain(20)
    echoed = [s for s in shown if any(k in s for k in ECHO_SPELLINGS)]
    assert len(shown) >= 8
    if redaction == "basic":
        # redaction took the planted identifiers out of what the model read, in every message
        # of the window ("lily cried..." too: a frequent given name, and named in context in
        # another message); only a familiar Chinese name in a window without its context
        # (小丽今天又哭了) reached the model, and the guard refused each echo of it
        data = [s[s.index("<<<DATA") :] for s in shown]
        assert not any(re.search(PLANTED_IN_CONTEXT, s, re.IGNORECASE) for s in data)
        assert writer.stats.identifiers == len(echoed)
    else:
        # the model read everything and echoed it; the guard refused every echo
        assert len(echoed) == len(shown) and writer.stats.identifiers == len(shown)
    exits = {
        "events": "\n".join(e.model_dump_json() for e in events.events),
        "webhooks": "\n".join(d.body.decode() for d in rx.requests),
        "outbox_rows": "\n".join(
            repr(r) for r in sqlite3.connect(outbox).execute("SELECT * FROM alerts")
        ),
        "outbox_files": _files_text(tmp_path, "outbox.db*"),
    }
    assert rx.requests
    found = {
        where: [p.pattern for p in PLANTED_LOWERCASE if p.search(text)]
        for where, text in exits.items()
    }
    assert found == {where: [] for where in exits}, found
