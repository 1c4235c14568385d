from django.urls import path

from pagedesk.accounts import views

app_name = "accounts"

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("me/", views.agent_home_view, name="agent_home"),
    path("me/presence/", views.presence_set_view, name="presence_set"),
    path("users/", views.user_list_view, name="user_list"),
    path("users/new/", views.user_create_view, name="user_create"),
    path("users/<int:user_id>/", views.user_edit_view, name="user_edit"),
    path("users/<int:user_id>/unlock/", views.user_unlock_view, name="user_unlock"),
    path("break-reasons/", views.break_reasons_view, name="break_reasons"),
]
