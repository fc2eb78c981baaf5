"""Does model-written text repeat identifiers from the conversation it was shown?

`LLMFeedbackWriter` runs `find_leak` on the model's feedback before it leaves the process (in
events, webhook payloads, the outbox, the console). A model asked to "be specific" readily
writes "when Jane mentioned her record PATIENT-ZX81..."; redaction before the call does not
prevent that (a basic redactor is blind to names, and a model can echo what it saw). The check
is against the window's text as the platform sent it *and* as it was sent to the model
(redacted), and refuses feedback that:

- repeats a name-like word of the window: a capitalised word inside a sentence ("... told
  Jane"), matched in any case; or a capitalised word that starts a sentence there and is
  written capitalised here ("Jane called." / "Jane seemed...");
- repeats a number or identifier of the window: any token with a digit ("ZX81", "555-0142",
  "2019"), whole or in parts, or an all-capitals token ("PATIENT", "NHS") written the same way;
- names a redaction placeholder (``[PERSON]``, ``[PHONE]``...): the model is pointing at an
  identifier it was not meant to see;
- copies a run of `COPY_WORDS` (3) consecutive words of the window, or 5 consecutive Han
  characters (Chinese has no spaces; a word is one to three characters).

It errs towards refusing: the cost of a false alarm is the template feedback instead of the
model's. Words that open sentences in ordinary English (a short stop list) never count as names.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

__all__ = ["COPY_HAN_CHARS", "COPY_WORDS", "find_leak"]

COPY_WORDS = 3
COPY_HAN_CHARS = 5

_TOKEN = re.compile(r"[^\W_]+(?:['’\-_.:/@+][^\W_]+)*")
_PART = re.compile(r"['’\-_.:/@+]")
_PLACEHOLDER = re.compile(r"\[[A-Z][A-Z_]{2,}\]")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_FORMAT = dict.fromkeys(c for c in range(0x110000) if unicodedata.category(chr(c)) == "Cf")

# Words that start or fill sentences in ordinary English: capitalised, they are not names.
_COMMON_WORDS = """
a about after again all also always am an and any are as at be because been before being both
but by can could did do does doing don't during each even ever every few for from had has have
having he he'd he's her here hers herself him himself his how i i'd i'll i'm i've if in into is
isn't it it's its itself just let's like maybe me might more most much my myself never no nor
not now of off ok okay on once only or other our ours ourselves out over own perhaps please
really right same she she's should so some sometimes such than thank thanks that that's the
their theirs them themselves then there there's these they they're this those through to today
tomorrow too under until up very was we we're well were what what's when where which while who
why will with would yeah yes yesterday yet you you'd you'll you're you've your yours yourself
hi hello hey sorry sure oh um uh hmm mm honestly actually anyway lately mostly still though
whatever
"""
_COMMON = frozenset(_COMMON_WORDS.split())


def _clean(text: str) -> str:
    return unicodedata.normalize("NFKC", text).translate(_FORMAT)


def _tokens(text: str) -> list[tuple[str, bool]]:
    """(token, starts a sentence) for every word-like token of `text`."""
    out: list[tuple[str, bool]] = []
    for m in _TOKEN.finditer(text):
        before = text[: m.start()].rstrip().rstrip("\"'“‘([{*-–—").rstrip()
        start = not before or before[-1] in ".!?…。！？:\n"
        out.append((m.group(0), start))
    return out


def _is_capitalised(token: str) -> bool:
    return token[:1].isupper() and not token.isupper()


def _has_digit(token: str) -> bool:
    return any(c.isdigit() for c in token)


def _is_caps(token: str) -> bool:
    letters = [c for c in token if c.isalpha()]
    return len(letters) >= 2 and all(c.isupper() for c in letters)


class _Window:
    """The identifier-like tokens of a window's texts."""

    def __init__(self, texts: Iterable[str]) -> None:
        self.names: set[str] = set()  # casefolded, matched in any case
        self.starters: set[str] = set()  # matched when written capitalised
        self.exact: set[str] = set()  # all-capitals tokens, matched as written
        self.numbers: set[str] = set()  # tokens with digits and their parts, casefolded
        self.word_runs: set[str] = set()
        self.han_runs: set[str] = set()
        for raw in texts:
            text = _clean(raw)
            for token, starts in _tokens(text):
                self._add(token, starts)
            words = [t.casefold() for t, _ in _tokens(text)]
            for i in range(len(words) - COPY_WORDS + 1):
                self.word_runs.add(" ".join(words[i : i + COPY_WORDS]))
            for run in _HAN.findall(text):
                for i in range(len(run) - COPY_HAN_CHARS + 1):
                    self.han_runs.add(run[i : i + COPY_HAN_CHARS])

    def _add(self, token: str, starts: bool) -> None:
        if _has_digit(token):
            self.numbers.add(token.casefold())
            for part in _PART.split(token):
                if (_has_digit(part) and len(part) >= 2) or _is_caps(part):
                    self.numbers.add(part.casefold())
            return
        if _is_caps(token):
            if token.casefold() not in _COMMON:
                self.exact.add(token)
            return
        if len(token) < 2 or not _is_capitalised(token) or token.casefold() in _COMMON:
            return
        (self.starters if starts else self.names).add(token.casefold())


def find_leak(output: str, window_texts: Iterable[str], *, copies: bool = True) -> str | None:
    """Why `output` may not leave (``identifier``, ``placeholder``, ``copied_text``), or None.

    `copies=False` skips the copied-words rule (the deployment opted in to quotes); names,
    numbers and identifiers are refused regardless. The reason never holds the token found.
    """
    window = _Window(window_texts)
    text = _clean(output)
    if _PLACEHOLDER.search(text):
        return "placeholder"
    tokens = _tokens(text)
    for token, _starts in tokens:
        folded = token.casefold()
        if folded in window.names or token in window.exact:
            return "identifier"
        if _is_capitalised(token) and folded in window.starters:
            return "identifier"
        head = _PART.split(token)[0]  # "Wendell's", "Doe-Smith"
        if head != token and (
            head.casefold() in window.names
            or (_is_capitalised(head) and head.casefold() in window.starters)
        ):
            return "identifier"
        if _has_digit(token):
            parts = {folded} | {p.casefold() for p in _PART.split(token) if p}
            if parts & window.numbers:
                return "identifier"
        elif _is_caps(token) and folded in window.numbers:
            return "identifier"
    if not copies:
        return None
    words = [t.casefold() for t, _ in tokens]
    for i in range(len(words) - COPY_WORDS + 1):
        if " ".join(words[i : i + COPY_WORDS]) in window.word_runs:
            return "copied_text"
    for run in _HAN.findall(text):
        for i in range(len(run) - COPY_HAN_CHARS + 1):
            if run[i : i + COPY_HAN_CHARS] in window.han_runs:
                return "copied_text"
    return None
