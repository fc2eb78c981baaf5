"""Long `analyze` and `study` runs show progress on stderr when it is a terminal, and only then
(a pipe or a log file gets no carriage-return noise)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ANNOMI_SAMPLE


def run(args: list[str], tmp_path: Path, *, tty: bool) -> str:
    cmd = [sys.executable, "-m", "alliance_monitor.cli", *args]
    if not tty:
        res = subprocess.run(
            cmd, cwd=tmp_path, capture_output=True, text=True, timeout=180, check=True
        )
        return res.stderr
    main_fd, sub_fd = os.openpty()
    try:
        proc = subprocess.run(
            cmd, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=sub_fd, timeout=180, check=True
        )
        assert proc.returncode == 0
        os.close(sub_fd)
        chunks = []
        while True:
            try:
                data = os.read(main_fd, 65536)
            except OSError:  # the terminal's other end is closed: all read
                break
            if not data:
                break
            chunks.append(data)
        return b"".join(chunks).decode()
    finally:
        os.close(main_fd)


@pytest.mark.parametrize(("args", "label"), [
    (["analyze", str(ANNOMI_SAMPLE), "-o", "out.jsonl"], "analyze: "),
    (["study", str(ANNOMI_SAMPLE), "--out", "study", "--no-replay", "--concurrency", "1"],
     "study: transcripts scored: "),
])  # fmt: skip
def test_progress_only_on_a_terminal(args: list[str], label: str, tmp_path: Path) -> None:
    on_tty = run(args, tmp_path, tty=True)
    assert f"\r{label}" in on_tty, on_tty
    piped = run(args, tmp_path, tty=False)
    assert "\r" not in piped and label.strip() not in piped.replace("study: 6 pair", "")
