"""The operator's backlog gauges on /metrics, read from the database when Prometheus scrapes.

Counters (pagedesk.core.metrics) say what one process did; these say what the deployment owes: events
stored but not processed (webhook lag), tasks waiting (backlog and age), customers waiting for an agent,
page tokens by status. Every process reports the same figures (they come from the one database), so
alert on max() across instances. Alert rules: docs/deploy.md, Monitoring.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from django.db import DatabaseError
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from pagedesk.monitoring.selectors import operations_figures

logger = logging.getLogger(__name__)


class OperationsCollector(Collector):
    def describe(self) -> list[GaugeMetricFamily]:
        # Without describe(), registering would call collect(): database queries at start-up.
        return []

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            figures = operations_figures()
        except DatabaseError as exc:
            # /readyz reports the database; the scrape still carries the process's own counters.
            logger.warning("operations metrics not read: %s", exc)
            return
        yield GaugeMetricFamily(
            "pagedesk_inbound_events_pending",
            "Webhook events stored but not yet processed",
            figures.inbound_pending,
        )
        yield GaugeMetricFamily(
            "pagedesk_inbound_oldest_pending_seconds",
            "Age of the oldest webhook event not yet processed (webhook lag)",
            figures.inbound_oldest_pending_seconds,
        )
        ready = GaugeMetricFamily(
            "pagedesk_tasks_ready", "Background tasks due and not started", labels=["queue"]
        )
        oldest = GaugeMetricFamily(
            "pagedesk_tasks_oldest_ready_seconds", "Age of the oldest due task not started", labels=["queue"]
        )
        for queue, count in sorted(figures.tasks_ready.items()):
            ready.add_metric([queue], count)
            oldest.add_metric([queue], figures.tasks_oldest_ready_seconds[queue])
        yield ready
        yield oldest
        yield GaugeMetricFamily(
            "pagedesk_tasks_running", "Background tasks running now", figures.tasks_running
        )
        queued = GaugeMetricFamily(
            "pagedesk_conversations_queued", "Conversations waiting for an agent", labels=["campaign"]
        )
        waited = GaugeMetricFamily(
            "pagedesk_conversations_oldest_queued_seconds",
            "How long the longest-waiting customer has waited for an agent",
            labels=["campaign"],
        )
        for campaign, count in sorted(figures.queued.items()):
            queued.add_metric([campaign], count)
            waited.add_metric([campaign], figures.queued_oldest_seconds[campaign])
        yield queued
        yield waited
        tokens = GaugeMetricFamily(
            "pagedesk_page_tokens", "Connected pages by page-token status", labels=["status"]
        )
        for status in ("active", "invalid", "unknown"):
            tokens.add_metric([status], figures.page_tokens.get(status, 0))
        yield tokens
