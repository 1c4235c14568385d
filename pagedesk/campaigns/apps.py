from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "pagedesk.campaigns"
    label = "campaigns"
