"""The domain events campaigns sends to the layers above it (docs/architecture.md, "Domain events").

Sent inside the sender's transaction, synchronously: a receiver's writes and task enqueues commit or
roll back with the change; a receiver that must act after commit registers its own on_commit.
"""

from django.dispatch import Signal

# A campaign was created (`campaign`, saved). Messenger gives it its page connection row, which holds
# the Facebook Page and its token's health from then on.
campaign_created = Signal()

# Something routing depends on may have changed in a campaign (`campaign`): members, capacity, enabled,
# strategy, schedule. Routing re-dispatches its queue after commit.
campaign_changed = Signal()
