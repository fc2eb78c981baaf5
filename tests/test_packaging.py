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
    modules = {"cli", "scoring", "store", "testing", "alerts", "adapters", "prompts", "study"}
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
    assert not any(n.startswith(("adapters/", "prompts/", "tests/")) for n in names)
    # Import from the unpacked wheel (dependencies come from this environment): the path-based
    # finder sees the wheel's files before the editable install's finder.
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    code = (
        "import alliance_monitor, alliance_monitor.adapters, alliance_monitor.prompts;"
        "import importlib.resources as r;"
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


def test_readme_starts_with_the_two_commands_and_ci_runs_the_second() -> None:
    readme = (REPO / "README.md").read_text()
    head = readme[: readme.index("---")]
    assert "bash scripts/setup.sh && .venv/bin/alliance-monitor demo" in head
    assert "bash scripts/test.sh" in head
    ci = (REPO / ".ci" / "run").read_text()
    assert "scripts/test.sh" in ci
