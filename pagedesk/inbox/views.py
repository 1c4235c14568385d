"""The agent inbox: one page, and the fragments its script re-fetches when events arrive.

Thin views: parse → one selector or service → render. Every conversation id goes through
inbox.selectors.conversation_get_for_agent (open) or with act=True (act), so an agent sees and acts on
nothing outside their own conversations and their campaigns' pending queue (403 otherwise).
"""

from __future__ import annotations

import mimetypes
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from pagedesk.accounts.models import Presence, User
from pagedesk.accounts.selectors import break_reason_list
from pagedesk.campaigns.models import Campaign, Disposition
from pagedesk.campaigns.selectors import campaign_list_for_user
from pagedesk.conversations.sending import (
    ATTACHMENT_MAX_BYTES,
    REPLY_TEXT_MAX,
    TEXT_LIMIT,
    message_retry,
    messages_send,
)
from pagedesk.conversations.thread import thread_owner_label
from pagedesk.core.errors import ApplicationError, NotFound
from pagedesk.core.permissions import any_role_required, forbidden
from pagedesk.core.streaming import stored_file_response
from pagedesk.inbox import selectors
from pagedesk.inbox.emoji_data import emoji_groups
from pagedesk.inbox.forms import ACCEPT, MAX_FILES, CloseForm, PresenceForm, ReplyForm, TransferForm
from pagedesk.inbox.services import conversation_mark_read, conversation_open, conversation_typing
from pagedesk.messenger.thread_control import thread_control_hand_back, thread_control_take
from pagedesk.routing.selectors import conversation_list_for_agent
from pagedesk.routing.services import (
    conversation_close,
    conversation_return_to_queue,
    conversation_take,
    conversation_transfer_to_agent,
    conversation_transfer_to_campaign,
    presence_set,
)

View = Callable[..., HttpResponseBase]
# Image types a browser may show inline; anything else (SVG included) is a download.
INLINE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")
INLINE_PREFIXES = ("video/", "audio/")


def _error(exc: ApplicationError) -> JsonResponse:
    return JsonResponse(exc.as_dict(), status=exc.status)


def agent_view(view: View) -> View:
    """Logged-in agents only. ApplicationErrors become the page (403/404) for a full-page GET and a
    JSON error body `{"error": {...}}` for fragments and actions, which the script shows to the agent."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        user = request.user
        if not (user.is_active and getattr(user, "is_agent", False)):
            return forbidden(request, _("The inbox is for agents."))
        try:
            return view(request, *args, **kwargs)
        except ApplicationError as exc:
            if request.method == "GET" and not request.headers.get("HX-Request") and exc.status in (403, 404):
                return render(request, f"{exc.status}.html", {"message": exc.message}, status=exc.status)
            return _error(exc)

    return wrapper


def _agent(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _composer_limits() -> dict[str, Any]:
    return {
        "max_bytes": ATTACHMENT_MAX_BYTES,
        "max_files": MAX_FILES,
        "accept": ACCEPT,
        "text_limit": TEXT_LIMIT,
        "text_max": REPLY_TEXT_MAX,
    }


# --- page and lists -------------------------------------------------------------------------------


@require_GET
@agent_view
def inbox_view(request: HttpRequest, conversation_id: int | None = None) -> HttpResponse:
    agent = _agent(request)
    pane = None
    if conversation_id is not None:
        pane = selectors.conversation_pane(
            agent=agent,
            conversation=selectors.conversation_get_for_agent(agent=agent, conversation_id=conversation_id),
        )
    return render(
        request,
        "inbox/inbox.html",
        {
            "nav": "inbox",
            "lists": selectors.inbox_lists(agent=agent),
            "break_reasons": break_reason_list(),
            "pane": pane,
            "open_id": conversation_id,
            "limits": _composer_limits(),
        },
    )


@require_GET
@agent_view
def lists_view(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "inbox/_lists.html",
        {"lists": selectors.inbox_lists(agent=_agent(request)), "open_id": _int(request.GET.get("open"))},
    )


@require_GET
@agent_view
def history_view(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:100]
    offset = max(0, _int(request.GET.get("offset")) or 0)
    rows, more = selectors.history_list(agent=_agent(request), query=query, offset=offset)
    return render(
        request,
        "inbox/_history.html",
        {"rows": rows, "more": more, "query": query, "next_offset": offset + len(rows), "offset": offset},
    )


def _int(value: str | None) -> int | None:
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        return None


@require_GET
@agent_view
def presence_view(request: HttpRequest) -> HttpResponse:
    """The status switch, re-fetched when the agent's presence changes elsewhere (wrap-up, a timer)."""
    return render(request, "inbox/_presence.html", {"break_reasons": break_reason_list()})


@any_role_required
def agent_home_view(request: HttpRequest, offline_returns: int = 0) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    if not user.is_agent:
        return redirect("home")
    return render(
        request,
        "inbox/agent_home.html",
        {
            "nav": "me",
            "campaigns": campaign_list_for_user(user=user),
            "break_reasons": break_reason_list(),
            "offline_returns": offline_returns,
        },
    )


@require_POST
@any_role_required
def presence_set_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    if not user.is_agent:
        return forbidden(request, _("Only agents have a presence."))
    form = PresenceForm(request.POST)
    returning = 0
    if not form.is_valid():
        messages.error(request, _("Choose Available, Break or Offline."))
    elif (
        form.cleaned_data["presence"] == Presence.OFFLINE
        and not form.cleaned_data["confirm"]
        and (returning := conversation_list_for_agent(agent=user).count())
    ):
        pass  # the switch asks "Return N conversations to the queue?" first
    else:
        try:
            presence_set(
                agent=user,
                presence=form.cleaned_data["presence"],
                break_reason=form.cleaned_data["break_reason"],
                changed_by=user,
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
    if request.htmx:  # type: ignore[attr-defined]
        user.refresh_from_db()
        return render(
            request,
            "inbox/_presence.html",
            {"break_reasons": break_reason_list(), "offline_returns": returning},
        )
    if returning:  # without htmx the question is asked on "My work"
        return agent_home_view(request, offline_returns=returning)
    return redirect(request.POST.get("next") or "inbox:agent_home")


# --- the open conversation ------------------------------------------------------------------------


@require_GET
@agent_view
def pane_view(request: HttpRequest, conversation_id: int) -> HttpResponse:
    agent = _agent(request)
    conversation = selectors.conversation_get_for_agent(agent=agent, conversation_id=conversation_id)
    return render(
        request,
        "inbox/_pane.html",
        {
            "pane": selectors.conversation_pane(agent=agent, conversation=conversation),
            "limits": _composer_limits(),
        },
    )


@require_GET
@agent_view
def messages_view(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """?after=<id>: newer messages (live insert); ?before=<id>: one page of earlier ones ("load
    earlier"); neither: the newest page (re-fetched on reconnect and merged by message id)."""
    agent = _agent(request)
    conversation = selectors.conversation_get_for_agent(agent=agent, conversation_id=conversation_id)
    after, before = _int(request.GET.get("after")), _int(request.GET.get("before"))
    has_more = False
    if after is not None:
        messages = selectors.messages_after(conversation=conversation, after_id=after)
    else:
        messages, has_more = selectors.thread_page(conversation=conversation, before_id=before)
    response = render(request, "inbox/_messages.html", {"messages": messages, "conversation": conversation})
    response["X-Has-More"] = "1" if has_more else "0"
    return response


@require_GET
@agent_view
def message_view(request: HttpRequest, conversation_id: int, message_id: int) -> HttpResponse:
    agent = _agent(request)
    conversation = selectors.conversation_get_for_agent(agent=agent, conversation_id=conversation_id)
    message = selectors.message_get_in(conversation=conversation, message_id=message_id)
    return render(request, "inbox/_messages.html", {"messages": [message], "conversation": conversation})


@require_GET
@agent_view
def earlier_view(request: HttpRequest, conversation_id: int, earlier_id: int) -> HttpResponse:
    agent = _agent(request)
    conversation = selectors.conversation_get_for_agent(agent=agent, conversation_id=conversation_id)
    earlier = selectors.earlier_conversation_get(conversation=conversation, earlier_id=earlier_id)
    messages, has_more = selectors.thread_page(conversation=earlier, limit=200)
    return render(
        request,
        "inbox/_messages.html",
        {"messages": messages, "conversation": earlier, "truncated": has_more, "earlier": True},
    )


# --- writing --------------------------------------------------------------------------------------


@require_POST
@agent_view
def send_view(request: HttpRequest, conversation_id: int) -> HttpResponse:
    agent = _agent(request)
    conversation = selectors.conversation_get_for_agent(
        agent=agent, conversation_id=conversation_id, act=True
    )
    form = ReplyForm(request.POST, files_list=request.FILES.getlist("files"))
    if not form.is_valid():
        message = " ".join(str(m) for errors in form.errors.values() for m in errors)
        return _error(ApplicationError("invalid_reply", message, status=422))
    created = messages_send(
        conversation=conversation, author=agent, text=form.cleaned_data["text"], files=form.uploads
    )
    conversation_mark_read(conversation=conversation, agent=agent, up_to_id=created[-1].pk)
    html = render_to_string(
        "inbox/_messages.html", {"messages": created, "conversation": conversation}, request=request
    )
    return HttpResponse(html, status=201)


@require_POST
@agent_view
def retry_view(request: HttpRequest, conversation_id: int, message_id: int) -> HttpResponse:
    agent = _agent(request)
    conversation = selectors.conversation_get_for_agent(
        agent=agent, conversation_id=conversation_id, act=True
    )
    message = message_retry(
        message=selectors.message_get_in(conversation=conversation, message_id=message_id), by=agent
    )
    return render(request, "inbox/_messages.html", {"messages": [message], "conversation": conversation})


@require_POST
@agent_view
def seen_view(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """The page shows the conversation: unread goes to zero, and the customer sees "seen".

    A hint the page sends on its own (on opening, on a new message, on coming back into view), so one
    that arrives after the conversation left the agent (a transfer a moment earlier) is a no-op, not an
    error the page would have to explain."""
    agent = _agent(request)
    if not selectors.conversation_visible_to_agent(agent=agent, conversation_id=conversation_id):
        return HttpResponse(status=204)
    conversation = selectors.conversation_get_for_agent(agent=agent, conversation_id=conversation_id)
    conversation_open(conversation=conversation, agent=agent)
    return HttpResponse(status=204)


@require_POST
@agent_view
def typing_view(request: HttpRequest, conversation_id: int) -> HttpResponse:
    agent = _agent(request)
    conversation = selectors.conversation_get_for_agent(
        agent=agent, conversation_id=conversation_id, act=True
    )
    conversation_typing(conversation=conversation, agent=agent)
    return HttpResponse(status=204)


# --- routing actions ------------------------------------------------------------------------------


def _done(conversation_id: int, message: str, *, agent: User | None = None) -> JsonResponse:
    """`gone`: the agent may no longer open the conversation (it went to someone else), so the page
    closes its pane instead of fetching it again for a 403."""
    gone = agent is not None and not selectors.conversation_visible_to_agent(
        agent=agent, conversation_id=conversation_id
    )
    return JsonResponse(
        {"ok": True, "message": message, "pane": reverse("inbox:pane", args=[conversation_id]), "gone": gone}
    )


@require_POST
@agent_view
def take_view(request: HttpRequest, conversation_id: int) -> HttpResponse:
    agent = _agent(request)
    conversation_take(
        conversation=selectors.conversation_get_for_take(agent=agent, conversation_id=conversation_id),
        agent=agent,
    )
    return _done(conversation_id, _("The conversation is yours."))


@require_POST
@agent_view
def close_view(request: HttpRequest, conversation_id: int) -> HttpResponse:
    agent = _agent(request)
    conversation = selectors.conversation_get_for_agent(
        agent=agent, conversation_id=conversation_id, act=True
    )
    form = CloseForm(request.POST)
    form.is_valid()
    disposition_id = form.cleaned_data.get("disposition")
    disposition = (
        Disposition.objects.filter(pk=disposition_id, campaign_id=conversation.campaign_id).first()
        if disposition_id
        else None
    )
    if disposition_id and disposition is None:
        raise ApplicationError(
            "invalid_disposition", _("Choose one of the campaign's dispositions."), field="disposition"
        )
    conversation_close(conversation=conversation, agent=agent, disposition=disposition)
    return _done(conversation_id, _("Conversation closed."))


@require_POST
@agent_view
def return_view(request: HttpRequest, conversation_id: int) -> HttpResponse:
    agent = _agent(request)
    conversation = selectors.conversation_get_for_agent(
        agent=agent, conversation_id=conversation_id, act=True
    )
    conversation_return_to_queue(conversation=conversation, by=agent)
    return _done(conversation_id, _("Returned to the front of the queue."), agent=agent)


@require_POST
@agent_view
def thread_take_view(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """Take the Messenger thread from the app that has it (the Page inbox, a bot)."""
    agent = _agent(request)
    conversation = selectors.conversation_get_for_agent(
        agent=agent, conversation_id=conversation_id, act=True
    )
    previous = thread_control_take(conversation=conversation, actor=agent)
    return _done(
        conversation_id,
        _("You have control: you can reply now. (Taken from %(owner)s.)")
        % {"owner": thread_owner_label(previous)},
    )


@require_POST
@agent_view
def thread_hand_back_view(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """Pass the Messenger thread back to the app it came from (default: the Page inbox)."""
    agent = _agent(request)
    conversation = selectors.conversation_get_for_agent(
        agent=agent, conversation_id=conversation_id, act=True
    )
    target = thread_control_hand_back(conversation=conversation, actor=agent)
    return _done(conversation_id, _("Handed back to %(owner)s.") % {"owner": thread_owner_label(target)})


@agent_view
def transfer_view(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """GET: the transfer form (members with their availability, other campaigns); POST: transfer."""
    agent = _agent(request)
    conversation = selectors.conversation_get_for_agent(
        agent=agent, conversation_id=conversation_id, act=True
    )
    if request.method != "POST":
        agents, campaigns = selectors.transfer_targets(agent=agent, conversation=conversation)
        return render(
            request,
            "inbox/_transfer.html",
            {"conversation": conversation, "agents": agents, "campaigns": campaigns},
        )
    form = TransferForm(request.POST)
    if not form.is_valid():
        if "note" in form.errors:
            # The note's own reason (a NUL, too long), not "choose a target": the target was chosen.
            raise ApplicationError(
                "invalid_note", " ".join(str(e) for e in form.errors["note"]), field="note"
            )
        raise ApplicationError(
            "invalid_transfer", _("Choose an agent or a campaign to transfer to."), field="target"
        )
    kind, target_id = form.target_kind_id()
    note = form.cleaned_data["note"]
    if kind == "agent":
        # Only the campaign's members, who are listed in the dialog: anyone else is "no such agent", so
        # an id tells nothing of other users (it answered "Ada Lovelace is not a member…").
        target = User.objects.filter(
            pk=target_id, is_active=True, memberships__campaign_id=conversation.campaign_id
        ).first()
        if target is None:
            raise NotFound("not_found", _("There is no such agent in this campaign."))
        conversation_transfer_to_agent(conversation=conversation, to_agent=target, by=agent, note=note)
        return _done(conversation_id, _("Transferred to %(name)s.") % {"name": target.name}, agent=agent)
    campaign = Campaign.objects.filter(pk=target_id).first()
    if campaign is None:
        raise NotFound("not_found", _("There is no such campaign."))
    conversation_transfer_to_campaign(conversation=conversation, campaign=campaign, by=agent, note=note)
    return _done(
        conversation_id, _("Transferred to the queue of “%(name)s”.") % {"name": campaign.name}, agent=agent
    )


# --- static-ish -----------------------------------------------------------------------------------


@require_GET
@agent_view
def emoji_view(request: HttpRequest) -> HttpResponse:
    response = render(request, "inbox/_emoji.html", {"groups": emoji_groups()})
    response["Cache-Control"] = "private, max-age=86400"
    return response


@require_GET
@agent_view
def attachment_view(request: HttpRequest, attachment_id: int) -> HttpResponseBase:
    """A stored attachment after the permission check; never from static. Pictures, video and audio
    inline (the thread shows them), everything else as a download; nosniff and a sandbox CSP either way."""
    attachment = selectors.attachment_get_for_agent(agent=_agent(request), attachment_id=attachment_id)
    if not attachment.file:
        raise Http404
    name = attachment.filename or attachment.file.name.rsplit("/", 1)[-1]
    content_type = (
        attachment.content_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
    ).lower()
    inline = content_type in INLINE_TYPES or content_type.startswith(INLINE_PREFIXES)
    return stored_file_response(request, attachment.file, name=name, content_type=content_type, inline=inline)
