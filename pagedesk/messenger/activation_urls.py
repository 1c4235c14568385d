"""Activation with Facebook, the token check and the Facebook settings page; mounted at the site root.

Kept apart from messenger/urls.py, which is mounted under /webhooks/.
"""

from django.urls import path

from pagedesk.messenger import activation_views, settings_views

app_name = "facebook"

urlpatterns = [
    path("campaigns/<int:campaign_id>/facebook/start", activation_views.facebook_start_view, name="start"),
    path("campaigns/facebook/callback", activation_views.facebook_callback_view, name="callback"),
    path(
        "campaigns/<int:campaign_id>/facebook/page",
        activation_views.facebook_page_choose_view,
        name="choose_page",
    ),
    path("campaigns/<int:campaign_id>/facebook/check", activation_views.facebook_check_view, name="check"),
    path("settings/facebook", settings_views.facebook_settings_view, name="settings"),
    path(
        "settings/facebook/parked/<int:event_id>/replay",
        settings_views.parked_event_replay_view,
        name="parked_replay",
    ),
]
