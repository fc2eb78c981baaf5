"""Platform adapters: turn a chat platform's traffic into alliance-monitor messages.

Push adapters (the platform calls us) are served by `WebhookReceiver`, a pure ASGI app; pull
adapters (we read a stream) are fed to a monitor with `pump`. The Matrix adapter needs the
``matrix`` extra and is imported from ``alliance_monitor.adapters.matrix``.
"""

from ._base import (
    Ack,
    ConversationMap,
    Delivery,
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
