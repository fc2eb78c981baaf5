"""Template feedback for counselors: specific, short, supportive (domain.md, "Feedback").

Each piece names the pattern, points at the messages by id, says which alliance dimension it is
likely hurting, and proposes one concrete alternative move. Quotes appear only when the deployment
opted in to message text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ._events import Feedback
from ._models import DimensionScores, MessagePattern

__all__ = ["decline_feedback", "pattern_feedback"]

_QUOTE_CHARS = 80

_PASSIVE_SUGGESTION = (
    "When the client shares something that matters to them, reflect the feeling or meaning and "
    'invite more, e.g. "It sounds like that left you feeling let down. What has that been like '
    'for you this week?" rather than "ok" or "it will be fine".'
)
_DIRECTIVE_SUGGESTION = (
    'Ask before advising and leave the choice with the client, e.g. "Would it help if I shared '
    'what others in your situation have tried? You can take or leave it." Then ask which, if any, '
    "fits for them."
)
_DISMISS_SUGGESTION = (
    "When the client disagrees, reflect their view before offering yours, e.g. \"You're not sure "
    'this would work for you. What makes it feel wrong?"'
)


def _ids_text(ids: Sequence[str]) -> str:
    shown = ", ".join(ids[:4])
    return shown + (f" and {len(ids) - 4} more" if len(ids) > 4 else "")


def _quotes(ids: Sequence[str], texts: Mapping[str, str] | None) -> tuple[str, ...]:
    if not texts:
        return ()
    out = []
    for mid in ids[:2]:
        t = texts.get(mid)
        if t:
            out.append(t if len(t) <= _QUOTE_CHARS else t[: _QUOTE_CHARS - 1] + "…")
    return tuple(out)


def pattern_feedback(
    pattern: str,
    flagged: Sequence[MessagePattern],
    n_counselor: int,
    window_index: int,
    scores: DimensionScores | None,
    texts: Mapping[str, str] | None = None,
) -> Feedback:
    """Feedback for a passive or directive pattern in one window."""
    ids = [m.id for m in flagged]
    cues = {c for m in flagged for c in m.cues}
    if pattern == "passive":
        # Passive replies leave the client's core issue unexplored: that is the shared view of the
        # problem (Goal) and feeling understood (Bond). Point at whichever is weaker now.
        dim = "bond"
        if scores is not None and scores.goal < scores.bond:
            dim = "goal"
        what = "acknowledged or repeated what the client said without exploring it"
        if "generic_reassurance" in cues:
            what = "offered general reassurance instead of exploring what the client said"
        elif "minimal_encourager" in cues:
            what = 'were minimal acknowledgements ("ok", "I see") after the client opened up'
        suggestion = _PASSIVE_SUGGESTION
    else:
        # Advice without permission and overriding the client's view take away their say in how
        # the work is done: the Task/Approach dimension (T1, T4), and respect (B3).
        dim = "task"
        what = "gave advice or instructions the client had not asked for"
        suggestion = _DIRECTIVE_SUGGESTION
        if cues & {"dismissing", "confronting", "moralizing"}:
            what = "overrode or dismissed the client's own view"
            suggestion = _DISMISS_SUGGESTION
    summary = (
        f"In window {window_index}, {len(ids)} of {n_counselor} counselor replies "
        f"({_ids_text(ids)}) {what}. This pattern tends to weaken the {dim} dimension of the "
        "alliance."
    )
    return Feedback(
        pattern=pattern,
        message_ids=tuple(ids),
        dimension=dim,
        summary=summary,
        suggestion=suggestion,
        quotes=_quotes(ids, texts),
    )


_DECLINE_SUGGESTIONS = {
    "goal": (
        "Check the shared aim: \"Let me make sure I understand what you'd most like to get out "
        'of our conversations. What would be different if this went well?"'
    ),
    "task": (
        'Check the way of working: "How is this way of talking it through working for you? Is '
        "there something you'd rather focus on?\""
    ),
    "bond": (
        "Slow down and reflect before moving on: name the feeling you hear and ask whether you "
        "got it right."
    ),
    "overall": (
        "Pause and ask for the client's view of how the conversation is going, then reflect it "
        "back before continuing."
    ),
}


def decline_feedback(
    dimension: str,
    from_level: float,
    to_level: float,
    evidence: Sequence[str],
    texts: Mapping[str, str] | None = None,
) -> Feedback:
    """Feedback attached to an alliance-decline event."""
    summary = (
        f"The {dimension} dimension fell from {from_level:.1f} to {to_level:.1f} over the last "
        f"windows" + (f"; see messages {_ids_text(list(evidence))}." if evidence else ".")
    )
    return Feedback(
        pattern="decline",
        message_ids=tuple(evidence),
        dimension=dimension,
        summary=summary,
        suggestion=_DECLINE_SUGGESTIONS.get(dimension, _DECLINE_SUGGESTIONS["overall"]),
        quotes=_quotes(list(evidence), texts),
    )
