"""Start-up hooks: every periodic job and sweep is registered once the apps are loaded."""

from __future__ import annotations

from pagedesk.core import startup


def test_every_periodic_job_registers_its_start_up_hook():
    names = {hook.__module__ for hook in startup._hooks}
    assert {
        "pagedesk.messenger.ingest",
        "pagedesk.messenger.tasks_outbound",
        "pagedesk.routing.tasks",
    } <= names
