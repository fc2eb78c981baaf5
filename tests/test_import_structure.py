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


# ---------------------------------------------------------------------- one place per concept
_EVENTS_MODULE = "alliance_monitor._events"


def _event_names() -> tuple[set[str], set[str], set[str]]:
    from alliance_monitor._events import EVENT_CLASSES, EventType

    values = {t.value for t in EventType}
    members = {t.name for t in EventType}
    classes = {c.__name__ for c in EVENT_CLASSES.values()}
    return values, members, classes


def _is_type(node: ast.AST, values: set[str], members: set[str]) -> bool:
    if isinstance(node, ast.Constant):
        return node.value in values
    return (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "EventType"
        and node.attr in members
    )


def _declarations(
    tree: ast.AST, values: set[str], members: set[str], classes: set[str]
) -> list[str]:
    """Places where a module says something per event type: a table keyed by event types, a
    comparison against an event type, an event class or enum of its own, a function that
    dispatches on three or more event classes."""
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict) and node.keys:
            if all(k is not None and _is_type(k, values, members) for k in node.keys):
                found.append(f"line {node.lineno}: a table keyed by event types")
        elif isinstance(node, ast.Compare):
            parts = [node.left, *node.comparators]
            for p in parts:
                elts = p.elts if isinstance(p, ast.Tuple | ast.Set | ast.List) else [p]
                if any(_is_type(e, values, members) for e in elts):
                    found.append(f"line {node.lineno}: a comparison with an event type")
                    break
        elif isinstance(node, ast.ClassDef) and (
            node.name in classes or node.name in {"EventType", "EndReason"}
        ):
            found.append(f"line {node.lineno}: class {node.name}")
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            checked = {
                n.id
                for call in ast.walk(node)
                if isinstance(call, ast.Call)
                and isinstance(call.func, ast.Name)
                and call.func.id == "isinstance"
                and len(call.args) == 2
                for n in ast.walk(call.args[1])
                if isinstance(n, ast.Name) and n.id in classes
            }
            if len(checked) >= 3:
                found.append(f"{node.name}: dispatches on {sorted(checked)}")
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            target = node.targets[0] if isinstance(node, ast.Assign) else node.target
            value = node.value
            if (isinstance(target, ast.Name) and target.id == "EndReason") or (
                isinstance(value, ast.Subscript)
                and "new_session" in ast.unparse(value)
                and "shutdown" in ast.unparse(value)
            ):
                found.append(f"line {node.lineno}: EndReason")
    return found


#: Consumers that tell a story across several event types, each line written for a person;
#: a new type is absent from the story (not from `--all`/`--json`) until a line is written.
_STORIES = {"alliance_monitor._demo": "_group"}


def test_every_event_type_is_declared_in_one_place_only() -> None:
    """An event type is declared once, in `_events.py`: its class, its `EventKind` (severity,
    alerting, title, action, board marker) and how it renders (alert data and schema, headline,
    facts, the command line, the board). Everything else reads the declaration, so a new rule
    is its pure function plus its class. Fails on a second declaration anywhere else: a table
    keyed by event types, a comparison with an event type, an event class or `EndReason` of
    its own, a function dispatching on three or more event classes."""
    values, members, classes = _event_names()
    bad = []
    for mod, path in MODULES.items():
        if mod == _EVENTS_MODULE:
            continue
        for where in _declarations(ast.parse(path.read_text()), values, members, classes):
            if _STORIES.get(mod) and where.startswith(_STORIES[mod] + ":"):
                continue
            bad.append(f"{mod}: {where}")
    assert bad == []


def test_the_declarations_cover_every_event_type() -> None:
    from alliance_monitor._events import EVENT_CLASSES, EVENT_KINDS, EventType

    assert set(EVENT_KINDS) == set(EVENT_CLASSES) == {t.value for t in EventType}
    for name, cls in EVENT_CLASSES.items():
        kind = EVENT_KINDS[name]
        assert kind.title and kind.action, name
        data = {"type": name, "window_index": 1, "rate": 0.5, "change": -1.0}
        assert cls.headline(data) and cls.action(data), name
        fields, required = cls.alert_schema(EventType(name))
        assert set(required) <= set(fields), name


def test_shared_helpers_are_imported_from_their_one_home() -> None:
    """`trajectory_of`, `EndReason` and `Signal` are defined once and imported from there,
    never through a module that re-exports them."""
    homes = {
        "trajectory_of": "alliance_monitor._events",
        "EndReason": "alliance_monitor._events",
        "Signal": "alliance_monitor._signal",
    }
    bad = [
        f"{mod} imports {name} from {dep}"
        for mod, deps in GRAPH.items()
        for dep, name in deps
        if name in homes and dep != homes[name]
    ]
    assert bad == []


#: The command line: `cli` and the modules named `_cli...` (any package), plus the argparse
#: value checks they share (`_argtypes`).
def _is_cli(mod: str) -> bool:
    last = mod.rsplit(".", 1)[-1]
    return last == "cli" or last.startswith("_cli") or last == "_argtypes"


def test_the_library_holds_no_command_line() -> None:
    """argparse and the command functions live with the command line; the library (monitor,
    service, scorers, adapters, study, evaluate) takes settings and objects, never an
    `argparse.Namespace`, and never prints."""
    bad = []
    for mod, path in MODULES.items():  # every import, type-checking ones included
        if _is_cli(mod):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            if any(n.split(".")[0] == "argparse" for n in names):
                bad.append(mod)
    assert bad == []
    # Only the command line reaches for the command-line modules.
    reach = [
        f"{mod} -> {dep}"
        for mod, deps in GRAPH.items()
        if not _is_cli(mod)
        for dep, _ in deps
        if dep in MODULES and _is_cli(dep) and dep != mod
    ]
    assert reach == []
