"""Text normalisation shared by the safety scan, redaction and the guard on model output.

People write the same thing in many spellings: full-width letters and digits, look-alike letters
from other alphabets or Unicode's letter-like symbols (small capitals ``ᴋɪʟʟ``, squared or
regional-indicator letters), zero-width characters between letters, en-dashes or two spaces
where a hyphen or one space would do. `fold` reads all of these as the plain form, so a pattern
written once holds against them:

1. NFKC (full-width forms, ligatures, mathematical and circled letters, super- and subscripts);
2. zero-width, format and invisible filler characters removed;
3. look-alike letters mapped to Latin (small capitals, Cyrillic and Greek letters that render
   like Latin ones, squared and regional-indicator letters), dashes and the minus sign to ``-``,
   Traditional Chinese characters to Simplified (`_traditional`, one character for one);
4. whitespace collapsed: a run of spaces and tabs is one space; a run holding a line break is
   one line break; a space between two Han characters is dropped (Chinese is written without
   spaces: "我叫 刘 洋" is "我叫刘洋").

`fold_mapped` is the same normalisation with, for each output character, the index of the input
character it came from: redaction matches on the folded text and replaces the spans of the
original one, so what is not an identifier reaches the model exactly as it was written.

`normalise_id` is the form ids are compared in (NFC, zero-width removed).
`bound` cuts a text to a maximum length before any scan: nothing here or in the patterns that
read its output takes time growing faster than the length of the text.
"""

from __future__ import annotations

import re
import unicodedata

from ._traditional import TABLE as _TRADITIONAL

__all__ = ["bound", "fold", "fold_mapped", "normalise_id"]

#: Letters from other scripts that render like Latin ones (after NFKC), and apostrophe-likes.
_CONFUSABLES = {
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p",
    "с": "c", "т": "t", "у": "y", "х": "x", "і": "i", "ї": "i", "ј": "j", "ѕ": "s", "ԁ": "d",
    "ɑ": "a", "ο": "o", "α": "a", "ε": "e", "ι": "i", "κ": "k", "ν": "v", "ρ": "p", "τ": "t",
    "υ": "u", "χ": "x", "ℓ": "l", "ı": "i",
    "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C",
    "Т": "T", "У": "Y", "Х": "X", "І": "I", "Ј": "J", "Ѕ": "S", "Ο": "O", "Α": "A", "Ε": "E",
    "Ι": "I", "Κ": "K", "Ν": "N", "Ρ": "P", "Τ": "T", "Χ": "X", "Β": "B", "Ζ": "Z", "Η": "H",
    "Μ": "M", "ғ": "f", "ǫ": "q", "ɡ": "g",
    "\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u2032": "'",
}  # fmt: skip
#: Invisible characters that are not of the format category (Cf): fillers, blanks, joiners.
_INVISIBLE = frozenset(
    (0x034F, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x2800, 0x3164, 0xFFA0, *range(0xFE00, 0xFE10))
) | frozenset(range(0xE0100, 0xE01F0))
_LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
#: "LATIN LETTER SMALL CAPITAL K", "NEGATIVE SQUARED LATIN CAPITAL LETTER K",
#: "LATIN SMALL LETTER DOTLESS I", "REGIONAL INDICATOR SYMBOL LETTER K": the letter at the end.
_LETTER_NAME = re.compile(
    r"(?:LATIN (?P<case>CAPITAL |SMALL )?LETTER (?:SMALL CAPITAL |DOTLESS |SCRIPT )?"
    r"|REGIONAL INDICATOR SYMBOL LETTER )(?P<letter>[A-Z])$"
)
_CACHE_LIMIT = 16384


def _map_char(ch: str) -> str:
    """What one character (already NFKC) becomes: itself, a replacement, or "" (dropped)."""
    code = ord(ch)
    if code < 0x80:
        if ch in _LINE_BREAKS:
            return "\n"
        return " " if ch.isspace() or code < 0x20 or code == 0x7F else ch
    if ch in _CONFUSABLES:
        return _CONFUSABLES[ch]
    if code in _TRADITIONAL:
        return _TRADITIONAL[code]
    if code in _INVISIBLE:
        return ""
    category = unicodedata.category(ch)
    if category == "Cf":
        return ""
    if ch in _LINE_BREAKS:
        return "\n"
    if ch.isspace() or category in ("Zs", "Cc"):
        return " "
    if category == "Pd" or ch == "\u2212":
        return "-"
    if category[0] in "LS":
        m = _LETTER_NAME.search(unicodedata.name(ch, ""))
        if m is not None:
            letter = m.group("letter")
            return letter if m.group("case") == "CAPITAL " else letter.lower()
    return ch


class _Table(dict[int, str]):
    """`str.translate` table of `_map_char`, filled lazily one code point at a time (bounded)."""

    def __missing__(self, code: int) -> str:
        value = _map_char(chr(code))
        if len(self) < _CACHE_LIMIT:
            self[code] = value
        return value


_TABLE = _Table()
_PIECES: dict[str, str] = {}
_RUN = re.compile(r"[ \n]{2,}")


def _collapse(match: re.Match[str]) -> str:
    return "\n" if "\n" in match.group() else " "


_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_HAN_SPACE = re.compile(f"(?<=[{_HAN}]) (?=[{_HAN}])")


def _is_han(ch: str) -> bool:
    return "\u3400" <= ch <= "\u4dbf" or "\u4e00" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff"


def fold(text: str) -> str:
    """The plain form of `text` (see the module docstring): linear in its length."""
    if text.isascii():
        return _RUN.sub(_collapse, text.translate(_TABLE))
    text = unicodedata.normalize("NFKC", text).translate(_TABLE)
    return _HAN_SPACE.sub("", _RUN.sub(_collapse, text))


def _piece(ch: str) -> str:
    piece = _PIECES.get(ch)
    if piece is None:
        piece = (unicodedata.normalize("NFKC", ch) if ord(ch) >= 0x80 else ch).translate(_TABLE)
        if len(_PIECES) < _CACHE_LIMIT:
            _PIECES[ch] = piece
    return piece


def fold_mapped(text: str) -> tuple[str, list[int]]:
    """`fold(text)` one character at a time, and for each output character the index of the
    input character it came from (plus ``len(text)`` at the end, so that a span ``[a, b)`` of the
    folded text is ``text[origin[a] : origin[b - 1] + 1]``).

    Characters are folded one by one, so combining sequences are not composed: the result
    differs from `fold` only there, never in a letter, digit or separator.
    """
    if text.isascii():
        pieces = text.translate(_TABLE)
    else:
        get = _PIECES.get
        pieces = "".join([get(ch) or _piece(ch) for ch in text])
    if (
        len(pieces) == len(text)
        and _RUN.search(pieces) is None
        and (text.isascii() or _HAN_SPACE.search(pieces) is None)
    ):
        # One character for one (the usual case): the offsets are the identity. A character
        # folding to "" or to several would change the length and take the loop below.
        return pieces, list(range(len(text) + 1))
    out: list[str] = []
    origin: list[int] = []
    previous = "\0"
    for i, ch in enumerate(text):
        for c in _piece(ch):
            if c in " \n" and previous in " \n":
                if c == "\n" and previous == " ":
                    out[-1] = "\n"
                    previous = "\n"
                continue
            if previous == " " and len(out) >= 2 and _is_han(c) and _is_han(out[-2]):
                out.pop()  # a space between two Han characters: 我叫 刘 洋
                origin.pop()
            out.append(c)
            origin.append(i)
            previous = c
    origin.append(len(text))
    return "".join(out), origin


def normalise_id(raw: str) -> str:
    """An id as the platform means it: NFC, zero-width and other invisible characters removed.

    Used to compare ids (de-duplication); the raw id is what is stored and reported. An id made
    only of invisible characters is compared as it is.
    """
    if raw.isascii():
        return raw
    clean = "".join(
        ch
        for ch in unicodedata.normalize("NFC", raw)
        if ord(ch) not in _INVISIBLE and unicodedata.category(ch) != "Cf"
    )
    return clean or raw


def bound(text: str, max_chars: int) -> str:
    """`text` cut to at most `max_chars` characters (no surrogate half left at the end)."""
    if len(text) <= max_chars:
        return text
    cut = text[:max_chars]
    return cut[:-1] if cut and "\ud800" <= cut[-1] <= "\udbff" else cut
