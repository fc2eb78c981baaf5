"""Which language a message or window is in: offline, cheap, by script.

The scorers need to know whether they can read a text at all. Script counts are enough for the
languages the library supports (English, Chinese) and for mixed Chinese-English chat, and they
cost one pass over the characters with no model and no download:

- ``"zh"``: Han characters dominate the letters;
- ``"en"``: Latin letters dominate (no attempt to tell English from French: the embedded
  scorer's cues are English, and other Latin-script text simply yields no evidence);
- ``"mixed"``: both Han and Latin letters carry a real share (at least `MIXED_SHARE` each);
- ``"other"``: letters of another script dominate (Cyrillic, Arabic, Devanagari, kana, hangul...);
- ``"und"``: too few letters to say (emoji, numbers, "ok").

A window's language comes from the letters of all its messages together, so one Chinese word in
an English window does not flip it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["MIXED_SHARE", "SUPPORTED_LANGUAGES", "detect_language", "script_counts"]

#: Languages some scorer of the library can read. ``"mixed"`` is Chinese and English together.
SUPPORTED_LANGUAGES: frozenset[str] = frozenset({"en", "zh", "mixed"})

#: Share of letters each script needs for a text to count as mixed.
MIXED_SHARE = 0.2

#: Fewer letters than this: language undetermined.
_MIN_LETTERS = 2


def _is_han(o: int) -> bool:
    return (
        0x4E00 <= o <= 0x9FFF  # CJK unified ideographs
        or 0x3400 <= o <= 0x4DBF  # extension A
        or 0xF900 <= o <= 0xFAFF  # compatibility ideographs
        or 0x20000 <= o <= 0x2FA1F  # extensions B-F and compatibility supplement
    )


#: Two ASCII letters (`_MIN_LETTERS`), anywhere: an ASCII text with them is "en".
_TWO_LETTERS = re.compile(r"[A-Za-z][^A-Za-z]*[A-Za-z]")

#: Deletes every ASCII character that is not a letter (`str.translate`).
_ASCII_NON_LETTERS = {i: None for i in range(128) if not chr(i).isalpha()}
_ASCII_NON_LETTER_BYTES = bytes(_ASCII_NON_LETTERS)
_NON_ASCII_RUN = re.compile(r"[^\x00-\x7f]+")


def script_counts(text: str) -> tuple[int, int, int]:
    """Counts of (Han, Latin, other-script) letters in `text`. Digits, punctuation and symbols
    are not letters and are not counted; full-width Latin letters count as Latin."""
    if text.isascii():  # the common case, counted in C
        return 0, len(text.translate(_ASCII_NON_LETTERS)), 0
    # ASCII letters counted in C; only the non-ASCII characters one by one
    han, other = 0, 0
    latin = len(text.encode("ascii", "ignore").translate(None, _ASCII_NON_LETTER_BYTES))
    for run in _NON_ASCII_RUN.findall(text):
        for ch in run:
            o = ord(ch)
            if _is_han(o):
                han += 1
            elif 0xFF21 <= o <= 0xFF3A or 0xFF41 <= o <= 0xFF5A:  # full-width A-Z, a-z
                latin += 1
            elif ch.isalpha():
                if o <= 0x024F:  # Latin-1 supplement and Latin extended (é, ñ, ß ...)
                    latin += 1
                else:
                    other += 1
    return han, latin, other


def _decide(han: int, latin: int, other: int) -> str:
    total = han + latin + other
    if total < _MIN_LETTERS:
        return "und"
    # One Han character carries about as much as a short English word: weigh it so that a
    # sentence of Chinese and a sentence of English count alike.
    w_han, w_latin, w_other = han * 3.0, float(latin), float(other)
    weighted = w_han + w_latin + w_other
    if w_other / weighted > 0.5:
        return "other"
    han_share, latin_share = w_han / weighted, w_latin / weighted
    if han_share >= MIXED_SHARE and latin_share >= MIXED_SHARE:
        return "mixed"
    if han_share > latin_share:
        return "zh"
    if latin_share > 0:
        return "en"
    return "other"


def detect_language(texts: str | Iterable[str]) -> str:
    """The language of one text, or of several texts read together (a window).

    >>> detect_language("我最近总是睡不着")
    'zh'
    >>> detect_language(["I can't sleep", "最近压力很大, 工作 deadline 太多"])
    'mixed'
    """
    if isinstance(texts, str):
        texts = (texts,)
    elif not isinstance(texts, list | tuple):
        texts = list(texts)
    joined = " ".join(texts)
    if joined.isascii():  # the common case, in C: only Latin letters can be there
        return "en" if _TWO_LETTERS.search(joined) else "und"
    han = latin = other = 0
    for t in texts:
        h, la, ot = script_counts(t)
        han, latin, other = han + h, latin + la, other + ot
    return _decide(han, latin, other)
