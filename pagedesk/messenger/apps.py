from django.apps import AppConfig

from pagedesk.campaigns.signals import campaign_created
from pagedesk.conversations.signals import outbound_queued, sender_action_requested


class MessengerConfig(AppConfig):
    name = "pagedesk.messenger"
    label = "messenger"

    def ready(self) -> None:
        # Importing ingest and tasks_outbound registers their start-up hooks: the periodic page-token
        # check and the sweep of inbound events a crash left pending.
        # lazy (app loading): they import models, which are not ready when this module is imported.
        from pagedesk.messenger import ingest, receivers, tasks_outbound  # noqa: F401

        campaign_created.connect(receivers.on_campaign_created, dispatch_uid="messenger.campaign_created")
        outbound_queued.connect(receivers.on_outbound_queued, dispatch_uid="messenger.outbound_queued")
        sender_action_requested.connect(
            receivers.on_sender_action_requested, dispatch_uid="messenger.sender_action_requested"
        )
