"""Outbound webhook endpoints and their delivery logs (admin pages)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
