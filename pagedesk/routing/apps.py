from django.apps import AppConfig

from pagedesk.accounts.signals import agent_deactivated
from pagedesk.campaigns.signals import campaign_changed
from pagedesk.core import startup


class RoutingConfig(AppConfig):
    name = "pagedesk.routing"
    label = "routing"

    def ready(self) -> None:
        # lazy (app loading): both import models, which are not ready when this module is imported.
        from pagedesk.routing import receivers

        # lazy (app loading): likewise.
        from pagedesk.routing.tasks import routing_startup

        agent_deactivated.connect(receivers.on_agent_deactivated, dispatch_uid="routing.agent_deactivated")
        campaign_changed.connect(receivers.on_campaign_changed, dispatch_uid="routing.campaign_changed")
        startup.register(routing_startup)
