from django.apps import AppConfig


class ConfigConfig(AppConfig):
    """The composition root as an app, for the commands that span the layers: `demo` loads data through
    every layer and `simulator` is the one door from pagedesk to the simulator (docs/architecture.md)."""

    name = "pagedesk.config"
    label = "config"
