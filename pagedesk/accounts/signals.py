"""The domain events accounts sends to the layers above it (docs/architecture.md, "Domain events").

Sent inside the sender's transaction, synchronously: a receiver's writes and task enqueues commit or
roll back with the change; a receiver that must act after commit registers its own on_commit.
"""

from django.dispatch import Signal

# An active agent was deactivated (`agent`: the User, already saved inactive). Routing sets her
# Offline and returns her conversations to the queue.
agent_deactivated = Signal()
