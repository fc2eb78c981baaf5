"""Redaction: what is applied to message text before it leaves the process for an LLM.

A redactor is a plain callable, ``Redactor = Callable[[str], str]``: text in, text with
identifiers replaced by placeholders out. Chain several with `chain_redactors`.

- `basic_redactor` (the default) replaces e-mail addresses, URLs, phone numbers and long digit
  sequences (account, card and record numbers) with ``[EMAIL]``, ``[URL]``, ``[PHONE]``,
  ``[NUMBER]``. It is a regex pass: cheap, predictable, and blind to English names and places.
  In Chinese text it also replaces mainland mobile and landline numbers (``[PHONE]``), 18-digit
  resident ID numbers (``[ID]``), bank card numbers (``[CARD]``), street addresses built from
  省/市/区/县/路/街/号/室 parts (``[ADDRESS]``) and names introduced by 我叫 / 我是 / 名叫 /
  我姓 (``[NAME]``); see `chinese_redactor`.
- `presidio_redactor()` adds Microsoft Presidio's entity recognisers (names, locations, ...). It
  needs the optional extra: ``pip install alliance-monitor[presidio]`` and a spaCy model.

The LLM scorer validates evidence quotes against the *redacted* text, which is what the model saw.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from .._errors import ConfigError

__all__ = [
    "Redactor",
    "basic_redactor",
    "chain_redactors",
    "chinese_redactor",
    "no_redaction",
    "presidio_redactor",
]

Redactor = Callable[[str], str]

# Word characters except Han: Chinese is written without spaces, so "邮箱是abc@qq.com" must not
# take the Chinese words in front into the address.
_W = r"[^\W\u3000-\u9fff\uf900-\ufaff\uff00-\uffef]"
_EMAIL = re.compile(rf"(?:{_W}|[.+-])+@(?:{_W}|-)+(?:\.(?:{_W}|-)+)+")
_URL = re.compile(
    r"\b(?:https?://|ftp://|www\.)\S+?(?=[.,;:!?)\]]*(?:\s|$))"
    rf"|(?<!{_W})(?:{_W}|-)+(?:\.(?:{_W}|-)+)*\.(?:com|org|net|io|info|co|uk|de|cn)(?:/\S*?)?"
    r"(?=[.,;:!?)\]]*(?:\s|$)|[^\x00-\x7f])",
    re.IGNORECASE,
)
# A phone number: optional +country code, then at least 7 digits in groups separated by spaces,
# dots, dashes or parentheses. Years ("in 2019") and times ("at 10:30") stay intact.
_PHONE = re.compile(
    r"(?<![\w+])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,4}\)[\s.-]?)?\d(?:[\s.-]?\d){6,14}\b"
)
_LONG_DIGITS = re.compile(r"\d{5,}")


def _phone(match: re.Match[str]) -> str:
    # An unbroken run of digits is a record or card number rather than a phone number.
    return "[NUMBER]" if match.group(0).isdigit() else "[PHONE]"


# --- Chinese identifiers -------------------------------------------------------------------------

# Mainland mobile (1[3-9]x, 11 digits, optional +86, grouped 3-4-4 or not), landline (0 + 2-3 digit
# area code, 7-8 digits), resident ID (17 digits + digit or X), bank card (16-19 digits, grouped
# by four or not). Digits next to the match must not continue it.
_CN_MOBILE = re.compile(r"(?<![\d+])(?:\+?86[\s-]?)?1[3-9]\d(?:[\s-]?\d{4}){2}(?!\d)")
_CN_ID = re.compile(
    r"(?<!\d)[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])\d{2}\d{3}[\dXx](?![\dA-Za-z])"
)
_CN_CARD = re.compile(r"(?<!\d)(?:\d{4}[\s-]?){3}\d{4}(?:[\s-]?\d{1,3})?(?!\d)")
_CN_LANDLINE = re.compile(r"(?<![\d+])(?:\(0\d{2,3}\)|0\d{2,3})[\s-]?[1-9]\d{6,7}(?!\d)")

_HAN = r"[\u4e00-\u9fff]"
# A Han character that can be part of a place name: not one of the small words that usually
# come just before an address ("我住在", "搬到", "寄到").
_PLACE = r"(?:(?![在我住是的到从去来于和与了你他她搬寄送就要也都还])[\u4e00-\u9fff])"
_NUM = r"(?:\d+|[一二三四五六七八九十百零〇两]+)"
_REGION = rf"{_PLACE}{{2,7}}?(?:省|自治区|特别行政区|市|自治州|地区|盟|区|县|旗|镇|乡|街道)"
_STREET = rf"{_PLACE}{{1,10}}?(?:路|街|大街|大道|道|巷|弄|胡同|里)"
_UNIT = rf"(?:[\s-]?{_NUM}(?:号楼|号院|栋|幢|座|单元|楼|层|室|号|户))"
_ROOM = r"(?:[\s-]?\d{1,5}(?!\d))?"  # a bare room number after the units: 5栋1201
_CN_ADDRESS = re.compile(
    # region chain (optional), street + number, then building / unit / room parts
    rf"(?:{_REGION})*{_STREET}{_NUM}号(?:院)?{_UNIT}*{_ROOM}"
    # or a residential compound with building / room
    rf"|(?:{_REGION})*{_PLACE}{{2,8}}?(?:小区|花园|公寓|大厦|新村|家园|苑){_UNIT}+{_ROOM}"
    # or at least two levels of region ("北京市朝阳区", "广东省深圳市南山区")
    rf"|(?:{_REGION}){{2,}}"
)
_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝"
    "龚邵万钱严覃武戴莫孔向汤"
)
# Characters that end a name: punctuation is not Han; these small words usually follow it.
_NAME_CHAR = r"(?:(?![的了在是和与今年岁来自住说想要也就还都啊呀吧呢吗，])[\u4e00-\u9fff])"
_CN_NAME = re.compile(
    # 我叫 / 他叫 / 名叫 / 名字是 / 叫我 / 姓名: any 1-3 character name, or a Latin one
    rf"(?P<lead>(?:我|他|她|我们|孩子|女儿|儿子)叫(?:做)?|名叫|名字(?:是|叫)|叫我|姓名(?:是|:|：)?)"
    rf"(?P<name>{_NAME_CHAR}{{1,3}}|[A-Z][a-z]+(?: [A-Z][a-z]+)?)"
    # 我是 + a common surname + 1-2 characters (我是王小明; not 我是学生)
    rf"|(?P<lead2>我是)(?P<name2>[{_SURNAMES}]{_NAME_CHAR}{{1,2}})"
    # 我姓王
    rf"|(?P<lead3>我姓|他姓|她姓)(?P<name3>[{_SURNAMES}])"
)


def _name(match: re.Match[str]) -> str:
    lead = match.group("lead") or match.group("lead2") or match.group("lead3")
    return f"{lead}[NAME]"


def chinese_redactor(text: str) -> str:
    """The Chinese part of `basic_redactor`: phone, ID, card, address and introduced names.

    Applied by `basic_redactor` to every text (digit patterns) and to Han text (addresses and
    names); exposed for deployments that chain their own redactors.
    """
    text = _CN_ID.sub("[ID]", text)
    text = _CN_MOBILE.sub("[PHONE]", text)
    text = _CN_CARD.sub("[CARD]", text)
    text = _CN_LANDLINE.sub("[PHONE]", text)
    if re.search(_HAN, text) is None:
        return text
    text = _CN_ADDRESS.sub("[ADDRESS]", text)
    return _CN_NAME.sub(_name, text)


def basic_redactor(text: str) -> str:
    """Replace e-mail addresses, URLs, phone numbers and digit runs of 5+ with placeholders;
    in Chinese text also ID and card numbers, addresses and introduced names."""
    text = _EMAIL.sub("[EMAIL]", text)
    text = _URL.sub("[URL]", text)
    if not text.isascii() or _DIGITS_11.search(text):
        text = chinese_redactor(text)
    text = _PHONE.sub(_phone, text)
    return _LONG_DIGITS.sub("[NUMBER]", text)


_DIGITS_11 = re.compile(r"\d{11}")


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
