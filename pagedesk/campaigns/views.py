"""Campaign administration pages. Admins change campaigns; supervisors see the table of theirs, read-only.

Every write goes through one call to campaigns.services; parsing of the repeating rows lives in forms.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from pagedesk.accounts.models import Role, User
from pagedesk.accounts.selectors import agent_list, user_list
from pagedesk.campaigns.forms import (
    BlockedContactForm,
    CampaignEditor,
    DispositionForm,
    DispositionRenameForm,
    MemberRow,
    MembersEditor,
    SupervisorsForm,
    timezone_names,
    weekday_choices,
)
from pagedesk.campaigns.models import STRATEGY_HELP, Campaign, Strategy
from pagedesk.campaigns.selectors import (
    blocked_contact_get,
    blocked_contact_list,
    campaign_bot_state,
    campaign_get_for_user,
    campaign_is_open,
    campaign_list_for_user,
    disposition_get,
    disposition_tree,
    membership_list,
    supervisor_list,
)
from pagedesk.campaigns.services import (
    blocked_contact_add,
    blocked_contact_remove,
    campaign_create,
    campaign_set_supervisors,
    campaign_update,
    disposition_create,
    disposition_delete,
    disposition_rename,
    membership_set,
)
from pagedesk.core.errors import ApplicationError
from pagedesk.core.forms import apply_error
from pagedesk.core.permissions import admin_required, supervisor_required


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


@dataclass
class CampaignRow:
    campaign: Campaign
    is_open: bool


def _rows(campaigns: Any) -> list[CampaignRow]:
    # Ranges and holidays are prefetched by the selector, so this costs no query per row.
    return [CampaignRow(campaign=c, is_open=campaign_is_open(campaign=c)) for c in campaigns]


# --- Table ------------------------------------------------------------------------------------------


@supervisor_required
def campaign_list_view(request: HttpRequest) -> HttpResponse:
    rows = _rows(campaign_list_for_user(user=_user(request)))
    return render(request, "campaigns/list.html", {"nav": "campaigns", "rows": rows})


@require_GET
@supervisor_required
def campaign_table_view(request: HttpRequest) -> HttpResponse:
    """The table's contents alone; the page re-fetches it when a campaign event arrives."""
    rows = _rows(campaign_list_for_user(user=_user(request)))
    return render(request, "campaigns/_table.html", {"rows": rows})


@require_GET
@supervisor_required
def campaign_row_view(request: HttpRequest, campaign_id: int) -> HttpResponse:
    """One row, re-read from the database (the token refresh button)."""
    campaign = campaign_get_for_user(user=_user(request), campaign_id=campaign_id)
    return render(request, "campaigns/_row.html", {"row": _rows([campaign])[0]})


# --- Settings form ----------------------------------------------------------------------------------


def _form_context(editor: CampaignEditor, **extra: Any) -> dict[str, Any]:
    return {
        "nav": "campaigns",
        "tab": "settings",
        "editor": editor,
        "form": editor.form,
        "strategies": [(s.value, s.label, STRATEGY_HELP[s]) for s in Strategy],
        "weekdays": weekday_choices(),
        "timezones": timezone_names(),
        **extra,
    }


@admin_required
def campaign_create_view(request: HttpRequest) -> HttpResponse:
    editor = CampaignEditor(request.POST if request.method == "POST" else None)
    if request.method == "POST" and editor.is_valid():
        try:
            campaign = campaign_create(**editor.service_kwargs())
        except ApplicationError as exc:
            editor.apply_error(exc)
        else:
            messages.success(
                request, _("Campaign “%(name)s” created. Now add its members.") % {"name": campaign.name}
            )
            return redirect("campaigns:members", campaign_id=campaign.pk)
    status = 422 if request.method == "POST" else 200
    return render(request, "campaigns/form.html", _form_context(editor, creating=True), status=status)


@admin_required
def campaign_edit_view(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = campaign_get_for_user(user=_user(request), campaign_id=campaign_id, manage=True)
    editor = CampaignEditor(request.POST if request.method == "POST" else None, campaign=campaign)
    if request.method == "POST" and editor.is_valid():
        try:
            campaign_update(campaign=campaign, **editor.service_kwargs())
        except ApplicationError as exc:
            editor.apply_error(exc)
            # campaign_update assigned the refused values to the instance; show the stored name.
            campaign.refresh_from_db(fields=["name"])
        else:
            messages.success(request, _("Campaign “%(name)s” saved.") % {"name": campaign.name})
            return redirect("campaigns:list")
    status = 422 if request.method == "POST" else 200
    return render(
        request,
        "campaigns/form.html",
        _form_context(editor, campaign=campaign, bot_state=campaign_bot_state(campaign=campaign)),
        status=status,
    )


# --- Members and supervisors ------------------------------------------------------------------------


def _members_context(
    campaign: Campaign,
    *,
    rows: list[MemberRow] | None = None,
    errors: list[str] | None = None,
    supervisors_form: SupervisorsForm | None = None,
) -> dict[str, Any]:
    if rows is None:
        rows = [MemberRow(agent=m.agent, penalty=str(m.penalty)) for m in membership_list(campaign=campaign)]
    member_ids = {row.agent.pk for row in rows}
    agents = list(agent_list())
    supervisors = list(user_list(role=Role.SUPERVISOR, active_only=True))
    if supervisors_form is None:
        supervisors_form = SupervisorsForm(
            initial={"supervisors": [u.pk for u in supervisor_list(campaign=campaign)]},
            supervisors=supervisors,
        )
    return {
        "nav": "campaigns",
        "tab": "members",
        "campaign": campaign,
        "member_rows": rows,
        "available": [agent for agent in agents if agent.pk not in member_ids],
        "has_agents": bool(agents),
        "member_errors": errors or [],
        "supervisors_form": supervisors_form,
    }


@admin_required
def campaign_members_view(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = campaign_get_for_user(user=_user(request), campaign_id=campaign_id, manage=True)
    if request.method != "POST":
        return render(request, "campaigns/members.html", _members_context(campaign))
    agents = {u.pk: u for u in agent_list()}
    editor = MembersEditor.from_post(request.POST, agents=agents)
    if not editor.errors:
        try:
            membership_set(campaign=campaign, members=editor.specs)
        except ApplicationError as exc:
            editor.errors.append(exc.message)
        else:
            messages.success(request, _("Members of “%(name)s” saved.") % {"name": campaign.name})
            return redirect("campaigns:members", campaign_id=campaign.pk)
    context = _members_context(campaign, rows=editor.rows, errors=editor.errors)
    return render(request, "campaigns/members.html", context, status=422)


@require_POST
@admin_required
def campaign_supervisors_view(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = campaign_get_for_user(user=_user(request), campaign_id=campaign_id, manage=True)
    supervisors = list(user_list(role=Role.SUPERVISOR, active_only=True))
    form = SupervisorsForm(request.POST, supervisors=supervisors)
    if form.is_valid():
        try:
            campaign_set_supervisors(campaign=campaign, supervisor_ids=form.cleaned_data["supervisors"])
        except ApplicationError as exc:
            apply_error(form, exc)
        else:
            messages.success(request, _("Supervisors of “%(name)s” saved.") % {"name": campaign.name})
            return redirect("campaigns:members", campaign_id=campaign.pk)
    return render(
        request, "campaigns/members.html", _members_context(campaign, supervisors_form=form), status=422
    )


# --- Dispositions -----------------------------------------------------------------------------------


def _dispositions_context(campaign: Campaign, **extra: Any) -> dict[str, Any]:
    return {
        "nav": "campaigns",
        "tab": "dispositions",
        "campaign": campaign,
        "categories": disposition_tree(campaign=campaign),
        "form": extra.pop("form", None) or DispositionForm(),
        **extra,
    }


@admin_required
def disposition_list_view(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = campaign_get_for_user(user=_user(request), campaign_id=campaign_id, manage=True)
    if request.method != "POST":
        return render(request, "campaigns/dispositions.html", _dispositions_context(campaign))
    form = DispositionForm(request.POST)
    if form.is_valid():
        parent_id = form.cleaned_data["parent"]
        try:
            parent = (
                disposition_get(campaign=campaign, disposition_id=parent_id, field="parent")
                if parent_id
                else None
            )
            disposition_create(campaign=campaign, name=form.cleaned_data["name"], parent=parent)
        except ApplicationError as exc:
            apply_error(form, exc)
        else:
            messages.success(
                request, _("Disposition “%(name)s” added.") % {"name": form.cleaned_data["name"]}
            )
            return redirect("campaigns:dispositions", campaign_id=campaign.pk)
    # The error shows beside the add form it came from: the top-level one, or a category's.
    context = _dispositions_context(campaign, form=form, error_parent=request.POST.get("parent") or "")
    return render(request, "campaigns/dispositions.html", context, status=422)


@require_POST
@admin_required
def disposition_rename_view(request: HttpRequest, campaign_id: int, disposition_id: int) -> HttpResponse:
    campaign = campaign_get_for_user(user=_user(request), campaign_id=campaign_id, manage=True)
    disposition = disposition_get(campaign=campaign, disposition_id=disposition_id)
    form = DispositionRenameForm(request.POST)
    if form.is_valid():
        try:
            disposition_rename(disposition=disposition, name=form.cleaned_data["name"])
        except ApplicationError as exc:
            apply_error(form, exc)
        else:
            messages.success(request, _("Disposition renamed to “%(name)s”.") % {"name": disposition.name})
            return redirect("campaigns:dispositions", campaign_id=campaign.pk)
    context = _dispositions_context(campaign, rename_form=form, rename_id=disposition.pk)
    return render(request, "campaigns/dispositions.html", context, status=422)


@require_POST
@admin_required
def disposition_delete_view(request: HttpRequest, campaign_id: int, disposition_id: int) -> HttpResponse:
    campaign = campaign_get_for_user(user=_user(request), campaign_id=campaign_id, manage=True)
    disposition = disposition_get(campaign=campaign, disposition_id=disposition_id)
    try:
        disposition_delete(disposition=disposition)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Disposition “%(name)s” deleted.") % {"name": disposition.name})
    return redirect("campaigns:dispositions", campaign_id=campaign.pk)


# --- Blocked contacts -------------------------------------------------------------------------------


@admin_required
def blocked_list_view(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = campaign_get_for_user(user=_user(request), campaign_id=campaign_id, manage=True)
    form = BlockedContactForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            blocked_contact_add(campaign=campaign, by=_user(request), **form.cleaned_data)
        except ApplicationError as exc:
            apply_error(form, exc)
        else:
            messages.success(
                request, _("PSID %(psid)s blocked.") % {"psid": form.cleaned_data["psid"].strip()}
            )
            return redirect("campaigns:blocked", campaign_id=campaign.pk)
    context = {
        "nav": "campaigns",
        "tab": "blocked",
        "campaign": campaign,
        "form": form,
        "blocked": blocked_contact_list(campaign=campaign).select_related("created_by"),
    }
    return render(request, "campaigns/blocked.html", context, status=422 if request.method == "POST" else 200)


@require_POST
@admin_required
def blocked_remove_view(request: HttpRequest, campaign_id: int, blocked_id: int) -> HttpResponse:
    campaign = campaign_get_for_user(user=_user(request), campaign_id=campaign_id, manage=True)
    blocked = blocked_contact_get(campaign=campaign, blocked_id=blocked_id)
    blocked_contact_remove(blocked=blocked)
    messages.success(request, _("PSID %(psid)s unblocked.") % {"psid": blocked.psid})
    return redirect("campaigns:blocked", campaign_id=campaign.pk)
