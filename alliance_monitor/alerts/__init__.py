"""Supervisor alerts: signed webhooks, durable outbox, alert policy."""
