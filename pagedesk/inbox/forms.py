"""Inbox input: replies with attachments, close, transfer. The upload limits are shown to the browser
(data attributes on the composer) so it refuses a file before uploading it, and checked again here."""

from __future__ import annotations

import mimetypes
from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from pagedesk.accounts.models import BreakReason, Presence
from pagedesk.conversations.sending import (
    ATTACHMENT_MAX_BYTES,
    REPLY_TEXT_MAX,
    reply_text_normalize,
    reply_too_long_message,
)

MAX_FILES = 10
# What Messenger shows well: images, video, audio and the common document types.
ALLOWED_TYPE_PREFIXES = ("image/", "video/", "audio/")
ALLOWED_TYPES = (
    "application/pdf",
    "text/plain",
    "text/csv",
    "application/zip",
    "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
)
# The <input accept> list the browser uses for its file dialog.
ACCEPT = ",".join(["image/*", "video/*", "audio/*", *ALLOWED_TYPES])


def upload_type(upload: UploadedFile) -> str:
    return (upload.content_type or mimetypes.guess_type(upload.name or "")[0] or "").lower()


def upload_allowed(content_type: str) -> bool:
    return content_type.startswith(ALLOWED_TYPE_PREFIXES) or content_type in ALLOWED_TYPES


class ReplyForm(forms.Form):
    # No max_length: its error would count the browser's CRLF line breaks twice, and a reply longer
    # than one Messenger message is split by messages_send, not refused.
    text = forms.CharField(required=False, strip=True, label=gettext_lazy("Message"))

    def __init__(self, *args: Any, files_list: list[UploadedFile] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.uploads = files_list or []

    def clean_text(self) -> str:
        text = reply_text_normalize(self.cleaned_data.get("text") or "")
        if len(text) > REPLY_TEXT_MAX:
            raise forms.ValidationError(reply_too_long_message(length=len(text)))
        return text

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if len(self.uploads) > MAX_FILES:
            raise forms.ValidationError(_("Attach at most %(n)s files per message.") % {"n": MAX_FILES})
        for upload in self.uploads:
            name = upload.name or ""
            if (upload.size or 0) > ATTACHMENT_MAX_BYTES:
                raise forms.ValidationError(
                    _("“%(name)s” is %(size)s; Messenger accepts files up to %(max)s.")
                    % {
                        "name": name,
                        "size": filesizeformat(upload.size or 0),
                        "max": filesizeformat(ATTACHMENT_MAX_BYTES),
                    }
                )
            if not upload_allowed(upload_type(upload)):
                raise forms.ValidationError(
                    _(
                        "“%(name)s” is not a type Messenger can show; send images, video, audio, PDF or office documents."
                    )
                    % {"name": name}
                )
        if not cleaned.get("text") and not self.uploads and "text" not in self.errors:
            raise forms.ValidationError(_("Write a message or attach a file."))
        return cleaned


class CloseForm(forms.Form):
    disposition = forms.IntegerField(required=False)


class TransferForm(forms.Form):
    target = forms.RegexField(regex=r"^(agent|campaign):\d+$", label=gettext_lazy("Transfer to"))
    note = forms.CharField(required=False, max_length=1000, label=gettext_lazy("Note for the receiver"))

    def target_kind_id(self) -> tuple[str, int]:
        kind, _sep, ident = self.cleaned_data["target"].partition(":")
        return kind, int(ident)


class PresenceForm(forms.Form):
    presence = forms.ChoiceField(
        choices=[(p, p.label) for p in (Presence.AVAILABLE, Presence.BREAK, Presence.OFFLINE)]
    )
    break_reason = forms.ModelChoiceField(queryset=BreakReason.objects.filter(active=True), required=False)
    # Offline returns the agent's open conversations to the queue; the status control asks first.
    confirm = forms.BooleanField(required=False)
