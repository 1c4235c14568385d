from django.urls import path
from django.views.generic import RedirectView

from pagedesk.accounts import views

app_name = "accounts"

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.logout_view, name="logout"),
    # "My work" moved to the inbox (the agent's pages); an old bookmark still lands there.
    path(
        "me/", RedirectView.as_view(pattern_name="inbox:agent_home", permanent=True), name="agent_home_moved"
    ),
    path("users/", views.user_list_view, name="user_list"),
    path("users/new/", views.user_create_view, name="user_create"),
    path("users/<int:user_id>/", views.user_edit_view, name="user_edit"),
    path("users/<int:user_id>/unlock/", views.user_unlock_view, name="user_unlock"),
    path("break-reasons/", views.break_reasons_view, name="break_reasons"),
    path("tokens/", views.api_tokens_view, name="api_tokens"),
    path("tokens/<int:token_id>/revoke/", views.api_token_revoke_view, name="api_token_revoke"),
]
