"""Hypothesis-generated sequences of arrivals, closes, presence changes, transfers, returns and takes
against the real services, checking the routing invariants after every step:

* no agent above capacity;
* nothing lost; assigned has an agent, queued has none;
* never a customer waiting while an eligible member idles (routed strategies);
* FIFO: each conversation routed in a step was at the head of its queue;
* no conversation handed out twice without going back to a queue or being transferred in between.
"""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from pagedesk.accounts.models import BreakReason, Presence, User
from pagedesk.accounts.services import break_reason_create, user_create
from pagedesk.campaigns.models import Campaign, Membership
from pagedesk.conversations.models import Conversation, ConversationEvent, ConversationState
from pagedesk.core.errors import ApplicationError
from pagedesk.routing import services
from pagedesk.routing.models import Assignment
from pagedesk.routing.services import presence_set

from .conftest import arrive, make_campaign

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

AGENTS = 4
_names = itertools.count()
REQUEUE_KINDS = {"queued", "returned_to_queue", "transferred", "transfer_returned"}


class RoutingMachine(RuleBasedStateMachine):
    agents: list[User]
    reason: BreakReason

    @initialize(
        strategy=st.sampled_from(["ringall", "rrmemory", "linear", "wrandom", "leastrecent", "fewest"]),
        max_load=st.integers(1, 3),
    )
    def start(self, strategy: str, max_load: int) -> None:
        # Same agents every example, reset to a clean slate (test setup, not product behaviour).
        Conversation.objects.filter(agent__in=self.agents, state=ConversationState.ASSIGNED).update(
            state=ConversationState.CLOSED
        )
        Conversation.objects.filter(state=ConversationState.QUEUED).update(state=ConversationState.CLOSED)
        User.objects.filter(pk__in=[a.pk for a in self.agents]).update(
            presence=Presence.OFFLINE, break_reason=None, wrap_up_until=None
        )
        n = next(_names)
        self.main = make_campaign(
            f"Main {n}",
            agents=self.agents,
            strategy=strategy,
            max_interactions_per_agent=max_load,
            dropout_threshold_seconds=0,
        )
        self.other = make_campaign(
            f"Other {n}",
            agents=self.agents[2:],
            strategy="linear",
            max_interactions_per_agent=max_load,
            dropout_threshold_seconds=0,
        )
        self.max_load = max_load
        self.created: set[int] = set()
        self.last_assignment_id = Assignment.objects.order_by("-pk").values_list("pk", flat=True).first() or 0

    def _conversation(self, state: str, index: int) -> Conversation | None:
        rows = list(
            Conversation.objects.filter(pk__in=self.created, state=state)
            .order_by("pk")
            .select_related("agent")
        )
        return rows[index % len(rows)] if rows else None

    @rule(which=st.integers(0, 1))
    def customer_writes(self, which: int) -> None:
        conversation = arrive(self.main if which == 0 else self.other)
        self.created.add(conversation.pk)

    @rule(agent=st.integers(0, AGENTS - 1), presence=st.sampled_from(["available", "break", "offline"]))
    def presence_changes(self, agent: int, presence: str) -> None:
        presence_set(
            agent=self.agents[agent],
            presence=presence,
            break_reason=self.reason if presence == "break" else None,
        )

    @rule(index=st.integers(0, 20))
    def agent_closes(self, index: int) -> None:
        conversation = self._conversation(ConversationState.ASSIGNED, index)
        if conversation is not None:
            assert conversation.agent is not None
            services.conversation_close(conversation=conversation, agent=conversation.agent)

    @rule(index=st.integers(0, 20))
    def agent_returns_to_queue(self, index: int) -> None:
        conversation = self._conversation(ConversationState.ASSIGNED, index)
        if conversation is not None:
            assert conversation.agent is not None
            services.conversation_return_to_queue(conversation=conversation, by=conversation.agent)

    @rule(index=st.integers(0, 20), to=st.integers(0, AGENTS - 1))
    def agent_transfers_to_agent(self, index: int, to: int) -> None:
        conversation = self._conversation(ConversationState.ASSIGNED, index)
        if conversation is None or conversation.agent is None:
            return
        try:
            services.conversation_transfer_to_agent(
                conversation=conversation, to_agent=self.agents[to], by=conversation.agent, note="n"
            )
        except ApplicationError as exc:
            assert exc.code in {"same_agent", "not_a_member", "agent_not_available", "agent_at_capacity"}

    @rule(index=st.integers(0, 20))
    def agent_transfers_to_other_campaign(self, index: int) -> None:
        conversation = self._conversation(ConversationState.ASSIGNED, index)
        if conversation is None or conversation.agent is None:
            return
        target = self.other if conversation.campaign_id == self.main.pk else self.main
        try:
            services.conversation_transfer_to_campaign(
                conversation=conversation, campaign=target, by=conversation.agent
            )
        except ApplicationError as exc:
            assert exc.code == "contact_busy_in_target"

    @rule(index=st.integers(0, 20), agent=st.integers(0, AGENTS - 1))
    def agent_takes(self, index: int, agent: int) -> None:
        conversation = self._conversation(ConversationState.QUEUED, index)
        if conversation is None:
            return
        try:
            services.conversation_take(conversation=conversation, agent=self.agents[agent])
        except ApplicationError as exc:
            assert exc.code in {"not_ringall", "not_a_member", "agent_not_available", "agent_at_capacity"}

    # --- invariants ------------------------------------------------------------------------------

    @invariant()
    def capacity_and_consistency(self) -> None:
        if not hasattr(self, "main"):
            return
        rows = list(Conversation.objects.filter(pk__in=self.created).values_list("pk", "state", "agent_id"))
        assert {pk for pk, _, _ in rows} == self.created  # nothing lost
        loads: dict[int, int] = {}
        for _pk, state, agent_id in rows:
            if state == ConversationState.QUEUED:
                assert agent_id is None
            if state == ConversationState.ASSIGNED:
                assert agent_id is not None
                loads[agent_id] = loads.get(agent_id, 0) + 1
        assert all(n <= self.max_load for n in loads.values()), loads

    @invariant()
    def nobody_waits_while_an_eligible_member_idles(self) -> None:
        if not hasattr(self, "main"):
            return
        for campaign in Campaign.objects.filter(pk__in=[self.main.pk, self.other.pk]):
            if campaign.strategy == "ringall":
                continue
            waiting = Conversation.objects.filter(campaign=campaign, state=ConversationState.QUEUED).exists()
            if not waiting:
                continue
            member_ids = list(Membership.objects.filter(campaign=campaign).values_list("agent_id", flat=True))
            for agent in User.objects.filter(pk__in=member_ids, presence=Presence.AVAILABLE):
                load = Conversation.objects.filter(agent=agent, state=ConversationState.ASSIGNED).count()
                assert load >= campaign.max_interactions_per_agent, (campaign.name, agent.username, load)

    @invariant()
    def fifo_and_no_double_hand_out(self) -> None:
        if not hasattr(self, "main"):
            return
        new = list(
            Assignment.objects.filter(pk__gt=self.last_assignment_id, how="routed").select_related(
                "conversation"
            )
        )
        for assignment in new:
            conversation = assignment.conversation
            head = (
                Conversation.objects.filter(
                    campaign_id=assignment.campaign_id, state=ConversationState.QUEUED
                )
                .order_by("queue_order", "pk")
                .values_list("queue_order", flat=True)
                .first()
            )
            assert head is None or conversation.queue_order <= head
        self.last_assignment_id = max([self.last_assignment_id, *(a.pk for a in new)])
        for conversation_id in self.created:
            previous = None
            for kind in ConversationEvent.objects.filter(conversation_id=conversation_id).values_list(
                "kind", flat=True
            ):
                if kind == "assigned":
                    assert previous in REQUEUE_KINDS, (conversation_id, previous)
                if kind in REQUEUE_KINDS or kind == "assigned":
                    previous = kind


def test_routing_invariants_hold_for_generated_sequences():
    reason = break_reason_create(name="Generated break")
    RoutingMachine.agents = [
        user_create(username=f"gen{i}", role="agent", password=None) for i in range(AGENTS)
    ]
    RoutingMachine.reason = reason
    run_state_machine_as_test(
        RoutingMachine,
        settings=settings(
            max_examples=20,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
