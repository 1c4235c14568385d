"""The Facebook side of a browser journey: the simulator wired to the live pagedesk, with workers."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any


@contextlib.contextmanager
def acme_connected(*, settings, live_app: str, campaign) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    """The simulator delivering webhooks to the live pagedesk, its Acme Support page connected to
    `campaign`, and two task worker threads (ingest, routing, Send API, profiles) in this process."""
    from pagedesk.core.worker import make_worker
    from pagedesk.messenger.oauth import SCOPES, PageInfo, page_connection_activate
    from tests.integration.messenger.facebook_simulator import (
        ACME_PAGE_ID,
        ACME_SEED_PAGE_TOKEN,
        running_simulator,
    )

    with running_simulator() as sim:
        sim.reset()
        sim.point_settings(settings)
        sim.http.patch(
            "/_control/config", json={"webhook_url": f"{live_app}/webhooks/messenger"}
        ).raise_for_status()
        page_connection_activate(
            campaign=campaign,
            page=PageInfo(
                id=ACME_PAGE_ID,
                name="Acme Support",
                tasks=("MANAGE", "MESSAGING"),
                access_token=ACME_SEED_PAGE_TOKEN,
            ),
            permissions=list(SCOPES),
        )
        workers = [make_worker(interval=0.05) for _ in range(2)]
        threads = [
            threading.Thread(target=w.run, daemon=True, name=f"e2e-worker-{i}") for i, w in enumerate(workers)
        ]
        for thread in threads:
            thread.start()
        try:
            yield sim
        finally:
            for worker in workers:
                worker.running = False
            for thread in threads:
                thread.join(10)
