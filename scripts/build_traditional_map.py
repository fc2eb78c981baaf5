"""Write alliance_monitor/_traditional.py: the Traditional -> Simplified character map.

    .venv/bin/python scripts/build_traditional_map.py           # write the module
    .venv/bin/python scripts/build_traditional_map.py --check   # compare with the shipped one

The pairs are read from OpenCC (the `opencc` package of the dev dependencies; Apache-2.0), one
character at a time with its ``t2s`` conversion, plus the few Taiwan and Hong Kong variants that
``tw2s`` / ``hk2s`` fold and ``t2s`` leaves (衞 -> 卫, 著 -> 着 ...). Only one-to-one pairs of the
CJK unified ideographs block whose simplified form is in the Basic Multilingual Plane are kept, so
the map never changes a text's length (redaction maps offsets back one to one). A Taiwan variant
that maps a character Simplified text uses itself (么 -> 幺) is left out. Two Taiwan forms are
added by hand: 妳 (the written "you" to a woman) reads as 你, and 甚麼 as 什么
(`to_simplified`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "alliance_monitor" / "_traditional.py"

#: Variants whose folding would change Simplified text (么 is the Simplified "me" of 什么).
_SKIP = frozenset("么")
#: Added by hand: not a Traditional/Simplified pair, a Taiwan written variant of the same word.
_EXTRA = {"妳": "你"}
PAIRS_PER_LINE = 20

HEADER = '''"""Traditional Chinese read as Simplified: one character map, one function.

Taiwan and Hong Kong platforms write Traditional characters (覺得, 為什麼, 諮商); the cue lexicons,
the learned Chinese model, the safety phrases and the redaction patterns are written in
Simplified. `to_simplified` folds a text to Simplified character by character, so that all of
them read both scripts; it never changes the text's length, so offsets found in the folded text
are offsets in the original (redaction relies on this).

The map holds {count} pairs: the characters of the CJK unified ideographs block whose Simplified
form differs, from OpenCC's ``t2s`` conversion (Apache-2.0) read one character at a time, plus a
few Taiwan and Hong Kong variants (衞 -> 卫, 著 -> 着) and 妳 -> 你. It is written by
``scripts/build_traditional_map.py`` (a test checks it is up to date). Word-level vocabulary
differences (軟體 for 软件, 資訊 for 信息) are not converted: the cues that matter are written
in both, or in characters that are the same. Characters that are Traditional in one word and
Simplified in another (乾 in 乾坤) take their usual Traditional reading.
"""

from __future__ import annotations

__all__ = ["TABLE", "to_simplified"]

#: Traditional character, then its Simplified form, pair after pair.
_PAIRS = (
'''

FOOTER = '''
)

#: `str.translate` table: code point of a Traditional character -> its Simplified form.
TABLE: dict[int, str] = {ord(_PAIRS[i]): _PAIRS[i + 1] for i in range(0, len(_PAIRS), 2)}


def to_simplified(text: str, table: dict[int, str] = TABLE) -> str:
    """`text` with its Traditional characters written in Simplified; same length, same offsets.

    `table` may be `TABLE` extended with a caller's own one-to-one folds (straight quotes, say),
    so that both take one `str.translate` pass.

    >>> to_simplified("我覺得妳說得對，為什麼不試試看？")
    '我觉得你说得对，为什么不试试看？'
    """
    if text.isascii():
        return text
    out = text.translate(table)
    # 甚麼 is the Taiwan spelling of 什么 ("what"); the same length, so offsets hold.
    return out.replace("甚么", "什么") if "甚么" in out else out
'''


def pairs() -> dict[str, str]:
    import opencc

    t2s = opencc.OpenCC("t2s.json")
    regional = (opencc.OpenCC("tw2s.json"), opencc.OpenCC("hk2s.json"))
    out: dict[str, str] = {}
    for o in range(0x4E00, 0xA000):
        c = chr(o)
        if c in _SKIP:
            continue
        s = t2s.convert(c)
        if s == c:
            found = sorted({r.convert(c) for r in regional} - {c})
            s = found[0] if found else c
        if s != c and len(s) == 1 and ord(s) <= 0xFFFF:
            out[c] = s
    out.update(_EXTRA)
    return dict(sorted(out.items()))


def render(table: dict[str, str]) -> str:
    flat = [t + s for t, s in table.items()]
    lines = [
        '    "' + "".join(flat[i : i + PAIRS_PER_LINE]) + '"'
        for i in range(0, len(flat), PAIRS_PER_LINE)
    ]
    return HEADER.format(count=f"{len(table):,}") + "\n".join(lines) + FOOTER


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="compare with the shipped module")
    args = ap.parse_args()
    text = render(pairs())
    if args.check:
        same = OUT.read_text(encoding="utf-8") == text
        print("the map is up to date" if same else "the map DIFFERS from OpenCC's")
        return 0 if same else 1
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
