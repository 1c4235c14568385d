"""Integrations and their tokens (admin pages)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
