"""Redaction: what is applied to message text before it leaves the process for an LLM.

A redactor is a plain callable, ``Redactor = Callable[[str], str]``: text in, text with
identifiers replaced by placeholders out. Chain several with `chain_redactors`.

- `basic_redactor` (the default) reads the text in its plain form (`_text.fold`: NFKC, so
  full-width ``＠`` and digits are plain; zero-width characters removed; look-alike letters and
  dashes mapped; whitespace collapsed) and replaces, in the text as written:

  - e-mail addresses, also with spaces around ``@``, ``(at)`` / ``[dot]`` / `` at ... dot ``
    spelled out, or no top-level domain (``[EMAIL]``);
  - web addresses with or without a scheme, personal sites (``jane-doe.me``,
    ``janedoe dot com``) (``[URL]``);
  - handles: ``@name``, ``u/name``, a WeChat id, a name after "insta", "snap", "discord",
    "微信号" ... (``[HANDLE]``);
  - phone numbers with any separators between digit groups (spaces, dashes of any kind,
    slashes, dots, underscores, parentheses), in Chinese numerals (一三八…, 幺 for one) or in
    English words ("eight six seven five three oh nine") (``[PHONE]``), and unbroken digit runs
    of 5+ (``[NUMBER]``);
  - record and account numbers: a token mixing letters and digits (``MRN-A4821``,
    ``PATIENT-ZX81``), or any token with a digit after a word such as "record", "patient",
    "account", "病历号" (``[ID]``);
  - in Chinese text: resident ID numbers (``[ID]``), bank cards (``[CARD]``), mainland phones,
    street addresses built from 省/市/区/县/路/街/号/室 parts (``[ADDRESS]``);
  - personal names where the context says they are names, in any case (`_names`): "my daughter
    lily", "my boss kevin mcallister", "my name is …", "dr. patel", 我叫…, 本人张伟, 我是欧阳娜娜,
    我女儿小丽 (``[NAME]``). English names said without such a context are out of its reach:
    use `presidio_redactor` (a model) for those.

  What is not an identifier reaches the model exactly as it was written. Time is linear in the
  length of the text: every pattern is bounded (checked by tests/test_regex_audit.py).
- `presidio_redactor()` adds Microsoft Presidio's entity recognisers (names, locations, ...). It
  needs the optional extra: ``pip install alliance-monitor[presidio]`` and a spaCy model.

The LLM scorer validates evidence quotes against the *redacted* text, which is what the model saw.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from .._errors import ConfigError
from .._names import find_names, is_common_word
from .._text import fold, fold_mapped

__all__ = [
    "Redactor",
    "basic_redactor",
    "chain_redactors",
    "chinese_redactor",
    "find_identifiers",
    "no_redaction",
    "presidio_redactor",
    "redact_window",
]

Redactor = Callable[[str], str]

_Span = tuple[int, int, str]
_Finder = Callable[[str], Iterator[_Span]]

# --- e-mail, web addresses, handles ------------------------------------------------------

# Word characters except Han: Chinese is written without spaces, so "邮箱是abc@qq.com" must not
# take the Chinese words in front into the address.
_W = r"[^\W\u3000-\u9fff\uf900-\ufaff\uff00-\uffef]"
_LOCAL = rf"(?:{_W}|[.+-]){{1,64}}"
_LABEL = rf"(?:{_W}|-){{1,63}}"
_AT_WORD = r"\s?[(\[{<]\s?at\s?[)\]}>]\s?|\s?艾特\s?"
_DOT_WORD = r"\s?[(\[{<]\s?dot\s?[)\]}>]\s?| dot |\s?点\s?"
_TLDS = (
    "com|org|net|edu|gov|mil|int|io|co|uk|us|ca|au|nz|ie|de|fr|es|it|nl|be|ch|at|se|no|dk|fi|pl|"
    "pt|gr|ru|ua|cz|hu|ro|tr|il|jp|cn|hk|tw|mo|sg|my|kr|in|id|th|vn|ph|br|mx|ar|cl|za|ng|ke|eg|"
    "info|biz|me|ai|app|dev|page|site|blog|xyz|top|online|store|shop|tech|art|link|fm|tv|ly|gg|ee|"
    "cc|sh|ws|im|eu|asia|pro|name|club|live|life|world|space|website|email|studio|design|news|"
    "cloud|social|today|digital|media|one|lol|wtf|fun|family|love|health|care|net|cn"
)
_LOCAL_DOT = r"(?: dot |\s?[(\[{<]\s?dot\s?[)\]}>]\s?)"
_EMAIL = re.compile(
    rf"(?<!{_W}|[.+-])(?P<local>{_LOCAL}(?:{_LOCAL_DOT}{_LOCAL}){{0,3}})"
    rf"(?P<at>\s{{0,2}}@\s{{0,2}}|{_AT_WORD}| at )"
    rf"(?P<domain>{_LABEL}(?:(?:\.|{_DOT_WORD}){_LABEL}){{0,6}})",
    re.IGNORECASE,
)
_ADDRESS_LIKE = re.compile(r"[._0-9+-]| dot |[(\[{<]\s?dot", re.IGNORECASE)
_SPELLED_DOT = re.compile(r"dot|点", re.IGNORECASE)
_TLD_END = re.compile(rf"(?:\.|{_DOT_WORD})(?:{_TLDS})$", re.IGNORECASE)


#: "wanglei#163.com (#换成@)", "replace # with @": the writer says which sign stands for "@".
_AT_SWAP = re.compile(
    r"(?:把|将)?\s?(?P<sign>[#$%&*!~^|=])\s?(?:换成|改成|替换成|变成|代表|=|->|→)\s?[@＠]"
    r"|replace\s(?P<sign2>[#$%&*!~^|=])\s(?:with|by)\s[@＠]",
    re.IGNORECASE,
)


def _emails(text: str) -> Iterator[_Span]:
    swap = _AT_SWAP.search(text)
    if swap is not None:  # same length: the spans hold for the text as written
        text = text.replace(swap.group("sign") or swap.group("sign2"), "@")
    pos = 0
    while (m := _EMAIL.search(text, pos)) is not None:
        pos = m.start() + 1  # a refused match may hide an address that starts inside it
        at, domain = m.group("at"), m.group("domain")
        plain_at = "@" in at
        spelled_at = at.strip() != "at" and not plain_at
        if (plain_at and at.strip() == at) or spelled_at:
            pass  # jane@example, jane(at)example: an address even without a top-level domain
        elif plain_at:  # spaces around @: "me @ home" is not an address; "jane @ ex.org" is
            if not re.search(r"\.|dot", domain, re.IGNORECASE):
                continue
        elif not _TLD_END.search(domain) or not (
            _ADDRESS_LIKE.search(m.group("local")) or _SPELLED_DOT.search(domain)
        ):  # "jane.doe at example.org", "jane at example dot com"; not "is at github.com"
            continue
        pos = m.end()
        yield m.start(), m.end(), "[EMAIL]"


_URL_SCHEME = re.compile(r"(?:https?://|ftp://|www\.)[^\s<>\"\x00]{1,2000}", re.IGNORECASE)
_URL_DOMAIN = re.compile(
    rf"(?<!{_W}|[.@/-])(?:{_LABEL}(?:\.|{_DOT_WORD})){{1,6}}(?:{_TLDS})(?::\d{{1,5}})?"
    rf"(?:/[^\s<>\"\x00]{{0,500}})?(?!{_W}|[@-])",
    re.IGNORECASE,
)
_TRAILING = ".,;:!?)]}'\""


def _urls(text: str) -> Iterator[_Span]:
    for pattern in (_URL_SCHEME, _URL_DOMAIN):
        for m in pattern.finditer(text):
            end = m.end()
            while end > m.start() and text[end - 1] in _TRAILING:
                end -= 1
            if end > m.start():
                yield m.start(), end, "[URL]"


_AT_HANDLE = re.compile(
    r"(?<![A-Za-z0-9_.@])@[A-Za-z0-9_](?:[A-Za-z0-9_.]{0,29}[A-Za-z0-9_])?"
    r"|(?<![A-Za-z0-9/])u/[A-Za-z0-9_-]{3,20}"
    r"|(?<![A-Za-z0-9])wxid_[A-Za-z0-9]{4,24}"
)
_PLATFORM = (
    r"insta(?:gram)?|ig|twitter|tiktok|snap(?:chat)?|discord|telegram|tg|reddit|kik|skype|"
    r"wechat|weixin|wx|vx|v信|whatsapp|github|facebook|fb|linkedin|twitch|youtube|yt|psn|"
    r"xbox|微信|威信|薇信|微博|抖音|小红书|b站|快手|qq"
)
_HANDLE_CONTEXT = re.compile(
    rf"(?i:(?<![a-z])(?:{_PLATFORM})(?:\s?(?:id|handle|username|user name|user|name|account|acc|"
    rf"号|账号|名))?(?:\s?(?:is|:|=|-|是|为|叫)\s?| |\s?(?=@)))"
    r"(?P<handle>@?[A-Za-z0-9_][A-Za-z0-9_.\-]{2,31})(?![A-Za-z0-9_])"
)


def _handles(text: str) -> Iterator[_Span]:
    for m in _AT_HANDLE.finditer(text):
        yield m.start(), m.end(), "[HANDLE]"
    for m in _HANDLE_CONTEXT.finditer(text):
        handle = m.group("handle").lstrip("@").rstrip(".-")
        if handle and not is_common_word(handle):
            yield m.start("handle"), m.start("handle") + len(m.group("handle")), "[HANDLE]"


# --- numbers -----------------------------------------------------------------------------

# A digit: ASCII (full-width ones are ASCII once folded), a Chinese numeral, or an English digit
# word; separators between digit groups: spaces, dashes, dots, slashes, underscores, brackets.
_ZH_DIGITS = "〇零一二三四五六七八九幺两"
_DIGIT = (
    rf"(?:[0-9{_ZH_DIGITS}]|(?i:zero|oh|one|two|three|four|five|six|seven|eight|nine)(?![a-z]))"
)
_SEP = r"[\s\-_/.·•~()]{0,3}"
_PHONE = re.compile(
    rf"(?<![A-Za-z0-9+])(?:\+\s?\d{{1,3}}{_SEP})?(?:\(\d{{1,4}}\){_SEP})?{_DIGIT}(?:{_SEP}{_DIGIT}){{6,14}}"
    r"(?![A-Za-z0-9])"
)
_LONG_DIGITS = re.compile(r"\d{5,}")

# Mainland mobile (1[3-9]x, 11 digits, optional +86, grouped 3-4-4 or not), landline (0 + 2-3 digit
# area code, 7-8 digits), resident ID (17 digits + digit or X), bank card (16-19 digits, grouped
# by four or not). Digits next to the match must not continue it.
_S = r"[\s\-_/.]{0,3}"
_CN_MOBILE = re.compile(rf"(?<![\d+])(?:\+?86{_S})?1[3-9]\d(?:{_S}\d{{4}}){{2}}(?!\d)")
_CN_ID = re.compile(
    r"(?<!\d)[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])\d{2}\d{3}[\dXx](?![\dA-Za-z])"
)
_CN_CARD = re.compile(rf"(?<!\d)(?:\d{{4}}{_S}){{3}}\d{{4}}(?:{_S}\d{{1,3}})?(?!\d)")
_CN_LANDLINE = re.compile(rf"(?<![\d+])(?:\(0\d{{2,3}}\)|0\d{{2,3}}){_S}[1-9]\d{{6,7}}(?!\d)")


def _pattern(regex: re.Pattern[str], label: str) -> _Finder:
    def find(text: str) -> Iterator[_Span]:
        for m in regex.finditer(text):
            yield m.start(), m.end(), label

    return find


#: Digit words with commas between them: "five five five, zero one four two".
_WORD_DIGIT = r"(?i:zero|oh|one|two|three|four|five|six|seven|eight|nine)(?![a-z])"
_PHONE_WORDS = re.compile(
    rf"(?<![A-Za-z]){_WORD_DIGIT}(?:[\s,;\-.]{{1,3}}{_WORD_DIGIT}){{6,14}}(?![A-Za-z])"
)


def _phones(text: str) -> Iterator[_Span]:
    for m in _PHONE_WORDS.finditer(text):
        yield m.start(), m.end(), "[PHONE]"
    for m in _PHONE.finditer(text):
        yield m.start(), m.end(), "[NUMBER]" if m.group().isdigit() else "[PHONE]"
    for m in _LONG_DIGITS.finditer(text):
        yield m.start(), m.end(), "[NUMBER]"


# Record numbers: a word that says "this is a number", then a token with a digit; or a token
# that mixes letters and digits the way ids do.
_ID_CONTEXT = re.compile(
    r"(?i:\b(?:mrn|medical record|record|patient|case|file|chart|member|membership|policy|"
    r"account|acct|claim|ticket|ref|reference|id|ssn|nhs|nhi|insurance|student|employee|staff|"
    r"badge|passport|licen[cs]e|order|booking|confirmation|tracking|serial|room|bed|ward)"
    r"(?: (?:no\.?|nr\.?|number|num|#|id|code))?(?:\s?(?:is|was|:|#|=|-)\s?| ))"
    r"|(?:病历号?|编号|学号|工号|卡号|账号|帐号|会员号|身份证号?|护照号?|档案号|住院号|门诊号|订单号"
    r"|床号|车牌号?)(?:码)?(?:是|为|:)?\s?"
)
_TOKEN = r"[A-Za-z0-9][A-Za-z0-9_#/-]{1,40}"
_ID_SHAPE = re.compile(r"(?<![A-Za-z0-9_#/-])" + _TOKEN + r"(?![A-Za-z0-9_#/-])")
#: A token with a digit and a letter among its first characters: the only ones `_id_like` keeps.
_ID_CANDIDATE = re.compile(
    r"(?<![A-Za-z0-9_#/-])(?=[A-Za-z_#/-]{0,40}\d)(?=[0-9_#/-]{0,40}[A-Za-z])"
    + _TOKEN
    + r"(?![A-Za-z0-9_#/-])"
)
#: Numbers with a unit or an ordinal ending, and a few well-known names with digits: not ids.
_NOT_ID = re.compile(
    r"(?i)(?<!\d)\d{1,12}(?:[.,]\d{1,6})?(?:st|nd|rd|th|s|am|pm|mg|mcg|ml|kg|g|km|kms|k|m|cm|mm|lb|lbs|x|h|hr|"
    r"hrs|min|mins|yo|yr|yrs|y|d|w|mph|gb|mb|tb|hz|p|fps|ish)"
    r"|covid-?19|sars-cov-2|h1n1|mp[34]|ps[1-5]|g[345]|[34]g|24/7|9/11|\d{1,8}/\d{1,8}|\d{1,8}-\d{1,8}|y2k"
)


def _id_like(token: str) -> bool:
    digits = sum(c.isdigit() for c in token)
    letters = sum(c.isalpha() for c in token)
    if digits == 0 or _NOT_ID.fullmatch(token):
        return False
    if letters == 0:
        return digits >= 3
    upper = any(c.isupper() for c in token)
    return digits >= 3 or (digits >= 2 and letters >= 2 and upper)


def _ids(text: str) -> Iterator[_Span]:
    for m in _ID_CONTEXT.finditer(text):
        t = _ID_SHAPE.match(text, m.end())
        if t is not None and any(c.isdigit() for c in t.group()) and len(t.group()) >= 3:
            yield t.start(), t.end(), "[ID]"
    for m in _ID_CANDIDATE.finditer(text):
        if _id_like(m.group()):
            yield m.start(), m.end(), "[ID]"


# --- Chinese addresses and names ---------------------------------------------------------

_HAN = r"[\u4e00-\u9fff]"
_HAN_RE = re.compile(_HAN)
# A Han character that can be part of a place name: not one of the small words that usually
# come just before an address ("我住在", "搬到", "寄到").
_PLACE = r"(?:(?![在我住是的到从去来于和与了你他她搬寄送就要也都还])[\u4e00-\u9fff])"
_NUM = r"(?:\d{1,6}|[一二三四五六七八九十百零〇两]{1,6})"
# A region's name holds no region ending (so a run of regions reads one way only: linear time),
# a street's name no street ending.
_REGION_NAME = (
    r"(?:(?![在我住是的到从去来于和与了你他她搬寄送就要也都还省市区县旗镇乡盟州])[\u4e00-\u9fff])"
)
_REGION = rf"{_REGION_NAME}{{2,7}}?(?:省|自治区|特别行政区|市|自治州|地区|盟|区|县|旗|镇|乡|街道)"
_STREET_NAME = (
    r"(?:(?![在我住是的到从去来于和与了你他她搬寄送就要也都还路街道巷弄])[\u4e00-\u9fff])"
)
_STREET = rf"{_STREET_NAME}{{1,10}}?(?:路|街|大街|大道|道|巷|弄|胡同|里)"
_UNIT = rf"(?:[\s-]?{_NUM}(?:号楼|号院|栋|幢|座|单元|楼|层|室|号|户))"
_ROOM = r"(?:[\s-]?\d{1,5}(?!\d))?"  # a bare room number after the units: 5栋1201
_CN_ADDRESS = re.compile(
    # region chain (optional), street + number, then building / unit / room parts
    rf"(?:{_REGION}){{0,4}}{_STREET}{_NUM}号(?:院)?{_UNIT}{{0,5}}{_ROOM}"
    # or a residential compound with building / room
    rf"|(?:{_REGION}){{0,4}}{_PLACE}{{2,8}}?(?:小区|花园|公寓|大厦|新村|家园|苑){_UNIT}{{1,5}}{_ROOM}"
    # or at least two levels of region ("北京市朝阳区", "广东省深圳市南山区")
    rf"|(?:{_REGION}){{2,4}}"
)


def _names(text: str) -> Iterator[_Span]:
    for start, end in find_names(text):
        yield start, end, "[NAME]"


# --- the passes --------------------------------------------------------------------------

#: Chinese identifier passes, in order (an earlier pass's spans are hidden from later ones).
_CHINESE: tuple[_Finder, ...] = (
    _pattern(_CN_ID, "[ID]"),
    _pattern(_CN_MOBILE, "[PHONE]"),
    _pattern(_CN_CARD, "[CARD]"),
    _pattern(_CN_LANDLINE, "[PHONE]"),
)
_CHINESE_TEXT: tuple[_Finder, ...] = (_pattern(_CN_ADDRESS, "[ADDRESS]"),)
_ALL: tuple[_Finder, ...] = (
    _emails,
    _urls,
    _handles,
    *_CHINESE,
    _phones,
    _ids,
    _names,
)


def _spans(folded: str, finders: Sequence[_Finder], han_finders: Sequence[_Finder]) -> list[_Span]:
    """Non-overlapping spans found by the passes in order over `folded`; each pass sees the
    spans of the earlier ones blanked out."""
    work = folded
    spans: list[_Span] = []
    has_han = _HAN_RE.search(folded) is not None
    for find in (*finders[:-1], *(han_finders if has_han else ()), finders[-1]):
        found = [s for s in find(work) if s[1] > s[0] and "\x00" not in work[s[0] : s[1]]]
        if not found:
            continue
        chars = list(work)
        for start, end, label in found:
            if "\x00" in chars[start:end]:
                continue  # overlaps a span this pass already took
            chars[start:end] = "\x00" * (end - start)
            spans.append((start, end, label))
        work = "".join(chars)
    return spans


def _redact(text: str, finders: Sequence[_Finder], han_finders: Sequence[_Finder]) -> str:
    folded, origin = fold_mapped(text)
    spans = _spans(folded, finders, han_finders)
    if not spans:
        return text
    out: list[str] = []
    pos = 0
    for start, end, label in sorted(spans):
        a, b = origin[start], origin[end - 1] + 1
        if a < pos:
            continue
        out.append(text[pos:a])
        out.append(label)
        pos = b
    out.append(text[pos:])
    return "".join(out)


def find_identifiers(text: str) -> list[tuple[str, str]]:
    """(placeholder, text) of every identifier `basic_redactor` would replace in `text`, as
    written in its plain form (`_text.fold`); the guard on model output compares against these."""
    folded, _origin = fold_mapped(text)
    spans = _spans(folded, _ALL, _CHINESE_TEXT)
    return [(label, folded[start:end]) for start, end, label in sorted(spans)]


def redact_window(texts: Sequence[str], redactor: Redactor) -> list[str]:
    """Each text through `redactor`, then the names any of them gives in context ("my daughter
    lily", 我女儿小丽, "my name is jane") replaced wherever else they occur in the window
    ("lily cried all night", 小丽今天又哭了), in any case. Nothing more with `no_redaction`."""
    out = [redactor(t) for t in texts]
    if redactor is no_redaction:
        return out
    latin: set[str] = set()
    han: set[str] = set()
    for text in texts:
        folded = fold(text)
        for start, end in find_names(folded):
            name = folded[start:end]
            if _HAN_RE.search(name):
                han.add(name)
            else:
                latin.update(w.casefold() for w in _NAME_PARTS.findall(name) if len(w) >= 2)
    if not latin and not han:
        return out
    words = sorted(latin, key=len, reverse=True)
    alternatives = [rf"(?i:(?<![^\W\d_])(?:{'|'.join(map(re.escape, words))})(?![^\W\d_]))"]
    alternatives = alternatives if words else []
    if han:
        alternatives.append("|".join(map(re.escape, sorted(han, key=len, reverse=True))))
    pattern = re.compile("|".join(alternatives))
    return [pattern.sub("[NAME]", t) for t in out]


_NAME_PARTS = re.compile(r"[^\W\d_]+")


def chinese_redactor(text: str) -> str:
    """The Chinese part of `basic_redactor`: phone, ID, card, address and introduced names.

    Exposed for deployments that chain their own redactors.
    """
    return _redact(text, (*_CHINESE, _names), _CHINESE_TEXT)


def basic_redactor(text: str) -> str:
    """Replace e-mail addresses, web addresses, handles, phone, record and long numbers, and
    names where the context says they are names, in English and Chinese (see the module)."""
    return _redact(text, _ALL, _CHINESE_TEXT)


def no_redaction(text: str) -> str:
    """The identity redactor, for deployments that send text to a model they host themselves."""
    return text


def chain_redactors(*redactors: Redactor) -> Redactor:
    """One redactor applying `redactors` in order."""

    def chained(text: str) -> str:
        for redact in redactors:
            text = redact(text)
        return text

    return chained


def presidio_redactor(
    *,
    language: str = "en",
    entities: Sequence[str] | None = None,
    score_threshold: float = 0.5,
    analyzer: Any = None,
) -> Redactor:
    """A redactor backed by Microsoft Presidio, run after `basic_redactor`.

    Detected entities become ``[ENTITY_TYPE]``, e.g. ``[PERSON]``. Pass a configured
    ``presidio_analyzer.AnalyzerEngine`` as `analyzer` to choose the NLP model; the default engine
    loads spaCy's ``en_core_web_lg``, which must be installed.

    Raises `ConfigError` with install instructions when Presidio is missing.
    """
    try:
        analyzer_mod = importlib.import_module("presidio_analyzer")
        anonymizer_mod = importlib.import_module("presidio_anonymizer")
    except ImportError as exc:
        raise ConfigError(
            "the Presidio redactor needs the optional extra: "
            "pip install 'alliance-monitor[presidio]' (and a spaCy model such as en_core_web_lg)"
        ) from exc
    engine = analyzer if analyzer is not None else analyzer_mod.AnalyzerEngine()
    anonymizer = anonymizer_mod.AnonymizerEngine()
    wanted: Iterable[str] | None = list(entities) if entities is not None else None

    def redact(text: str) -> str:
        text = basic_redactor(text)
        found = engine.analyze(
            text=text, language=language, entities=wanted, score_threshold=score_threshold
        )
        if not found:
            return text
        result = anonymizer.anonymize(text=text, analyzer_results=found)
        return str(result.text).replace("<", "[").replace(">", "]")

    return redact
