"""The LLM scorer: chain-of-thought alliance ratings from any OpenAI-compatible endpoint.

One call per window (``n_samples`` calls when averaging): the fixed rating instructions, then a
compact carry-over of the pair's earlier window scores, then the redacted window transcript as a
delimited data block (see `_prompts`). The answer is validated strictly:

- it must be one JSON object matching the rating schema (twelve items G1-B4, each with reasoning,
  evidence quotes and an integer rating);
- a rating outside 1-5 is rejected;
- every evidence quote must occur in the window text that was sent (after case and whitespace
  normalisation); a rating other than 3 needs at least one quote (``require_evidence``);
- pattern labels must name counselor messages of the window.

A rejected answer gets at most one repair call; if that fails too, the window comes back
*unscored* with a reason. A made-up score is never returned. Every outcome is counted in
`LLMScorer.stats`.

Flags ride on ``WindowScore.construct_evidence`` under keys starting with ``_`` (message ids only):
``_flagged_injection`` (instruction-like messages), ``_truncated`` (text cut for the budget).

Prompt ``v2`` (the default) adds a detailed rubric, longer reasoning before each rating, the
transcript's language, and a running summary of the pair: the model returns it updated with each
window, the scorer redacts and bounds it and stores it on ``WindowScore.summary``, and the next
window's request carries it back through ``WindowRequest.history``. With several samples the
spread between them is kept (``sample_spread``) and a window whose samples disagree widely is
flagged (``samples_disagree``), not silently averaged.
"""

from __future__ import annotations

import json
import logging
import math
import re
import statistics
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import anyio
from pydantic import BaseModel, ConfigDict, StrictInt, StrictStr, ValidationError

from .._errors import ConfigError, ScorerUnavailable, ScoringError
from .._lang import detect_language
from .._models import (
    CONSTRUCTS,
    DimensionScores,
    MessagePattern,
    Role,
    WindowRequest,
    WindowScore,
)
from .._tokens import TokenCounter, default_counter
from ._base import Scorer
from ._openai import ChatCompletion, OpenAICompatibleClient
from ._prompts import (
    RATING_PROMPT,
    BuiltPrompt,
    CodeFactory,
    PromptFile,
    PromptTooLarge,
    build_rating_prompt,
    language_name,
    latest_summary,
    load_prompt,
    load_schema,
    new_code,
    prepare_summary,
    render_prompt,
)
from ._redact import Redactor, basic_redactor

__all__ = [
    "AnswerBounds",
    "LLMScorer",
    "LLMStats",
    "RatingAnswer",
    "answer_bounds",
    "constrained_schema",
    "extract_json_object",
    "normalize_quote",
    "split_evidence",
]

logger = logging.getLogger("alliance_monitor.scoring")

ITEM_IDS: tuple[str, ...] = tuple(c for ids in CONSTRUCTS.values() for c in ids)
FLAG_INJECTION = "_flagged_injection"
FLAG_TRUNCATED = "_truncated"
#: Tokens kept free in the per-call budget so the repair note always fits.
REPAIR_RESERVE = 160


# --- the answer schema ---------------------------------------------------------------------------

_STRICT = ConfigDict(extra="forbid", hide_input_in_errors=True, frozen=True)


class ItemRating(BaseModel):
    model_config = _STRICT

    reasoning: StrictStr
    evidence: list[StrictStr]  # "m4: words copied from message m4"
    rating: StrictInt  # the 1-5 range is checked separately, so it is counted as its own fault


class RatingAnswer(BaseModel):
    """What the model must return (``prompts/alliance_rating.v1.schema.json``)."""

    model_config = _STRICT

    ratings: dict[str, ItemRating | None]  # None (prompt v2): no evidence either way, a 3
    passive: list[StrictStr] = []
    directive: list[StrictStr] = []
    suspicious: list[StrictStr] = []
    summary: StrictStr | None = None  # prompt v2: the pair's running summary, updated


# --- outcome counters ----------------------------------------------------------------------------


@dataclass
class LLMStats:
    """Outcome counters of an `LLMScorer` (per window, per call, per fault, tokens)."""

    windows: int = 0
    scored: int = 0
    unscored: int = 0
    empty_windows: int = 0
    calls: int = 0
    repairs: int = 0
    repaired_ok: int = 0
    invalid_json: int = 0
    schema_errors: int = 0
    out_of_range: int = 0
    fabricated_evidence: int = 0
    unsupported_rating: int = 0
    unknown_label: int = 0
    unavailable: int = 0
    budget_exceeded: int = 0
    truncated_windows: int = 0
    injection_flagged: int = 0
    samples_disagree: int = 0
    summaries: int = 0
    summary_truncated: int = 0
    summary_missing: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_prompt_tokens: int = 0
    samples_invalid: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def count_fault(self, kind: str) -> None:
        if hasattr(self, kind) and isinstance(getattr(self, kind), int):
            setattr(self, kind, getattr(self, kind) + 1)


# --- JSON extraction and quote matching ----------------------------------------------------------

_FENCE = re.compile(r"```(?:json)?", re.IGNORECASE)


def extract_json_object(text: str) -> dict[str, Any] | None:
    """The first JSON object in `text`: the whole text if it parses, else the first ``{...}``
    that decodes (code fences and chatter around it are ignored). None if there is none.

    Linear in the length of the reply: only the first `_JSON_STARTS` opening braces are tried
    (each try may read to the end), and nesting too deep for the decoder counts as no object.
    """
    text = text.strip()
    try:
        whole = json.loads(text)
    except (ValueError, RecursionError):
        whole = None
    if isinstance(whole, dict):
        return whole
    text = _FENCE.sub(" ", text)
    decoder = json.JSONDecoder()
    start = text.find("{")
    for _ in range(_JSON_STARTS):
        if start == -1:
            break
        try:
            obj, _end = decoder.raw_decode(text, start)
        except (ValueError, RecursionError):
            obj = None
        if isinstance(obj, dict):
            return obj
        start = text.find("{", start + 1)
    return None


#: Opening braces tried as the start of the answer object (chatter before it rarely has more).
_JSON_STARTS = 16


_QUOTE_CHARS = str.maketrans(
    {"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-"}
)
_NON_WORD = re.compile(r"[^\w']+")


def normalize_quote(text: str) -> str:
    """Case-, whitespace- and punctuation-insensitive form used to match quotes to messages."""
    text = unicodedata.normalize("NFKC", text).translate(_QUOTE_CHARS).casefold()
    return " ".join(_NON_WORD.sub(" ", text).split())


_ELLIPSIS = re.compile(r"\.\.\.+|…")


#: Scripts written without spaces between words (Han, kana, Hangul): quotes in them are matched
#: whitespace-insensitively, since models add or drop spaces and full-width punctuation there.
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]")


def _quote_in(quote: str, haystack: str) -> bool:
    """All parts of `quote` (split at ellipses) occur in `haystack` (normalised), in order.

    For quotes in CJK scripts the comparison ignores whitespace altogether (after NFKC folding,
    which maps full-width letters, digits and punctuation to their plain forms, and punctuation
    removal), so "我很难过，不想说话" matches "我很难过 不想说话" and "我很难过不想说话".
    """
    parts = [normalize_quote(p) for p in _ELLIPSIS.split(quote)]
    parts = [p for p in parts if p]
    if not parts:
        return False
    if _in_order(parts, haystack):
        return True
    if _CJK.search(quote):
        return _in_order([p.replace(" ", "") for p in parts], haystack.replace(" ", ""))
    return False


def _in_order(parts: Sequence[str], haystack: str) -> bool:
    pos = 0
    for part in parts:
        found = haystack.find(part, pos)
        if found == -1:
            return False
        pos = found + len(part)
    return True


# --- validation ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Problem:
    kind: str  # a LLMStats counter name
    note: str  # for the repair prompt and the unscored reason; never contains message text


@dataclass(frozen=True, slots=True)
class _Sample:
    ratings: dict[str, int]
    evidence: dict[str, tuple[str, ...]]  # item -> message ids
    passive: frozenset[str]
    directive: frozenset[str]
    suspicious: frozenset[str]
    summary: str | None = None


def _validate(
    content: str, built: BuiltPrompt, *, require_evidence: bool
) -> tuple[_Sample | None, list[_Problem]]:
    data = extract_json_object(content)
    if data is None:
        return None, [_Problem("invalid_json", "the reply was not one valid JSON object")]
    try:
        answer = RatingAnswer.model_validate(data)
    except ValidationError as exc:
        where = sorted({".".join(str(p) for p in e["loc"]) for e in exc.errors()})[:4]
        return None, [_Problem("schema_errors", f"schema mismatch at {', '.join(where)}")]
    problems: list[_Problem] = []
    missing = [i for i in ITEM_IDS if i not in answer.ratings]
    extra = [k for k in answer.ratings if k not in ITEM_IDS]
    if missing or extra:
        note = "ratings must have exactly the items G1-B4"
        note += f"; missing {', '.join(missing)}" if missing else ""
        note += "; unknown items present" if extra else ""
        return None, [_Problem("schema_errors", note)]
    norm = {lb: normalize_quote(t) for lb, t in built.texts.items()}
    evidence: dict[str, tuple[str, ...]] = {}
    ratings: dict[str, int] = {}
    for item in ITEM_IDS:
        r = answer.ratings[item]
        if r is None:
            ratings[item], evidence[item] = 3, ()
            continue
        ratings[item] = r.rating
        if not 1 <= r.rating <= 5:
            problems.append(_Problem("out_of_range", f"{item}: rating must be an integer 1-5"))
        ids: list[str] = []
        for n, ev in enumerate(r.evidence, 1):
            label = _locate(ev, norm)
            if label is None:
                problems.append(
                    _Problem(
                        "fabricated_evidence",
                        f"{item}: evidence quote {n} does not occur in the transcript; copy "
                        "words exactly from one message",
                    )
                )
            elif built.labels[label] not in ids:
                ids.append(built.labels[label])
        if require_evidence and r.rating != 3 and not r.evidence and 1 <= r.rating <= 5:
            problems.append(
                _Problem("unsupported_rating", f"{item}: a rating other than 3 needs a quote")
            )
        evidence[item] = tuple(ids)
    counselor = {lb for lb, role in built.roles.items() if role == Role.COUNSELOR}
    for key, labels in (("passive", answer.passive), ("directive", answer.directive)):
        bad = [lb for lb in labels if lb.strip() not in counselor]
        if bad:
            problems.append(
                _Problem("unknown_label", f"{key} must list counselor message labels only")
            )
    if problems:
        return None, problems
    return (
        _Sample(
            ratings=ratings,
            evidence=evidence,
            passive=frozenset(built.labels[lb.strip()] for lb in answer.passive),
            directive=frozenset(built.labels[lb.strip()] for lb in answer.directive),
            suspicious=frozenset(
                built.labels[s.strip()] for s in answer.suspicious if s.strip() in built.labels
            ),
            summary=answer.summary.strip() if answer.summary and answer.summary.strip() else None,
        ),
        [],
    )


_CITED = re.compile(r"^\s*\[?(m\d{1,4})\]?\s*[:\-]\s*(.*)$", re.DOTALL)


def split_evidence(evidence: str) -> tuple[str | None, str]:
    """``"m4: words"`` -> ``("m4", "words")``; a quote without a label -> ``(None, quote)``."""
    m = _CITED.match(evidence)
    return (m.group(1), m.group(2)) if m else (None, evidence)


def _locate(evidence: str, norm: dict[str, str]) -> str | None:
    """The label of the message containing the quote (the cited one first), or None."""
    cited, quote = split_evidence(evidence)
    if len(normalize_quote(quote).replace(" ", "")) < 2:
        return None
    order = ([cited] if cited in norm else []) + [lb for lb in norm if lb != cited]
    for label in order:
        if _quote_in(quote, norm[label]):
            return label
    return None


def _repair_note(problems: Sequence[_Problem]) -> str:
    notes = list(dict.fromkeys(p.note for p in problems))[:8]
    return (
        "Your previous answer was rejected:\n- "
        + "\n- ".join(notes)
        + "\nReply again with the complete, corrected JSON object only."
    )


# --- the scorer ----------------------------------------------------------------------------------


@dataclass
class _CallResult:
    sample: _Sample | None
    problems: list[_Problem]
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int
    model: str | None
    repaired: bool


class LLMScorer(Scorer):
    """Scores windows with a chat model behind an OpenAI-compatible API.

    Keyword arguments:

    - `client`: an `OpenAICompatibleClient` (base URL, model, key env var, timeouts, retries,
      concurrency and rate limits live there);
    - `redactor`: applied to every message text before it is sent (default `basic_redactor`);
    - `prompt_version`: which ``prompts/alliance_rating.<version>.md`` to use: ``"v2"`` (default:
      detailed rubric, reasoning before each rating, running summary) or ``"v1"`` (the short one);
    - `reasoning_words`: room for the reasoning before each rating (v2; default 60 words, a few
      sentences); `output_language`: the language of reasoning and summary (a code such as
      ``"en"`` or ``"zh"``, or a name); evidence quotes always stay in the transcript's language;
    - `summary_tokens`: bound of the running summary carried between windows (v2; 0 turns the
      summary off); `summary_words` is what the prompt asks for;
    - `disagreement_spread`: with several samples, the window is flagged ``samples_disagree``
      when the mean spread (standard deviation) of item ratings between samples reaches this, or
      when the samples' means of any dimension differ by a full level or more;
    - `max_prompt_tokens`: hard per-call prompt budget (tiktoken cl100k count); the oldest window
      text is cut to fit and flagged; `max_completion_tokens`: the answer's ``max_tokens``;
    - `n_samples`: calls per window, averaged (the study used 3); `temperature` defaults to 0 for
      one sample and 0.7 for several; `min_valid_samples` defaults to a majority;
    - `require_evidence`: reject ratings other than 3 that quote nothing;
    - `repair`: allow the one repair call (True) or reject at once (False);
    - `constrain_evidence`: send a per-window schema whose quotes and labels are enums of the
      window's own sentences and labels, and whose strings are bounded so that the whole answer
      fits `max_completion_tokens`: a server that decodes under the schema (llama.cpp, vLLM,
      Ollama, OpenAI) cannot produce a fabricated quote, an unknown label or a cut-off answer.
      None (default): on wherever the client's requests carry a schema, except at OpenAI and
      Azure OpenAI hosts, where the schema is part of the cached prompt prefix (a new schema per
      window would defeat prompt caching and add schema-processing latency to every call); there
      quotes are checked after the answer, as everywhere, and a bad one gets the repair call.
    """

    name = "llm"

    def __init__(
        self,
        client: OpenAICompatibleClient,
        *,
        redactor: Redactor = basic_redactor,
        prompt_version: str = "v2",
        reasoning_words: int = 60,
        output_language: str = "en",
        summary_tokens: int = 160,
        summary_words: int = 80,
        disagreement_spread: float = 0.75,
        max_prompt_tokens: int = 4096,
        max_completion_tokens: int = 1024,
        n_samples: int = 1,
        temperature: float | None = None,
        min_valid_samples: int | None = None,
        require_evidence: bool = True,
        repair: bool = True,
        constrain_evidence: bool | None = None,
        carry_windows: int = 2,
        counter: TokenCounter | None = None,
        code_factory: CodeFactory = new_code,
        owns_client: bool = True,
    ) -> None:
        if n_samples < 1:
            raise ConfigError("n_samples must be >= 1")
        if max_prompt_tokens < 256 or max_completion_tokens < 64:
            raise ConfigError("max_prompt_tokens >= 256 and max_completion_tokens >= 64")
        if reasoning_words < 5 or summary_tokens < 0 or summary_words < 10:
            raise ConfigError("reasoning_words >= 5, summary_words >= 10, summary_tokens >= 0")
        self.client = client
        self.redactor = redactor
        self.reasoning_words = reasoning_words
        self.output_language = output_language
        raw = load_prompt(RATING_PROMPT, prompt_version)
        # Filled once: the system message is byte-identical in every call of this scorer.
        self.prompt: PromptFile = render_prompt(
            raw,
            {
                "REASONING": f"at most {reasoning_words} words",
                "OUTPUT_LANGUAGE": language_name(output_language),
                "SUMMARY_WORDS": str(summary_words),
            },
        )
        self.schema = load_schema(RATING_PROMPT, prompt_version)
        #: The prompt asks for a running summary (v2): carried between windows.
        self.keeps_summary = "summary" in self.schema.get("properties", {})
        self.summary_tokens = summary_tokens if self.keeps_summary else 0
        self.summary_words = summary_words
        self.disagreement_spread = disagreement_spread
        self.max_prompt_tokens = max_prompt_tokens
        self.max_completion_tokens = max_completion_tokens
        self.n_samples = n_samples
        self.temperature = (
            temperature if temperature is not None else (0.0 if n_samples == 1 else 0.7)
        )
        self.min_valid_samples = min_valid_samples or (n_samples // 2 + 1)
        self.require_evidence = require_evidence
        self.repair = repair
        self.constrain_evidence = constrain_evidence
        self.carry_windows = carry_windows
        self.counter = counter or default_counter()
        self._code_factory = code_factory
        self._owns_client = owns_client
        self.stats = LLMStats()

    @property
    def prompt_version(self) -> str:
        return self.prompt.id

    @property
    def model(self) -> str:
        return self.client.model

    def __repr__(self) -> str:
        return f"LLMScorer({self.client!r}, prompt={self.prompt.id!r}, n_samples={self.n_samples})"

    async def aclose(self) -> None:
        if self._owns_client:
            await self.client.aclose()

    def build_prompt(
        self,
        request: WindowRequest,
        *,
        reserve_repair: bool = True,
        code: str | None = None,
        max_prompt_tokens: int | None = None,
    ) -> BuiltPrompt:
        """The chat messages this scorer would send for `request` (also used by benchmarks)."""
        budget = max_prompt_tokens or self.max_prompt_tokens
        budget -= REPAIR_RESERVE if reserve_repair and self.repair else 0
        return build_rating_prompt(
            request,
            prompt=self.prompt,
            redactor=self.redactor,
            counter=self.counter,
            max_prompt_tokens=budget,
            code=code or self._code_factory(),
            carry_windows=self.carry_windows,
            summary_tokens=self.summary_tokens,
            language=_window_language(request),
        )

    async def score(self, request: WindowRequest) -> WindowScore:
        self.stats.windows += 1
        if not any(m.text.strip() for m in request.messages):
            self.stats.empty_windows += 1
            return self._unscored(request, "empty_window", {})
        try:
            builts = [self.build_prompt(request) for _ in range(self.n_samples)]
        except PromptTooLarge as exc:
            self.stats.budget_exceeded += 1
            return self._unscored(
                request, f"token_budget: fixed prompt needs {exc.needed} > {exc.budget}", {}
            )
        built = builts[0]
        flags = self._flags(built)
        if built.flagged_ids:
            self.stats.injection_flagged += len(built.flagged_ids)
            logger.info(
                "alliance_monitor.injection_flagged",
                extra={
                    "conversation_id": request.conversation_id,
                    "window_index": request.window_index,
                    "message_ids": list(built.flagged_ids),
                },
            )
        if built.truncated_ids:
            self.stats.truncated_windows += 1
        results: list[_CallResult | ScoringError | None] = [None] * self.n_samples
        async with anyio.create_task_group() as tg:
            for i, b in enumerate(builts):
                tg.start_soon(self._run_sample, b, results, i)
        failure = next((r for r in results if isinstance(r, ScoringError)), None)
        if failure is not None:
            self.stats.unavailable += 1
            kind = "llm_unavailable" if isinstance(failure, ScorerUnavailable) else "llm_error"
            return self._unscored(request, f"{kind}: {failure.reason}", flags)
        done = [r for r in results if isinstance(r, _CallResult)]
        return self._combine(request, built, done, flags)

    async def _run_sample(
        self, built: BuiltPrompt, results: list[_CallResult | ScoringError | None], index: int
    ) -> None:
        try:
            results[index] = await self._sample(built)
        except ScoringError as exc:  # ScorerUnavailable included; siblings finish their calls
            results[index] = exc

    async def _call(
        self, messages: Sequence[dict[str, str]], estimate: int, built: BuiltPrompt
    ) -> ChatCompletion:
        self.stats.calls += 1
        return await self.client.chat(
            messages,
            max_tokens=self.max_completion_tokens,
            temperature=self.temperature,
            schema=self.schema_for(built),
            schema_name="alliance_rating",
            estimated_tokens=estimate,
        )

    @property
    def constrains_evidence(self) -> bool:
        """Whether the next call sends the per-window schema (`constrain_evidence`)."""
        if self.constrain_evidence is not None:
            return self.constrain_evidence
        client = self.client
        return client.constrains_decoding and not client.hosted_openai

    def schema_for(self, built: BuiltPrompt) -> dict[str, Any]:
        """The answer schema sent with `built`: the fixed one, or the window's own."""
        if not self.constrains_evidence:
            return self.schema
        cjk = self.output_language.lower().startswith(("zh", "ja", "ko")) or any(
            _CJK.search(t) for t in built.texts.values()
        )
        return constrained_schema(
            self.schema,
            built,
            bounds=answer_bounds(
                self.max_completion_tokens,
                reasoning_words=self.reasoning_words,
                summary_words=self.summary_words if self.summary_tokens else 0,
                chars_per_token=CJK_CHARS_PER_TOKEN if cjk else CHARS_PER_TOKEN,
            ),
        )

    async def _sample(self, built: BuiltPrompt) -> _CallResult:
        first = await self._call(built.messages, built.prompt_tokens, built)
        sample, problems = _validate(first.content, built, require_evidence=self.require_evidence)
        result = _CallResult(sample, problems, 0, 0, 0, first.model, repaired=False)
        self._add_usage(result, first, built.prompt_tokens)
        self._count(problems)
        if sample is not None or not self.repair:
            return result
        self.stats.repairs += 1
        messages = self._repair_messages(built, first.content, problems)
        second = await self._call(messages, built.prompt_tokens + REPAIR_RESERVE, built)
        sample, problems2 = _validate(second.content, built, require_evidence=self.require_evidence)
        self._add_usage(result, second, _prompt_estimate(self.counter, messages))
        self._count(problems2)
        result.sample, result.problems, result.repaired = sample, problems2, True
        result.model = second.model or result.model
        if sample is not None:
            self.stats.repaired_ok += 1
        return result

    def _count(self, problems: Sequence[_Problem]) -> None:
        """Count one rejected answer under each distinct fault it showed."""
        for kind in dict.fromkeys(p.kind for p in problems):
            self.stats.count_fault(kind)

    def _repair_messages(
        self, built: BuiltPrompt, previous: str, problems: Sequence[_Problem]
    ) -> list[dict[str, str]]:
        """The original call plus the rejected answer (when it fits the budget) and the note."""
        note = {"role": "user", "content": _repair_note(problems)}
        with_answer = [*built.messages, {"role": "assistant", "content": previous}, note]
        if _prompt_estimate(self.counter, with_answer) <= self.max_prompt_tokens:
            return with_answer
        return [*built.messages, note]

    def _add_usage(self, result: _CallResult, c: ChatCompletion, estimate: int) -> None:
        prompt = c.prompt_tokens if c.prompt_tokens is not None else estimate
        if c.completion_tokens is not None:
            completion = c.completion_tokens
        elif c.chunks:  # a stream without usage: llama.cpp sends one piece per token
            completion = c.chunks
        else:
            completion = self.counter.count(c.content)
        result.prompt_tokens += prompt
        result.completion_tokens += completion
        result.cached_tokens += c.cached_tokens or 0
        self.stats.prompt_tokens += prompt
        self.stats.completion_tokens += completion
        self.stats.cached_prompt_tokens += c.cached_tokens or 0

    def _flags(self, built: BuiltPrompt) -> dict[str, tuple[str, ...]]:
        flags: dict[str, tuple[str, ...]] = {}
        if built.flagged_ids:
            flags[FLAG_INJECTION] = built.flagged_ids
        if built.truncated_ids:
            flags[FLAG_TRUNCATED] = built.truncated_ids
        return flags

    def _combine(
        self,
        request: WindowRequest,
        built: BuiltPrompt,
        done: list[_CallResult],
        flags: dict[str, tuple[str, ...]],
    ) -> WindowScore:
        tokens = {
            "prompt_tokens": sum(r.prompt_tokens for r in done),
            "completion_tokens": sum(r.completion_tokens for r in done),
        }
        model = next((r.model for r in done if r.model), None) or self.client.model
        valid = [r.sample for r in done if r.sample is not None]
        for r in done:
            if r.sample is None and r.problems:
                kind = r.problems[0].kind
                self.stats.samples_invalid[kind] = self.stats.samples_invalid.get(kind, 0) + 1
        if len(valid) < self.min_valid_samples:
            bad = next((r for r in done if r.sample is None), None)
            what = bad.problems[0] if bad and bad.problems else _Problem("schema_errors", "?")
            after = " after repair" if bad is not None and bad.repaired else ""
            n_bad = len(done) - len(valid)
            head = f"{n_bad} of {len(done)} samples invalid, " if len(done) > 1 else ""
            return self._unscored(
                request, f"invalid_answer: {head}{what.kind}{after}", flags, model=model, **tokens
            )
        suspicious = sorted(set().union(*(s.suspicious for s in valid)))
        if suspicious:
            known = set(flags.get(FLAG_INJECTION, ()))
            order = [m.id for m in request.messages]
            merged = [i for i in order if i in known or i in suspicious]
            flags[FLAG_INJECTION] = tuple(merged)
        return self._scored(request, built, valid, flags, model=model, **tokens)

    def _scored(
        self,
        request: WindowRequest,
        built: BuiltPrompt,
        valid: list[_Sample],
        flags: dict[str, tuple[str, ...]],
        *,
        model: str,
        prompt_tokens: int,
        completion_tokens: int,
    ) -> WindowScore:
        order = {m.id: n for n, m in enumerate(request.messages)}
        constructs = {i: round(statistics.fmean(s.ratings[i] for s in valid), 4) for i in ITEM_IDS}
        evidence: dict[str, tuple[str, ...]] = {}
        for i in ITEM_IDS:
            ids = {mid for s in valid for mid in s.evidence[i]}
            if ids:
                evidence[i] = tuple(sorted(ids, key=lambda x: order.get(x, 0)))
        all_ids = sorted({x for v in evidence.values() for x in v}, key=lambda x: order.get(x, 0))
        patterns = tuple(
            MessagePattern(
                id=m.id,
                passive=round(sum(m.id in s.passive for s in valid) / len(valid), 4),
                directive=round(sum(m.id in s.directive for s in valid) / len(valid), 4),
                cues=("llm",),
            )
            for m in request.messages
            if m.role == Role.COUNSELOR and m.text
        )
        spread, disagree = self._disagreement(valid)
        if disagree:
            self.stats.samples_disagree += 1
            logger.info(
                "alliance_monitor.samples_disagree",
                extra={
                    "conversation_id": request.conversation_id,
                    "window_index": request.window_index,
                    "spread": spread,
                    "samples": len(valid),
                },
            )
        self.stats.scored += 1
        return WindowScore(
            **self._meta(request),
            status="scored",
            constructs=constructs,
            scores=DimensionScores.from_constructs(constructs),
            confidence=_confidence(request, valid, evidence),
            evidence_count=_evidence_count(evidence),
            language=_window_language(request),
            summary=self._summary(request, valid),
            sample_spread=spread,
            samples_disagree=disagree,
            evidence=tuple(all_ids),
            construct_evidence={**evidence, **flags},
            messages=patterns,
            scorer=self.name,
            model=model,
            prompt_version=self.prompt.id,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
        )

    def _unscored(
        self,
        request: WindowRequest,
        reason: str,
        flags: dict[str, tuple[str, ...]],
        *,
        model: str | None = None,
        prompt_tokens: int = 0,
        completion_tokens: int = 0,
    ) -> WindowScore:
        self.stats.unscored += 1
        logger.info(
            "alliance_monitor.window_unscored",
            extra={
                "conversation_id": request.conversation_id,
                "window_index": request.window_index,
                "reason": reason,
                "scorer": self.name,
            },
        )
        return WindowScore(
            **self._meta(request),
            status="unscored",
            reason=reason,
            construct_evidence=dict(flags),
            # The pair's summary is carried forward unchanged, so a failed window loses nothing.
            summary=latest_summary(request.history) if self.summary_tokens else None,
            language=_window_language(request),
            scorer=self.name,
            model=model or self.client.model,
            prompt_version=self.prompt.id,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
        )

    @staticmethod
    def _meta(request: WindowRequest) -> dict[str, Any]:
        return request.window_fields()

    def _disagreement(self, valid: Sequence[_Sample]) -> tuple[float | None, bool]:
        """(mean item spread between samples, whether they disagree widely); (None, False) for
        one sample."""
        if len(valid) < 2:
            return None, False
        spread = statistics.fmean(
            statistics.pstdev([s.ratings[i] for s in valid]) for i in ITEM_IDS
        )
        dim_gap = max(
            max(means) - min(means)
            for means in (
                [statistics.fmean(s.ratings[i] for i in items) for s in valid]
                for items in CONSTRUCTS.values()
            )
        )
        return round(spread, 4), spread >= self.disagreement_spread or dim_gap >= 1.0

    def _summary(self, request: WindowRequest, valid: Sequence[_Sample]) -> str | None:
        """The pair's running summary after this window: the first valid sample's, redacted,
        on one line and bounded to `summary_tokens`; the earlier one when the model gave none."""
        if not self.summary_tokens:
            return None
        text = next((s.summary for s in valid if s.summary), None)
        if text is None:
            self.stats.summary_missing += 1
            return latest_summary(request.history)
        text = prepare_summary(text, self.redactor, self.summary_tokens)
        if self.counter.count(text) > self.summary_tokens:
            self.stats.summary_truncated += 1
            text = self.counter.truncate(text, self.summary_tokens).rstrip("\ufffd ").strip()
        self.stats.summaries += 1
        return text or latest_summary(request.history)


_SENTENCE = re.compile(r"[^.!?;。！？；]+[.!?;。！？；]*")
#: Characters per answer token assumed when bounding the free strings of an answer: English
#: prose runs 3.5-4.5 in the cl100k and Gemma vocabularies; Chinese, Japanese and Korean text
#: about 1-1.5. JSON keys and punctuation (the frame) are counted at 3.
CHARS_PER_TOKEN = 3.0
CJK_CHARS_PER_TOKEN = 1.0
_ITEM_FRAME = 60  # '"G1": {"reasoning": "", "evidence": [""], "rating": 4}, ' and a little slack
_ANSWER_FRAME = 160  # '{"ratings": {}, "passive": [...], "directive": [...], ...}'


@dataclass(frozen=True, slots=True)
class AnswerBounds:
    """Longest strings a constrained answer may hold, so that all of it fits the budget."""

    reasoning_chars: int
    quote_chars: int
    quotes_per_item: int
    summary_chars: int


def answer_bounds(
    max_completion_tokens: int,
    *,
    reasoning_words: int,
    summary_words: int,
    chars_per_token: float = CHARS_PER_TOKEN,
) -> AnswerBounds:
    """Bounds under which the longest answer the schema allows fits `max_completion_tokens`:
    the JSON frame at `CHARS_PER_TOKEN`, the free strings at `chars_per_token` (lower for CJK
    text); the summary first (up to its word count, at most a fifth of the rest), then per item
    one or two quotes and the reasoning (up to `reasoning_words`)."""
    frame = (_ANSWER_FRAME + len(ITEM_IDS) * _ITEM_FRAME) / CHARS_PER_TOKEN
    content = max(len(ITEM_IDS) * 10.0, max_completion_tokens - frame)
    summary = min(summary_words * 7 / chars_per_token, content / 5) if summary_words else 0.0
    per_item = (content - summary) / len(ITEM_IDS)
    quotes = 2 if per_item >= 100 else 1
    quote = max(12, min(100, int(per_item * chars_per_token / 3 / quotes)))
    reasoning = int((per_item - quotes * quote / chars_per_token) * chars_per_token)
    reasoning = max(12, min(reasoning_words * 7, reasoning))
    return AnswerBounds(reasoning, quote, quotes, int(summary * chars_per_token))


def _cut_words(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters at a word boundary (where there is one)."""
    if len(text) <= limit:
        return text
    cut = text[: limit + 1].rsplit(" ", 1)[0] if " " in text[:limit] else text[:limit]
    return cut.rstrip(" ,;:")


def constrained_schema(
    schema: dict[str, Any], built: BuiltPrompt, *, bounds: AnswerBounds | None = None
) -> dict[str, Any]:
    """`schema` with quotes limited to the window's sentences (cut to `bounds.quote_chars`) and
    labels to its messages, and every free string bounded (`answer_bounds`)."""
    bounds = bounds or AnswerBounds(100, 160, 2, 0)
    quotes: list[str] = []
    for label, text in built.texts.items():
        for part in _SENTENCE.findall(text):
            part = _cut_words(part.strip(), bounds.quote_chars)
            if len(normalize_quote(part)) >= 2 and f"{label}: {part}" not in quotes:
                quotes.append(f"{label}: {part}")
    out: dict[str, Any] = json.loads(json.dumps(schema))
    props = out["$defs"]["item"]["properties"]
    props["reasoning"] = {"type": "string", "maxLength": bounds.reasoning_chars}
    props["evidence"]["maxItems"] = min(
        props["evidence"].get("maxItems", bounds.quotes_per_item), bounds.quotes_per_item
    )
    labels = list(built.texts)
    if quotes:
        props["evidence"]["items"] = {"type": "string", "enum": quotes[:250]}
    if "summary" in out["properties"] and bounds.summary_chars:
        out["properties"]["summary"] = {"type": "string", "maxLength": bounds.summary_chars}
    counselor = [lb for lb in labels if built.roles[lb] == Role.COUNSELOR]
    for key in ("passive", "directive"):
        out["properties"][key] = (
            {
                "type": "array",
                "items": {"type": "string", "enum": counselor},
                "maxItems": len(counselor),
            }
            if counselor
            else {"type": "array", "maxItems": 0}
        )
    out["properties"]["suspicious"] = {
        "type": "array",
        "items": {"type": "string", "enum": labels},
        "maxItems": len(labels),
    }
    return out


def _window_language(request: WindowRequest) -> str:
    """The window's language code (`alliance_monitor.detect_language` on its message texts)."""
    return detect_language(m.text for m in request.messages)


def _evidence_count(evidence: dict[str, tuple[str, ...]]) -> dict[str, int]:
    """Evidence messages behind each dimension (distinct ids over its four items)."""
    out: dict[str, int] = {}
    for dim, items in CONSTRUCTS.items():
        out[dim] = len({mid for item in items for mid in evidence.get(item, ())})
    out["overall"] = len({mid for ids in evidence.values() for mid in ids})
    return out


def _prompt_estimate(counter: TokenCounter, messages: Sequence[dict[str, str]]) -> int:
    return sum(counter.count(m["content"]) + 4 for m in messages) + 3


def _confidence(
    request: WindowRequest, valid: Sequence[_Sample], evidence: dict[str, tuple[str, ...]]
) -> float:
    """How much to trust this score, in [0, 1].

    Grows with the window's exchanges (six is a full window), with the share of items backed by
    evidence, and with agreement between samples (their mean standard deviation per item).
    Short windows drift toward 3 by design; confidence says so.
    """
    coverage = min(1.0, request.n_exchanges / 6.0)
    evidenced = len(evidence) / len(ITEM_IDS)
    agreement = 1.0
    if len(valid) > 1:
        spread = statistics.fmean(
            statistics.pstdev([s.ratings[i] for s in valid]) for i in ITEM_IDS
        )
        agreement = max(0.0, 1.0 - spread / 1.5)
    value = 0.1 + 0.9 * coverage * (0.5 + 0.5 * evidenced) * agreement
    return round(min(1.0, max(0.0, value)), 3) if math.isfinite(value) else 0.0
