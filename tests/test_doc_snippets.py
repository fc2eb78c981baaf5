"""Every Python block in README.md and docs/*.md runs as written, so the docs cannot rot.

A block runs as a whole program in a fresh interpreter, in an empty folder that holds a
`transcripts.jsonl` (six AnnoMI conversations) for the study example; blocks use the in-memory
store and, for alerts, a local receiver (`LoopbackReceiver`); nothing reaches the internet. A
block that is a fragment on purpose (it needs a platform secret, a Redis server, or is the body
of someone else's handler) says so on the line before its fence:

    <!-- fragment: needs a Slack app's signing secret -->

and is still compiled (top-level `await` allowed), so it cannot carry a syntax error either.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import ANNOMI_SAMPLE, REPO

DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
FENCE = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
FRAGMENT = re.compile(r"<!--\s*fragment:\s*(.+?)\s*-->\s*\n$")


@dataclass(frozen=True)
class Block:
    path: Path
    line: int
    code: str
    fragment: str | None

    @property
    def id(self) -> str:
        return f"{self.path.relative_to(REPO)}:{self.line}"


def blocks() -> list[Block]:
    out = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for m in FENCE.finditer(text):
            before = text[: m.start()]
            marker = FRAGMENT.search(before[-300:])
            out.append(
                Block(path, before.count("\n") + 1, m.group(1), marker.group(1) if marker else None)
            )
    return out


ALL = blocks()
RUNNABLE = [b for b in ALL if b.fragment is None]


def test_the_readme_embedding_example_is_among_the_runnable_blocks() -> None:
    readme = [b for b in RUNNABLE if b.path.name == "README.md"]
    assert any("Monitor()" in b.code and "anyio.run(main)" in b.code for b in readme)
    assert len(RUNNABLE) >= 8, [b.id for b in RUNNABLE]


@pytest.mark.parametrize("block", ALL, ids=[b.id for b in ALL])
def test_block_compiles(block: Block) -> None:
    flags = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT if block.fragment else 0
    compile(block.code, block.id, "exec", flags=flags)


@pytest.mark.parametrize("block", RUNNABLE, ids=[b.id for b in RUNNABLE])
def test_block_runs(block: Block, tmp_path: Path) -> None:
    shutil.copy(ANNOMI_SAMPLE, tmp_path / "transcripts.jsonl")
    script = tmp_path / "snippet.py"
    script.write_text(block.code, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ALLIANCE_"))}
    # Any attempt to reach beyond loopback fails fast instead of waiting on the network.
    env.update(
        HTTP_PROXY="http://127.0.0.1:9",
        HTTPS_PROXY="http://127.0.0.1:9",
        NO_PROXY="127.0.0.1,localhost",
    )
    res = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        text=True,
        capture_output=True,
        timeout=180,
        check=False,
    )
    assert res.returncode == 0, (
        f"{block.id} failed (mark it `<!-- fragment: why -->` if it is not meant to run):\n"
        + res.stderr[-3000:]
    )
