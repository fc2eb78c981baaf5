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
from functools import cache

from ._traditional import TABLE

__all__ = [
    "MIXED_SHARE",
    "SUPPORTED_LANGUAGES",
    "chinese_script",
    "detect_language",
    "script_counts",
]

#: Languages some scorer of the library can read. ``"mixed"`` is Chinese and English together.
SUPPORTED_LANGUAGES: frozenset[str] = frozenset({"en", "zh", "mixed"})

#: Share of letters each script needs for a text to count as mixed.
MIXED_SHARE = 0.2

#: Fewer letters than this: language undetermined.
_MIN_LETTERS = 2


#: Han characters: CJK unified ideographs, extension A, compatibility ideographs, extensions B-F
#: and the compatibility supplement.
_HAN_CLASS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f"
_HAN_RUN = re.compile(f"[{_HAN_CLASS}]+")
#: A letter that is neither ASCII nor Han (Latin-1 and extended Latin, full-width Latin,
#: Cyrillic, kana...): rare in English and Chinese chat, so they are looked at one by one.
_OTHER_LETTER = re.compile(f"[^\\x00-\\x7f{_HAN_CLASS}\\W\\d_]")

#: Two ASCII letters (`_MIN_LETTERS`), anywhere: an ASCII text with them is "en".
_TWO_LETTERS = re.compile(r"[A-Za-z][^A-Za-z]*[A-Za-z]")

#: Deletes every ASCII character that is not a letter (`str.translate`).
_ASCII_NON_LETTERS = {i: None for i in range(128) if not chr(i).isalpha()}
_ASCII_NON_LETTER_BYTES = bytes(_ASCII_NON_LETTERS)


def script_counts(text: str) -> tuple[int, int, int]:
    """Counts of (Han, Latin, other-script) letters in `text`. Digits, punctuation and symbols
    are not letters and are not counted; full-width Latin letters count as Latin."""
    if text.isascii():  # the common case, counted in C
        return 0, len(text.translate(_ASCII_NON_LETTERS)), 0
    # ASCII letters and Han runs counted in C; only the other letters one by one
    latin = len(text.encode("ascii", "ignore").translate(None, _ASCII_NON_LETTER_BYTES))
    han = sum(map(len, _HAN_RUN.findall(text)))
    other = 0
    for ch in _OTHER_LETTER.findall(text):
        if not ch.isalpha():
            continue  # a numeral such as ① or ½
        o = ord(ch)
        if o <= 0x024F or 0xFF21 <= o <= 0xFF3A or 0xFF41 <= o <= 0xFF5A:
            latin += 1  # Latin-1, Latin extended (é, ñ, ß ...), full-width A-Z, a-z
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
    # the counts add up over texts, and the space that joins them is no letter
    return _decide(*script_counts(joined))


#: Characters only Traditional text writes (們, 說, 這) and only Simplified text writes
#: (们, 说, 这), from the Traditional -> Simplified map (`_traditional`). A character both
#: scripts write the same way (我, 你, 好) says nothing (你 is in the map only as the reading
#: of the Taiwan 妳).
#: Built on first use: a process that never asks (`analyze` of English text) does not pay
#: for compiling two classes of thousands of characters.
@cache
def _script_res() -> tuple[re.Pattern[str], re.Pattern[str]]:
    traditional = frozenset(chr(k) for k in TABLE) - set(TABLE.values())
    simplified = frozenset(TABLE.values()) - {chr(k) for k in TABLE} - {"你"}
    return (
        re.compile("[" + "".join(sorted(traditional)) + "]"),
        re.compile("[" + "".join(sorted(simplified)) + "]"),
    )


def chinese_script(texts: str | Iterable[str]) -> str:
    """Which Chinese script a text (or several read together) is written in: ``"traditional"``
    (Taiwan, Hong Kong), ``"simplified"``, or ``"und"`` when no character tells them apart
    (Latin text, or Chinese whose characters both scripts write alike: 你好).

    The scorers read both scripts the same way (Traditional is folded to Simplified); the
    script only chooses which characters feedback and reports are written in.

    >>> chinese_script("我覺得這樣很好")
    'traditional'
    >>> chinese_script(["我觉得这样很好", "嗯"])
    'simplified'
    """
    if isinstance(texts, str):
        texts = (texts,)
    traditional = simplified = 0
    for t in texts:
        if t.isascii():
            continue
        traditional_re, simplified_re = _script_res()
        traditional += len(traditional_re.findall(t))
        simplified += len(simplified_re.findall(t))
    if traditional == simplified == 0:
        return "und"
    return "traditional" if traditional > simplified else "simplified"
