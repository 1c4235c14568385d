from django.urls import path

from pagedesk.campaigns import views

app_name = "campaigns"

urlpatterns = [
    path("", views.campaign_list_view, name="list"),
    path("table/", views.campaign_table_view, name="table"),
    path("new/", views.campaign_create_view, name="create"),
    path("<int:campaign_id>/", views.campaign_edit_view, name="edit"),
    path("<int:campaign_id>/row/", views.campaign_row_view, name="row"),
    path("<int:campaign_id>/members/", views.campaign_members_view, name="members"),
    path("<int:campaign_id>/supervisors/", views.campaign_supervisors_view, name="supervisors"),
    path("<int:campaign_id>/dispositions/", views.disposition_list_view, name="dispositions"),
    path(
        "<int:campaign_id>/dispositions/<int:disposition_id>/rename/",
        views.disposition_rename_view,
        name="disposition_rename",
    ),
    path(
        "<int:campaign_id>/dispositions/<int:disposition_id>/delete/",
        views.disposition_delete_view,
        name="disposition_delete",
    ),
    path("<int:campaign_id>/blocked/", views.blocked_list_view, name="blocked"),
    path(
        "<int:campaign_id>/blocked/<int:blocked_id>/remove/", views.blocked_remove_view, name="blocked_remove"
    ),
]
