"""Every Python and shell block in README.md and docs/*.md runs as written, so the docs cannot
rot, and runs on a fresh clone: only what the package bundles, never ../shared.

A Python block runs as a whole program in a fresh interpreter, in an empty folder that holds a
`transcripts.jsonl` (the bundled sample, as `alliance-monitor sample -o transcripts.jsonl` writes
it) for the study and evaluate examples; blocks use the in-memory store and, for alerts, a local
receiver (`LoopbackReceiver`); nothing reaches the internet. A shell block (bash, sh, console)
runs its `alliance-monitor` commands one after the other in an empty folder (a console block's
output lines, after a `$` line, are not run); a shell block with any other command must be a
fragment. A block that is a fragment on purpose (it needs a platform secret, a Redis server, an
LLM, is the body of someone else's handler, or shows a command with placeholders) says so on the
line before its fence:

    <!-- fragment: needs a Slack app's signing secret -->

and a Python fragment is still compiled (top-level `await` allowed), so it cannot carry a syntax
error either.
"""

from __future__ import annotations

import ast
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import REPO

DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
FENCE = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
SHELL_FENCE = re.compile(r"^```(?:bash|sh|console)\n(.*?)^```", re.S | re.M)
SAMPLE = REPO / "alliance_monitor" / "demo_data" / "sample.jsonl"
CLI = Path(sys.executable).parent / "alliance-monitor"
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


def blocks(fence: re.Pattern[str] = FENCE) -> list[Block]:
    out = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for m in fence.finditer(text):
            before = text[: m.start()]
            marker = FRAGMENT.search(before[-300:])
            out.append(
                Block(path, before.count("\n") + 1, m.group(1), marker.group(1) if marker else None)
            )
    return out


ALL = blocks()
RUNNABLE = [b for b in ALL if b.fragment is None]
SHELL = [b for b in blocks(SHELL_FENCE) if b.fragment is None]


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
    shutil.copy(SAMPLE, tmp_path / "transcripts.jsonl")
    script = tmp_path / "snippet.py"
    script.write_text(block.code, encoding="utf-8")
    res = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=_env(),
        text=True,
        capture_output=True,
        timeout=180,
        check=False,
    )
    assert res.returncode == 0, (
        f"{block.id} failed (mark it `<!-- fragment: why -->` if it is not meant to run):\n"
        + res.stderr[-3000:]
    )


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ALLIANCE_"))}
    # Any attempt to reach beyond loopback fails fast instead of waiting on the network.
    env.update(
        HTTP_PROXY="http://127.0.0.1:9",
        HTTPS_PROXY="http://127.0.0.1:9",
        NO_PROXY="127.0.0.1,localhost",
    )
    return env


def commands(block: Block) -> list[list[str]]:
    """The commands of a shell block, each as argv (continuations joined, comments and console
    output dropped, `a && b` split); only `alliance-monitor` may appear."""
    console = "\n$ " in "\n" + block.code
    out: list[list[str]] = []
    for line in block.code.replace("\\\n", " ").splitlines():
        if console:
            if not line.startswith("$ "):
                continue  # output shown in the docs
            line = line[2:]
        for part in line.split("&&"):
            argv = shlex.split(part, comments=True)
            if not argv:
                continue
            if argv[0] in ("time",):
                argv = argv[1:]
            assert argv[0] in ("alliance-monitor", ".venv/bin/alliance-monitor"), (
                f"{block.id}: `{part.strip()}` is not an alliance-monitor command; mark the block "
                "`<!-- fragment: why -->` if it is not meant to run"
            )
            out.append([str(CLI), *argv[1:]])
    return out


def test_shell_blocks_are_found() -> None:
    assert len(SHELL) >= 4, [b.id for b in SHELL]
    assert any("alliance-monitor sample" in b.code for b in SHELL if b.path.name == "README.md")


@pytest.mark.parametrize("block", SHELL, ids=[b.id for b in SHELL])
def test_shell_block_runs_on_a_fresh_clone(block: Block, tmp_path: Path) -> None:
    for argv in commands(block):
        res = subprocess.run(
            argv, cwd=tmp_path, env=_env(), text=True, capture_output=True, timeout=300, check=False
        )
        assert res.returncode == 0, (
            f"{block.id}: `{' '.join(argv[1:])}` exited {res.returncode} (mark the block "
            "`<!-- fragment: why -->` if it is not meant to run):\n" + res.stderr[-3000:]
        )
