"""What users install is what is tested: the sdist and the wheel, built from a clean copy of
the tree, installed into a new virtual environment outside it, and every command run from there.

The rest of the suite runs on the editable install, which finds modules in the source tree
whether or not the wheel carries them; this module is the one place that would notice a
sub-package or a data file left out of the artifact. The build runs without isolation (the
`dev` group holds setuptools, wheel and build) and the install reuses pip's cache, so only
PyPI's index is asked, as `scripts/setup.sh` does; about 15 s in all on a warm cache.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import REPO

pytestmark = pytest.mark.slow

#: Package name -> its folder in the repository (setup.py maps the same way).
ROOTS = {"alliance_monitor": "alliance_monitor", "adapters": "adapters", "prompts": "prompts"}
#: Not part of a clean copy when the tree is not a git checkout (an unpacked sdist).
UNTRACKED = (".venv", ".git", "build", "dist", "*.egg-info", "__pycache__", "*_cache", "*.db*")
SAMPLE = REPO / "alliance_monitor" / "demo_data" / "sample.jsonl"


def _tracked(repo: Path) -> list[str]:
    """The tree's files as a fresh clone would hold them, plus uncommitted work (not ignored)."""
    if shutil.which("git") is None or not (repo / ".git").exists():
        return []
    out = subprocess.run(
        ["git", "-C", str(repo), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        check=True,
        capture_output=True,
    ).stdout.decode()
    return [f for f in out.split("\0") if f and (repo / f).is_file()]


def _clean_copy(dest: Path) -> list[str]:
    files = _tracked(REPO)
    if not files:
        shutil.copytree(REPO, dest, ignore=shutil.ignore_patterns(*UNTRACKED))
        return sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file())
    for f in files:
        (dest / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / f, dest / f)
    return sorted(files)


def _quiet_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONDONTWRITEBYTECODE", "PYTHONHOME")
        and not k.startswith(("OPENAI_", "ALLIANCE_MONITOR_"))
    }
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env.update(extra)
    return env


#: For the installed commands: anything beyond loopback fails fast instead of reaching out.
NO_NETWORK = {
    "HTTP_PROXY": "http://127.0.0.1:9",
    "HTTPS_PROXY": "http://127.0.0.1:9",
    "NO_PROXY": "127.0.0.1,localhost",
}


@dataclass(frozen=True)
class Installed:
    files: list[str]  # the clean copy's files, relative
    build_log: str
    sdist: Path
    wheel: Path
    venv: Path
    work: Path  # an empty folder outside the source tree: every command runs here

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    def run(
        self, *args: str, check: bool = True, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        res = subprocess.run(
            [str(self.venv / "bin" / "alliance-monitor"), *args],
            cwd=self.work,
            env=_quiet_env(**NO_NETWORK, **(env or {})),
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
        if check:
            assert res.returncode == 0, (args, res.returncode, res.stderr[-3000:])
        return res

    def pip_install(self, *what: str) -> None:
        subprocess.run(
            [sys.executable, "-m", "pip", "--python", str(self.python), "install", *what],
            check=True,
            capture_output=True,
            env=_quiet_env(PIP_PROGRESS_BAR="off"),
            timeout=600,
        )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    root = tmp_path_factory.mktemp("artifact")
    src = root / "clean"
    files = _clean_copy(src)
    # sdist first, then the wheel built from the unpacked sdist: the sdist must be complete.
    build = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(root / "dist"), str(src)],
        capture_output=True,
        text=True,
        env=_quiet_env(),
        timeout=600,
        check=False,
    )
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    (sdist,) = (root / "dist").glob("alliance_monitor-*.tar.gz")
    (wheel,) = (root / "dist").glob("alliance_monitor-*.whl")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    work = root / "work"
    work.mkdir()
    inst = Installed(files, build.stdout + build.stderr, sdist, wheel, venv, work)
    inst.pip_install(str(wheel))  # no extras: `serve` is checked with and without its extra
    # The bundled sample, as a user gets it: the commands below read it.
    inst.run("sample", "-o", "sample.jsonl")
    yield inst


# ---------------------------------------------------------------------- the artifacts


def test_packages_are_discovered_and_the_build_warns_about_nothing(installed: Installed) -> None:
    warnings = [line for line in installed.build_log.splitlines() if "warn" in line.lower()]
    assert warnings == []
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    # Every file under the three package roots is in the wheel, at its installed place.
    for f in installed.files:
        top, _, rest = f.partition("/")
        if top in ROOTS and rest:
            where = "alliance_monitor/" + (rest if top == "alliance_monitor" else f)
            assert where in names, f"{f} is missing from the wheel (as {where})"
    assert not any(n.startswith(("adapters/", "prompts/", "tests/")) for n in names)
    assert not any("__pycache__" in n or n.endswith((".pyc", ".db")) for n in names)


def test_wheel_metadata(installed: Installed) -> None:
    z = zipfile.ZipFile(installed.wheel)
    info = next(n.split("/")[0] for n in z.namelist() if n.endswith(".dist-info/METADATA"))
    licence = z.read(f"{info}/licenses/LICENSE").decode()
    assert "Apache License" in licence and "Version 2.0, January 2004" in licence
    meta = z.read(f"{info}/METADATA").decode()
    assert "License-Expression: Apache-2.0" in meta
    assert "Classifier: Typing :: Typed" in meta
    assert "Requires-Dist: h11>=0.16" in meta
    # Development tools are a dependency group, never a public extra.
    assert "Provides-Extra: dev" not in meta and "Requires-Dist: pytest" not in meta
    assert "Provides-Extra: serve" in meta


def test_the_sdist_carries_docs_examples_and_tests(installed: Installed) -> None:
    with tarfile.open(installed.sdist) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    for f in installed.files:
        if f.split("/")[0] in (*ROOTS.values(), "docs", "examples", "tests", "benchmarks"):
            assert f in names, f"{f} is missing from the sdist"
    for f in ("README.md", "CHANGELOG.md", "ARCHITECTURE.md", "LICENSE", "pyproject.toml"):
        assert f in names
    assert any(n.startswith("docs/") and n.endswith(".md") for n in names)
    assert "examples/fastapi_backend.py" in names


def test_the_package_imports_from_the_venv_not_the_tree(installed: Installed) -> None:
    # The embedded scorer's learned weights and the bundled tokenizer load from the wheel,
    # with the network cut off.
    code = (
        "import socket\n"
        "def _no_network(*a, **k):\n"
        "    raise OSError('network used')\n"
        "socket.socket.connect = _no_network\n"
        "socket.create_connection = _no_network\n"
        "import importlib.resources as r\n"
        "import alliance_monitor, alliance_monitor.adapters, alliance_monitor.prompts\n"
        "from alliance_monitor import Role, ScoringMessage, WindowRequest\n"
        "from alliance_monitor._tokens import TokenCounter\n"
        "from alliance_monitor.scoring import EmbeddedScorer\n"
        "print(alliance_monitor.__file__)\n"
        "print(TokenCounter().count('hello world'))\n"
        "print(sorted(p.name for p in r.files('alliance_monitor.prompts').iterdir()"
        " if p.name.endswith('.md'))[0])\n"
        "msgs = (ScoringMessage('a', Role.CLIENT, 'I feel so alone since she left.', 0.0),\n"
        "        ScoringMessage('b', Role.COUNSELOR, 'That sounds really lonely.', 1.0))\n"
        "print(EmbeddedScorer().score_sync(WindowRequest('c', 0, msgs, 1)).language)\n"
        "from alliance_monitor._schemas import SCHEMA_NAMES, load_schema\n"
        "print(sorted(load_schema(n)['$id'] for n in SCHEMA_NAMES)[0])\n"
    )
    out = subprocess.run(
        [str(installed.python), "-c", code],
        cwd=installed.work,
        env=_quiet_env(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert out[0].startswith(str(installed.venv)), out
    assert out[1:] == ["2", "alliance_rating.v1.md", "en", "urn:alliance-monitor:schema:alert:v1"]


# ---------------------------------------------------------------------- every command


def _same_as_source_tree(args: list[str], cwd: Path) -> str:
    """The output of the same command from the source tree's editable install."""
    return subprocess.run(
        [sys.executable, "-m", "alliance_monitor.cli", *args],
        cwd=cwd,
        env=_quiet_env(**NO_NETWORK),
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_version(installed: Installed) -> None:
    import alliance_monitor

    assert (
        installed.run("--version").stdout.strip()
        == f"alliance-monitor {alliance_monitor.__version__}"
    )


def test_demo(installed: Installed) -> None:
    text = installed.run("demo").stdout
    assert text.startswith("alliance-monitor demo: 5 counselor-client conversations")
    for pair in ("demo-declining", "demo-holding"):
        assert f"Pair {pair} (" in text
    events = [json.loads(line) for line in installed.run("demo", "--json").stdout.splitlines()]
    safety = [e for e in events if e["type"] == "safety_signal"]
    assert [e["conversation_id"] for e in safety] == ["demo-declining"]
    assert {e["conversation_id"] for e in events if e["type"] == "session_summary"} >= {
        "demo-declining",
        "demo-holding",
    }


def _sample() -> list[dict[str, Any]]:
    return [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines()]


def test_sample(installed: Installed) -> None:
    assert (installed.work / "sample.jsonl").read_bytes() == SAMPLE.read_bytes()
    assert installed.run("sample").stdout.encode() == SAMPLE.read_bytes()


def test_analyze(installed: Installed) -> None:
    res = installed.run("analyze", "sample.jsonl", "-o", "out.jsonl", "--strict")
    n_msgs = sum(len(c["messages"]) for c in _sample())
    assert f"analyzed {len(_sample())} conversation(s), {n_msgs} message(s)" in res.stderr
    rows = [json.loads(line) for line in (installed.work / "out.jsonl").read_text().splitlines()]
    ids = [c["conversation_id"] for c in _sample()]
    assert [r["conversation_id"] for r in rows] == ids
    for r in rows:
        assert all(1.0 <= v <= 5.0 for v in r["alliance"].values()), r["alliance"]
        assert r["trajectory"] in ("improved", "declined", "unchanged", "insufficient_evidence")
    # Same code, same learned weights: byte for byte what the source tree writes.
    _same_as_source_tree(["analyze", "sample.jsonl", "-o", "tree.jsonl"], installed.work)
    assert (installed.work / "tree.jsonl").read_text() == (installed.work / "out.jsonl").read_text()


def test_replay(installed: Installed) -> None:
    res = installed.run("replay", "sample.jsonl", "--json")
    events = [json.loads(line) for line in res.stdout.splitlines()]
    summaries = [e for e in events if e["type"] == "session_summary"]
    assert len(summaries) == len(_sample())
    n_msgs = sum(len(c["messages"]) for c in _sample())
    assert f"replayed {n_msgs} message(s): {n_msgs} accepted" in res.stderr
    safety = {e["conversation_id"] for e in events if e["type"] == "safety_signal"}
    assert safety == {"sample-safety-check"}
    assert res.stdout == _same_as_source_tree(["replay", "sample.jsonl", "--json"], installed.work)
    text = installed.run("replay", "sample.jsonl", "--events", "session_summary").stdout
    assert text.count(" SESSION 0 ended ") == len(_sample())


def test_study(installed: Installed) -> None:
    res = installed.run("study", "sample.jsonl", "--out", "study", "--concurrency", "1")
    n = len(_sample())
    assert f"study: {n} pair(s)" in res.stderr
    summary = json.loads((installed.work / "study" / "summary.json").read_text())
    assert summary["study"]["transcripts"] == n and len(summary["pairs"]) == n
    html = (installed.work / "study" / "report.html").read_text()
    assert html.startswith("<!doctype html>")
    assert "sample-career-push" in html
    assert (installed.work / "study" / "summary.md").read_text().strip()


def test_evaluate(installed: Installed) -> None:
    figures = json.loads(installed.run("evaluate", "sample.jsonl", "--json").stdout)
    assert figures["conversations"] == len(_sample()) and figures["scorer"] == "embedded"
    assert {(r["level"], r["label"]) for r in figures["results"]} >= {
        ("message", "passive"),
        ("message", "directive"),
        ("session", "overall"),
        ("phase", "overall"),
    }
    aucs = [
        r["metrics"]["auc"]["scorer"]["value"]
        for r in figures["results"]
        if r["kind"] == "binary" and "auc" in r["metrics"]
    ]
    assert aucs and all(0.0 <= a <= 1.0 for a in aucs)
    text = installed.run("evaluate", "sample.jsonl").stdout
    assert "AUC" in text


def test_worker_needs_its_extra_and_says_so(installed: Installed) -> None:
    assert "--redis" in installed.run("worker", "--help").stdout
    res = installed.run("worker", "--redis", "redis://127.0.0.1:9/0", "--stream", "s", check=False)
    assert res.returncode == 2, res.stderr
    assert "pip install 'alliance-monitor[redis]'" in res.stderr


def test_serve_runs_from_the_wheel(installed: Installed) -> None:
    # serve has its own HTTP/1.1 listener (h11, a dependency): it runs from the base install;
    # the `serve` extra still installs (kept for deployments that name it).
    assert "--config" in installed.run("serve", "--help").stdout
    installed.pip_install(f"{installed.wheel}[serve]")
    assert "--config" in installed.run("serve", "--help").stdout
    config = installed.work / "serve.toml"
    config.write_text(
        '[server]\nhost = "127.0.0.1"\nport = 0\n\n[scorer]\nkind = "embedded"\n\n'
        '[[adapters]]\ntype = "http"\npath = "/hooks/messages"\nsecrets_env = ["HOOK_SECRET"]\n'
    )
    secret = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    from alliance_monitor.alerts import sign_webhook

    env = _quiet_env(**NO_NETWORK, HOOK_SECRET=secret)
    proc = subprocess.Popen(
        [str(installed.venv / "bin" / "alliance-monitor"), "serve", "--config", "serve.toml"],
        cwd=installed.work,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        base = None
        deadline = time.monotonic() + 60
        seen = []
        while base is None and time.monotonic() < deadline:
            line = proc.stderr.readline()
            if not line:
                break
            seen.append(line)
            if "listening on " in line:
                base = line.split("listening on ", 1)[1].strip()
        assert base is not None, "".join(seen)
        assert httpx.get(base + "/healthz", timeout=10).status_code == 200
        body = json.dumps(
            {"conversation_id": "w-1", "id": "m-1", "role": "client", "text": "hi", "ts": 1.0}
        ).encode()
        ts = int(time.time())
        r = httpx.post(
            base + "/hooks/messages",
            content=body,
            headers={
                "content-type": "application/json",
                "webhook-id": "msg_1",
                "webhook-timestamp": str(ts),
                "webhook-signature": sign_webhook([secret], "msg_1", ts, body),
            },
            timeout=10,
        )
        assert r.status_code in (200, 202, 204), (r.status_code, r.text)
    finally:
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=60)
        if proc.stderr is not None:
            proc.stderr.close()
    assert rc == 0
