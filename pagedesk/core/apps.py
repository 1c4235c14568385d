from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "pagedesk.core"
    label = "core"

    def ready(self) -> None:
        # Connects the wake-up-on-enqueue receiver (task_enqueued) in every process that loads the apps
        # and so may enqueue, including web processes that run no worker themselves.
        from pagedesk.core import worker  # noqa: F401
        # The login-failure counter (pagedesk_login_failures_total) was defined but nothing moved it.
        from pagedesk.core import receivers  # noqa: F401
