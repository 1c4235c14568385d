"""Routing writes: queue, assign, take, close, requeue, transfer, abandon, after-hours (docs/architecture.md §4).

Callers import from here (`from pagedesk.routing.services import conversation_take`); the modules
below import each other directly, each only from those listed before it, so there is no cycle:

    primitives          the steps every write is built from: lock a conversation, check the actor and
                        the state, bump the version, record the timeline, count loads, defer past commit
    audiences           who hears routing's events; the queue-length and closed events
    dispatch_sql        the hand-written SQL of one dispatch decision, per database vendor
    dispatch            the locking dispatch rounds, and what triggers one (queue grew, slot freed,
                        campaign changed)
    dropouts            abandoning a queued conversation nobody answered in time (the dropout timer)
    arrivals            a new conversation → blocked / after hours / queued / with the bot; closing a
                        queue at schedule end
    handoff             a bot conversation to the queue (the bot's API call, its silence, a keyword)
    assignment          assigning to a named agent outside dispatch: ringall's Take and the shared step
    requeue             assigned conversations back to the front of the queue (by hand, or an Offline agent's)
    transfers           transfer to an agent or a campaign; the timeout that returns an untaken transfer
    presence            setting an agent's presence and routing's reactions (Available dispatches,
                        Offline requeues); her websockets' disconnect grace
    closing             closing a conversation (dispositions) and the wrap-up that follows
    reconcile           the start-up and every-minute catch-up on lost timers and follow-ups

Lock order, the same in every function here, so no two routing transactions can deadlock:

    campaign row (FOR NO KEY UPDATE, dispatch only) → conversation row → agent rows in pk order

* Dispatch for a campaign is serialised on the campaign row. That is what keeps the queue strictly
  FIFO: two dispatchers never hand out the head and the second-in-line in the wrong order. NO KEY
  UPDATE, not UPDATE, because every conversation insert takes KEY SHARE on its campaign and must not
  queue behind a dispatch.
* An agent's load only ever grows under that agent's row lock (dispatch, take, transfer, transfer
  return), and is re-counted after the lock is taken, so nobody exceeds max interactions however
  many processes route at once. On SQLite the IMMEDIATE transaction serialises all of it.
* Each assignment is its own short transaction with no HTTP in it. Realtime events and follow-up
  dispatches run after commit, so a rolled-back change neither reaches a browser nor triggers work.

A test that replaces a private helper patches the module that holds it (a patch on a name re-exported
here would change nothing the services call).
"""

from pagedesk.routing.services.arrivals import (
    conversation_arrival_dispatch,
    conversation_route_new,
    queue_close_for_schedule_end,
)
from pagedesk.routing.services.assignment import conversation_take
from pagedesk.routing.services.closing import agent_wrap_up_end, conversation_close
from pagedesk.routing.services.dispatch import campaign_redispatch, queue_dispatch, set_rng
from pagedesk.routing.services.dropouts import conversation_dropout_check
from pagedesk.routing.services.handoff import HandoffReason, bot_timeout_check, conversation_handoff
from pagedesk.routing.services.presence import (
    agent_connected,
    agent_disconnect_expire,
    agent_disconnected,
    agent_presence_changed,
    presence_set,
)
from pagedesk.routing.services.reconcile import routing_reconcile
from pagedesk.routing.services.requeue import (
    ReturnReason,
    agent_conversations_requeue,
    conversation_return_to_queue,
)
from pagedesk.routing.services.transfers import (
    conversation_transfer_to_agent,
    conversation_transfer_to_campaign,
    transfer_timeout_expire,
)

__all__ = [
    "HandoffReason",
    "ReturnReason",
    "agent_connected",
    "agent_conversations_requeue",
    "agent_disconnect_expire",
    "agent_disconnected",
    "agent_presence_changed",
    "agent_wrap_up_end",
    "bot_timeout_check",
    "campaign_redispatch",
    "conversation_arrival_dispatch",
    "conversation_close",
    "conversation_dropout_check",
    "conversation_handoff",
    "conversation_return_to_queue",
    "conversation_route_new",
    "conversation_take",
    "conversation_transfer_to_agent",
    "conversation_transfer_to_campaign",
    "presence_set",
    "queue_close_for_schedule_end",
    "queue_dispatch",
    "routing_reconcile",
    "set_rng",
    "transfer_timeout_expire",
]
