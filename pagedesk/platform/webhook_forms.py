"""The endpoint form of the webhook admin pages.

The service validates the URL and the rules again (the API has no form); the form checks them too, each
field on its own, so a page shows every mistake at once rather than the URL's only after the events'.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from pagedesk.campaigns.models import Campaign
from pagedesk.platform import signing
from pagedesk.platform.models import EVENT_TYPES, DeliveryState
from pagedesk.platform.services import EndpointSpec


class WebhookForm(forms.Form):
    url = forms.CharField(
        label=_("URL"),
        max_length=2000,
        widget=forms.URLInput(
            attrs={"placeholder": "https://crm.example.com/hooks/pagedesk", "autocomplete": "url"}
        ),
        help_text=_("pagedesk POSTs each event here as JSON, signed with the endpoint's secret."),
    )
    description = forms.CharField(label=_("Description"), max_length=200, required=False)
    event_types = forms.MultipleChoiceField(
        label=_("Events"),
        choices=[(name, f"{name} — {label}") for name, label in EVENT_TYPES.items()],
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one event type.")},
    )
    all_campaigns = forms.BooleanField(label=_("All campaigns, also those created later"), required=False)
    campaigns = forms.ModelMultipleChoiceField(
        label=_("Campaigns"),
        queryset=Campaign.objects.order_by("name"),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("The endpoint receives events of these campaigns only."),
    )

    def clean_url(self) -> str:
        url = str(self.cleaned_data["url"]).strip()
        try:
            signing.url_check(url)
        except signing.UnsafeUrl as exc:
            raise forms.ValidationError(exc.message, code=exc.code) from None
        return url

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("all_campaigns") and not data.get("campaigns") and "campaigns" not in self.errors:
            self.add_error("campaigns", _("Choose the campaigns whose events it receives, or all campaigns."))
        return data

    def spec(self) -> EndpointSpec:
        data = self.cleaned_data
        return EndpointSpec(
            url=data["url"],
            description=data["description"],
            event_types=list(data["event_types"]),
            campaign_ids=[c.pk for c in data["campaigns"]],
            all_campaigns=data["all_campaigns"],
        )


class WebhookCreateForm(WebhookForm):
    secret = forms.CharField(
        label=_("Secret"),
        required=False,
        max_length=200,
        min_length=signing.SECRET_MIN_LENGTH,
        help_text=_("Leave empty to have one generated. It is shown once, after saving."),
        error_messages={
            "min_length": _("A secret needs %(min)s to 200 characters; leave it empty to have one generated.")
            % {"min": signing.SECRET_MIN_LENGTH}
        },
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )


class DeliveryFilter(forms.Form):
    state = forms.ChoiceField(
        label=_("State"),
        required=False,
        choices=[("", _("Any state")), *DeliveryState.choices],
        widget=forms.Select(attrs={"class": "select-auto"}),
    )
    event_type = forms.ChoiceField(
        label=_("Event"),
        required=False,
        choices=[("", _("Any event")), *((name, name) for name in [*EVENT_TYPES, "ping"])],
        widget=forms.Select(attrs={"class": "select-auto"}),
    )
