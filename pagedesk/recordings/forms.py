from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from pagedesk.accounts.models import Role, User
from pagedesk.campaigns.models import Disposition
from pagedesk.conversations.models import ConversationState
from pagedesk.recordings.fts import search_terms
from pagedesk.recordings.selectors import RECORDING_STATES, RecordingFilters, campaigns_visible_to


class RecordingFilterForm(forms.Form):
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    campaign = forms.TypedChoiceField(label=_("Campaign"), required=False, coerce=int, empty_value=None)
    agent = forms.TypedChoiceField(label=_("Agent"), required=False, coerce=int, empty_value=None)
    customer = forms.CharField(
        label=_("Customer"),
        required=False,
        max_length=150,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("Name or PSID")}),
    )
    state = forms.ChoiceField(label=_("State"), required=False)
    disposition = forms.TypedChoiceField(label=_("Disposition"), required=False, coerce=int, empty_value=None)
    q = forms.CharField(
        label=_("Words in messages"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("e.g. refund")}),
    )

    def __init__(self, *args: object, user: User, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        campaigns = list(campaigns_visible_to(user=user))
        self._choices("campaign", [("", _("All campaigns")), *((c.pk, c.name) for c in campaigns)])
        if user.is_agent:
            del self.fields["agent"]
        else:
            agents = User.objects.filter(role=Role.AGENT)
            if not user.is_admin:
                agents = agents.filter(memberships__campaign__in=campaigns).distinct()
            self._choices(
                "agent", [("", _("All agents")), *((a.pk, a.name) for a in agents.order_by("username"))]
            )
        self._choices(
            "state",
            [("", _("All states")), *((s.value, ConversationState(s).label) for s in RECORDING_STATES)],
        )
        dispositions = Disposition.objects.filter(campaign__in=campaigns).select_related("parent", "campaign")
        self._choices(
            "disposition",
            [
                ("", _("Any disposition")),
                *(
                    (d.pk, f"{d} ({d.campaign.name})" if len(campaigns) > 1 else str(d))
                    for d in dispositions.order_by("campaign__name", "parent_id", "position", "pk")
                ),
            ],
        )

    def _choices(self, name: str, choices: list[tuple[object, object]]) -> None:
        field = self.fields[name]
        assert isinstance(field, forms.ChoiceField)
        field.choices = choices

    def clean_q(self) -> str:
        text = self.cleaned_data.get("q") or ""
        if text.strip() and not search_terms(text):
            # "%" or "--" searched nothing and so listed every conversation: say what the search reads.
            raise forms.ValidationError(
                _("Search words are made of letters or digits; “%(text)s” has none.") % {"text": text.strip()}
            )
        return text

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        first, last = data.get("date_from"), data.get("date_to")
        if first and last and last < first:
            self.add_error("date_to", _("The end date is before the start date."))
        return data

    def filters(self) -> RecordingFilters:
        data = self.cleaned_data
        return RecordingFilters(
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            campaign_id=data.get("campaign"),
            agent_id=data.get("agent"),
            customer=data.get("customer") or "",
            state=data.get("state") or "",
            disposition_id=data.get("disposition"),
            text=data.get("q") or "",
        )
