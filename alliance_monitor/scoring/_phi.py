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
- repeats a name the window gives in a context that says it is a name, in any case ("my
  daughter lily", "my boss kevin mcallister", 我女儿小丽: `_names`);
- repeats an identifier of the window in any spelling: the e-mail addresses, web addresses,
  handles, phone, record and id numbers `basic_redactor` finds there, compared in their plain
  form (NFKC, case folded) and by their parts ("jane.doe@example.org" is refused as itself and
  as "jane" or "doe"), phones and other numbers of four digits or more by their digits alone
  ("555-0142" as "5550142" or "555 0142");
- repeats a number or identifier of the window: any token with a digit ("ZX81", "555-0142",
  "2019"), whole or in parts, or an all-capitals token ("PATIENT", "NHS") written the same way;
- names a redaction placeholder (``[PERSON]``, ``[PHONE]``...): the model is pointing at an
  identifier it was not meant to see;
- copies a run of `COPY_WORDS` (3) consecutive words of the window, or 5 consecutive Han
  characters (Chinese has no spaces; a word is one to three characters).

It errs towards refusing: the cost of a false alarm is the template feedback instead of the
model's. Words that open sentences in ordinary English (a short stop list) never count as names.
Both texts are read in the shared plain form (`_text.fold`), so full-width, look-alike and
zero-width spellings compare as what they spell. Time is linear in the length of the texts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .._names import find_names, is_common_word
from .._text import fold
from ._redact import find_identifiers

__all__ = ["COPY_HAN_CHARS", "COPY_WORDS", "find_leak"]

COPY_WORDS = 3
COPY_HAN_CHARS = 5

_TOKEN = re.compile(r"[^\W_]+(?:['’\-_.:/@+][^\W_]+)*")
_PART = re.compile(r"['’\-_.:/@+]")
_PLACEHOLDER = re.compile(r"\[[A-Z][A-Z_]{2,}\]")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_HAN_CHAR = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
#: A run of digits, with the separators people put between digit groups.
_DIGIT_RUN = re.compile(r"\d(?:[\s\-_/.()]{0,3}\d){0,40}")
_PARTS = re.compile(r"[^\W_]+")
#: Numbers shorter than this many digits are compared as tokens only (ages, counts, scores).
MIN_DIGITS = 4

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
    return fold(text)


def _tokens(text: str) -> list[tuple[str, bool]]:
    """(token, starts a sentence) for every word-like token of `text`.

    A token starts a sentence when only spaces, quotes and brackets separate it from the start
    of the text or from a sentence end before it (read between the previous token and this one,
    so the whole is linear in the length of the text).
    """
    out: list[tuple[str, bool]] = []
    previous_end = 0
    for m in _TOKEN.finditer(text):
        between = text[previous_end : m.start()].rstrip().rstrip("\"'“‘([{*-–—").rstrip()
        start = between[-1] in ".!?…。！？:\n" if between else previous_end == 0
        out.append((m.group(0), start))
        previous_end = m.end()
    return out


def _digit_strings(text: str) -> set[str]:
    """The digits of every number of `MIN_DIGITS` digits or more in `text`, separators dropped."""
    out = set()
    for m in _DIGIT_RUN.finditer(text):
        digits = "".join(c for c in m.group() if c.isdigit())
        if len(digits) >= MIN_DIGITS:
            out.add(digits)
    return out


def _parts(identifier: str) -> set[str]:
    """The distinctive parts of an identifier: its words of 3+ characters that are not ordinary
    English words, and those with a digit."""
    return {
        p.casefold()
        for p in _PARTS.findall(identifier)
        if (len(p) >= 3 and not is_common_word(p)) or (len(p) >= 2 and _has_digit(p))
    }


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
        self.digits: set[str] = set()  # numbers of 4+ digits, separators dropped
        self.parts: set[str] = set()  # parts of e-mails, handles, sites, ids; names in context
        self.han_names: set[str] = set()  # Chinese names in context
        for raw in texts:
            text = _clean(raw)
            for token, starts in _tokens(text):
                self._add(token, starts)
            self._add_identifiers(text)
            words = [t.casefold() for t, _ in _tokens(text)]
            for i in range(len(words) - COPY_WORDS + 1):
                self.word_runs.add(" ".join(words[i : i + COPY_WORDS]))
            for run in _HAN.findall(text):
                for i in range(len(run) - COPY_HAN_CHARS + 1):
                    self.han_runs.add(run[i : i + COPY_HAN_CHARS])

    def _add_identifiers(self, text: str) -> None:
        self.digits |= _digit_strings(text)
        for start, end in find_names(text, familiar=True):
            name = text[start:end]
            if _HAN_CHAR.search(name):
                self.han_names.add(name)
            else:
                self.names.update(w.casefold() for w in _PARTS.findall(name) if len(w) >= 2)
        for label, found in find_identifiers(text):
            if label == "[NAME]":
                continue  # taken above
            if label == "[EMAIL]":  # the person's part; the provider's name is not theirs
                found = re.split(r"\s?(?:@|\(at\)|\[at\]| at |艾特)", found, maxsplit=1)[0]
            self.parts |= _parts(found)
            self.exact.add(found)

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
    if _digit_strings(text) & window.digits or any(
        d in w or w in d for d in _digit_strings(text) for w in window.digits
    ):
        return "identifier"
    if any(name in text for name in window.han_names):
        return "identifier"
    tokens = _tokens(text)
    for token, _starts in tokens:
        folded = token.casefold()
        if folded in window.names or token in window.exact:
            return "identifier"
        if folded in window.parts or any(
            p.casefold() in window.parts for p in _PARTS.findall(token) if len(p) >= 3
        ):
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
