from django.apps import AppConfig

from pagedesk.realtime.signals import event_published


class PlatformConfig(AppConfig):
    """The open platform (issue 15): the public shapes the API and the outbound webhooks share, and
    the webhooks' outbox."""

    name = "pagedesk.platform"
    label = "platform"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Importing tasks registers the start-up hook of the webhook sweep.
        # lazy (app loading): they import models, which are not ready when this module is imported.
        from pagedesk.platform import receivers, tasks  # noqa: F401

        event_published.connect(receivers.on_event_published, dispatch_uid="platform.event_published")
