"""The public API documents itself: `help(alliance_monitor)` opens with a short guide, every
public class and function has a docstring of its own, and every event class names each of its
fields (Monitor's constructor arguments are documented with Monitor)."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

import alliance_monitor
from alliance_monitor import _events

PUBLIC = [
    n
    for n in alliance_monitor.__all__
    if inspect.isclass(getattr(alliance_monitor, n))
    or inspect.isfunction(getattr(alliance_monitor, n))
]
EVENTS = [
    _events.WindowScored,
    _events.WindowUnscored,
    _events.AllianceDeclined,
    _events.AllianceLow,
    _events.PatternDetected,
    _events.SessionSummary,
    _events.SafetySignal,
    _events.Feedback,
    _events.PhaseScores,
]


def own_doc(obj: object) -> str:
    doc = obj.__dict__.get("__doc__") if inspect.isclass(obj) else obj.__doc__  # type: ignore[attr-defined]
    return inspect.cleandoc(doc or "")


def test_package_docstring_is_a_short_guide() -> None:
    doc = alliance_monitor.__doc__ or ""
    assert len(doc.splitlines()) >= 15
    for name in (
        "Monitor",
        "ingest",
        "EventType",
        "analyze_transcript",
        "alliance_monitor.alerts",
        "logging",
    ):
        assert name in doc, name


@pytest.mark.parametrize("name", PUBLIC)
def test_every_public_class_and_function_has_its_own_docstring(name: str) -> None:
    obj = getattr(alliance_monitor, name)
    doc = own_doc(obj)
    assert len(doc) >= 40, f"{name}: {doc!r}"
    if dataclasses.is_dataclass(obj):  # not the generated "Name(field: type, ...)" signature
        assert not doc.startswith(f"{name}("), name


@pytest.mark.parametrize("cls", EVENTS, ids=lambda c: c.__name__)
def test_event_docstrings_name_every_field(cls: type) -> None:
    base = set(_events._Event.model_fields) | {"type"}
    own = [
        f
        for f in cls.model_fields
        if f not in base or (cls is _events.SafetySignal and f == "severity")
    ]  # type: ignore[attr-defined]
    doc = own_doc(cls)
    missing = [f for f in own if f"`{f}`" not in doc and f not in ("severity",)]
    assert missing == [], f"{cls.__name__} does not describe {missing}"


def test_base_event_fields_are_described() -> None:
    doc = own_doc(_events._Event)
    for f in _events._Event.model_fields:
        assert f"`{f}`" in doc, f
