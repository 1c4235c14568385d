from django.apps import AppConfig


class ConversationsConfig(AppConfig):
    name = "pagedesk.conversations"
    label = "conversations"
