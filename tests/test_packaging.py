"""The public API, the editable install, the bundled tokenizer and the licence (the built
artifacts themselves: tests/test_wheel.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

import alliance_monitor


def test_public_api_is_sorted_and_complete() -> None:
    names = alliance_monitor.__all__
    assert len(names) == len(set(names))  # ruff (RUF022) keeps it sorted
    for n in names:
        assert hasattr(alliance_monitor, n), n
    public = {n for n in dir(alliance_monitor) if not n.startswith("_")}
    modules = {
        "cli",
        "scoring",
        "store",
        "testing",
        "alerts",
        "adapters",
        "prompts",
        "study",
        "evaluate",
        "metrics",
        "asgi",
    }
    assert public - set(names) - modules == set()


def test_editable_install_finds_adapters_and_prompts() -> None:
    import alliance_monitor.adapters
    import alliance_monitor.prompts

    assert alliance_monitor.adapters.__file__ and alliance_monitor.prompts.__file__


def test_readme_starts_with_the_two_commands_and_ci_runs_the_second() -> None:
    readme = (REPO / "README.md").read_text()
    head = readme[: readme.index("---")]
    assert "bash scripts/setup.sh && .venv/bin/alliance-monitor demo" in head
    assert "bash scripts/test.sh" in head
    ci = (REPO / ".ci" / "run").read_text()
    assert "scripts/test.sh" in ci


def test_the_bundled_tokenizer_is_cl100k_and_needs_no_network(tmp_path: Path) -> None:
    # An empty tiktoken cache and a dead proxy: a download attempt would fail.
    code = (
        "from alliance_monitor._tokens import TokenCounter;"
        "c = TokenCounter();"
        "print(c.encoding, c._enc.encode_ordinary('hello world'), c.count('I feel stuck.'))"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "TIKTOKEN_CACHE_DIR": str(tmp_path / "empty"),
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "HTTP_PROXY": "http://127.0.0.1:9",
    }
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, env=env
    ).stdout.split(maxsplit=1)
    assert out == ["cl100k_base", "[15339, 1917] 4\n"]  # OpenAI's ids for "hello world"
    assert not (tmp_path / "empty").exists() or not any((tmp_path / "empty").iterdir())


def test_a_damaged_tokenizer_table_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from alliance_monitor import ConfigError, _tokens

    _tokens._bundled_cl100k.cache_clear()
    monkeypatch.setattr(_tokens, "CL100K_SHA256", "0" * 64)
    try:
        with pytest.raises(ConfigError, match="published hash"):
            _tokens.TokenCounter()
    finally:
        _tokens._bundled_cl100k.cache_clear()


def test_licence_file_is_the_full_apache_text() -> None:
    text = (REPO / "LICENSE").read_text()
    assert text.strip().startswith("Apache License") and "END OF TERMS AND CONDITIONS" in text
    assert "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION" in text
