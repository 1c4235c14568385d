"""Wording for the webhook pages: how long an endpoint has been failing."""

from __future__ import annotations

import datetime as dt

from django import template
from django.utils.timesince import timesince
from django.utils.translation import gettext as _

from pagedesk.core import clock

register = template.Library()


@register.filter
def failing_for(since: dt.datetime | None) -> str:
    """ "less than a minute", else Django's timesince ("3 hours, 5 minutes"): a fresh failure read
    "Failing for 0 minutes"."""
    if since is None:
        return ""
    now = clock.now()
    if now - since < dt.timedelta(minutes=1):
        return _("less than a minute")
    return timesince(since, now=now)
