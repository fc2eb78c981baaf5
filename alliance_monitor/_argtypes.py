"""Value checks for command-line options, as argparse `type=` callables.

A bad value (`--concurrency 0`, `--score-timeout -1`) is refused while the arguments are
parsed, so argparse prints the usage of the subcommand and `alliance-monitor SUBCOMMAND: error:
argument --concurrency: must be an integer >= 1, got 0` and exits 2, before any input is read.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Iterable

__all__ = [
    "choice_list",
    "fraction",
    "non_negative_float",
    "non_negative_int",
    "port",
    "positive_float",
    "positive_int",
]


def _number(kind: type[int] | type[float], value: str) -> float:
    try:
        n = kind(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be {'an integer' if kind is int else 'a number'}, got {value!r}"
        ) from None
    if not math.isfinite(n):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {value!r}")
    return n


def positive_int(value: str) -> int:
    n = int(_number(int, value))
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {value}")
    return n


def non_negative_int(value: str) -> int:
    n = int(_number(int, value))
    if n < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {value}")
    return n


def positive_float(value: str) -> float:
    n = _number(float, value)
    if n <= 0:
        raise argparse.ArgumentTypeError(f"must be a number > 0, got {value}")
    return n


def non_negative_float(value: str) -> float:
    n = _number(float, value)
    if n < 0:
        raise argparse.ArgumentTypeError(f"must be a number >= 0, got {value}")
    return n


def fraction(value: str) -> float:
    """A level strictly between 0 and 1 (a confidence level)."""
    n = _number(float, value)
    if not 0 < n < 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1 (e.g. 0.95), got {value}")
    return n


def port(value: str) -> int:
    n = int(_number(int, value))
    if not 0 <= n <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port number 0-65535, got {value}")
    return n


def choice_list(known: Iterable[str], what: str) -> Callable[[str], frozenset[str]]:
    """A comma-separated list whose every item is one of `known` (`--events a,b`)."""
    allowed = tuple(known)

    def parse(value: str) -> frozenset[str]:
        items = [v.strip() for v in value.split(",") if v.strip()]
        if not items:
            raise argparse.ArgumentTypeError(f"needs at least one {what}")
        unknown = [v for v in items if v not in allowed]
        if unknown:
            raise argparse.ArgumentTypeError(
                f"unknown {what}(s): {', '.join(unknown)}; known: {', '.join(allowed)}"
            )
        return frozenset(items)

    return parse
