from django.urls import path

from pagedesk.inbox import views

app_name = "inbox"

urlpatterns = [
    path("", views.inbox_view, name="inbox"),
    path("lists/", views.lists_view, name="lists"),
    path("history/", views.history_view, name="history"),
    path("presence/", views.presence_view, name="presence"),
    path("me/", views.agent_home_view, name="agent_home"),
    path("me/presence/", views.presence_set_view, name="presence_set"),
    path("emoji/", views.emoji_view, name="emoji"),
    path("attachments/<int:attachment_id>/", views.attachment_view, name="attachment"),
    path("<int:conversation_id>/", views.inbox_view, name="conversation"),
    path("<int:conversation_id>/pane/", views.pane_view, name="pane"),
    path("<int:conversation_id>/messages/", views.messages_view, name="messages"),
    path("<int:conversation_id>/messages/<int:message_id>/", views.message_view, name="message"),
    path("<int:conversation_id>/messages/<int:message_id>/retry/", views.retry_view, name="retry"),
    path("<int:conversation_id>/earlier/<int:earlier_id>/", views.earlier_view, name="earlier"),
    path("<int:conversation_id>/send/", views.send_view, name="send"),
    path("<int:conversation_id>/seen/", views.seen_view, name="seen"),
    path("<int:conversation_id>/typing/", views.typing_view, name="typing"),
    path("<int:conversation_id>/take/", views.take_view, name="take"),
    path("<int:conversation_id>/close/", views.close_view, name="close"),
    path("<int:conversation_id>/return/", views.return_view, name="return"),
    path("<int:conversation_id>/transfer/", views.transfer_view, name="transfer"),
    path("<int:conversation_id>/thread/take/", views.thread_take_view, name="thread_take"),
    path("<int:conversation_id>/thread/hand-back/", views.thread_hand_back_view, name="thread_hand_back"),
]
