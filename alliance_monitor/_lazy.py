"""Public names imported on first use (PEP 562), shared by the package and its sub-packages.

`import alliance_monitor` stays cheap, and a command such as `alliance-monitor analyze` loads only
what it uses. A package writes its public names once, as the imports of an
``if TYPE_CHECKING:`` block (what type checkers and readers see), and takes the two module
hooks:

    if TYPE_CHECKING:
        from ._monitor import Monitor

    __getattr__, __dir__ = lazy_exports(__name__, globals())

On first use the hooks read that block from the package's source: each imported name is a
public name (an ``as`` name is the public one), imported from its module when first asked for,
and ``__all__`` lists them (plus `also`, names the package defines itself).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, MutableMapping
from importlib import import_module
from pathlib import Path
from typing import Any

__all__ = ["lazy_exports", "public_table"]


def public_table(source: str) -> dict[str, tuple[str, str]]:
    """Public name -> (relative module, name there), from the ``if TYPE_CHECKING:`` imports
    of a package's source."""
    import ast

    table: dict[str, tuple[str, str]] = {}
    for node in ast.parse(source).body:
        if not (isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)):
            continue
        for imp in node.body:
            if isinstance(imp, ast.ImportFrom) and imp.module is not None:
                module = "." * imp.level + imp.module
                for alias in imp.names:
                    table[alias.asname or alias.name] = (module, alias.name)
    return table


def lazy_exports(
    package: str, namespace: MutableMapping[str, Any], also: Iterable[str] = ()
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The module-level ``__getattr__`` and ``__dir__`` of `package` (whose globals are
    `namespace`) for the public names of its ``if TYPE_CHECKING:`` block; a name is imported
    once, then kept in `namespace`. ``__all__`` is those names and `also`."""
    extra = tuple(also)
    cache: dict[str, tuple[str, str]] = {}

    def table() -> dict[str, tuple[str, str]]:
        if not cache:
            source = Path(str(namespace["__file__"])).read_text(encoding="utf-8")
            cache.update(public_table(source))
        return cache

    def __getattr__(name: str) -> Any:
        if name == "__all__":
            value: Any = sorted({*table(), *extra})
        else:
            where = table().get(name)
            if where is None:
                raise AttributeError(f"module {package!r} has no attribute {name!r}")
            module, attr = where
            value = getattr(import_module(module, package), attr)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(table()))

    return __getattr__, __dir__
