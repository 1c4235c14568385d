from django.apps import AppConfig


class InboxConfig(AppConfig):
    name = "pagedesk.inbox"
    label = "inbox"
