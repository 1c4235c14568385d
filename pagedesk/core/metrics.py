"""Prometheus metrics. Each metric is defined here once; code elsewhere imports and updates it.

Counters live in the process's default registry. With several `pagedesk serve` processes each exposes
its own numbers on /metrics, which is how Prometheus expects multi-process deployments to be scraped.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

http_requests = Counter("pagedesk_http_requests_total", "HTTP requests answered", ["method", "status"])
http_latency = Histogram(
    "pagedesk_http_request_seconds",
    "Time to answer an HTTP request",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
login_failures = Counter("pagedesk_login_failures_total", "Failed login attempts")
presence_changes = Counter("pagedesk_presence_changes_total", "Agent presence changes", ["presence"])
webhook_events = Counter("pagedesk_webhook_events_total", "Webhook events received", ["kind"])
unknown_events = Counter(
    "pagedesk_unknown_events_total", "Webhook events of a shape pagedesk does not understand", ["reason"]
)
graph_errors = Counter("pagedesk_graph_errors_total", "Graph API errors", ["kind"])
websocket_connections = Gauge("pagedesk_websocket_connections", "Open websocket connections")
