from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "pagedesk.monitoring"
    label = "monitoring"
