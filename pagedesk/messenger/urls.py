"""Messenger routes, mounted at /webhooks/ (config/urls.py). Other messenger routes are appended below."""

from django.urls import path

from pagedesk.messenger.webhooks import messenger_webhook_view

app_name = "messenger"

urlpatterns = [
    path("messenger", messenger_webhook_view, name="webhook"),
]
