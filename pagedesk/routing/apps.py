from django.apps import AppConfig


class RoutingConfig(AppConfig):
    name = "pagedesk.routing"
    label = "routing"
