from django.apps import AppConfig


class RecordingsConfig(AppConfig):
    name = "pagedesk.recordings"
    label = "recordings"
