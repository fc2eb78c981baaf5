"""Which labels `evaluate` judges a scorer against, and how it reads them.

Labels live where the transcript format already allows extra keys:

- message labels: ``messages[i].labels.NAME`` (judged against the counselor message's
  ``passive`` or ``directive`` score);
- session labels: ``labels.NAME`` on the conversation (judged against a session dimension);
- phase labels: ``labels.phases.{early,middle,late}.NAME`` (judged against the same phase's
  dimension, the study's unit).

A binary task names its positive values (and optionally its negative ones; otherwise every other
value is negative); a numeric task correlates the label with the score. Without options,
`auto_tasks` evaluates every label it recognises (`KNOWN`); with options, `option_tasks` narrows
to the labels named or maps a deployment's own scheme.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from .._errors import ConfigError
from .._models import DIMENSIONS

__all__ = [
    "KNOWN",
    "LabelInventory",
    "LabelOptions",
    "LabelTask",
    "Level",
    "auto_tasks",
    "binary_value",
    "numeric_value",
    "option_tasks",
    "phase_labels",
    "rater_values",
]

Level = Literal["message", "session", "phase"]
LEVELS: tuple[Level, ...] = ("message", "session", "phase")
MESSAGE_TARGETS = ("passive", "directive")
PHASE_NAMES = ("early", "middle", "late")
TRUTHY = ("true", "1", "yes")


@dataclass(frozen=True, slots=True)
class LabelTask:
    """One comparison: a label against one scorer output at one level.

    `target` is ``passive`` or ``directive`` at message level, a dimension (goal, task, bond,
    overall) at session and phase level. With `positive` values the task is binary (AUC);
    without, the label must be numeric (Spearman, Pearson, and ICC(2,1) when `same_scale`).
    `same_scale` None means: decide from the data (every label value within 1-5).
    """

    level: Level
    label: str
    target: str
    positive: tuple[str, ...] = ()
    negative: tuple[str, ...] = ()
    same_scale: bool | None = None
    source: str = "option"

    @property
    def binary(self) -> bool:
        return bool(self.positive)

    def describe(self) -> str:
        if not self.binary:
            return f"{self.label} ~ {self.target}"
        pos = "|".join(self.positive)
        neg = f" vs {'|'.join(self.negative)}" if self.negative else ""
        return f"{self.label}={pos}{neg} ~ {self.target}"

    def to_json(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "label": self.label,
            "target": self.target,
            "kind": "binary" if self.binary else "numeric",
            "positive": list(self.positive),
            "negative": list(self.negative) or None,
            "source": self.source,
        }


def _norm(value: Any) -> str | None:
    """A label value as a comparable string (case and surrounding space ignored)."""
    if value is None or isinstance(value, list | dict):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip().casefold() or None


def binary_value(task: LabelTask, value: Any) -> bool | None:
    """True (positive), False (negative) or None (missing, or neither of the named values)."""
    v = _norm(value)
    if v is None:
        return None
    if v in task.positive:
        return True
    if task.negative and v not in task.negative:
        return None
    return False


def rater_values(value: Any) -> list[float] | None:
    """Several raters' ratings of one item (a list of numbers, one per rater), or None."""
    if not isinstance(value, list) or not value:
        return None
    out = [_number(v) for v in value]
    return None if any(v is None for v in out) else [v for v in out if v is not None]


def numeric_value(value: Any) -> float | None:
    """A finite number (numbers and numeric strings; booleans are not numbers here). A list of
    numbers is several raters' ratings: their mean."""
    raters = rater_values(value)
    if raters is not None:
        return math.fsum(raters) / len(raters)
    return _number(value)


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        f = float(value)
    elif isinstance(value, str):
        try:
            f = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return f if math.isfinite(f) else None


def phase_labels(record: Mapping[str, Any], phase: str) -> Mapping[str, Any]:
    labels = record.get("labels")
    phases = labels.get("phases") if isinstance(labels, dict) else None
    got = phases.get(phase) if isinstance(phases, dict) else None
    return got if isinstance(got, dict) else {}


# ---------------------------------------------------------------------- what is recognised
def _t(
    level: Level,
    label: str,
    target: str,
    positive: Sequence[str] = (),
    negative: Sequence[str] = (),
    same_scale: bool | None = None,
    source: str = "",
) -> LabelTask:
    return LabelTask(level, label, target, tuple(positive), tuple(negative), same_scale, source)


_EXPLORING = ("question", "restatement or paraphrasing", "reflection of feelings")
_GENERIC = ("others", "affirmation and reassurance")

#: Labels recognised without options: (level, label name) -> tasks. The three public sets in
#: ../shared/data (AnnoMI, ESConv, Psy-Insight) with dev_eval.py's definitions, plus the names a
#: deployment would give its own ratings (goal, task, bond, overall, alliance; passive,
#: directive).
KNOWN: dict[tuple[Level, str], tuple[LabelTask, ...]] = {
    ("message", "strategy"): (
        _t(
            "message",
            "strategy",
            "directive",
            ("providing suggestions",),
            source="ESConv/Psy-Insight",
        ),
        _t("message", "strategy", "passive", _GENERIC, _EXPLORING, source="ESConv/Psy-Insight"),
    ),
    ("message", "therapist_input_subtype"): (
        _t("message", "therapist_input_subtype", "directive", ("advice",), source="AnnoMI"),
    ),
    ("message", "passive"): (_t("message", "passive", "passive", TRUTHY, source="generic"),),
    ("message", "directive"): (_t("message", "directive", "directive", TRUTHY, source="generic"),),
    ("session", "mi_quality"): (
        _t("session", "mi_quality", "overall", ("high",), ("low",), source="AnnoMI"),
    ),
    ("session", "seeker_empathy"): (
        _t("session", "seeker_empathy", "bond", same_scale=True, source="ESConv"),
    ),
    ("session", "seeker_relevance"): (
        _t("session", "seeker_relevance", "overall", same_scale=True, source="ESConv"),
    ),
    ("session", "supporter_relevance"): (
        _t("session", "supporter_relevance", "overall", same_scale=True, source="ESConv"),
    ),
    ("session", "emotion_intensity_reduction"): (
        _t("session", "emotion_intensity_reduction", "overall", same_scale=False, source="ESConv"),
    ),
}
for _lvl in ("session", "phase"):
    for _dim in DIMENSIONS:
        KNOWN[(_lvl, _dim)] = (_t(_lvl, _dim, _dim, source="generic"),)
    KNOWN[(_lvl, "alliance")] = (_t(_lvl, "alliance", "overall", source="generic"),)

#: Labels whose presence means sessions must be judged on equal-length prefixes (AnnoMI's
#: low-quality sessions are much shorter, so a scorer could learn length): label -> messages.
PREFIX_RULES: dict[str, int] = {"mi_quality": 20}


# ---------------------------------------------------------------------- what the input holds
@dataclass
class _Seen:
    count: int = 0
    numeric: bool = True
    values: set[str] = field(default_factory=set)


@dataclass
class LabelInventory:
    """Every label name found in the input, per level, with whether all its values are numbers
    and (for messages in error hints) a few of its distinct values."""

    seen: dict[tuple[Level, str], _Seen] = field(default_factory=dict)

    def add(self, level: Level, labels: Mapping[str, Any]) -> None:
        for name, value in labels.items():
            if level == "session" and name == "phases":
                continue
            if value is None:
                continue
            s = self.seen.setdefault((level, name), _Seen())
            s.count += 1
            if numeric_value(value) is None:
                s.numeric = False
            if len(s.values) < 40:
                v = _norm(value)
                if v is not None and len(v) <= 40:  # long values may be free text: never shown
                    s.values.add(v)

    def add_record(self, record: Mapping[str, Any]) -> None:
        labels = record.get("labels")
        if isinstance(labels, dict):
            self.add("session", labels)
            for p in PHASE_NAMES:
                self.add("phase", phase_labels(record, p))
        msgs = record.get("messages")
        if isinstance(msgs, list):
            for m in msgs:
                if isinstance(m, dict) and isinstance(m.get("labels"), dict):
                    self.add("message", m["labels"])

    def names(self, level: Level) -> list[str]:
        return sorted(n for lv, n in self.seen if lv == level)

    def has(self, level: Level, name: str) -> bool:
        return (level, name) in self.seen

    def is_numeric(self, level: Level, name: str) -> bool:
        s = self.seen.get((level, name))
        return bool(s and s.numeric)

    def sample(self, level: Level, name: str) -> list[str]:
        s = self.seen.get((level, name))
        return sorted(s.values)[:8] if s else []


# ---------------------------------------------------------------------- tasks
@dataclass(frozen=True, slots=True)
class LabelOptions:
    """The command line's label options (all empty: evaluate every recognised label)."""

    message_labels: tuple[str, ...] = ()
    session_labels: tuple[str, ...] = ()
    phase_labels: tuple[str, ...] = ()
    positive: tuple[str, ...] = ()
    negative: tuple[str, ...] = ()
    #: passive / directive (message level); empty: every target a known label has.
    targets: tuple[str, ...] = ()
    #: goal / task / bond / overall; empty: the recognised label's own, or overall.
    dimensions: tuple[str, ...] = ()
    levels: tuple[Level, ...] = LEVELS

    @property
    def any_label(self) -> bool:
        return bool(self.message_labels or self.session_labels or self.phase_labels)

    def validated(self) -> LabelOptions:
        dims: list[str] = []
        for d in self.dimensions:
            if d == "all":
                dims.extend(DIMENSIONS)
            elif d in DIMENSIONS:
                dims.append(d)
            else:
                raise ConfigError(f"unknown dimension {d!r} (goal, task, bond, overall or all)")
        for t in self.targets:
            if t not in MESSAGE_TARGETS:
                raise ConfigError(f"unknown target {t!r} (passive or directive)")
        for lv in self.levels:
            if lv not in LEVELS:
                raise ConfigError(f"unknown level {lv!r} (message, session, phase)")
        if self.positive and self.message_labels and (self.session_labels or self.phase_labels):
            raise ConfigError(
                "--positive/--negative would be ambiguous with both a message label and a "
                "session or phase label: evaluate them in separate runs"
            )
        if self.negative and not self.positive:
            raise ConfigError("--negative needs --positive")
        return replace(
            self,
            dimensions=tuple(dict.fromkeys(dims)),
            positive=tuple(v for v in (_norm(p) for p in self.positive) if v),
            negative=tuple(v for v in (_norm(p) for p in self.negative) if v),
        )


def _dims_of(task: LabelTask, opts: LabelOptions) -> list[LabelTask]:
    if task.level == "message" or not opts.dimensions:
        return [task]
    return [replace(task, target=d) for d in opts.dimensions]


def auto_tasks(inv: LabelInventory, opts: LabelOptions) -> list[LabelTask]:
    """Every recognised label present in the input, narrowed by levels, targets and dimensions."""
    out: list[LabelTask] = []
    for (level, name), tasks in KNOWN.items():
        if level not in opts.levels or not inv.has(level, name):
            continue
        for t in tasks:
            if t.level == "message" and opts.targets and t.target not in opts.targets:
                continue
            if not t.binary and not inv.is_numeric(level, name):
                continue
            out.extend(_dims_of(t, opts))
    return out


def unrecognised(inv: LabelInventory, tasks: Iterable[LabelTask]) -> list[dict[str, str]]:
    """Labels in the input that no task uses, with how to evaluate them."""
    used = {(t.level, t.label) for t in tasks}
    out = []
    for level, name in sorted(inv.seen):
        if (level, name) in used:
            continue
        if (level, name) in KNOWN:
            why = "recognised but narrowed out, or not numeric"
        else:
            flag = {
                "message": "--message-label",
                "session": "--session-label",
                "phase": "--phase-label",
            }[level]
            how = (
                f"{flag} {name}"
                if inv.is_numeric(level, name) and level != "message"
                else f"{flag} {name} --positive VALUE"
                + (" --target passive|directive" if level == "message" else "")
            )
            why = f"not a label I know: evaluate it with {how}"
        out.append({"level": level, "label": name, "reason": why})
    return out


def _one_option_label(
    level: Level, name: str, inv: LabelInventory, opts: LabelOptions
) -> list[LabelTask]:
    flag = f"--{level}-label"
    if not inv.has(level, name):
        found = ", ".join(inv.names(level)) or "none"
        raise ConfigError(
            f"{flag} {name}: no {level} label of that name in the input "
            f"({level} labels found: {found})"
        )
    if opts.positive:
        if level == "message":
            if not opts.targets:
                raise ConfigError(f"{flag} {name} --positive ... needs --target passive|directive")
            return [LabelTask(level, name, t, opts.positive, opts.negative) for t in opts.targets]
        dims = opts.dimensions or ("overall",)
        return [LabelTask(level, name, d, opts.positive, opts.negative) for d in dims]
    known = KNOWN.get((level, name))
    if known:
        tasks = [
            t for t in known if level != "message" or not opts.targets or t.target in opts.targets
        ]
        return [x for t in tasks for x in _dims_of(t, opts)]
    if level == "message":
        raise ConfigError(
            f"{flag} {name} is not a label I know: give --positive VALUE (repeatable) and "
            f"--target passive|directive (values seen: {', '.join(inv.sample(level, name))})"
        )
    if not inv.is_numeric(level, name):
        raise ConfigError(
            f"{flag} {name} is not numeric: give --positive VALUE for a binary comparison "
            f"(values seen: {', '.join(inv.sample(level, name))})"
        )
    return [LabelTask(level, name, d) for d in (opts.dimensions or ("overall",))]


def option_tasks(inv: LabelInventory, opts: LabelOptions) -> list[LabelTask]:
    """Tasks for the labels named on the command line (known ones keep their definitions)."""
    out: list[LabelTask] = []
    for level, names in (
        ("message", opts.message_labels),
        ("session", opts.session_labels),
        ("phase", opts.phase_labels),
    ):
        for name in names:
            out.extend(_one_option_label(level, name, inv, opts))  # type: ignore[arg-type]
    return list(dict.fromkeys(out))
