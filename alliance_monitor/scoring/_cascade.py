"""The cascade scorer: the embedded scorer on every window, the LLM only where it matters.

Each window is scored offline first. The LLM is called when the embedded score is uncertain or
the window is one a supervisor would look at:

- ``low_confidence``: the embedded confidence is below `CascadePolicy.confidence_below`;
- ``pattern``: a passive or directive pattern (share of flagged counselor messages) in the window;
- ``boundary``: a session's final window, a phase third or a whole session (`WindowRequest.kind`);
- ``possible_decline``: the embedded overall (or a dimension) is `decline_levels` below the pair's
  baseline or recent peak in `WindowRequest.history`;
- ``low``: the embedded overall is at or below `low_level`.

Calls are bounded by a budget: a share of the windows seen (`max_llm_share`, with a small
`burst`), and optional absolute caps on calls and tokens. Triggered windows are ranked
(``boundary`` and ``possible_decline`` first); a window over budget keeps its embedded score. When
the LLM answers with a valid score, that score is used (with the embedded per-message patterns if
the LLM gave none); when it fails, the embedded score stands and the failure is counted.

Every decision is recorded: `CascadeScorer.decisions` (most recent, bounded), `stats`, and on the
score itself: ``scorer`` is ``"cascade/llm"`` or ``"cascade/embedded"`` and
``construct_evidence["_cascade"]`` lists the triggers (message-free strings).
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from .._errors import ConfigError, ScoringError
from .._models import DIMENSIONS, WindowRequest, WindowScore
from ._base import Scorer, SyncScorer
from ._llm import FLAG_INJECTION
from ._prompts import latest_summary

__all__ = ["CascadeDecision", "CascadePolicy", "CascadeScorer", "CascadeStats"]

logger = logging.getLogger("alliance_monitor.scoring")

FLAG_CASCADE = "_cascade"
#: Triggers in priority order: the first ones may use the reserve (`burst`) of the budget.
TRIGGERS = (
    "boundary",
    "possible_decline",
    "low",
    "pattern",
    "unsupported_language",
    "low_confidence",
)
_PRIORITY = frozenset({"boundary", "possible_decline", "low"})


@dataclass(frozen=True, slots=True)
class CascadePolicy:
    """When the cascade calls the LLM, and how much it may spend."""

    # Thresholds on the embedded scorer's scale, which is compressed toward 3 (evidence-anchored
    # short windows). Set from its distribution over AnnoMI's 863 monitor windows (readable
    # quantiles, no optimiser; see docs/llm-scorer.md "Cascade triggers"): confidence below its
    # ~8th percentile, overall below its ~5th, a drop from baseline or recent peak above its
    # ~90th percentile.
    confidence_below: float = 0.2
    pattern_rate: float = 0.4
    pattern_min_flagged: int = 2
    on_boundaries: bool = True
    decline_levels: float = 0.9
    low_level: float = 2.75
    #: LLM calls may not exceed this share of the windows seen so far (plus `burst`).
    max_llm_share: float = 0.1
    #: Calls allowed beyond the share, for priority triggers early in a run.
    burst: int = 2
    #: Absolute caps over the scorer's lifetime (None: no cap).
    max_calls: int | None = None
    max_tokens: int | None = None
    #: Low-confidence windows alone go to the LLM only while fewer than this share of the budget
    #: is used, keeping room for boundaries and declines.
    low_confidence_budget_share: float = 0.5
    #: A window the embedded scorer found too little evidence in counts as low confidence once it
    #: has at least this many exchanges (shorter ones hold too little for any reader).
    abstained_min_exchanges: int = 3

    def __post_init__(self) -> None:
        if not 0 <= self.max_llm_share <= 1 or self.burst < 0:
            raise ConfigError("CascadePolicy: 0 <= max_llm_share <= 1 and burst >= 0")
        if not 0 <= self.low_confidence_budget_share <= 1:
            raise ConfigError("CascadePolicy.low_confidence_budget_share must be in [0, 1]")


@dataclass(frozen=True, slots=True)
class CascadeDecision:
    """What the cascade did with one window."""

    conversation_id: str
    window_index: int
    triggers: tuple[str, ...]
    called_llm: bool
    #: "embedded" (no trigger), "over_budget", "llm" (LLM score used), "llm_failed" (fell back).
    outcome: str
    llm_reason: str | None = None


@dataclass
class CascadeStats:
    windows: int = 0
    llm_calls: int = 0
    llm_scored: int = 0
    llm_failed: int = 0
    over_budget: int = 0
    embedded_only: int = 0
    llm_tokens: int = 0
    triggers: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "windows": self.windows,
            "llm_calls": self.llm_calls,
            "llm_scored": self.llm_scored,
            "llm_failed": self.llm_failed,
            "over_budget": self.over_budget,
            "embedded_only": self.embedded_only,
            "llm_tokens": self.llm_tokens,
            "triggers": dict(self.triggers),
        }


class CascadeScorer(Scorer):
    """Embedded scorer everywhere, LLM scorer where `CascadePolicy` says so, within budget."""

    name = "cascade"

    def __init__(
        self,
        embedded: Scorer,
        llm: Scorer,
        *,
        policy: CascadePolicy | None = None,
        keep_decisions: int = 1000,
    ) -> None:
        self.embedded = embedded
        self.llm = llm
        self.policy = policy or CascadePolicy()
        self.stats = CascadeStats()
        self.decisions: deque[CascadeDecision] = deque(maxlen=keep_decisions)

    async def aclose(self) -> None:
        try:
            await self.llm.aclose()
        finally:
            await self.embedded.aclose()

    def triggers(self, request: WindowRequest, base: WindowScore) -> tuple[str, ...]:
        """Why `request` deserves an LLM call, given its embedded score (empty: it does not)."""
        p = self.policy
        found: set[str] = set()
        if p.on_boundaries and request.kind in ("final", "phase", "session"):
            found.add("boundary")
        if base.scored and base.scores is not None:
            if base.confidence < p.confidence_below:
                found.add("low_confidence")
            if base.scores.overall <= p.low_level:
                found.add("low")
            if self._possible_decline(request.history, base):
                found.add("possible_decline")
        elif base.status == "insufficient_evidence":
            if base.n_exchanges >= p.abstained_min_exchanges:
                found.add("low_confidence")
        elif base.reason == "unsupported_language":
            found.add("unsupported_language")  # the embedded cues cannot read it; a model may
        if self._pattern(base):
            found.add("pattern")
        return tuple(t for t in TRIGGERS if t in found)

    def _pattern(self, base: WindowScore) -> bool:
        ms = base.messages
        if not ms:
            return False
        for flagged in (sum(m.is_passive for m in ms), sum(m.is_directive for m in ms)):
            if flagged >= self.policy.pattern_min_flagged and flagged / len(ms) >= (
                self.policy.pattern_rate
            ):
                return True
        return False

    def _possible_decline(self, history: tuple[WindowScore, ...], base: WindowScore) -> bool:
        prior = [h.scores for h in history if h.scored and h.scores is not None]
        if not prior or base.scores is None:
            return False
        for dim in DIMENSIONS:
            reference = max(prior[0].get(dim), max(s.get(dim) for s in prior[-4:]))
            if reference - base.scores.get(dim) >= self.policy.decline_levels:
                return True
        return False

    def _budget_allows(self, triggers: tuple[str, ...]) -> bool:
        p, s = self.policy, self.stats
        if p.max_calls is not None and s.llm_calls >= p.max_calls:
            return False
        if p.max_tokens is not None and s.llm_tokens >= p.max_tokens:
            return False
        share_cap = p.max_llm_share * s.windows
        priority = any(t in _PRIORITY for t in triggers)
        if priority or "pattern" in triggers:
            return s.llm_calls < share_cap + p.burst
        return s.llm_calls < share_cap * p.low_confidence_budget_share

    async def _embedded_score(self, request: WindowRequest) -> WindowScore:
        if isinstance(self.embedded, SyncScorer):
            return self.embedded.score_sync(request)
        return await self.embedded.score(request)

    async def score(self, request: WindowRequest) -> WindowScore:
        self.stats.windows += 1
        base = await self._embedded_score(request)
        triggers = self.triggers(request, base) if request.messages else ()
        for t in triggers:
            self.stats.triggers[t] = self.stats.triggers.get(t, 0) + 1
        if not triggers:
            self.stats.embedded_only += 1
            return self._record(request, base, triggers, "embedded", None)
        if not self._budget_allows(triggers):
            self.stats.over_budget += 1
            return self._record(request, base, triggers, "over_budget", None)
        self.stats.llm_calls += 1
        try:
            llm = await self.llm.score(request)
        except ScoringError as exc:  # ScorerUnavailable included: the embedded score stands
            self.stats.llm_failed += 1
            return self._record(request, base, triggers, "llm_failed", exc.reason)
        self.stats.llm_tokens += llm.prompt_tokens + llm.completion_tokens
        if not llm.scored:
            self.stats.llm_failed += 1
            flags = {k: v for k, v in llm.construct_evidence.items() if k == FLAG_INJECTION}
            merged = base.model_copy(
                update={
                    "construct_evidence": {**base.construct_evidence, **flags},
                    "prompt_tokens": llm.prompt_tokens,
                    "completion_tokens": llm.completion_tokens,
                }
            )
            return self._record(request, merged, triggers, "llm_failed", llm.reason)
        self.stats.llm_scored += 1
        update: dict[str, Any] = {}
        if not any(m.is_passive or m.is_directive for m in llm.messages) and base.messages:
            update["messages"] = base.messages
        return self._record(request, llm.model_copy(update=update), triggers, "llm", None)

    def _record(
        self,
        request: WindowRequest,
        score: WindowScore,
        triggers: tuple[str, ...],
        outcome: str,
        llm_reason: str | None,
    ) -> WindowScore:
        called = outcome in ("llm", "llm_failed")
        self.decisions.append(
            CascadeDecision(
                conversation_id=request.conversation_id,
                window_index=request.window_index,
                triggers=triggers,
                called_llm=called,
                outcome=outcome,
                llm_reason=llm_reason,
            )
        )
        if called:
            logger.info(
                "alliance_monitor.cascade_llm",
                extra={
                    "conversation_id": request.conversation_id,
                    "window_index": request.window_index,
                    "triggers": list(triggers),
                    "outcome": outcome,
                    "reason": llm_reason,
                },
            )
        evidence = dict(score.construct_evidence)
        notes = triggers + ((f"outcome:{outcome}",) if outcome != "embedded" else ())
        if notes:
            evidence[FLAG_CASCADE] = notes
        which = "llm" if outcome == "llm" else "embedded"
        update: dict[str, Any] = {"scorer": f"{self.name}/{which}", "construct_evidence": evidence}
        if score.summary is None:  # the pair's running summary survives embedded-only windows
            update["summary"] = latest_summary(request.history)
        return score.model_copy(update=update)
