"""Asking for drains: one waiting drain per endpoint, and none now for an endpoint that is paused."""

from __future__ import annotations

import datetime as dt

import pytest
from django_tasks_db.models import DBTaskResult, get_date_max

from pagedesk.core import clock
from pagedesk.platform.models import WebhookEndpoint
from pagedesk.platform.tasks import drains_ensure, endpoint_drain_task

pytestmark = pytest.mark.django_db


def waiting() -> list[tuple[int, dt.datetime | None]]:
    rows = DBTaskResult.objects.filter(status="READY", task_path=endpoint_drain_task.module_path)
    return sorted(
        (row.args_kwargs["kwargs"]["endpoint_id"], None if row.run_after == get_date_max() else row.run_after)
        for row in rows
    )


def test_one_waiting_drain_per_endpoint(register, receiver):
    first, _ = register(receiver.url)
    second, _ = register(receiver.url)
    assert drains_ensure(endpoint_ids=[first.pk, second.pk]) == 2
    assert drains_ensure(endpoint_ids=[first.pk, second.pk]) == 0
    assert waiting() == [(first.pk, None), (second.pk, None)]


def test_a_paused_endpoint_gets_its_drain_when_the_pause_ends(register, receiver):
    live, _ = register(receiver.url)
    down, _ = register(receiver.url)
    until = clock.now() + dt.timedelta(minutes=2)
    WebhookEndpoint.objects.filter(pk=down.pk).update(paused_until=until)
    assert drains_ensure(endpoint_ids=[live.pk, down.pk]) == 2
    assert waiting() == [(live.pk, None), (down.pk, until)]
    # The next bursts add nothing: the live one's drain has not started, the paused one's is set.
    assert drains_ensure(endpoint_ids=[live.pk, down.pk]) == 0


def test_when_every_endpoint_is_paused_one_drains_now_to_build_the_data(register, receiver):
    first, _ = register(receiver.url)
    second, _ = register(receiver.url)
    until = clock.now() + dt.timedelta(minutes=2)
    WebhookEndpoint.objects.filter(pk__in=[first.pk, second.pk]).update(paused_until=until)
    assert drains_ensure(endpoint_ids=[first.pk, second.pk]) == 2
    assert waiting() == [(first.pk, None), (second.pk, until)]
