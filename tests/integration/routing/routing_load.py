"""A routing load driver shared by the concurrency tests: used in-process (SQLite, threads) and as
`python -m tests.integration.routing.routing_load` in separate OS processes (PostgreSQL).

Each process runs arrival threads (customers writing in, the way the ingest hands them over),
toggler threads (agents flipping Available/Break) and closer threads (agents closing conversations),
then a drain phase in which every agent is Available and closers keep going until every customer
has been served. It prints one JSON line with what it observed; the test checks the invariants in
the database.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import django


@dataclass
class LoadConfig:
    campaign_id: int
    agent_ids: list[int]
    break_reason_id: int
    conversations: int  # arrivals by this process
    start_at: float  # time.time() at which arrivals start (both processes use the same)
    arrival_window: float = 1.0  # all arrivals spread over this many seconds
    arrival_threads: int = 4
    toggler_threads: int = 2
    closer_threads: int = 2
    toggle_seconds: float = 3.0
    drain_timeout: float = 60.0
    total_conversations: int = 0  # across all processes; the drain ends when all were served
    psid_prefix: str = "p"
    seed: int = 1


@dataclass
class LoadResult:
    arrivals: list[tuple[int, float]] = field(default_factory=list)  # (conversation id, committed at)
    toggles: int = 0
    closes: int = 0
    close_conflicts: int = 0
    errors: list[str] = field(default_factory=list)
    drained: bool = False


def _close_db() -> None:
    from django.db import connection

    connection.close()


def _arrive(cfg: LoadConfig, index: int) -> tuple[int, float]:
    from django.db import transaction

    from pagedesk.campaigns.models import Campaign
    from pagedesk.conversations.models import Contact, Conversation, ConversationEvent, ConversationState
    from pagedesk.core import clock
    from pagedesk.routing.services import conversation_route_new

    now = clock.now()
    with transaction.atomic():
        campaign = Campaign.objects.get(pk=cfg.campaign_id)
        contact = Contact.objects.create(page_id=f"page-{cfg.campaign_id}", psid=f"{cfg.psid_prefix}{index}")
        conversation = Conversation.objects.create(
            campaign=campaign,
            contact=contact,
            state=ConversationState.QUEUED,
            queued_at=now,
            queue_order=now,
            last_customer_message_at=now,
            last_message_at=now,
        )
        ConversationEvent.objects.create(conversation=conversation, kind="queued", at=now)
        conversation_route_new(conversation=conversation)
    return conversation.pk, time.time()


def _sleep_until(at: float) -> None:
    delay = at - time.time()
    if delay > 0:
        time.sleep(delay)


def run_load(cfg: LoadConfig) -> LoadResult:
    from pagedesk.accounts.models import BreakReason, Presence, User
    from pagedesk.conversations.models import Conversation, ConversationState
    from pagedesk.core.errors import ApplicationError
    from pagedesk.routing.services import conversation_close, presence_set

    result = LoadResult()
    lock = threading.Lock()
    toggling = threading.Event()
    toggling.set()
    stop = threading.Event()

    def guarded(func: Any) -> Any:
        def run(*args: Any) -> None:
            try:
                func(*args)
            except Exception as exc:
                with lock:
                    result.errors.append(f"{func.__name__}: {exc.__class__.__name__}: {exc}")
            finally:
                _close_db()

        return run

    @guarded
    def arrivals(thread_index: int) -> None:
        mine = list(range(thread_index, cfg.conversations, cfg.arrival_threads))
        for index in mine:
            _sleep_until(cfg.start_at + cfg.arrival_window * index / max(1, cfg.conversations))
            arrived = _arrive(cfg, index)
            with lock:
                result.arrivals.append(arrived)

    @guarded
    def toggler(thread_index: int) -> None:
        rng = random.Random(cfg.seed * 1000 + thread_index)
        reason = BreakReason.objects.get(pk=cfg.break_reason_id)
        agents = list(User.objects.filter(pk__in=cfg.agent_ids[thread_index :: cfg.toggler_threads]))
        _sleep_until(cfg.start_at)
        while toggling.is_set() and time.time() < cfg.start_at + cfg.toggle_seconds:
            agent = rng.choice(agents)
            agent.refresh_from_db()
            if agent.presence == Presence.AVAILABLE:
                presence_set(agent=agent, presence=Presence.BREAK, break_reason=reason)
            else:
                presence_set(agent=agent, presence=Presence.AVAILABLE)
            with lock:
                result.toggles += 1
            time.sleep(rng.uniform(0.005, 0.05))
        for agent in agents:
            presence_set(agent=agent, presence=Presence.AVAILABLE)

    @guarded
    def closer(thread_index: int) -> None:
        rng = random.Random(cfg.seed * 2000 + thread_index)
        _sleep_until(cfg.start_at + cfg.arrival_window / 2)
        deadline = cfg.start_at + cfg.toggle_seconds + cfg.drain_timeout
        while not stop.is_set() and time.time() < deadline:
            open_ids = list(
                Conversation.objects.filter(
                    campaign_id=cfg.campaign_id, state=ConversationState.ASSIGNED, agent_id__in=cfg.agent_ids
                ).values_list("pk", "agent_id")[:50]
            )
            if not open_ids:
                if _all_served(cfg):
                    stop.set()
                    break
                time.sleep(0.02)
                continue
            conversation_id, agent_id = rng.choice(open_ids)
            try:
                conversation_close(
                    conversation=Conversation.objects.get(pk=conversation_id),
                    agent=User.objects.get(pk=agent_id),
                )
                with lock:
                    result.closes += 1
            except ApplicationError:
                with lock:
                    result.close_conflicts += 1  # the other closer (or process) was first: expected
            time.sleep(rng.uniform(0.0, 0.03))

    threads = [threading.Thread(target=arrivals, args=(i,)) for i in range(cfg.arrival_threads)]
    threads += [threading.Thread(target=toggler, args=(i,)) for i in range(cfg.toggler_threads)]
    threads += [threading.Thread(target=closer, args=(i,)) for i in range(cfg.closer_threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.drained = _all_served(cfg)
    _close_db()
    return result


def _all_served(cfg: LoadConfig) -> bool:
    from pagedesk.conversations.models import Conversation, ConversationState

    conversations = Conversation.objects.filter(campaign_id=cfg.campaign_id)
    total = conversations.count()
    waiting = conversations.filter(state=ConversationState.QUEUED).count()
    return total >= cfg.total_conversations and waiting == 0


def setup_campaign(*, agents: int, max_load: int, strategy: str, prefix: str) -> dict[str, Any]:
    """A campaign open all week, `agents` members (all on Break), a break reason; returns their ids."""
    from pagedesk.accounts.models import Presence, User
    from pagedesk.accounts.services import break_reason_create, user_create
    from pagedesk.campaigns import schedule
    from pagedesk.campaigns.services import MemberSpec, campaign_create, membership_set

    reason = break_reason_create(name=f"{prefix} pause")
    users = [
        user_create(username=f"{prefix}agent{i:03d}", role="agent", password=None) for i in range(agents)
    ]
    campaign = campaign_create(
        fields={
            "name": f"{prefix} load",
            "page_name": f"{prefix} load",
            "strategy": strategy,
            "max_interactions_per_agent": max_load,
            "dropout_threshold_seconds": 0,
        },
        ranges=[schedule.Range(schedule.ALL_WEEKDAYS, 0, schedule.MINUTES_PER_DAY)],
    )
    membership_set(campaign=campaign, members=[MemberSpec(agent_id=u.pk) for u in users])
    User.objects.filter(pk__in=[u.pk for u in users]).update(presence=Presence.BREAK, break_reason=reason)
    return {"campaign_id": campaign.pk, "agent_ids": [u.pk for u in users], "break_reason_id": reason.pk}


OVER_CAPACITY_SQL = """
    SELECT c.agent_id, COUNT(*)
    FROM conversations_conversation c
    JOIN campaigns_campaign k ON k.id = %s
    WHERE c.state = 'assigned' AND c.agent_id IS NOT NULL
    GROUP BY c.agent_id, k.max_interactions_per_agent
    HAVING COUNT(*) > k.max_interactions_per_agent
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=["setup", "run"])
    parser.add_argument("--config", default="{}")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pagedesk.config.settings")
    django.setup()
    options = json.loads(args.config)
    if args.command == "setup":
        print(json.dumps(setup_campaign(**options)))
        return
    result = run_load(LoadConfig(**options))
    print(json.dumps(result.__dict__))


if __name__ == "__main__":
    sys.exit(main())
