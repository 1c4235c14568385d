"""Integrations and their tokens (admin pages)."""

from django.urls import URLPattern, path

from pagedesk.platform import integration_views as views

urlpatterns: list[URLPattern] = [
    path("", views.integration_list_view, name="integration_list"),
    path("new/", views.integration_create_view, name="integration_create"),
    path(
        "<int:integration_id>/tokens/", views.integration_token_create_view, name="integration_token_create"
    ),
    path(
        "<int:integration_id>/tokens/<int:token_id>/revoke/",
        views.integration_token_revoke_view,
        name="integration_token_revoke",
    ),
    path("<int:integration_id>/campaigns/", views.integration_campaigns_view, name="integration_campaigns"),
    path("<int:integration_id>/revoke/", views.integration_revoke_view, name="integration_revoke"),
]
