from django.apps import AppConfig


class MessengerConfig(AppConfig):
    name = "pagedesk.messenger"
    label = "messenger"

    def ready(self) -> None:
        # Importing registers the start-up hooks: the periodic page-token check (tasks_outbound) and the
        # sweep that re-enqueues inbound events a crash left pending (ingest).
        from pagedesk.messenger import ingest, tasks_outbound  # noqa: F401
