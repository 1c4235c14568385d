from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    name = "pagedesk.realtime"
    label = "realtime"
