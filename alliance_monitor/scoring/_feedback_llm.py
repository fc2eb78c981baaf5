"""Optional LLM-written feedback for counselors (``prompts/counselor_feedback.v1.md``).

For a pattern or decline event, `LLMFeedbackWriter.write` asks the model for a short, specific,
supportive note: it cites the flagged messages, names the pattern and the alliance dimension, and
proposes one concrete alternative move. The answer is checked before it is used:

- one JSON object ``{"summary": ..., "suggestion": ...}``, both non-empty and short;
- the summary cites at least one flagged message by its label (``[m3]``), which is rewritten to
  the real message id; labels that are not in the excerpt are rejected;
- it may not repeat a name, number or identifier of the window (as sent by the platform or as
  redacted for the model) nor a redaction placeholder, and, unless quotes are allowed, not
  copy three or more consecutive words of it (`_phi.find_leak`): message text and identifiers
  stay out of events, alert payloads, the outbox and logs unless the deployment opted in.

Any failure (backend down, bad answer) returns None: the caller keeps its template feedback.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field, fields
from typing import Any

from pydantic import BaseModel, ConfigDict, StrictStr, ValidationError

from .._errors import ScoringError
from .._events import Feedback
from .._models import ScoringMessage
from .._tokens import TokenCounter, default_counter
from ._llm import extract_json_object
from ._openai import OpenAICompatibleClient
from ._phi import find_leak
from ._prompts import (
    FEEDBACK_PROMPT,
    PromptFile,
    PromptTooLarge,
    build_feedback_prompt,
    language_name,
    load_prompt,
)
from ._redact import Redactor, basic_redactor

__all__ = ["FeedbackRequest", "LLMFeedbackWriter"]

logger = logging.getLogger("alliance_monitor.scoring")

MAX_FIELD_CHARS = 600
_QUOTE_CHARS = 80
_LABEL = re.compile(r"\[(m\d{1,4})\]")


@dataclass(frozen=True, slots=True)
class FeedbackRequest:
    """What the feedback is about.

    `pattern` is ``"passive"``, ``"directive"``, ``"decline"`` or ``"low"``; `message_ids` are the
    flagged counselor messages; `messages` the window they sit in (context for the model);
    `detail` a message-free note such as ``"goal fell from 3.8 to 2.6"``.
    """

    pattern: str
    dimension: str
    message_ids: tuple[str, ...]
    messages: tuple[ScoringMessage, ...]
    detail: str = ""
    include_quotes: bool = False


class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True, frozen=True)

    summary: StrictStr
    suggestion: StrictStr


@dataclass
class FeedbackStats:
    requested: int = 0
    written: int = 0
    unavailable: int = 0
    invalid: int = 0
    copied_text: int = 0
    #: Answers that repeated a name, number or identifier of the window (or a placeholder).
    identifiers: int = 0
    budget_exceeded: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


class LLMFeedbackWriter:
    """Writes counselor feedback with a chat model; returns None whenever it cannot."""

    def __init__(
        self,
        client: OpenAICompatibleClient,
        *,
        redactor: Redactor = basic_redactor,
        prompt_version: str = "v1",
        max_prompt_tokens: int = 2048,
        max_completion_tokens: int = 300,
        temperature: float = 0.3,
        output_language: str = "en",
        counter: TokenCounter | None = None,
        owns_client: bool = False,
    ) -> None:
        self.client = client
        self.redactor = redactor
        self.output_language = output_language
        prompt = load_prompt(FEEDBACK_PROMPT, prompt_version)
        if output_language.lower() not in ("en", "english"):
            # Rendered once: the system message stays byte-identical across this writer's calls.
            note = f"\nWrite the summary and the suggestion in {language_name(output_language)}.\n"
            prompt = PromptFile(prompt.name, prompt.version, prompt.text + note)
        self.prompt = prompt
        self.max_prompt_tokens = max_prompt_tokens
        self.max_completion_tokens = max_completion_tokens
        self.temperature = temperature
        self.counter = counter or default_counter()
        self._owns_client = owns_client
        self.stats = FeedbackStats()

    @property
    def prompt_version(self) -> str:
        return self.prompt.id

    async def aclose(self) -> None:
        if self._owns_client:
            await self.client.aclose()

    async def write(self, request: FeedbackRequest) -> Feedback | None:
        """Feedback with ``source="llm"``, or None (the caller falls back to its template)."""
        self.stats.requested += 1
        try:
            chat, labels, texts = build_feedback_prompt(
                prompt=self.prompt,
                pattern=request.pattern,
                dimension=request.dimension,
                flagged_ids=request.message_ids,
                messages=request.messages,
                redactor=self.redactor,
                counter=self.counter,
                max_prompt_tokens=self.max_prompt_tokens,
                detail=request.detail,
            )
        except PromptTooLarge:
            return self._fail("budget_exceeded")
        try:
            reply = await self.client.chat(
                chat, max_tokens=self.max_completion_tokens, temperature=self.temperature
            )
        except ScoringError:
            return self._fail("unavailable")
        self.stats.prompt_tokens += reply.prompt_tokens or 0
        self.stats.completion_tokens += reply.completion_tokens or 0
        return self._check(request, reply.content, labels, texts)

    def _check(
        self,
        request: FeedbackRequest,
        content: str,
        labels: dict[str, str],
        texts: dict[str, str],
    ) -> Feedback | None:
        data = extract_json_object(content)
        if data is None:
            return self._fail("invalid")
        try:
            answer = _Answer.model_validate(data)
        except ValidationError:
            return self._fail("invalid")
        summary, suggestion = answer.summary.strip(), answer.suggestion.strip()
        if not summary or not suggestion or max(len(summary), len(suggestion)) > MAX_FIELD_CHARS:
            return self._fail("invalid")
        flagged = {lb for lb, mid in labels.items() if mid in request.message_ids}
        cited = set(_LABEL.findall(summary)) | set(_LABEL.findall(suggestion))
        if cited - set(labels) or (flagged and not cited & flagged):
            return self._fail("invalid")
        prose = _LABEL.sub(" ", summary + "\n" + suggestion)
        window = [*texts.values(), *(m.text for m in request.messages if m.text)]
        leak = find_leak(prose, window, copies=not request.include_quotes)
        if leak is not None:
            return self._fail(leak)

        def real_id(m: re.Match[str]) -> str:
            return f"[{labels[m.group(1)]}]"

        self.stats.written += 1
        return Feedback(
            pattern=request.pattern,
            message_ids=request.message_ids,
            dimension=request.dimension,
            summary=_LABEL.sub(real_id, summary),
            suggestion=_LABEL.sub(real_id, suggestion),
            quotes=_quotes(request) if request.include_quotes else (),
            source="llm",
        )

    def _fail(self, reason: str) -> Feedback | None:
        if reason in ("identifier", "placeholder"):
            self.stats.identifiers += 1
        if reason in ("unavailable", "invalid", "copied_text", "budget_exceeded"):
            setattr(self.stats, reason, getattr(self.stats, reason) + 1)
        self.stats.reasons[reason] = self.stats.reasons.get(reason, 0) + 1
        logger.info("alliance_monitor.llm_feedback_failed", extra={"reason": reason})
        return None


def _quotes(request: FeedbackRequest) -> tuple[str, ...]:
    by_id = {m.id: m.text for m in request.messages}
    out = []
    for mid in request.message_ids[:2]:
        t = by_id.get(mid)
        if t:
            out.append(t if len(t) <= _QUOTE_CHARS else t[: _QUOTE_CHARS - 1] + "…")
    return tuple(out)
