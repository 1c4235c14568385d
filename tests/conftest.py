"""Shared fixtures: the personas (ada, sam, alice, bob) and helpers every test layer uses."""

from __future__ import annotations

import datetime as dt
import subprocess
from collections.abc import Iterator

import pytest
from django.test import Client

from pagedesk.accounts.models import BreakReason, User
from pagedesk.accounts.services import api_token_create, break_reason_create, user_create
from pagedesk.campaigns.models import Campaign
from pagedesk.campaigns.services import MemberSpec, campaign_create, campaign_set_supervisors, membership_set
from pagedesk.core import clock
from pagedesk.realtime import publish as publish_module
from pagedesk.realtime.events import Event

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):  # type: ignore[no-untyped-def]
    """pytest-django's test database, with PostgreSQL's connection pools closed before it is dropped.

    Threads that served requests (live servers, the webhook's thread pool, workers) hand their
    connections back to the pool, which keeps them open, and DROP DATABASE refuses while any session is
    on the database ("being accessed by other users"). Closing the pools closes those. A connection a
    thread never hands back is not in the pool: the code that opens it closes it when done (the live
    server's executor in tests/e2e/conftest.py does), so a full run ends with no session left.

    The break reasons a fresh install gets (accounts 0002) are removed: tests name the reasons they use
    (the `lunch` fixture), and tests/integration/accounts/test_break_reason_seed.py covers the seed.
    """
    with django_db_blocker.unblock():
        BreakReason.objects.all().delete()
    yield
    from django.db import connections

    with django_db_blocker.unblock():
        for alias in connections:
            connection = connections[alias]
            if connection.vendor == "postgresql":
                connection.close()
                connection.close_pool()


def make_user(username: str, role: str, **extra: str) -> User:
    return user_create(username=username, role=role, password=PASSWORD, first_name=username.title(), **extra)


@pytest.fixture
def ada(db) -> User:
    return make_user("ada", "admin")


@pytest.fixture
def sam(db) -> User:
    return make_user("sam", "supervisor")


@pytest.fixture
def alice(db) -> User:
    return make_user("alice", "agent")


@pytest.fixture
def bob(db) -> User:
    return make_user("bob", "agent")


@pytest.fixture
def lunch(db) -> BreakReason:
    return break_reason_create(name="Lunch")


@pytest.fixture
def campaign(db, alice: User, bob: User, sam: User) -> Campaign:
    """An enabled ringall campaign open around the clock, with alice and bob as members, sam supervising."""
    from pagedesk.campaigns import schedule

    created = campaign_create(
        fields={"name": "Acme Support", "page_name": "Acme", "timezone": "Europe/Madrid"},
        ranges=[schedule.Range(schedule.ALL_WEEKDAYS, 0, schedule.MINUTES_PER_DAY)],
    )
    membership_set(campaign=created, members=[MemberSpec(agent_id=alice.pk), MemberSpec(agent_id=bob.pk)])
    campaign_set_supervisors(campaign=created, supervisor_ids=[sam.pk])
    return created


def login_client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def client_for():
    return login_client


@pytest.fixture
def token_for(db):
    def make(user: User) -> dict[str, str]:
        _token, raw = api_token_create(user=user, name="test")
        return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}

    return make


@pytest.fixture
def published() -> Iterator[list[tuple[Event, list[str]]]]:
    """Every event published after commit in this test, with its audience groups."""
    captured: list[tuple[Event, list[str]]] = []

    def listener(event: Event, groups: list[str]) -> None:
        captured.append((event, groups))

    publish_module.add_listener(listener)
    yield captured
    publish_module.remove_listener(listener)


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    """Processes a test starts; whatever still runs at its end is killed."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(10)


@pytest.fixture
def frozen_clock() -> Iterator[object]:
    class Frozen:
        def set(self, at: dt.datetime) -> None:
            clock.freeze(at)

        def advance(self, **delta: float) -> None:
            clock.freeze(clock.now() + dt.timedelta(**delta))

    clock.freeze(dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC))
    yield Frozen()
    clock.freeze(None)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """Run browser tests last.

    pytest-playwright's sync `page` fixture leaves an event loop running on the main thread, after which
    pytest-asyncio cannot start its own ("Runner.run() cannot be called from a running event loop").
    Ordering, not isolation, is enough: nothing async runs after the browser tests.
    """
    browser_tests = [item for item in items if item.get_closest_marker("e2e")]
    if browser_tests:
        others = [item for item in items if not item.get_closest_marker("e2e")]
        items[:] = others + browser_tests


@pytest.fixture(autouse=True)
def webhook_subscriptions_fresh() -> Iterator[None]:
    """Each process caches the webhook subscriptions for a second (platform.subscriptions); a test's
    rolled-back endpoints must not outlive it in that cache."""
    from pagedesk.platform.subscriptions import cache_clear

    cache_clear()
    yield
    cache_clear()
