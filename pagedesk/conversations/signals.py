"""The domain events conversations sends to the layer above it (docs/architecture.md, "Domain events").

Sent inside the sender's transaction, synchronously: a receiver's writes and task enqueues commit or
roll back with the change (a delivery is never queued for a message that was not recorded, nor lost
for one that was); a receiver that must act after commit registers its own on_commit.
"""

from django.dispatch import Signal

# Outbound messages were recorded pending, or a failed one was set pending again (`messages`: the
# Message rows, in the order the customer must get them). The channel (pagedesk.messenger) queues
# their delivery, or parks them with the reason the agent sees while it cannot send.
outbound_queued = Signal()

# The customer should see a sender action (`conversation`, `action`: typing_on, typing_off or
# mark_seen) while the agent works; already checked against the messaging window.
sender_action_requested = Signal()
