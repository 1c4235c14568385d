from django.apps import AppConfig


class MessengerConfig(AppConfig):
    name = "pagedesk.messenger"
    label = "messenger"

    def ready(self) -> None:
        # Registers the start-up hook that keeps the periodic page-token check scheduled.
        from pagedesk.messenger import tasks_outbound  # noqa: F401
