"""Redaction: what is applied to message text before it leaves the process for an LLM.

A redactor is a plain callable, ``Redactor = Callable[[str], str]``: text in, text with
identifiers replaced by placeholders out. Chain several with `chain_redactors`.

- `basic_redactor` (the default) replaces e-mail addresses, URLs, phone numbers and long digit
  sequences (account, card and record numbers) with ``[EMAIL]``, ``[URL]``, ``[PHONE]``,
  ``[NUMBER]``. It is a regex pass: cheap, predictable, and blind to names and places.
- `presidio_redactor()` adds Microsoft Presidio's entity recognisers (names, locations, ...). It
  needs the optional extra: ``pip install alliance-monitor[presidio]`` and a spaCy model.

The LLM scorer validates evidence quotes against the *redacted* text, which is what the model saw.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from .._errors import ConfigError

__all__ = [
    "Redactor",
    "basic_redactor",
    "chain_redactors",
    "no_redaction",
    "presidio_redactor",
]

Redactor = Callable[[str], str]

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_URL = re.compile(
    r"\b(?:https?://|ftp://|www\.)\S+?(?=[.,;:!?)\]]*(?:\s|$))"
    r"|\b[\w-]+(?:\.[\w-]+)*\.(?:com|org|net|io|info|co|uk|de)(?:/\S*?)?(?=[.,;:!?)\]]*(?:\s|$))",
    re.IGNORECASE,
)
# A phone number: optional +country code, then at least 7 digits in groups separated by spaces,
# dots, dashes or parentheses. Years ("in 2019") and times ("at 10:30") stay intact.
_PHONE = re.compile(
    r"(?<![\w+])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,4}\)[\s.-]?)?\d(?:[\s.-]?\d){6,14}\b"
)
_LONG_DIGITS = re.compile(r"\d{5,}")


def _phone(match: re.Match[str]) -> str:
    # An unbroken run of digits is a record or card number rather than a phone number.
    return "[NUMBER]" if match.group(0).isdigit() else "[PHONE]"


def basic_redactor(text: str) -> str:
    """Replace e-mail addresses, URLs, phone numbers and digit runs of 5+ with placeholders."""
    text = _EMAIL.sub("[EMAIL]", text)
    text = _URL.sub("[URL]", text)
    text = _PHONE.sub(_phone, text)
    return _LONG_DIGITS.sub("[NUMBER]", text)


def no_redaction(text: str) -> str:
    """The identity redactor, for deployments that send text to a model they host themselves."""
    return text


def chain_redactors(*redactors: Redactor) -> Redactor:
    """One redactor applying `redactors` in order."""

    def chained(text: str) -> str:
        for redact in redactors:
            text = redact(text)
        return text

    return chained


def presidio_redactor(
    *,
    language: str = "en",
    entities: Sequence[str] | None = None,
    score_threshold: float = 0.5,
    analyzer: Any = None,
) -> Redactor:
    """A redactor backed by Microsoft Presidio, run after `basic_redactor`.

    Detected entities become ``[ENTITY_TYPE]``, e.g. ``[PERSON]``. Pass a configured
    ``presidio_analyzer.AnalyzerEngine`` as `analyzer` to choose the NLP model; the default engine
    loads spaCy's ``en_core_web_lg``, which must be installed.

    Raises `ConfigError` with install instructions when Presidio is missing.
    """
    try:
        analyzer_mod = importlib.import_module("presidio_analyzer")
        anonymizer_mod = importlib.import_module("presidio_anonymizer")
    except ImportError as exc:
        raise ConfigError(
            "the Presidio redactor needs the optional extra: "
            "pip install 'alliance-monitor[presidio]' (and a spaCy model such as en_core_web_lg)"
        ) from exc
    engine = analyzer if analyzer is not None else analyzer_mod.AnalyzerEngine()
    anonymizer = anonymizer_mod.AnonymizerEngine()
    wanted: Iterable[str] | None = list(entities) if entities is not None else None

    def redact(text: str) -> str:
        text = basic_redactor(text)
        found = engine.analyze(
            text=text, language=language, entities=wanted, score_threshold=score_threshold
        )
        if not found:
            return text
        result = anonymizer.anonymize(text=text, analyzer_results=found)
        return str(result.text).replace("<", "[").replace(">", "]")

    return redact
