from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "pagedesk.monitoring"
    label = "monitoring"

    def ready(self) -> None:
        from prometheus_client import REGISTRY

        # lazy (app loading): the collector's selectors import models.
        from pagedesk.monitoring.metrics import OperationsCollector

        REGISTRY.register(OperationsCollector())
