from django.apps import AppConfig


class RoutingConfig(AppConfig):
    name = "pagedesk.routing"
    label = "routing"

    def ready(self) -> None:
        from pagedesk.core import startup
        from pagedesk.routing.tasks import routing_startup

        startup.register(routing_startup)
