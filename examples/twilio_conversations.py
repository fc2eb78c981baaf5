"""A Twilio Conversations service: one Conversation per counselor-client pair.

In the Twilio console (Conversations > Service > Webhooks) set the Post-Event URL to
https://<host>/twilio/conversations and enable onMessageAdded.

    export TWILIO_AUTH_TOKEN=...
    export TWILIO_WEBHOOK_URL=https://<host>/twilio/conversations   # exactly as in Twilio
    python examples/twilio_conversations.py           # serve on 127.0.0.1:3001
    python examples/twilio_conversations.py --demo    # play Twilio against a free port

`--demo` posts form-encoded onMessageAdded webhooks signed the way Twilio signs them (with a
made-up auth token), repeats one (a replay), forges one, and prints what the monitor saw.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from urllib.parse import urlencode

from alliance_monitor import Event, Monitor
from alliance_monitor.adapters import TwilioConversationsAdapter, WebhookReceiver, with_lifespan

COUNSELORS = {"counselor:dr-lee"}  # Conversations identities of the counselors


def build(token: str, public_url: str | None) -> tuple[Monitor, WebhookReceiver]:
    monitor = Monitor()
    adapter = TwilioConversationsAdapter(token, public_url=public_url, counselors=COUNSELORS)
    return monitor, WebhookReceiver(adapter, monitor)


def show(event: Event) -> None:
    print(f"EVENT {event.type.value} {event.conversation_id}", flush=True)


def demo() -> int:
    import httpx

    from alliance_monitor.adapters.testing import serve_in_thread
    from alliance_monitor.adapters.twilio import sign_twilio

    token = "demo-auth-token"
    public = "https://counseling.example.org/twilio/conversations"
    monitor, receiver = build(token, public)
    monitor.on(show, types={"safety_signal", "session_summary"})
    chat = [
        ("counselor:dr-lee", "Hello Ana, thanks for reaching out tonight."),
        ("+15550100", "I feel like hurting myself."),
        ("counselor:dr-lee", "I'm really glad you told me. Are you safe right now?"),
    ]
    with serve_in_thread(with_lifespan(receiver, monitor, receiver)) as base:
        url = base + "/twilio/conversations"

        def post(params: dict[str, str], signature: str | None = None) -> int:
            sig = signature or sign_twilio(token, public, params)
            return httpx.post(
                url,
                content=urlencode(params),
                timeout=10,
                headers={
                    "content-type": "application/x-www-form-urlencoded",
                    "x-twilio-signature": sig,
                },
            ).status_code

        for i, (author, body) in enumerate(chat):
            params = {
                "EventType": "onMessageAdded",
                "ConversationSid": "CH0001",
                "MessageSid": f"IM{i:04d}",
                "Index": str(i),
                "Author": author,
                "Body": body,
                "DateCreated": f"2024-05-01T21:00:{i:02d}Z",
            }
            print(f"onMessageAdded {i}:", post(params))
        print("replayed request:", post(params))
        print("forged request:", post(params, signature="AAAAAAAAAAAAAAAAAAAAAAAAAAA="))
        time.sleep(0.3)
    print(
        f"monitor accepted {monitor.stats()['accepted']} message(s); receiver problems "
        f"{receiver.stats()['problems']}"
    )
    return 0 if monitor.stats()["accepted"] == 3 else 1


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--demo", action="store_true")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=3001)
    args = p.parse_args()
    if args.demo:
        return demo()
    token = os.environ.get("TWILIO_AUTH_TOKEN")
    if not token:
        sys.exit("set TWILIO_AUTH_TOKEN (or run with --demo)")
    import uvicorn

    monitor, receiver = build(token, os.environ.get("TWILIO_WEBHOOK_URL"))
    monitor.on(show)
    uvicorn.run(with_lifespan(receiver, monitor, receiver), host=args.host, port=args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
