"""LLM token cost per 1,000 messages: naive vs incremental vs cascade, on AnnoMI.

    # offline: prompts counted with tiktoken, completions a reference estimate
    .venv/bin/python benchmarks/llm_tokens.py [--data ../shared/data/annomi.jsonl] [--json]
    # measured: every prompt sent to a real OpenAI-compatible server, tokens read from `usage`
    .venv/bin/python benchmarks/llm_tokens.py --server http://127.0.0.1:18080/v1 \
        --model gemma3-270m --max-messages 300 --completions 4

Windows come from the monitor core itself (`MonitorCore`, default `WindowPolicy`: a window closes
at 6 counselor-client exchanges or 1,200 tokens; the end of a session closes the last one), with
the embedded scorer's scores applied so that each window carries the real history.

Three ways to use an LLM scorer, all with the scorer's own prompt (`LLMScorer.build_prompt`,
default prompt version, fixed marker code so runs are reproducible):

- naive: each time a window closes, send the whole transcript so far (no carry-over needed);
- incremental: send the closing window plus the carry-over (earlier window scores, a numeric
  state summary and, for prompt v2, the pair's running summary): what `LLMScorer` does. The
  running summary is a reference text as long as the prompt asks for (80 words), since the
  embedded scorer that fills the history writes none;
- cascade: the embedded scorer on every window, the LLM (incremental prompt) only on windows
  `CascadeScorer` routes to it under the default `CascadePolicy` budget.

Measured mode (``--server``): every prompt of every mode is sent to the server and its
``usage.prompt_tokens`` is what counts (the call asks for one answer token, so prompts cost no
generation); ``--completions K`` full answers (the scorer's schema and answer cap) are generated
for K windows spread over the run, and the mean of their ``usage.completion_tokens`` is the
completion cost of every call (the answer format does not depend on the mode). The fixed prefix
is measured too: the system message alone with an empty user turn. ``--max-messages`` keeps the
run short: whole conversations are taken in file order while they fit that many messages and while
their naive prompt fits the server's context (``--context``); the figures are per 1,000 messages
of what was run. Short conversations make naive re-scoring cheap, so the selection flatters naive,
not incremental.

Offline mode counts prompts with tiktoken (cl100k) and uses a reference answer for completions:
an estimate, not a measurement.

"Cacheable prefix" is the fixed system message, byte-identical across calls, which servers with
prefix caching (OpenAI, Azure, vLLM, llama.cpp, ...) do not recompute and providers bill at a
discount.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio

from alliance_monitor import WindowRequest, WindowScore
from alliance_monitor._core import MonitorCore
from alliance_monitor._tokens import default_counter
from alliance_monitor.scoring._base import Scorer
from alliance_monitor.scoring._cascade import CascadeScorer
from alliance_monitor.scoring._embedded import EmbeddedScorer
from alliance_monitor.scoring._llm import ITEM_IDS, LLMScorer
from alliance_monitor.scoring._openai import OpenAICompatibleClient, RetryPolicy
from alliance_monitor.scoring._prompts import PER_MESSAGE_TOKENS, BuiltPrompt

DATA = (
    Path(
        os.environ.get("ALLIANCE_MONITOR_SHARED_DATA")
        or Path(__file__).resolve().parents[2] / "shared" / "data"
    )
    / "annomi.jsonl"
)
CODE = "0123456789ab"
UNLIMITED = 10**9
COUNTER = default_counter()
REFERENCE_SUMMARY = (
    "Client came about drinking more since losing his job; wife is worried. Agreed goal: no "
    "drinks on weekdays, his own proposal; counselor asked permission before suggesting a log. "
    "Client opened up about shame toward his children and about feeling useless at home. One "
    "rupture: he pushed back when advised to attend a group; the counselor stepped back and he "
    "re-engaged. Next step agreed: track cravings for a week and talk it over next session."
)


def make_scorer(
    base_url: str = "http://offline.invalid/v1", model: str = "offline", **kw: Any
) -> LLMScorer:
    client = OpenAICompatibleClient(
        base_url=base_url,
        model=model,
        api_key_env=None,
        read_timeout=600,
        call_timeout=900,
        max_concurrency=1,
        retry=RetryPolicy(max_attempts=2, backoff_base=2.0),
    )
    return LLMScorer(client, **kw)


SCORER = make_scorer()


def reference_completion(scorer: LLMScorer = SCORER) -> int:
    """Tokens of a typical valid answer in the scorer's format (see the module docstring)."""
    long_reason = (
        "The client agrees with the plan and adds a reason of her own, which shows "
        "she accepts this step as hers; the counselor asked before suggesting it, so "
        "the agreement is not just compliance. Some evidence for, not strong yet."
    )
    words = long_reason.split()[: scorer.reasoning_words]
    reasoning = " ".join(words) if "v2" in scorer.prompt_version else " ".join(words[:11])
    quote = "yeah I think I could try that"
    items: dict[str, Any] = {}
    for n, i in enumerate(ITEM_IDS):
        if n % 2 == 0:
            items[i] = {"reasoning": reasoning, "evidence": [f"m4: {quote}"], "rating": 4}
        elif "null" in json.dumps(scorer.schema):  # v2: an item without evidence is null
            items[i] = None
        else:
            items[i] = {
                "reasoning": "No evidence either way in this window.",
                "evidence": [],
                "rating": 3,
            }
    answer: dict[str, Any] = {
        "ratings": items,
        "passive": ["m3"],
        "directive": [],
        "suspicious": [],
    }
    if scorer.keeps_summary:
        answer["summary"] = REFERENCE_SUMMARY
    return COUNTER.count(json.dumps(answer))


@dataclass
class Tally:
    calls: int = 0
    prompt: int = 0
    completion: int = 0
    prefix: int = 0
    built: list[BuiltPrompt] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.prompt + self.completion


def with_summary(request: WindowRequest, scorer: LLMScorer) -> WindowRequest:
    """`request` whose latest history entry carries the reference running summary (v2)."""
    if not scorer.keeps_summary or not request.history:
        return request
    last = request.history[-1].model_copy(update={"summary": REFERENCE_SUMMARY})
    return WindowRequest(
        conversation_id=request.conversation_id,
        window_index=request.window_index,
        messages=request.messages,
        n_exchanges=request.n_exchanges,
        kind=request.kind,
        history=(*request.history[:-1], last),
    )


def build(request: WindowRequest, scorer: LLMScorer, *, history: bool = True) -> BuiltPrompt:
    req = (
        with_summary(request, scorer)
        if history
        else WindowRequest(
            conversation_id=request.conversation_id,
            window_index=request.window_index,
            messages=request.messages,
            n_exchanges=request.n_exchanges,
            kind=request.kind,
        )
    )
    return scorer.build_prompt(req, code=CODE, reserve_repair=False, max_prompt_tokens=UNLIMITED)


class CountingLLM(Scorer):
    """Stands in for the LLM inside the cascade: records the incremental prompt, returns the
    embedded score with the prompt's token count (so token budgets in the policy work as live)."""

    name = "llm"

    def __init__(self, tally: Tally, embedded: EmbeddedScorer, scorer: LLMScorer) -> None:
        self.tally, self.embedded, self.scorer = tally, embedded, scorer

    async def score(self, request: WindowRequest) -> WindowScore:
        b = build(request, self.scorer)
        self.tally.built.append(b)
        s = self.embedded.score_sync(request)
        return s.model_copy(update={"prompt_tokens": b.prompt_tokens, "completion_tokens": 0})


def conversations(path: Path) -> Iterator[dict[str, Any]]:
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def windows_of(conv: dict[str, Any], embedded: EmbeddedScorer) -> Iterator[WindowRequest]:
    """The monitor core's windows for one conversation, history filled by embedded scores."""
    core = MonitorCore(safety=False)
    cid = conv["conversation_id"]

    def run(work: list[WindowRequest] | tuple[WindowRequest, ...]) -> Iterator[WindowRequest]:
        for req in work:
            yield req
            core.apply(embedded.score_sync(req), req)

    for m in conv["messages"]:
        out = core.ingest(
            {
                "conversation_id": cid,
                "id": m["id"],
                "role": m["role"],
                "text": m["text"],
                "ts": m["ts"],
            }
        )
        yield from run(out.work)
    yield from run(core.end_session(cid).work)


async def plan(
    path: Path, scorer: LLMScorer, *, max_messages: int | None, context: int | None
) -> dict[str, Any]:
    """Build every call of the three modes (prompts only); pick conversations as documented."""
    embedded = EmbeddedScorer()
    naive, incremental, cascade_tally = Tally(), Tally(), Tally()
    cascade = CascadeScorer(embedded, CountingLLM(cascade_tally, embedded, scorer))
    n_messages = n_windows = n_conversations = skipped = 0
    for conv in conversations(path):
        if max_messages is not None and n_messages + len(conv["messages"]) > max_messages:
            if n_messages:
                break
            continue
        reqs = list(windows_of(conv, embedded))
        naive_built: list[BuiltPrompt] = []
        seen: list[Any] = []
        for req in reqs:
            seen.extend(req.messages)
            naive_built.append(
                build(
                    WindowRequest(
                        conversation_id=req.conversation_id,
                        window_index=req.window_index,
                        messages=tuple(seen),
                        n_exchanges=req.n_exchanges,
                        kind=req.kind,
                    ),
                    scorer,
                    history=False,
                )
            )
        if context is not None and max(b.prompt_tokens for b in naive_built) * 1.25 > context:
            skipped += 1  # its naive prompt would not fit the server's context
            continue
        n_conversations += 1
        n_messages += len(conv["messages"])
        naive.built.extend(naive_built)
        for req in reqs:
            n_windows += 1
            incremental.built.append(build(req, scorer))
            await cascade.score(req)
    return {
        "naive": naive,
        "incremental": incremental,
        "cascade": cascade_tally,
        "cascade_stats": cascade.stats,
        "messages": n_messages,
        "windows": n_windows,
        "conversations": n_conversations,
        "skipped_for_context": skipped,
    }


def count_offline(tallies: dict[str, Tally], scorer: LLMScorer) -> dict[str, Any]:
    completion = reference_completion(scorer)
    for t in tallies.values():
        t.calls = len(t.built)
        t.prompt = sum(b.prompt_tokens for b in t.built)
        t.prefix = sum(b.prefix_tokens for b in t.built)
        t.completion = completion * t.calls
    return {
        "completion_per_call": completion,
        "completion_source": "reference estimate",
        "prefix_tokens": COUNTER.count(scorer.prompt.text) + PER_MESSAGE_TOKENS,
        "prompt_source": "tiktoken cl100k",
    }


async def count_server(
    tallies: dict[str, Tally], scorer: LLMScorer, completions: int
) -> dict[str, Any]:
    """Send every prompt; read the server's usage. See the module docstring."""
    client = scorer.client
    probe = await client.chat(
        [{"role": "system", "content": scorer.prompt.text}, {"role": "user", "content": ""}],
        max_tokens=1,
    )
    prefix = probe.prompt_tokens or 0
    done = 0
    total_calls = sum(len(t.built) for t in tallies.values())
    for t in tallies.values():
        t.calls = len(t.built)
        for b in t.built:
            c = await client.chat(b.messages, max_tokens=1)
            if c.prompt_tokens is None:
                raise SystemExit("the server reports no usage.prompt_tokens: cannot measure")
            t.prompt += c.prompt_tokens
            t.prefix += prefix
            done += 1
            if sys.stderr.isatty():
                sys.stderr.write(f"\rprompts measured: {done}/{total_calls}")
    inc = tallies["incremental"].built
    picks = [
        inc[round(i * (len(inc) - 1) / max(1, completions - 1))]
        for i in range(min(completions, len(inc)))
    ]
    measured: list[int] = []
    for b in picks:
        c = await client.chat(
            b.messages,
            max_tokens=scorer.max_completion_tokens,
            temperature=scorer.temperature,
            schema=scorer.schema,
            schema_name="alliance_rating",
        )
        if c.completion_tokens is None:
            raise SystemExit("the server reports no usage.completion_tokens: cannot measure")
        measured.append(c.completion_tokens)
    per_call = round(statistics.fmean(measured)) if measured else 0
    for t in tallies.values():
        t.completion = per_call * t.calls
    return {
        "completion_per_call": per_call,
        "completion_samples": measured,
        "completion_source": f"server usage, mean of {len(measured)} full answers",
        "prefix_tokens": prefix,
        "prompt_source": "server usage, every call",
        "token_param": client.active_token_param,
        "structured_output": client.active_structured_output,
    }


async def measure(
    path: Path,
    *,
    server: str | None = None,
    model: str = "gemma3-270m",
    max_messages: int | None = None,
    context: int | None = None,
    completions: int = 4,
    prompt_version: str = "v2",
) -> dict[str, Any]:
    scorer = (
        make_scorer(server, model, prompt_version=prompt_version)
        if server
        else make_scorer(prompt_version=prompt_version)
    )
    p = await plan(path, scorer, max_messages=max_messages, context=context)
    tallies = {k: p[k] for k in ("naive", "incremental", "cascade")}
    try:
        how = (
            await count_server(tallies, scorer, completions)
            if server
            else count_offline(tallies, scorer)
        )
    finally:
        await scorer.aclose()
    per = 1000.0 / p["messages"]
    rows = {}
    for name, t in tallies.items():
        rows[name] = {
            "calls": t.calls,
            "prompt_per_1k": round(t.prompt * per),
            "completion_per_1k": round(t.completion * per),
            "total_per_1k": round(t.total * per),
            "cacheable_prefix_per_1k": round(t.prefix * per),
            "cacheable_share": round(t.prefix / t.total, 3) if t.total else 0.0,
            "uncached_per_1k": round((t.total - t.prefix) * per),
            "uncached_prompt_per_1k": round((t.prompt - t.prefix) * per),
        }
    base = rows["naive"]
    for row in rows.values():
        row["ratio_total"] = round(row["total_per_1k"] / base["total_per_1k"], 3)
        row["ratio_uncached"] = round(row["uncached_per_1k"] / base["uncached_per_1k"], 3)
        row["ratio_uncached_prompt"] = round(
            row["uncached_prompt_per_1k"] / base["uncached_prompt_per_1k"], 3
        )
    st = p["cascade_stats"]
    return {
        "data": str(path),
        "server": server,
        "model": model if server else None,
        "conversations": p["conversations"],
        "messages": p["messages"],
        "windows": p["windows"],
        "skipped_for_context": p["skipped_for_context"],
        "prompt_version": scorer.prompt_version,
        "fixed_prefix_tokens": how["prefix_tokens"],
        "completion_tokens_per_call": how["completion_per_call"],
        "completion_tokens_per_call_estimate": how["completion_per_call"],  # older name
        "how": how,
        "cascade_triggers": st.triggers,
        "cascade_over_budget": st.over_budget,
        "modes": rows,
    }


def main(argv: list[str] | None = None) -> int:
    logging.getLogger("alliance_monitor").setLevel(logging.WARNING)
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--server", help="OpenAI-compatible base URL: measure tokens from usage")
    ap.add_argument("--model", default="gemma3-270m")
    ap.add_argument("--max-messages", type=int, default=None)
    ap.add_argument(
        "--context",
        type=int,
        default=None,
        help="server context in tokens (default 4096 with --server)",
    )
    ap.add_argument("--completions", type=int, default=4)
    ap.add_argument("--prompt-version", default="v2")
    ap.add_argument("--json", action="store_true", help="print the raw figures as JSON")
    args = ap.parse_args(argv)
    context = args.context or (4096 if args.server else None)
    res = anyio.run(
        lambda: measure(
            args.data,
            server=args.server,
            model=args.model,
            max_messages=args.max_messages,
            context=context,
            completions=args.completions,
            prompt_version=args.prompt_version,
        )
    )
    if sys.stderr.isatty():
        sys.stderr.write("\n")
    if args.json:
        print(json.dumps(res, indent=2))
        return 0
    how = res["how"]
    print(
        f"{res['data']}: {res['conversations']} conversations, {res['messages']} messages, "
        f"{res['windows']} windows"
        + (
            f" ({res['skipped_for_context']} conversations skipped: naive prompt over the context)"
            if res["skipped_for_context"]
            else ""
        )
        + f"; prompt {res['prompt_version']}, fixed prefix {res['fixed_prefix_tokens']} "
        f"tokens; prompts: {how['prompt_source']}; completions: {how['completion_source']}, "
        f"{res['completion_tokens_per_call']} tokens/call"
    )
    print(
        f"{'tokens per 1,000 messages':<14}{'calls':>7}{'prompt':>10}{'complet.':>10}"
        f"{'total':>10}{'cacheable':>11}{'share':>7}{'uncached':>10}{'x naive':>9}"
        f"{'x naive (uncached)':>20}{'x naive (uncached prompt)':>27}"
    )
    for name, r in res["modes"].items():
        print(
            f"{name:<14}{r['calls']:>7}{r['prompt_per_1k']:>10}{r['completion_per_1k']:>10}"
            f"{r['total_per_1k']:>10}{r['cacheable_prefix_per_1k']:>11}"
            f"{r['cacheable_share']:>7.0%}{r['uncached_per_1k']:>10}{r['ratio_total']:>9.3f}"
            f"{r['ratio_uncached']:>20.3f}{r['ratio_uncached_prompt']:>27.3f}"
        )
    inc, cas = res["modes"]["incremental"], res["modes"]["cascade"]
    print(
        "(uncached = total minus the cacheable system prompt, answers included; uncached prompt "
        "= prompt tokens minus the cacheable system prompt, answers left out)"
    )
    print(
        f"targets: incremental <= 1/3 naive: uncached prompt {inc['ratio_uncached_prompt']:.3f} "
        f"({'met' if inc['ratio_uncached_prompt'] <= 1 / 3 else 'NOT met'}); total "
        f"{inc['ratio_total']:.3f} ({'met' if inc['ratio_total'] <= 1 / 3 else 'NOT met'}), "
        f"uncached {inc['ratio_uncached']:.3f} "
        f"({'met' if inc['ratio_uncached'] <= 1 / 3 else 'NOT met'}); "
        f"cascade <= 1/10 naive: total {cas['ratio_total']:.3f} "
        f"({'met' if cas['ratio_total'] <= 0.1 else 'NOT met'}), uncached "
        f"{cas['ratio_uncached']:.3f} ({'met' if cas['ratio_uncached'] <= 0.1 else 'NOT met'})"
    )
    print(f"cascade triggers: {res['cascade_triggers']}; over budget: {res['cascade_over_budget']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
