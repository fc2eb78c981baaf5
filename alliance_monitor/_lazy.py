"""Public names imported on first use (PEP 562), shared by the package and its sub-packages.

`import alliance_monitor` stays cheap, and a command such as `alliance-monitor analyze` loads only
what it uses. A package lists where each public name lives and takes the two module hooks:

    __getattr__, __dir__ = lazy_exports(__name__, globals(), {"Name": "._module"})

A table value is the module (the name is the same there) or a ``(module, name there)`` pair.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping
from importlib import import_module
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str,
    namespace: MutableMapping[str, Any],
    table: Mapping[str, str | tuple[str, str]],
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The module-level ``__getattr__`` and ``__dir__`` of `package` for the names in `table`;
    a name is imported once, then kept in `namespace` (the package's globals)."""

    def __getattr__(name: str) -> Any:
        where = table.get(name)
        if where is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module, attr = (where, name) if isinstance(where, str) else where
        value = getattr(import_module(module, package), attr)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(table))

    return __getattr__, __dir__
