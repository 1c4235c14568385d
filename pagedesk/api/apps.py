from django.apps import AppConfig

from pagedesk.core import startup


class ApiConfig(AppConfig):
    name = "pagedesk.api"
    label = "api"

    def ready(self) -> None:
        # lazy (app loading): it imports models, which are not ready when this module is imported.
        from pagedesk.api.tasks import idempotency_startup

        # Idempotency-Keys are kept a day; the sweep that forgets them re-arms itself (api/tasks.py).
        startup.register(idempotency_startup)
