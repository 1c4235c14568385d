from django.apps import AppConfig


class MessengerConfig(AppConfig):
    name = "pagedesk.messenger"
    label = "messenger"
