"""Start-up hooks: every periodic job and sweep is registered once the apps are loaded."""

from __future__ import annotations

import pytest

from pagedesk.core import startup


def test_every_periodic_job_registers_its_start_up_hook():
    names = {hook.__module__ for hook in startup._hooks}
    assert {
        "pagedesk.messenger.ingest",
        "pagedesk.messenger.tasks_outbound",
        "pagedesk.routing.tasks",
    } <= names


def test_heap_freeze_takes_start_up_objects_out_of_full_collections():
    import gc

    before = gc.get_freeze_count()
    try:
        startup.heap_freeze()
        # Everything alive at start-up (modules, Django's registries) now sits in the permanent
        # generation, which full collections skip.
        assert gc.get_freeze_count() > before + 10_000
    finally:
        gc.unfreeze()


@pytest.mark.django_db
def test_serve_and_worker_freeze_the_heap_after_the_start_up_hooks(monkeypatch):
    import uvicorn
    from django.core.management import CommandError, call_command

    from pagedesk.core.management.commands import serve, worker

    calls: list[str] = []
    monkeypatch.setattr(serve, "run_startup_hooks", lambda: calls.append("hooks"))
    monkeypatch.setattr(serve, "heap_freeze", lambda: calls.append("freeze"))
    monkeypatch.setattr(uvicorn.Server, "run", lambda self: calls.append("serve"))
    call_command("serve", "--no-worker", "--port", "8765")
    assert calls == ["hooks", "freeze", "serve"]

    calls.clear()
    monkeypatch.setattr(worker, "run_startup_hooks", lambda: calls.append("hooks"))
    monkeypatch.setattr(worker, "heap_freeze", lambda: calls.append("freeze"))
    monkeypatch.setattr(worker, "EmbeddedWorkers", lambda *args, **kwargs: _OneShot(calls))
    with pytest.raises(CommandError):
        call_command("worker")
    assert calls == ["hooks", "freeze", "run", "stop"]


class _OneShot:
    """Worker threads that run, then end as if on an error, so the command stops at once."""

    def __init__(self, calls: list[str]) -> None:
        self.calls = calls

    def start(self) -> None:
        self.calls.append("run")

    def alive(self) -> bool:
        return False

    def stop(self, *args: object, **kwargs: object) -> dict[str, int]:
        self.calls.append("stop")
        return {"rerun": 0, "failed": 0}
