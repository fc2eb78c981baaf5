"""Small argument types of `evaluate` (kept apart so the CLI builds without the evaluation)."""

from __future__ import annotations

import argparse
import json
from typing import Any

__all__ = ["scorer_option"]


def scorer_option(value: str) -> tuple[str, Any]:
    key, sep, raw = value.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError("KEY=VALUE, e.g. confidence_below=0.4")
    try:
        parsed: Any = json.loads(raw)
    except ValueError:
        parsed = raw  # a bare string, e.g. redactor=basic
    return key.strip(), parsed
