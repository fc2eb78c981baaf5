"""Every regular expression of the library against adversarial strings (issue 20 item 3).

Run as a script (tests/test_regex_audit.py runs it in a subprocess with a time limit, so that a
pattern with exponential backtracking fails the test instead of hanging it):

    .venv/bin/python tests/regex_audit.py [--length 100000] [--verbose]

Patterns are found two ways: compiled pattern objects reachable from the globals of every module
of the package (module constants, and tuples, lists, dicts and classes holding them), and string
literals passed to ``re.search`` / ``re.sub`` / ... in the source (read with `ast`).

For each pattern the strings are built from what the pattern itself mentions: every literal
character, a representative of each character class (a letter, a digit, a space, a Han character)
and the literal words ("dot", "kill", "自杀"), repeated to the length, alone, in pairs
("a.a.a."), in triples, and each word followed by each character ("dot dot dot", "kill.kill.").
Each string is matched with ``finditer`` at 100, 1,000 and 10,000 characters: a pattern whose
time grows much faster than the length fails there, before a long string is tried; the slowest
strings of each pattern are then matched at the full length (100,000 characters) and may take at
most `--limit` seconds. Prints one line per pattern that failed, and exits 1 if any did.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import itertools
import pkgutil
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

try:
    import re._constants as sre_constants  # type: ignore[import-not-found]
    import re._parser as sre_parse  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - Python < 3.11
    import sre_constants  # type: ignore[no-redef]
    import sre_parse  # type: ignore[no-redef]

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("alliance_monitor", "alliance_monitor.adapters")
_RE_FUNCS = {
    "search",
    "match",
    "fullmatch",
    "sub",
    "subn",
    "findall",
    "finditer",
    "split",
    "compile",
}
_BASE = ["a", "A", "z", "1", "0", " ", ".", "-", "_", "@", "/", "\n", "中", "市", "x", "\x00"]


def _walk(value: Any, seen: set[int], depth: int = 0) -> Iterator[re.Pattern[str]]:
    if id(value) in seen or depth > 4:
        return
    seen.add(id(value))
    if isinstance(value, re.Pattern):
        if isinstance(value.pattern, str):
            yield value
    elif isinstance(value, dict):
        for v in list(value.values())[:5000]:
            yield from _walk(v, seen, depth + 1)
    elif isinstance(value, list | tuple | set | frozenset):
        for v in list(value)[:5000]:
            yield from _walk(v, seen, depth + 1)
    elif isinstance(value, type):
        for v in list(vars(value).values()):
            yield from _walk(v, seen, depth + 1)


def compiled_patterns() -> dict[str, re.Pattern[str]]:
    """Pattern objects reachable from the package's module globals, by 'module:pattern'."""
    found: dict[str, re.Pattern[str]] = {}
    seen: set[int] = set()
    for package_name in PACKAGES:
        package = importlib.import_module(package_name)
        names = [package_name] + [
            m.name
            for m in pkgutil.walk_packages(package.__path__, package_name + ".")
            if "testing" not in m.name
        ]
        for name in names:
            try:
                module = importlib.import_module(name)
            except ImportError:
                continue  # an optional dependency (kafka, presidio...) is not installed
            for value in list(vars(module).values()):
                if isinstance(value, type) and value.__module__ != name:
                    continue  # a class imported from elsewhere
                for pattern in _walk(value, seen):
                    found[f"{name}:{pattern.pattern[:60]!r}#{len(found)}"] = pattern
    return found


def literal_patterns() -> dict[str, re.Pattern[str]]:
    """String literals passed to the re module's functions in the package's source files."""
    found: dict[str, re.Pattern[str]] = {}
    for folder in ("alliance_monitor", "adapters"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if not (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr in _RE_FUNCS
                    and isinstance(node.func.value, ast.Name)
                    and node.func.value.id == "re"
                    and node.args
                    and isinstance(node.args[0], ast.Constant)
                    and isinstance(node.args[0].value, str)
                ):
                    continue
                flags = 0
                for arg in [*node.args[1:], *(k.value for k in node.keywords)]:
                    if isinstance(arg, ast.Attribute) and isinstance(arg.value, ast.Name):
                        flags |= int(getattr(re, arg.attr, 0) or 0)
                key = f"{path.relative_to(ROOT)}:{node.lineno}"
                found[key] = re.compile(node.args[0].value, flags)
    return found


_REPEATS = tuple(
    getattr(sre_constants, n)
    for n in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT")
    if hasattr(sre_constants, n)
)
_ATOMIC = getattr(sre_constants, "ATOMIC_GROUP", object())


def _chars_and_words(pattern: re.Pattern[str]) -> tuple[list[str], list[str]]:
    """The characters and literal words a pattern mentions."""
    chars: list[str] = []
    words: list[str] = []
    current: list[str] = []

    def flush() -> None:
        if len(current) >= 2:
            words.append("".join(current))
        current.clear()

    def visit(items: Any) -> None:
        for op, arg in items:
            if op is sre_constants.LITERAL:
                current.append(chr(arg))
                chars.append(chr(arg))
                continue
            flush()
            if op is sre_constants.IN:
                for sub_op, sub_arg in arg:
                    if sub_op is sre_constants.LITERAL:
                        chars.append(chr(sub_arg))
                    elif sub_op is sre_constants.RANGE:
                        chars.extend((chr(sub_arg[0]), chr(sub_arg[1])))
                    elif sub_op is sre_constants.CATEGORY:
                        chars.extend(("a", "1", " "))
            elif op is sre_constants.NOT_LITERAL:
                chars.append("a" if arg != ord("a") else "b")
            elif op in _REPEATS:
                visit(arg[2])
            elif op is sre_constants.SUBPATTERN:
                visit(arg[-1])
            elif op is sre_constants.BRANCH:
                for branch in arg[1]:
                    visit(branch)
                    flush()
            elif op in (sre_constants.ASSERT, sre_constants.ASSERT_NOT):
                visit(arg[1])
            elif op is _ATOMIC:
                visit(arg)
        flush()

    visit(sre_parse.parse(pattern.pattern, pattern.flags))
    return chars, words


def adversarial_units(pattern: re.Pattern[str]) -> list[str]:
    """The short units whose repetition makes the adversarial strings for `pattern`."""
    chars, words = _chars_and_words(pattern)
    ordered = list(dict.fromkeys([*chars, *_BASE]))
    core = ordered[:6]
    word_list = list(dict.fromkeys(words))[:8]
    units: list[str] = list(ordered[:20])
    units += [a + b for a, b in itertools.permutations(core, 2)]
    units += [a + b + c for a, b, c in itertools.permutations(core[:3], 3)]
    units += word_list
    units += [w + c for w in word_list for c in (" ", ".", core[0])]
    return list(dict.fromkeys(u for u in units if u))


def _time(pattern: re.Pattern[str], text: str) -> float:
    t0 = time.perf_counter()
    for _ in pattern.finditer(text):
        pass
    return time.perf_counter() - t0


def _repeat(unit: str, n: int) -> str:
    return (unit * (n // len(unit) + 1))[:n]


#: Lengths at which every unit is timed first; 10x the length may take at most `GROWTH` times
#: as long (a linear pattern takes about 10x; a quadratic one 100x), plus `SLACK` seconds.
SHORT, MEDIUM, GROWTH, SLACK = 1_000, 10_000, 40.0, 0.03
#: Units tried at the full length: the slowest ones at the medium length.
WORST = 3


def audit(pattern: re.Pattern[str], length: int, limit: float) -> tuple[str, float] | None:
    """(unit, seconds) of a string that took too long for `pattern`, else None.

    Every unit is timed at 100, `SHORT` and `MEDIUM` characters (time growing faster than the
    length fails here, before a long string is tried); the `WORST` slowest are then timed at
    `length`, where they may take at most `limit` seconds.
    """
    timed: list[tuple[float, str]] = []
    for unit in adversarial_units(pattern):
        if _time(pattern, _repeat(unit, 100)) > 0.05:
            return unit, _time(pattern, _repeat(unit, 100))
        short = _time(pattern, _repeat(unit, SHORT))
        medium = _time(pattern, _repeat(unit, MEDIUM))
        for _ in range(3):  # measured again before it counts: the cores are shared
            if medium <= GROWTH * short + SLACK:
                break
            short = max(short, _time(pattern, _repeat(unit, SHORT)))
            medium = min(medium, _time(pattern, _repeat(unit, MEDIUM)))
        else:
            return unit, medium
        timed.append((medium, unit))
    for _, unit in sorted(timed, reverse=True)[:WORST]:
        spent = _time(pattern, _repeat(unit, length))
        if spent > limit:
            spent = min(spent, _time(pattern, _repeat(unit, length)))
        if spent > limit:
            return unit, spent
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--length", type=int, default=100_000)
    parser.add_argument("--limit", type=float, default=2.0, help="seconds at the full length")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    patterns: dict[str, re.Pattern[str]] = {}
    seen: set[tuple[str, int]] = set()
    for name, pattern in {**compiled_patterns(), **literal_patterns()}.items():
        if (pattern.pattern, pattern.flags) not in seen:  # a literal also held compiled
            seen.add((pattern.pattern, pattern.flags))
            patterns[name] = pattern
    failed = 0
    t0 = time.perf_counter()
    for name, pattern in sorted(patterns.items()):
        if args.verbose:
            print("checking", name, end=" ", flush=True)
        t1 = time.perf_counter()
        worst = audit(pattern, args.length, args.limit)
        if args.verbose:
            print(f"{time.perf_counter() - t1:.1f} s", flush=True)
        if worst is not None:
            failed += 1
            print(f"SLOW {name}: {worst[0]!r} repeated took {worst[1]:.2f} s", flush=True)
    print(f"{len(patterns)} patterns, {failed} slow, {time.perf_counter() - t0:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
