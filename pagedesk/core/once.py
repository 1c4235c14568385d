"""A secret shown once across a redirect: POST → redirect → GET, so a reload repeats no write.

A page that creates a token (or a webhook secret) used to answer the POST itself; reloading it re-sent
the POST and minted a second live credential without a word. Now the POST keeps the raw value in the
session for exactly one following GET, which takes it out as it shows it: a reload of that page finds
nothing and says the value was already shown. The raw value sits in the session store only between the
redirect and that GET (normally milliseconds); it is never in a URL, a cookie of its own or a message.
"""

from __future__ import annotations

from django.http import HttpRequest

SESSION_KEY = "pagedesk.shown_once"


def shown_once_keep(request: HttpRequest, *, purpose: str, ref: int, value: str) -> None:
    """Keep `value` (about object `ref`) for the next `shown_once_take` of `purpose` in this session."""
    kept = dict(request.session.get(SESSION_KEY, {}))
    kept[purpose] = {"ref": ref, "value": value}
    request.session[SESSION_KEY] = kept


def shown_once_take(request: HttpRequest, *, purpose: str, ref: int | None = None) -> str | None:
    """The kept value of `purpose`, removed from the session; None if there is none (already shown) or
    it is about another object than `ref`."""
    kept = dict(request.session.get(SESSION_KEY, {}))
    entry = kept.pop(purpose, None)
    if entry is None:
        return None
    if kept:
        request.session[SESSION_KEY] = kept
    else:
        del request.session[SESSION_KEY]
    if ref is not None and entry.get("ref") != ref:
        return None
    return str(entry["value"])
