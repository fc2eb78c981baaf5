"""LLM token cost per 1,000 messages: naive vs incremental vs cascade, on AnnoMI.

    .venv/bin/python benchmarks/llm_tokens.py [--data ../shared/data/annomi.jsonl] [--json]

Windows come from the monitor core itself (`MonitorCore`, default `WindowPolicy`: a window closes
at 6 counselor-client exchanges or 1,200 tokens; the end of a session closes the last one), with
the embedded scorer's scores applied so that each window carries the real history.

Three ways to use an LLM scorer:

- naive: each time a window closes, send the whole transcript so far (no carry-over needed);
- incremental: send the closing window plus the carry-over (earlier window scores and a numeric
  state summary): what `LLMScorer` does;
- cascade: the embedded scorer on every window, the LLM (incremental prompt) only on windows
  `CascadeScorer` routes to it under the default `CascadePolicy` budget.

Prompt tokens are counted with tiktoken (cl100k) on the real prompts that `build_rating_prompt`
produces (fixed marker code, so runs are reproducible). Completion tokens are a fixed estimate per
call: the tiktoken count of a reference answer in the shipped format (six items with an 11-word
reasoning and one 8-word quote, six items at 3 with "no evidence", one pattern label). It is an
estimate, not a measurement: the bundled 270M test model writes shorter, useless answers.

"Cacheable prefix" is the fixed system message, byte-identical across calls, which servers with
prefix caching (OpenAI, Azure, vLLM, llama.cpp, ...) do not recompute and providers bill at a
discount. Naive calls cannot exceed a model's context in this count: real deployments would have
to truncate, so naive is, if anything, undercounted for long sessions.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import structlog

from alliance_monitor import WindowRequest, WindowScore
from alliance_monitor._core import MonitorCore
from alliance_monitor._tokens import default_counter
from alliance_monitor.scoring._base import Scorer
from alliance_monitor.scoring._cascade import CascadeScorer
from alliance_monitor.scoring._embedded import EmbeddedScorer
from alliance_monitor.scoring._llm import ITEM_IDS
from alliance_monitor.scoring._prompts import PER_MESSAGE_TOKENS, build_rating_prompt, load_prompt
from alliance_monitor.scoring._redact import basic_redactor

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "annomi.jsonl"
CODE = "0123456789ab"
UNLIMITED = 10**9
PROMPT = load_prompt("alliance_rating")
COUNTER = default_counter()


def reference_completion() -> int:
    """Tokens of a typical valid answer (see the module docstring)."""
    reasoning = "The client agrees with the plan and adds her own reason"
    quote = "yeah I think I could try that"
    items: dict[str, Any] = {}
    for n, i in enumerate(ITEM_IDS):
        if n % 2 == 0:
            items[i] = {"reasoning": reasoning, "evidence": [f"m4: {quote}"], "rating": 4}
        else:
            items[i] = {"reasoning": "no evidence", "evidence": [], "rating": 3}
    answer = {"ratings": items, "passive": ["m3"], "directive": [], "suspicious": []}
    return COUNTER.count(json.dumps(answer))


COMPLETION = reference_completion()


@dataclass
class Tally:
    calls: int = 0
    prompt: int = 0
    completion: int = 0
    prefix: int = 0
    windows: list[tuple[str, int]] = field(default_factory=list)

    def add(self, request: WindowRequest, *, history: bool = True) -> None:
        req = request if history else WindowRequest(
            conversation_id=request.conversation_id, window_index=request.window_index,
            messages=request.messages, n_exchanges=request.n_exchanges, kind=request.kind)
        built = build_rating_prompt(req, prompt=PROMPT, redactor=basic_redactor, counter=COUNTER,
                                    max_prompt_tokens=UNLIMITED, code=CODE)
        self.calls += 1
        self.prompt += built.prompt_tokens
        self.prefix += built.prefix_tokens
        self.completion += COMPLETION
        self.windows.append((request.conversation_id, request.window_index))

    @property
    def total(self) -> int:
        return self.prompt + self.completion


class CountingLLM(Scorer):
    """Stands in for the LLM inside the cascade: counts the incremental prompt, returns the
    embedded score with the token counts (so token budgets in the policy work as live)."""

    name = "llm"

    def __init__(self, tally: Tally, embedded: EmbeddedScorer) -> None:
        self.tally, self.embedded = tally, embedded

    async def score(self, request: WindowRequest) -> WindowScore:
        before = self.tally.total
        self.tally.add(request)
        s = self.embedded.score_sync(request)
        return s.model_copy(update={"prompt_tokens": self.tally.total - before,
                                    "completion_tokens": 0})


def conversations(path: Path) -> Iterator[dict[str, Any]]:
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def windows_of(conv: dict[str, Any], embedded: EmbeddedScorer) -> Iterator[WindowRequest]:
    """The monitor core's windows for one conversation, history filled by embedded scores."""
    core = MonitorCore(safety=False)
    cid = conv["conversation_id"]

    def run(work: list[WindowRequest]) -> Iterator[WindowRequest]:
        for req in work:
            yield req
            core.apply(embedded.score_sync(req), req)

    for m in conv["messages"]:
        out = core.ingest({"conversation_id": cid, "id": m["id"], "role": m["role"],
                           "text": m["text"], "ts": m["ts"]})
        yield from run(out.work)
    yield from run(core.end_session(cid).work)


async def measure(path: Path) -> dict[str, Any]:
    embedded = EmbeddedScorer()
    naive, incremental, cascade_tally = Tally(), Tally(), Tally()
    cascade = CascadeScorer(embedded, CountingLLM(cascade_tally, embedded))
    n_messages = n_windows = n_conversations = 0
    for conv in conversations(path):
        n_conversations += 1
        n_messages += len(conv["messages"])
        seen: list[Any] = []
        for req in windows_of(conv, embedded):
            n_windows += 1
            seen.extend(req.messages)
            naive.add(WindowRequest(conversation_id=req.conversation_id,
                                    window_index=req.window_index, messages=tuple(seen),
                                    n_exchanges=req.n_exchanges, kind=req.kind), history=False)
            incremental.add(req)
            await cascade.score(req)
    per = 1000.0 / n_messages
    rows = {}
    for name, t in (("naive", naive), ("incremental", incremental), ("cascade", cascade_tally)):
        rows[name] = {
            "calls": t.calls,
            "prompt_per_1k": round(t.prompt * per),
            "completion_per_1k": round(t.completion * per),
            "total_per_1k": round(t.total * per),
            "cacheable_prefix_per_1k": round(t.prefix * per),
            "cacheable_share": round(t.prefix / t.total, 3) if t.total else 0.0,
            "uncached_per_1k": round((t.total - t.prefix) * per),
        }
    base = rows["naive"]
    for row in rows.values():
        row["ratio_total"] = round(row["total_per_1k"] / base["total_per_1k"], 3)
        row["ratio_uncached"] = round(row["uncached_per_1k"] / base["uncached_per_1k"], 3)
    return {
        "data": str(path), "conversations": n_conversations, "messages": n_messages,
        "windows": n_windows, "prompt_version": PROMPT.id,
        "fixed_prefix_tokens": COUNTER.count(PROMPT.text) + PER_MESSAGE_TOKENS,
        "completion_tokens_per_call_estimate": COMPLETION,
        "cascade_triggers": cascade.stats.triggers, "cascade_over_budget": cascade.stats.over_budget,
        "modes": rows,
    }


def main(argv: list[str] | None = None) -> int:
    # A script may configure logging (the library never does): keep the cascade's info lines out.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(30))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--json", action="store_true", help="print the raw figures as JSON")
    args = ap.parse_args(argv)
    res = anyio.run(measure, args.data)
    if args.json:
        print(json.dumps(res, indent=2))
        return 0
    print(f"{res['data']}: {res['conversations']} conversations, {res['messages']} messages, "
          f"{res['windows']} windows; prompt {res['prompt_version']}, fixed prefix "
          f"{res['fixed_prefix_tokens']} tokens, completion estimate "
          f"{res['completion_tokens_per_call_estimate']} tokens/call")
    print(f"{'tokens per 1,000 messages':<14}{'calls':>7}{'prompt':>10}{'complet.':>10}"
          f"{'total':>10}{'cacheable':>11}{'share':>7}{'uncached':>10}{'x naive':>9}"
          f"{'x naive (uncached)':>20}")
    for name, r in res["modes"].items():
        print(f"{name:<14}{r['calls']:>7}{r['prompt_per_1k']:>10}{r['completion_per_1k']:>10}"
              f"{r['total_per_1k']:>10}{r['cacheable_prefix_per_1k']:>11}"
              f"{r['cacheable_share']:>7.0%}{r['uncached_per_1k']:>10}{r['ratio_total']:>9.3f}"
              f"{r['ratio_uncached']:>20.3f}")
    inc, cas = res["modes"]["incremental"], res["modes"]["cascade"]
    print(f"targets: incremental <= 1/3 naive: total {inc['ratio_total']:.3f} "
          f"({'met' if inc['ratio_total'] <= 1 / 3 else 'NOT met'}), uncached "
          f"{inc['ratio_uncached']:.3f} ({'met' if inc['ratio_uncached'] <= 1 / 3 else 'NOT met'}); "
          f"cascade <= 1/10 naive: total {cas['ratio_total']:.3f} "
          f"({'met' if cas['ratio_total'] <= 0.1 else 'NOT met'}), uncached "
          f"{cas['ratio_uncached']:.3f} ({'met' if cas['ratio_uncached'] <= 0.1 else 'NOT met'})")
    print(f"cascade triggers: {res['cascade_triggers']}; over budget: {res['cascade_over_budget']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
