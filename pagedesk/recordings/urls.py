from django.urls import path

from pagedesk.recordings import views

app_name = "recordings"

urlpatterns = [
    path("", views.recording_list_view, name="list"),
    path("export.csv", views.recording_export_view, name="export"),
    path("<int:conversation_id>/", views.transcript_view, name="transcript"),
    path("<int:conversation_id>/body/", views.transcript_fragment_view, name="transcript_body"),
    path("<int:conversation_id>/download.csv", views.transcript_download_view, name="transcript_download"),
    path("attachments/<int:attachment_id>/", views.attachment_view, name="attachment"),
]
