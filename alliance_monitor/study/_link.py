"""The link between counselor patterns and a poor alliance, tested and with its size.

Unit: a window (the live monitor's rolling windows from the replay; the three phase windows
with `replay=False`). For each window: does it show the passive (or directive) pattern, by the
monitor's own rule (`PatternPolicy`: at least 40% of its counselor messages flagged and at
least 2), and is it a low-alliance window? Windows the scorer abstained on (insufficient
evidence, unscored) say nothing about the alliance: they stay out and are counted.

"Low" is read two ways, both reported:

- ``level``: overall at or below level 2 ("some evidence against"), the live `alliance_low`
  threshold;
- ``lowest_third``: overall at or below the corpus's first tercile of scored windows: a relative
  reading, informative when scores crowd near 3 and hardly any window reaches level 2.

The size: the odds ratio of a low window given the pattern, with a percentile interval from
resampling *pairs* (a pair's windows are not independent; resampling windows would give
intervals that are too narrow). When a cell of the 2x2 table is empty, 0.5 is added to every
cell (Haldane-Anscombe), on the point estimate and every replicate alike.

The test: Cochran-Mantel-Haenszel, stratified by pair: within the same pair, are the pattern's
windows low more often than its other windows? Conditioning on the pair takes out everything
constant about it (counselor, client, topic, length), as a pair fixed effect would; pairs whose
windows all share one pattern status add nothing. χ²(1) without continuity correction, with the
Mantel-Haenszel common odds ratio. Two patterns are tested: for a family-wise α of 0.05 use
p < 0.025 (Bonferroni).

Exemplars (`include_text=True` only): up to three exchanges per pattern, one per pair: the
client message before the most strongly flagged counselor message of a pattern window, that
message, and the client's reply, each redacted (`basic_redactor`) and cut short; lower-alliance
windows first.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from .._config import PatternPolicy
from .._models import Message, MessagePattern, Role, WindowScore
from ._stats import chi2_sf

__all__ = [
    "LOW_LEVEL",
    "PATTERNS",
    "Exemplar",
    "LinkCollector",
    "LinkResult",
    "Table2x2",
    "cmh",
    "odds_ratio",
]

PATTERNS = ("passive", "directive")
LOW_LEVEL = 2.0
DEFINITIONS = ("level", "lowest_third")
_EXCERPT_CHARS = 160
_MAX_EXEMPLARS = 3

#: (pattern and low, pattern and not low, no pattern and low, no pattern and not low)
Table2x2 = tuple[float, float, float, float]


def odds_ratio(t: Table2x2) -> float | None:
    """(a d) / (b c), with 0.5 added to every cell when one is empty; None without both rows
    and both columns."""
    a, b, c, d = t
    if a + b == 0 or c + d == 0 or a + c == 0 or b + d == 0:
        return None
    if min(t) == 0:
        a, b, c, d = a + 0.5, b + 0.5, c + 0.5, d + 0.5
    return (a * d) / (b * c)


@dataclass(frozen=True, slots=True)
class CMHResult:
    statistic: float | None
    p_value: float | None
    #: Mantel-Haenszel common odds ratio across pairs.
    common_or: float | None
    #: Pairs with windows both with and without the pattern (the only ones that inform).
    informative_pairs: int


def cmh(tables: Sequence[Table2x2]) -> CMHResult:
    """Cochran-Mantel-Haenszel χ²(1) over per-pair 2x2 tables (no continuity correction)."""
    obs = exp = var = num = den = 0.0
    informative = 0
    for a, b, c, d in tables:
        n = a + b + c + d
        if n < 2 or a + b == 0 or c + d == 0:
            continue
        informative += 1
        obs += a
        exp += (a + b) * (a + c) / n
        var += (a + b) * (c + d) * (a + c) * (b + d) / (n * n * (n - 1))
        num += a * d / n
        den += b * c / n
    common = num / den if den > 0 else None
    if var <= 0:
        return CMHResult(None, None, common, informative)
    stat = (obs - exp) ** 2 / var
    return CMHResult(stat, chi2_sf(stat, 1), common, informative)


@dataclass(frozen=True, slots=True)
class Exemplar:
    """One redacted exchange showing a pattern (text only with `include_text`)."""

    pattern: str
    conversation_id: str
    window_index: int
    message_id: str
    score: float
    window_overall: float | None
    #: (role, redacted excerpt) in conversation order: client, counselor, client.
    turns: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class LinkResult:
    """One pattern against one reading of "low"."""

    pattern: str
    definition: str  # "level" | "lowest_third"
    threshold: float | None
    table: Table2x2
    n_windows: int
    n_pairs: int
    odds_ratio: float | None
    lo: float | None
    hi: float | None
    n_boot_defined: int
    cmh: CMHResult

    @property
    def share_low_with(self) -> float | None:
        a, b, _c, _d = self.table
        return a / (a + b) if a + b else None

    @property
    def share_low_without(self) -> float | None:
        _a, _b, c, d = self.table
        return c / (c + d) if c + d else None


@dataclass(slots=True)
class _Window:
    overall: float
    passive: bool
    directive: bool


@dataclass
class LinkCollector:
    """Collects every window of the study (scored or abstained) and the exemplar candidates."""

    policy: PatternPolicy = field(default_factory=PatternPolicy)
    redact: Callable[[str], str] | None = None
    windows: dict[str, list[_Window]] = field(default_factory=dict)
    abstained: int = 0
    abstained_with: dict[str, int] = field(default_factory=lambda: dict.fromkeys(PATTERNS, 0))
    #: pattern -> conversation id -> its best candidate
    _best: dict[str, dict[str, Exemplar]] = field(default_factory=dict)

    def has_pattern(self, score: WindowScore, pattern: str) -> bool:
        n = len(score.messages)
        k = sum(_flag(m, pattern) >= 0.5 for m in score.messages)
        return n > 0 and k >= self.policy.min_flagged and k / n >= self.policy.min_rate

    def add(
        self,
        conversation_id: str,
        score: WindowScore | None,
        messages: Sequence[Message] | None = None,
    ) -> None:
        """One window of a pair (in order); None or a window not scored counts as abstained.
        `messages` (the pair's transcript in order) only with text opted in: exemplars."""
        flags = {p: score is not None and self.has_pattern(score, p) for p in PATTERNS}
        if score is None or not score.scored or score.scores is None:
            self.abstained += 1
            for p in PATTERNS:
                self.abstained_with[p] += flags[p]
            return
        overall = score.scores.overall
        self.windows.setdefault(conversation_id, []).append(
            _Window(overall, flags["passive"], flags["directive"])
        )
        if messages is not None and self.redact is not None:
            for p in PATTERNS:
                if flags[p]:
                    self._candidate(p, conversation_id, score, overall, messages)

    def _candidate(
        self,
        pattern: str,
        cid: str,
        score: WindowScore,
        overall: float,
        messages: Sequence[Message],
    ) -> None:
        top = max(score.messages, key=lambda m: (_flag(m, pattern), m.id))
        best = self._best.setdefault(pattern, {}).get(cid)
        key = (overall, -_flag(top, pattern))
        if best is not None and (best.window_overall or 0.0, -best.score) <= key:
            return
        turns = _exchange(messages, top.id, self.redact or (lambda t: t))
        if not turns:
            return
        self._best[pattern][cid] = Exemplar(
            pattern, cid, score.window_index, top.id, _flag(top, pattern), overall, turns
        )

    # ------------------------------------------------------------------ results
    def n_windows(self) -> int:
        return sum(len(ws) for ws in self.windows.values())

    def tercile(self) -> float | None:
        values = sorted(w.overall for ws in self.windows.values() for w in ws)
        if len(values) < 3:
            return None
        return values[(len(values) - 1) // 3]

    def results(
        self, *, n_boot: int = 1000, seed: int = 0, level: float = 0.95
    ) -> list[LinkResult]:
        out = []
        cut = self.tercile()
        for pattern in PATTERNS:
            for definition, threshold in (("level", LOW_LEVEL), ("lowest_third", cut)):
                out.append(self._result(pattern, definition, threshold, n_boot, seed, level))
        return out

    def _result(
        self,
        pattern: str,
        definition: str,
        threshold: float | None,
        n_boot: int,
        seed: int,
        level: float,
    ) -> LinkResult:
        pairs = sorted(self.windows)
        tables = [_table(self.windows[c], pattern, threshold) for c in pairs]
        total = _sum(tables)
        point = odds_ratio(total)
        reps: list[float] = []
        if point is not None and n_boot > 0 and len(pairs) > 1:
            rng = random.Random(seed)
            k = len(pairs)
            for _ in range(n_boot):
                r = odds_ratio(_sum([tables[i] for i in rng.choices(range(k), k=k)]))
                if r is not None:
                    reps.append(math.log(r))
        lo = hi = None
        if len(reps) >= 2:
            reps.sort()
            alpha = (1 - level) / 2
            lo, hi = math.exp(_quantile(reps, alpha)), math.exp(_quantile(reps, 1 - alpha))
        return LinkResult(
            pattern=pattern,
            definition=definition,
            threshold=threshold,
            table=total,
            n_windows=int(sum(total)),
            n_pairs=len(pairs),
            odds_ratio=point,
            lo=lo,
            hi=hi,
            n_boot_defined=len(reps),
            cmh=cmh(tables) if threshold is not None else CMHResult(None, None, None, 0),
        )

    def exemplars(self) -> dict[str, list[Exemplar]]:
        out: dict[str, list[Exemplar]] = {}
        for pattern in PATTERNS:
            cands = sorted(
                self._best.get(pattern, {}).values(),
                key=lambda e: (e.window_overall or 0.0, -e.score, e.conversation_id),
            )
            out[pattern] = cands[:_MAX_EXEMPLARS]
        return out


def _flag(m: MessagePattern, pattern: str) -> float:
    return m.passive if pattern == "passive" else m.directive


def _table(windows: Sequence[_Window], pattern: str, threshold: float | None) -> Table2x2:
    a = b = c = d = 0
    if threshold is None:
        return (0.0, 0.0, 0.0, 0.0)
    for w in windows:
        has = w.passive if pattern == "passive" else w.directive
        low = w.overall <= threshold + 1e-9
        if has and low:
            a += 1
        elif has:
            b += 1
        elif low:
            c += 1
        else:
            d += 1
    return (float(a), float(b), float(c), float(d))


def _sum(tables: Sequence[Table2x2]) -> Table2x2:
    return (
        math.fsum(t[0] for t in tables),
        math.fsum(t[1] for t in tables),
        math.fsum(t[2] for t in tables),
        math.fsum(t[3] for t in tables),
    )


def _quantile(sorted_values: Sequence[float], q: float) -> float:
    pos = q * (len(sorted_values) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def _cut(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _EXCERPT_CHARS else text[: _EXCERPT_CHARS - 1] + "…"


def _exchange(
    messages: Sequence[Message], message_id: str, redact: Callable[[str], str]
) -> tuple[tuple[str, str], ...]:
    """The client turn before `message_id`, the message, and the client's reply, redacted."""
    idx = next((i for i, m in enumerate(messages) if m.id == message_id), None)
    if idx is None:
        return ()
    before = next(
        (m for m in reversed(messages[max(0, idx - 3) : idx]) if m.role is Role.CLIENT), None
    )
    after = next((m for m in messages[idx + 1 : idx + 4] if m.role is Role.CLIENT), None)
    picked = [m for m in (before, messages[idx], after) if m is not None]
    return tuple((m.role.value, _cut(redact(m.text))) for m in picked)
