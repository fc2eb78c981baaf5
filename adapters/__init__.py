"""Platform adapters: turn a chat platform's traffic into alliance-monitor messages.

Push adapters (the platform calls us) are served by `WebhookReceiver`, a pure ASGI app; pull
adapters (we read a stream) are fed to a monitor with `pump`. The Matrix adapter needs the
``matrix`` extra and is imported from ``alliance_monitor.adapters.matrix``.
"""

import sys as _sys

if __name__ == "adapters":  # pragma: no cover - only from a source checkout's root
    # The checkout's root is on sys.path in tests and REPLs, where `import adapters` would load
    # a second copy of this package (a second `RoleMap` class, ...). Map every `adapters.X`
    # onto the installed `alliance_monitor.adapters.X`, so both names give the same objects.
    import importlib as _importlib
    import importlib.abc as _abc
    import importlib.machinery as _machinery
    from types import ModuleType as _ModuleType

    class _SameModules(_abc.MetaPathFinder, _abc.Loader):
        def find_spec(
            self, name: str, path: object = None, target: object = None
        ) -> _machinery.ModuleSpec | None:
            if not name.startswith("adapters."):
                return None
            return _machinery.ModuleSpec(name, self)

        def create_module(self, spec: _machinery.ModuleSpec) -> _ModuleType:
            real = _importlib.import_module("alliance_monitor." + spec.name)
            self._spec = real.__spec__
            return real

        def exec_module(self, module: _ModuleType) -> None:
            module.__spec__ = self._spec  # undo the import system's overwrite

    _sys.meta_path.insert(0, _SameModules())

from ._base import (
    Ack,
    ConversationMap,
    Delivery,
    MessageSink,
    PullAdapter,
    PullItem,
    PushAdapter,
    RecentIds,
    Request,
    RoleMap,
)
from ._pump import pump
from ._receiver import WebhookReceiver, with_lifespan
from .http import HttpAdapter
from .jsonl import JsonlAdapter
from .memory import MemoryAdapter
from .slack import SlackAdapter
from .twilio import TwilioConversationsAdapter
from .zendesk import SunshineConversationsAdapter

__all__ = [
    "Ack",
    "ConversationMap",
    "Delivery",
    "HttpAdapter",
    "JsonlAdapter",
    "MemoryAdapter",
    "MessageSink",
    "PullAdapter",
    "PullItem",
    "PushAdapter",
    "RecentIds",
    "Request",
    "RoleMap",
    "SlackAdapter",
    "SunshineConversationsAdapter",
    "TwilioConversationsAdapter",
    "WebhookReceiver",
    "pump",
    "with_lifespan",
]
