from django.urls import path

from pagedesk.monitoring import views

app_name = "monitoring"

urlpatterns = [
    path("", views.board_all_view, name="board_all"),
    path("fragment/", views.board_all_fragment_view, name="board_all_fragment"),
    path("campaigns/<int:campaign_id>/", views.board_view, name="board"),
    path("campaigns/<int:campaign_id>/fragment/", views.board_fragment_view, name="board_fragment"),
    path("agents/<int:agent_id>/offline/", views.agent_force_offline_view, name="agent_force_offline"),
    path(
        "conversations/<int:conversation_id>/return/",
        views.conversation_return_view,
        name="conversation_return",
    ),
]
