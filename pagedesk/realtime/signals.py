"""The domain event realtime sends to the layers above it (docs/architecture.md, "Domain events").

Sent inside the publishing service's transaction, synchronously, like the other domain signals: the
outbound webhooks (pagedesk.platform) write their outbox rows here, so a delivery commits or rolls back
with the change it reports, while the browser's copy of the event still leaves only after commit.
"""

from django.dispatch import Signal

# A service published `event` (a pagedesk.realtime.events.Event) inside its transaction.
event_published = Signal()
