"""Outbound webhook endpoints and their delivery logs (admin pages)."""

from django.urls import path

from pagedesk.platform import webhook_views as views

urlpatterns = [
    path("webhooks/", views.webhook_list_view, name="webhook_list"),
    path("webhooks/new/", views.webhook_create_view, name="webhook_create"),
    path("webhooks/<int:endpoint_id>/", views.webhook_detail_view, name="webhook_detail"),
    path("webhooks/<int:endpoint_id>/edit/", views.webhook_edit_view, name="webhook_edit"),
    path("webhooks/<int:endpoint_id>/log/", views.webhook_log_view, name="webhook_log"),
    path("webhooks/<int:endpoint_id>/test/", views.webhook_test_view, name="webhook_test"),
    path("webhooks/<int:endpoint_id>/enable/", views.webhook_enable_view, name="webhook_enable"),
    path("webhooks/<int:endpoint_id>/secret/", views.webhook_rotate_view, name="webhook_rotate"),
    path("webhooks/<int:endpoint_id>/delete/", views.webhook_delete_view, name="webhook_delete"),
    path(
        "webhooks/<int:endpoint_id>/deliveries/<str:delivery_id>/redeliver/",
        views.webhook_redeliver_view,
        name="webhook_redeliver",
    ),
]
