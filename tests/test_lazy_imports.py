"""What `import alliance_monitor` and `alliance-monitor analyze` load.

The package and its `study` and `evaluate` sub-packages resolve their public names on first use
(PEP 562), so `analyze` pays only for the records, the batch path and the embedded scorer. A
module-level import of the live monitor (or of httpx, structlog, the study...) from the analyze
path would quietly add its import time to every run; these tests name the module that crept in.
Timing itself is measured in benchmarks/core.py, not here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import alliance_monitor
import alliance_monitor.evaluate
import alliance_monitor.study

DEMO = Path(alliance_monitor.__file__).parent / "demo_data" / "demo.jsonl"

#: Never needed to analyze transcripts with the embedded scorer.
NOT_FOR_ANALYZE = {
    "alliance_monitor._monitor",
    "alliance_monitor._core",
    "alliance_monitor._safety",
    "alliance_monitor._durable",
    "alliance_monitor.store",
    "alliance_monitor.study._study",
    "alliance_monitor.evaluate._evaluate",
    "alliance_monitor.scoring._llm",
    "httpx",
    "structlog",
}


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport json, sys; print(json.dumps(sorted(sys.modules)))"],
        check=True,
        capture_output=True,
        text=True,
    )
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_importing_the_package_loads_no_records_yet() -> None:
    loaded = _modules_after("import alliance_monitor")
    assert "pydantic" not in loaded
    # Only the few lines that import the rest on first use.
    assert {m for m in loaded if m.startswith("alliance_monitor.")} <= {"alliance_monitor._lazy"}


def test_analyze_loads_only_the_batch_path(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    loaded = _modules_after(
        "from alliance_monitor.cli import main\n"
        f"assert main(['analyze', {str(DEMO)!r}, '--output', {str(out)!r}]) == 0"
    )
    assert out.read_text(encoding="utf-8").count("\n") == DEMO.read_text(encoding="utf-8").count(
        "\n"
    )
    assert "alliance_monitor.scoring._embedded" in loaded  # it did score
    assert NOT_FOR_ANALYZE & loaded == set()


@pytest.mark.parametrize(
    "package", [alliance_monitor, alliance_monitor.study, alliance_monitor.evaluate]
)
def test_lazy_names_resolve_and_unknown_names_fail(package: object) -> None:
    names: list[str] = package.__all__  # type: ignore[attr-defined]
    assert set(names) <= set(dir(package))
    for name in names:
        assert getattr(package, name) is not None
    with pytest.raises(AttributeError, match="no_such_name"):
        package.no_such_name  # type: ignore[attr-defined]  # noqa: B018


@pytest.mark.parametrize(
    "package", [alliance_monitor, alliance_monitor.study, alliance_monitor.evaluate]
)
def test_public_names_are_written_once(package: object) -> None:
    """Each public name is written once, as an import of the package's TYPE_CHECKING block
    (what type checkers read); the lazy map and `__all__` derive from it: no second list to
    fall out of step."""
    import ast

    from alliance_monitor._lazy import public_table

    source = Path(package.__file__).read_text(encoding="utf-8")  # type: ignore[attr-defined]
    assigned = {
        t.id
        for node in ast.parse(source).body
        if isinstance(node, ast.Assign | ast.AnnAssign)
        for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
        if isinstance(t, ast.Name)
    }
    assert not assigned & {"__all__", "_LAZY"}
    table = public_table(source)
    assert set(table) <= set(package.__all__)  # type: ignore[attr-defined]
    exec("from alliance_monitor import *", {})  # star-import reads the derived __all__


def test_the_safety_patterns_load_when_a_monitor_starts_not_on_import() -> None:
    # Compiling the safety scan's patterns takes about a second: importing the monitor must not
    # pay it; entering one loads them (in a worker thread), before its first message.
    loaded = _modules_after("from alliance_monitor import Monitor, MonitorCore")
    assert "alliance_monitor._monitor" in loaded
    assert "alliance_monitor._safety" not in loaded
    loaded = _modules_after(
        "import anyio\nfrom alliance_monitor import Monitor\n"
        "async def main():\n"
        "    async with Monitor(idle_check_interval=None):\n"
        "        pass\n"
        "anyio.run(main)"
    )
    assert "alliance_monitor._safety" in loaded
