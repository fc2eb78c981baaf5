"""JSON from untrusted sources, read with limits: nesting depth and number range.

`json.loads` alone lets three kinds of input through that fail later, far from the reader and
with the wrong exception: nesting deep enough to raise `RecursionError` (in the parser or in any
recursive code that walks the value afterwards), integers of hundreds of digits (an
`OverflowError` at the first `float()`), and ``NaN`` / ``Infinity`` / ``1e400`` (not finite).
`loads` refuses all three with a `JSONRejected`, a `ValueError` that carries the
`RejectReason`, so callers that already catch `ValueError` for bad JSON keep working. The error
never holds the document (unlike `json.JSONDecodeError.doc`).
"""

from __future__ import annotations

import json
import math
from typing import Any

from ._errors import JSONRejected, RejectReason

__all__ = ["MAX_DEPTH", "MAX_INT", "JSONRejected", "loads"]

#: Deepest nesting of arrays and objects taken (a message needs 3 or 4).
MAX_DEPTH = 64
#: Largest integer magnitude taken: 64-bit, what any platform sequence number or epoch fits in.
MAX_INT = 2**63


def _int(text: str) -> int:
    digits = len(text) - (text[0] in "+-")
    if digits > 19:  # cheap test first: a 400-digit literal is never converted
        raise JSONRejected(RejectReason.NUMBER_RANGE)
    value = int(text)
    if abs(value) > MAX_INT:
        raise JSONRejected(RejectReason.NUMBER_RANGE)
    return value


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e400
        raise JSONRejected(RejectReason.NUMBER_RANGE)
    return value


def _constant(_name: str) -> Any:  # NaN, Infinity, -Infinity
    raise JSONRejected(RejectReason.NUMBER_RANGE)


def _depth_ok(value: Any, limit: int) -> bool:
    # Only containers go on the stack; the values come from `json.loads`, so exact types.
    stack: list[tuple[Any, int]] = [(value, 1)]
    push = stack.append
    while stack:
        item, depth = stack.pop()
        if type(item) is dict:
            item = item.values()
        elif type(item) is not list:
            continue
        if depth > limit:
            return False
        depth += 1
        for child in item:
            kind = type(child)
            if kind is dict or kind is list:
                push((child, depth))
    return True


def loads(data: str | bytes | bytearray, *, max_depth: int = MAX_DEPTH) -> Any:
    """Parse `data` as JSON; raise `JSONRejected` (a `ValueError`) with a reason when refused:
    ``invalid_json``, ``recursion_depth`` or ``number_range``."""
    try:
        value = json.loads(data, parse_int=_int, parse_float=_float, parse_constant=_constant)
    except JSONRejected:
        raise
    except RecursionError:
        raise JSONRejected(RejectReason.RECURSION_DEPTH) from None
    except (ValueError, TypeError):  # the decode error holds the document: never keep it
        raise JSONRejected(RejectReason.INVALID_JSON) from None
    if not _depth_ok(value, max_depth):
        raise JSONRejected(RejectReason.RECURSION_DEPTH)
    return value
