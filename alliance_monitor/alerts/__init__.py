"""Supervisor alerts: signed webhooks, durable outbox, alert policy.

    from alliance_monitor.alerts import AlertDispatcher, WebhookEndpoint

    endpoints = [
        WebhookEndpoint("https://alerts.example.org/hooks", ["whsec_..."]),
        WebhookEndpoint("https://hooks.slack.com/services/...", format="slack",
                        event_types={"safety_signal", "alliance_declined"}),
    ]
    async with AlertDispatcher(endpoints, outbox_path="alerts.db") as dispatcher:
        monitor.on(dispatcher.submit)
        ...
        await dispatcher.drain(timeout=30)

Scale-out workers share one outbox in Redis: `AlertDispatcher(endpoints, outbox=RedisOutbox(url))`.
Receivers verify with `verify_webhook(headers, body, secrets)`. See docs/alerts.md.
"""

from ._delivery import DEFAULT_RETRY_SCHEDULE, parse_retry_after
from ._dispatcher import AlertDispatcher, DispatcherStats, SubmitResult, WebhookEndpoint
from ._formatters import Format, format_slack, format_teams
from ._payload import MAX_PAYLOAD_BYTES, alert_data
from ._policy import DEFAULT_ALERT_TYPES, AlertPolicy, Decision, SuppressReason
from ._redis_outbox import RedisOutbox
from ._signing import (
    VerifiedWebhook,
    WebhookSigner,
    WebhookVerificationError,
    decode_secret,
    generate_webhook_secret,
    sign_webhook,
    verify_webhook,
)

__all__ = [
    "DEFAULT_ALERT_TYPES",
    "DEFAULT_RETRY_SCHEDULE",
    "MAX_PAYLOAD_BYTES",
    "AlertDispatcher",
    "AlertPolicy",
    "Decision",
    "DispatcherStats",
    "Format",
    "RedisOutbox",
    "SubmitResult",
    "SuppressReason",
    "VerifiedWebhook",
    "WebhookEndpoint",
    "WebhookSigner",
    "WebhookVerificationError",
    "alert_data",
    "decode_secret",
    "format_slack",
    "format_teams",
    "generate_webhook_secret",
    "parse_retry_after",
    "sign_webhook",
    "verify_webhook",
]
