from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "pagedesk.accounts"
    label = "accounts"
