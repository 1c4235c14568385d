"""The platform's answer to realtime's domain event (realtime/signals.py): every published event may
become webhook deliveries, written in the publishing service's transaction (the outbox). Connected
in PlatformConfig.ready."""

from __future__ import annotations

from typing import Any

from pagedesk.platform.outbox import webhook_event_record
from pagedesk.realtime.events import Event


def on_event_published(sender: Any, *, event: Event, **kwargs: Any) -> None:
    webhook_event_record(event=event)
