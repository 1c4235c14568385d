"""Forms of the integrations pages."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from pagedesk.campaigns.models import Campaign
from pagedesk.campaigns.services import INTEGRATION_NAME_MAX


class IntegrationCampaignsForm(forms.Form):
    campaigns = forms.ModelMultipleChoiceField(
        label=_("Campaigns"),
        queryset=Campaign.objects.order_by("name"),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("It sees and writes in these campaigns' conversations only."),
        # The service's own words (campaigns.services), also when the form stops an empty choice first.
        error_messages={"required": _("Choose at least one campaign the integration may work in.")},
    )


class IntegrationForm(IntegrationCampaignsForm):
    name = forms.CharField(
        label=_("Name"),
        max_length=INTEGRATION_NAME_MAX,
        help_text=_("Shown as the author of the messages it sends, e.g. “Order bot” or “Acme CRM”."),
    )
    field_order = ["name", "campaigns"]


class TokenForm(forms.Form):
    name = forms.CharField(label=_("Token label"), max_length=80, required=False)
