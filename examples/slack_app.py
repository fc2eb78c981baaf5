"""A Slack workspace where each counseling pair has a private channel.

Configure the Slack app's Event Subscriptions Request URL as https://<host>/slack/events and
subscribe to the message.groups (and message.channels) bot events.

    export SLACK_SIGNING_SECRET=...        # Basic Information > App Credentials
    python examples/slack_app.py           # serve on 127.0.0.1:3000
    python examples/slack_app.py --demo    # play Slack against a free port and exit

`--demo` signs requests the way Slack does (with a made-up secret), answers the
url_verification challenge, sends a short conversation, retries one event the way Slack
does, sends one forged request, and prints what the monitor saw.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from alliance_monitor import Event, Monitor
from alliance_monitor.adapters import ConversationMap, SlackAdapter, WebhookReceiver, with_lifespan

COUNSELORS = {"U024COUNSEL"}  # Slack user ids of the counselors
PAIRS = {"G0PAIR0001": "pair-0001"}  # private channel -> pair id (other channels are ignored)


def build(signing_secret: str) -> tuple[Monitor, WebhookReceiver]:
    monitor = Monitor()
    adapter = SlackAdapter(
        signing_secret,
        counselors=COUNSELORS,
        conversations=ConversationMap(PAIRS, only_mapped=True),
    )
    return monitor, WebhookReceiver(adapter, monitor)


def show(event: Event) -> None:
    print(f"EVENT {event.type.value} {event.conversation_id}", flush=True)


def demo() -> int:
    import httpx

    from alliance_monitor.adapters.slack import sign_slack
    from alliance_monitor.adapters.testing import serve_in_thread

    secret = "demo-signing-secret"
    monitor, receiver = build(secret)
    monitor.on(show, types={"safety_signal", "session_summary", "directive_pattern"})

    def post(payload: dict[str, object], **headers: str) -> httpx.Response:
        body = json.dumps(payload).encode()
        ts = int(time.time())
        return httpx.post(
            url,
            content=body,
            timeout=10,
            headers={
                "content-type": "application/json",
                "x-slack-request-timestamp": str(ts),
                "x-slack-signature": sign_slack(secret, ts, body),
                **headers,
            },
        )

    chat = [
        ("U024COUNSEL", "Welcome back. How did the week go?"),
        ("U099CLIENT", "Not great. I skipped the exercises again."),
        ("U024COUNSEL", "You need to do them every day, no excuses."),
        ("U099CLIENT", "ok"),
    ]
    with serve_in_thread(with_lifespan(receiver, monitor, receiver)) as base:
        url = base + "/slack/events"
        r = post({"type": "url_verification", "challenge": "demo-challenge"})
        print("url_verification:", r.status_code, r.json())
        for i, (user, text) in enumerate(chat):
            event = {
                "type": "event_callback",
                "event_id": f"Ev{i}",
                "event": {
                    "type": "message",
                    "channel": "G0PAIR0001",
                    "user": user,
                    "text": text,
                    "ts": f"{1_700_000_000 + 60 * i}.000200",
                },
            }
            print(f"message {i}:", post(event).status_code)
        print("retry of message 3:", post(event, **{"x-slack-retry-num": "1"}).status_code)
        forged = httpx.post(
            url,
            content=b"{}",
            timeout=10,
            headers={
                "content-type": "application/json",
                "x-slack-request-timestamp": str(int(time.time())),
                "x-slack-signature": "v0=00",
            },
        )
        print("forged request:", forged.status_code)
        time.sleep(0.3)
    stats = receiver.stats()
    print(
        f"monitor accepted {monitor.stats()['accepted']} message(s); receiver: "
        f"{stats['duplicate_deliveries']} retry ignored, problems {stats['problems']}"
    )
    return 0 if monitor.stats()["accepted"] == 4 else 1


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--demo", action="store_true")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=3000)
    args = p.parse_args()
    if args.demo:
        return demo()
    secret = os.environ.get("SLACK_SIGNING_SECRET")
    if not secret:
        sys.exit("set SLACK_SIGNING_SECRET (or run with --demo)")
    import uvicorn

    monitor, receiver = build(secret)
    monitor.on(show)
    uvicorn.run(with_lifespan(receiver, monitor, receiver), host=args.host, port=args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
