"""Token counting with tiktoken's `cl100k_base`, offline and verified.

tiktoken downloads its tables on first use, which fails in air-gapped hospital networks and
means trusting whatever arrives. The `cl100k_base` table ships inside this package instead
(`alliance_monitor/data/cl100k_base.tiktoken`, OpenAI's published file, MIT licence beside it);
it is checked against OpenAI's published SHA-256 before use and handed straight to
`tiktoken.Encoding`, so nothing is downloaded and no tiktoken plugin is involved. A damaged
table is a `ConfigError`, never a silent guess. See ARCHITECTURE.md, "Token counting".
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache
from importlib import resources
from typing import Protocol

from ._errors import ConfigError

__all__ = ["TokenCounter", "default_counter"]

#: The published hash of cl100k_base.tiktoken (tiktoken_ext/openai_public.py).
CL100K_SHA256 = "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"
_CL100K_PATTERN = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
    r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)
_CL100K_SPECIAL = {
    "<|endoftext|>": 100257,
    "<|fim_prefix|>": 100258,
    "<|fim_middle|>": 100259,
    "<|fim_suffix|>": 100260,
    "<|endofprompt|>": 100276,
}


class _Encoding(Protocol):
    name: str

    def encode_ordinary(self, text: str) -> list[int]: ...

    def decode(self, tokens: list[int]) -> str: ...


def _parse_ranks(raw: bytes) -> dict[bytes, int]:
    pairs = (line.split() for line in raw.splitlines() if line)
    return {base64.b64decode(token): int(rank) for token, rank in pairs}


@lru_cache(maxsize=1)
def _bundled_cl100k() -> _Encoding:
    import tiktoken

    raw = (resources.files(__package__) / "data" / "cl100k_base.tiktoken").read_bytes()
    if hashlib.sha256(raw).hexdigest() != CL100K_SHA256:
        raise ConfigError(
            "the bundled cl100k_base table does not match its published hash; "
            "reinstall alliance-monitor"
        )
    enc: _Encoding = tiktoken.Encoding(
        name="cl100k_base",
        pat_str=_CL100K_PATTERN,
        mergeable_ranks=_parse_ranks(raw),
        special_tokens=_CL100K_SPECIAL,
    )
    return enc


@lru_cache(maxsize=4)
def _named(name: str) -> _Encoding:
    import tiktoken

    enc: _Encoding = tiktoken.get_encoding(name)
    return enc


class TokenCounter:
    """Counts tokens the way OpenAI-compatible servers bill them (cl100k_base).

    `encoding=None` (or "cl100k_base") uses the bundled, hash-checked table and never touches
    the network. Any other name goes to `tiktoken.get_encoding`, which may download it.
    """

    def __init__(self, encoding: str | None = None) -> None:
        name = encoding or "cl100k_base"
        try:
            self._enc = _bundled_cl100k() if name == "cl100k_base" else _named(name)
        except ConfigError:
            raise
        except Exception as exc:  # tiktoken raises ValueError or a network error
            raise ConfigError(f"tiktoken encoding {name!r} is not available") from exc
        self.encoding = name

    def count(self, text: str) -> int:
        """The number of tokens in `text` (special-token strings count as plain text)."""
        return len(self._enc.encode_ordinary(text))

    def truncate(self, text: str, max_tokens: int) -> str:
        """Cut `text` to at most `max_tokens` tokens, on a character boundary: always a prefix of
        `text`. Chinese characters often take two or three byte-level tokens; a cut inside one
        steps back to the character before it (never a U+FFFD replacement character)."""
        ids = self._enc.encode_ordinary(text)
        if len(ids) <= max_tokens:
            return text
        for n in range(max(0, max_tokens), max(0, max_tokens - 4), -1):
            out = self._enc.decode(ids[:n])
            if not out.endswith("\ufffd") or text.startswith(out):
                return out
        return ""


@lru_cache(maxsize=1)
def default_counter() -> TokenCounter:
    """A process-wide counter (the encoding tables are large and immutable: share them)."""
    return TokenCounter()
