"""Test doubles for the LLM scorer: a scripted OpenAI-compatible server on httpx.MockTransport."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from alliance_monitor import Role, ScoringMessage, WindowRequest, WindowScore
from alliance_monitor.scoring._llm import ITEM_IDS, LLMScorer
from alliance_monitor.scoring._openai import OpenAICompatibleClient, RetryPolicy

BASE_URL = "http://llm.test/v1"
MODEL = "test-model"

Reply = httpx.Response | Exception | Callable[[dict[str, Any]], "httpx.Response | Exception"]


def completion(
    content: str, *, prompt_tokens: int = 100, completion_tokens: int = 50, model: str = MODEL
) -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "id": "x",
            "object": "chat.completion",
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": content},
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        },
    )


_LINE = re.compile(r"^(m\d+) (counselor|client|other): (.*)$")


def transcript_lines(body: Mapping[str, Any]) -> dict[str, tuple[str, str]]:
    """label -> (role, text) from the data block of a rating request."""
    user = body["messages"][-1]["content"]
    if body["messages"][-1]["content"].startswith("Your previous answer"):
        user = body["messages"][1]["content"]
    code = re.search(r"<<<DATA-([0-9a-f]+)>>>", user)
    assert code, "no data block"
    block = user.split(f"<<<DATA-{code.group(1)}>>>\n", 1)[1].split(
        f"\n<<<END-{code.group(1)}>>>", 1
    )[0]
    out = {}
    for line in block.splitlines():
        m = _LINE.match(line)
        if m:
            out[m.group(1)] = (m.group(2), m.group(3))
    return out


def valid_answer(
    body: Mapping[str, Any],
    ratings: Mapping[str, int] | int = 4,
    *,
    passive: Iterable[str] = (),
    directive: Iterable[str] = (),
    suspicious: Iterable[str] = (),
    quote: str | None = None,
) -> str:
    """A well-formed answer quoting the first words of the first client message."""
    lines = transcript_lines(body)
    label, (_, text) = next(
        ((lb, v) for lb, v in lines.items() if v[0] == "client"), next(iter(lines.items()))
    )
    q = quote if quote is not None else " ".join(text.split()[:5])
    items = {}
    for i in ITEM_IDS:
        r = ratings if isinstance(ratings, int) else ratings.get(i, 3)
        ev = [] if r == 3 else [f"{label}: {q}"]
        items[i] = {"reasoning": "short reason", "evidence": ev, "rating": r}
    return json.dumps(
        {
            "ratings": items,
            "passive": list(passive),
            "directive": list(directive),
            "suspicious": list(suspicious),
        }
    )


@dataclass
class FakeLLM:
    """Replies in order (the last one repeats); records every request body."""

    replies: list[Reply] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[httpx.Headers] = field(default_factory=list)
    urls: list[httpx.URL] = field(default_factory=list)

    def handler(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.requests.append(body)
        self.headers.append(request.headers)
        self.urls.append(request.url)
        n = len(self.requests) - 1
        reply = self.replies[min(n, len(self.replies) - 1)]
        if callable(reply) and not isinstance(reply, (httpx.Response, Exception)):
            reply = reply(body)
        if isinstance(reply, Exception):
            raise reply
        return reply

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handler)


class Sleeps:
    """A fake `sleep` that records the delays instead of waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


def make_client(
    fake: FakeLLM, *, sleeps: Sleeps | None = None, **kw: Any
) -> OpenAICompatibleClient:
    kw.setdefault("retry", RetryPolicy(max_attempts=3, backoff_base=0.5, jitter=0.0))
    kw.setdefault("environ", {})
    return OpenAICompatibleClient(
        base_url=BASE_URL,
        model=MODEL,
        transport=fake.transport(),
        sleep=sleeps or Sleeps(),
        seed=1,
        **kw,
    )


def make_scorer(fake: FakeLLM, **kw: Any) -> LLMScorer:
    client_kw = {k: kw.pop(k) for k in list(kw) if k in ("sleeps", "structured_output", "environ")}
    return LLMScorer(make_client(fake, **client_kw), **kw)


def msg(i: int, role: str, text: str, cid: str = "c1") -> ScoringMessage:
    return ScoringMessage(id=f"{cid}:{i}", role=Role(role), text=text, ts=float(i))


DEFAULT_WINDOW = [
    ("counselor", "Hi, thanks for coming in today. What would you like to talk about?"),
    ("client", "I have been drinking more since I lost my job and my wife is worried."),
    ("counselor", "It sounds like the job loss hit hard and the drinking worries both of you."),
    ("client", "Yes, I think I want to cut down but I do not know where to start."),
    ("counselor", "What would cutting down look like for you, in your own words?"),
    ("client", "Maybe no drinks on weekdays. That feels doable to me."),
]


def window(
    pairs: list[tuple[str, str]] | None = None,
    *,
    index: int = 0,
    cid: str = "c1",
    history: tuple[WindowScore, ...] = (),
    kind: str = "window",
) -> WindowRequest:
    pairs = DEFAULT_WINDOW if pairs is None else pairs
    msgs = tuple(msg(i, r, t, cid) for i, (r, t) in enumerate(pairs))
    n_ex = sum(1 for m in msgs if m.role == Role.CLIENT)
    return WindowRequest(
        conversation_id=cid,
        window_index=index,
        messages=msgs,
        n_exchanges=n_ex,
        history=history,
        kind=kind,
    )  # type: ignore[arg-type]


def llm_server_from_env(environ: Mapping[str, str]) -> tuple[str, str]:
    """(base URL, model) of the real test server; skip without one, but fail under CI."""
    import pytest

    url = environ.get("ALLIANCE_MONITOR_TEST_LLM_URL")
    model = environ.get("ALLIANCE_MONITOR_TEST_LLM_MODEL", "gemma3-270m")
    if not url:
        if environ.get("CI"):
            pytest.fail(
                "ALLIANCE_MONITOR_TEST_LLM_URL is unset under CI: run "
                "scripts/start-llm-server.sh before the tests",
                pytrace=False,
            )
        pytest.skip('no LLM server: eval "$(scripts/start-llm-server.sh)" to run these')
    return url, model
