from django.apps import AppConfig
from django.core import signals as request_signals
from django_tasks import signals as task_signals

from pagedesk.core import priority


def _priority_connect() -> None:
    """Foreground work that background delivery steps aside for (core.priority)."""
    task_signals.task_enqueued.connect(priority.on_task_enqueued, dispatch_uid="priority-task-enqueued")
    task_signals.task_started.connect(priority.on_task_started, dispatch_uid="priority-task-started")
    task_signals.task_finished.connect(priority.on_task_finished, dispatch_uid="priority-task-finished")
    request_signals.request_started.connect(priority.on_request, dispatch_uid="priority-request-started")
    request_signals.request_finished.connect(priority.on_request, dispatch_uid="priority-request-finished")


class CoreConfig(AppConfig):
    name = "pagedesk.core"
    label = "core"

    def ready(self) -> None:
        # worker: connects the wake-up-on-enqueue receiver (task_enqueued) in every process that loads
        # the apps and so may enqueue, including web processes that run no worker themselves.
        # receivers: the login-failure counter (pagedesk_login_failures_total), which nothing moved.
        # lazy (app loading): they import models, which are not ready when this module is imported.
        from pagedesk.core import (
            receivers,  # noqa: F401
            startup,
            worker,  # noqa: F401
        )

        # lazy (app loading): it imports models.
        from pagedesk.core.tasks import lost_tasks_reclaim_startup

        _priority_connect()

        # Reclaim the task rows of lost workers, and keep that sweep armed (core.leases).
        startup.register(lost_tasks_reclaim_startup)
