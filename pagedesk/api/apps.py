from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "pagedesk.api"
    label = "api"
