"""Long setup steps show progress on stderr (scripts/_progress.sh, used by setup.sh and the
LLM server build): a line every PROGRESS_EVERY seconds with the time so far and the latest step."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from conftest import REPO

STEPS = "echo 'Collecting foo'; sleep 2.5; echo '[ 42%] Building C object ggml.c.o'; sleep 2.5"


def run(tmp_path: Path, command: str) -> subprocess.CompletedProcess[str]:
    script = (
        f"source {REPO / 'scripts' / '_progress.sh'}; "
        f'run_with_progress demo {tmp_path / "step.log"} bash -c "{command}"'
    )
    return subprocess.run(
        ["bash", "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "PROGRESS_EVERY": "2"},
        check=False,
    )


def test_periodic_lines_name_the_latest_step(tmp_path: Path) -> None:
    res = run(tmp_path, STEPS)
    assert res.returncode == 0 and res.stdout == ""
    lines = res.stderr.splitlines()
    assert len(lines) >= 2, res.stderr
    assert all(re.fullmatch(r"\[demo\] 0m0\ds so far( - .+)?", line) for line in lines), lines
    assert "Collecting foo" in lines[0]
    assert "[ 42%] Building C object" in lines[-1]


def test_failure_keeps_the_exit_code_and_shows_the_log(tmp_path: Path) -> None:
    res = run(tmp_path, "echo 'error: compiler exploded'; exit 7")
    assert res.returncode == 7
    assert "[demo] failed (exit 7)" in res.stderr and "compiler exploded" in res.stderr


def test_setup_scripts_use_it() -> None:
    for name in ("setup.sh", "start-llm-server.sh"):
        text = (REPO / "scripts" / name).read_text()
        assert "source" in text and "run_with_progress" in text, name
