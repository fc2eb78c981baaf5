"""Guards on the package's shape: no import cycles, no private imports across packages, and
`adapters/` built on the public API only. A new cycle or reach into another package's private
module fails here, with the offending edge named.

Imports are read from the source (every `import`, at module level or inside functions, except
under `if TYPE_CHECKING:`), so an import hidden in a function to dodge a cycle still counts.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {
    "alliance_monitor": ROOT / "alliance_monitor",
    "alliance_monitor.adapters": ROOT / "adapters",
}


def _modules() -> dict[str, Path]:
    out: dict[str, Path] = {}
    for pkg, base in PACKAGES.items():
        for f in base.rglob("*.py"):
            parts = list(f.relative_to(base).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join([pkg, *parts])] = f
    return out


MODULES = _modules()


def _imports(mod: str, path: Path) -> set[tuple[str, str]]:
    """(imported module, name imported from it or "") for every import in `mod`."""
    is_pkg = path.name == "__init__.py"
    found: set[tuple[str, str]] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            if isinstance(child, ast.ImportFrom):
                if child.level:
                    base = mod.split(".") if is_pkg else mod.split(".")[:-1]
                    base = base[: len(base) - (child.level - 1)]
                    target = ".".join(base + ([child.module] if child.module else []))
                else:
                    target = child.module or ""
                for alias in child.names:
                    sub = f"{target}.{alias.name}"
                    found.add((sub, "") if sub in MODULES else (target, alias.name))
            elif isinstance(child, ast.Import):
                found.update((a.name, "") for a in child.names)
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return {
        (
            m.replace("adapters", "alliance_monitor.adapters", 1)
            if m.split(".")[0] == "adapters"
            else m,
            n,
        )
        for m, n in found
    }


GRAPH = {mod: _imports(mod, path) for mod, path in MODULES.items()}


def _package(mod: str) -> str:
    return mod if MODULES[mod].name == "__init__.py" else mod.rsplit(".", 1)[0]


def test_no_import_cycles() -> None:
    edges = {m: {d for d, _ in deps if d in MODULES and d != m} for m, deps in GRAPH.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in edges[v]:
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in edges:
        if v not in index:
            strong(v)
    assert cycles == []


def test_no_private_imports_across_packages() -> None:
    """A sub-package (scoring, store, study, alerts, evaluate, adapters) may use its own private
    modules and the top-level package's, never another sub-package's private modules: those
    go through the other package's `__init__`. The top-level modules compose the sub-packages
    and may reach into them."""
    bad = []
    for mod, deps in GRAPH.items():
        home = _package(mod)
        if home == "alliance_monitor":
            continue
        for dep, _name in deps:
            if dep not in MODULES or dep.rsplit(".", 1)[-1][:1] != "_":
                continue
            owner = _package(dep)
            if owner != home and owner != "alliance_monitor" and not home.startswith(owner + "."):
                bad.append(f"{mod} -> {dep}")
    assert bad == []


def test_adapters_use_only_the_public_api() -> None:
    bad = []
    for mod, deps in GRAPH.items():
        if not mod.startswith("alliance_monitor.adapters"):
            continue
        for dep, name in deps:
            inside = dep.startswith("alliance_monitor.adapters")
            if dep.startswith("alliance_monitor") and not inside:
                private = any(p.startswith("_") for p in dep.split(".")) or name.startswith("_")
                if private:
                    bad.append(f"{mod} -> {dep}{'.' + name if name else ''}")
    assert bad == []


def test_adapters_from_a_checkout_root_are_the_installed_adapters() -> None:
    code = (
        "import adapters, adapters.http, alliance_monitor.adapters as real, "
        "alliance_monitor.adapters.http as http\n"
        "assert adapters.RoleMap is real.RoleMap\n"
        "assert adapters.http.HttpAdapter is http.HttpAdapter\n"
        "assert http.__spec__.name == 'alliance_monitor.adapters.http'\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def test_every_error_is_in_the_one_tree_and_exported() -> None:
    import alliance_monitor
    from alliance_monitor import _errors
    from alliance_monitor.alerts import WebhookVerificationError
    from alliance_monitor.evaluate import EvaluationError

    names = [n for n in _errors.__all__ if n != "RejectReason"]
    for name in names:
        cls = getattr(_errors, name)
        assert issubclass(cls, alliance_monitor.AllianceMonitorError), name
        assert name in alliance_monitor.__all__, name
    for cls in (WebhookVerificationError, EvaluationError):
        assert issubclass(cls, alliance_monitor.AllianceMonitorError)
    # Callers that caught ValueError from constructors and JSON readers still do.
    assert issubclass(alliance_monitor.ConfigError, ValueError)
    assert issubclass(alliance_monitor.JSONRejected, ValueError)
    from alliance_monitor.adapters.matrix import MatrixLoginError
    from alliance_monitor.scoring._prompts import PromptTooLarge
    from alliance_monitor.store._redis import StoreFenced

    assert MatrixLoginError is alliance_monitor.MatrixLoginError
    assert PromptTooLarge is alliance_monitor.PromptTooLarge
    assert StoreFenced is alliance_monitor.StoreFenced


def test_the_durable_part_drives_neither_the_scheduler_nor_the_fanout() -> None:
    """`Durable` returns what it loaded and dropped; the monitor turns that into scheduler
    work and fan-out posts. It never reaches them itself."""
    deps = {d for d, _ in GRAPH["alliance_monitor._durable"]}
    assert not deps & {"alliance_monitor._scheduler", "alliance_monitor._fanout"}
    assert "alliance_monitor._monitor" not in deps
