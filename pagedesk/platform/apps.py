from django.apps import AppConfig


class PlatformConfig(AppConfig):
    """The open platform (issue 15): the public shapes the API and the outbound webhooks share."""

    name = "pagedesk.platform"
    label = "platform"
    default_auto_field = "django.db.models.BigAutoField"
