"""Which endpoints want which events: a per-process cache, so an event with no endpoint costs no query.

Every realtime event passes through the outbox receiver inside its service's transaction, so the
common case (no endpoint registered, or none for this type) must cost nothing. Each process keeps the
active endpoints' subscriptions in memory with the `WebhookConfigVersion` number it read them at, and
compares that number with the database's at most once every CHECK_SECONDS. Every endpoint change bumps
the number in its own transaction and clears this process's cache at once.

The window: another process may use the subscriptions as they were for up to CHECK_SECONDS after a
change commits. An event published in that window may miss an endpoint just registered or enabled,
or be written for one just disabled or narrowed, which the send-time re-check (platform.delivery)
then cancels. So a receiver never gets what it is not registered for; a new registration is complete
from one second after it was saved.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F

from pagedesk.platform.models import WebhookConfigVersion, WebhookEndpoint

CHECK_SECONDS = 1.0


@dataclass(frozen=True)
class Subscription:
    endpoint_id: int
    event_types: frozenset[str]
    all_campaigns: bool
    campaign_ids: frozenset[int]

    def covers(self, campaign_ids: list[int]) -> bool:
        """Registered for one of the campaigns the event concerns (an event of no campaign: only
        endpoints of all campaigns)."""
        if self.all_campaigns:
            return True
        return any(campaign_id in self.campaign_ids for campaign_id in campaign_ids)


def subscription_of(endpoint: WebhookEndpoint, campaign_ids: list[int]) -> Subscription:
    return Subscription(
        endpoint_id=endpoint.pk,
        event_types=frozenset(endpoint.event_types),
        all_campaigns=endpoint.all_campaigns,
        campaign_ids=frozenset(campaign_ids),
    )


class _Cache:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.version: int | None = None
        self.subscriptions: tuple[Subscription, ...] = ()
        self.checked_at = float("-inf")


_cache = _Cache()


def active_subscriptions() -> tuple[Subscription, ...]:
    """The enabled endpoints' subscriptions; a query at most once a second (two when they changed)."""
    cache = _cache
    if time.monotonic() - cache.checked_at < CHECK_SECONDS:
        return cache.subscriptions
    with cache.lock:
        if time.monotonic() - cache.checked_at < CHECK_SECONDS:
            return cache.subscriptions
        version = WebhookConfigVersion.objects.filter(pk=1).values_list("version", flat=True).first() or 0
        if version != cache.version:
            cache.subscriptions = _load() if version else ()
            cache.version = version
        cache.checked_at = time.monotonic()
        return cache.subscriptions


def _load() -> tuple[Subscription, ...]:
    endpoints = list(WebhookEndpoint.objects.filter(enabled=True).prefetch_related("campaigns"))
    return tuple(
        subscription_of(endpoint, [campaign.pk for campaign in endpoint.campaigns.all()])
        for endpoint in endpoints
    )


def cache_clear() -> None:
    with _cache.lock:
        _cache.version = None
        _cache.subscriptions = ()
        _cache.checked_at = float("-inf")


def config_changed() -> None:
    """Call inside the transaction of any endpoint change: other processes re-read within a second."""
    updated = WebhookConfigVersion.objects.filter(pk=1).update(version=F("version") + 1)
    if not updated:
        WebhookConfigVersion.objects.get_or_create(pk=1, defaults={"version": 1})
    # Now (this transaction's own reads see the change) and again after commit (a thread that
    # re-read the committed state meanwhile must not keep it).
    cache_clear()
    transaction.on_commit(cache_clear)
