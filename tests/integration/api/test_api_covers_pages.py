"""Everything a page does, a script can do: each URL of the inbox, the board, the recordings, the campaign
and user admin, the Facebook page actions and the integrations admin maps to the /api/v1 operations
doing the same thing, or is excluded with the reason it has no API twin.

A new URL name in one of these apps fails here until it is put in PAGE_ACTIONS or EXCLUDED; a mapped
operation missing from /api/v1/openapi.json fails too. Operations are named by (method, path) and
compared with path parameters anonymised (`{conversation_id}` = `{id}`), so renaming a parameter needs
no change here.

"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

# The URL namespaces of the pages (config/urls.py). `facebook` is messenger's activation_urls;
# `platform` the integrations and webhooks admin pages under /integrations/.
NAMESPACES = ("inbox", "monitoring", "recordings", "campaigns", "accounts", "facebook", "platform")


class Op(NamedTuple):
    method: str
    path: str


API = "/api/v1"

# --- operations, by what they do -------------------------------------------------------------------

CONVERSATIONS = Op("GET", f"{API}/conversations")
CONVERSATION = Op("GET", f"{API}/conversations/{{conversation_id}}")
MESSAGES = Op("GET", f"{API}/conversations/{{conversation_id}}/messages")
TRANSCRIPT = Op("GET", f"{API}/conversations/{{conversation_id}}/transcript")
CONTACT = Op("GET", f"{API}/contacts/{{contact_id}}")
RECORDINGS = Op("GET", f"{API}/recordings")
PAGES = Op("GET", f"{API}/pages")
ATTACHMENT = Op("GET", f"{API}/attachments/{{attachment_id}}")
SEND = Op("POST", f"{API}/conversations/{{conversation_id}}/messages")
TAKE = Op("POST", f"{API}/conversations/{{conversation_id}}/take")
CLOSE = Op("POST", f"{API}/conversations/{{conversation_id}}/close")
RETURN = Op("POST", f"{API}/conversations/{{conversation_id}}/return")
TRANSFER = Op("POST", f"{API}/conversations/{{conversation_id}}/transfer")

RETRY = Op("POST", f"{API}/conversations/{{conversation_id}}/messages/{{message_id}}/retry")
SEEN = Op("POST", f"{API}/conversations/{{conversation_id}}/seen")
TYPING = Op("POST", f"{API}/conversations/{{conversation_id}}/typing")
THREAD_TAKE = Op("POST", f"{API}/conversations/{{conversation_id}}/thread/take")
THREAD_HAND_BACK = Op("POST", f"{API}/conversations/{{conversation_id}}/thread/hand-back")
PAGE_CHECK = Op("POST", f"{API}/pages/{{campaign_id}}/check")
PARKED = Op("GET", f"{API}/pages/{{campaign_id}}/parked")
PARKED_REPLAY = Op("POST", f"{API}/pages/{{campaign_id}}/parked/replay")

ME = Op("GET", f"{API}/me")
MY_PRESENCE = Op("GET", f"{API}/me/presence")
MY_PRESENCE_SET = Op("PUT", f"{API}/me/presence")
AGENT_PRESENCE_SET = Op("PUT", f"{API}/agents/{{agent_id}}/presence")
BREAK_REASONS = Op("GET", f"{API}/break-reasons")
USERS = Op("GET", f"{API}/users")
USER = Op("GET", f"{API}/users/{{user_id}}")
MY_TOKENS = Op("GET", f"{API}/me/tokens")

INTEGRATIONS = Op("GET", f"{API}/integrations")

CAMPAIGNS = Op("GET", f"{API}/campaigns")
CAMPAIGN = Op("GET", f"{API}/campaigns/{{campaign_id}}")
STATS = Op("GET", f"{API}/campaigns/{{campaign_id}}/stats")
BOARD_AGENTS = Op("GET", f"{API}/campaigns/{{campaign_id}}/agents")
QUEUE = Op("GET", f"{API}/campaigns/{{campaign_id}}/queue")
CANNED = Op("GET", f"{API}/campaigns/{{campaign_id}}/canned-responses")
DISPOSITIONS = Op("GET", f"{API}/campaigns/{{campaign_id}}/dispositions")
BOARD = (STATS, BOARD_AGENTS, QUEUE)

WEBHOOKS = Op("GET", f"{API}/webhooks")
WEBHOOK = Op("GET", f"{API}/webhooks/{{webhook_id}}")
WEBHOOK_PATCH = Op("PATCH", f"{API}/webhooks/{{webhook_id}}")


def _campaign(method: str, tail: str = "") -> Op:
    return Op(method, f"{API}/campaigns/{{campaign_id}}{tail}")


# --- the table -------------------------------------------------------------------------------------

PAGE_ACTIONS: dict[str, tuple[Op, ...]] = {
    # The agent's inbox. The page, its lists and panes are the conversations and their messages; the
    # pane also shows the campaign's canned responses and dispositions.
    "inbox:inbox": (CONVERSATIONS, CONVERSATION, MESSAGES, MY_PRESENCE, BREAK_REASONS),
    "inbox:lists": (CONVERSATIONS,),
    "inbox:history": (CONVERSATIONS,),
    "inbox:conversation": (CONVERSATION, MESSAGES, CANNED, DISPOSITIONS),
    "inbox:pane": (CONVERSATION, CANNED, DISPOSITIONS),
    "inbox:messages": (MESSAGES,),
    "inbox:message": (MESSAGES,),
    # The contact's earlier conversations, shown above the thread.
    "inbox:earlier": (CONTACT, MESSAGES),
    "inbox:attachment": (ATTACHMENT,),
    "inbox:presence": (MY_PRESENCE, BREAK_REASONS),
    "inbox:presence_set": (MY_PRESENCE_SET,),
    "inbox:agent_home": (ME, CAMPAIGNS, MY_PRESENCE, BREAK_REASONS),
    "inbox:send": (SEND,),
    "inbox:retry": (RETRY,),
    "inbox:seen": (SEEN,),
    "inbox:typing": (TYPING,),
    "inbox:take": (TAKE,),
    "inbox:close": (CLOSE,),
    "inbox:return": (RETURN,),
    "inbox:transfer": (TRANSFER,),
    "inbox:thread_take": (THREAD_TAKE,),
    "inbox:thread_hand_back": (THREAD_HAND_BACK,),
    # The supervisors' board: the same selectors answer the board and these.
    "monitoring:board_all": (CAMPAIGNS, *BOARD),
    "monitoring:board_all_fragment": (CAMPAIGNS, *BOARD),
    "monitoring:board": BOARD,
    "monitoring:board_fragment": BOARD,
    "monitoring:agent_force_offline": (AGENT_PRESENCE_SET,),
    "monitoring:conversation_return": (RETURN,),
    # Recordings: the search, the transcript (JSON, or CSV with `Accept: text/csv`), the files.
    "recordings:list": (RECORDINGS,),
    "recordings:export": (RECORDINGS,),
    "recordings:transcript": (TRANSCRIPT,),
    "recordings:transcript_body": (TRANSCRIPT,),
    "recordings:transcript_download": (TRANSCRIPT,),
    "recordings:attachment": (ATTACHMENT,),
    # Campaign admin: the edit form is the settings, schedule, holidays and canned responses.
    "campaigns:list": (CAMPAIGNS,),
    "campaigns:table": (CAMPAIGNS,),
    "campaigns:row": (CAMPAIGN,),
    "campaigns:create": (Op("POST", f"{API}/campaigns"),),
    "campaigns:edit": (
        CAMPAIGN,
        _campaign("PUT"),
        _campaign("PATCH"),
        _campaign("PUT", "/schedule"),
        _campaign("PUT", "/holidays"),
        CANNED,
        _campaign("POST", "/canned-responses"),
        _campaign("PATCH", "/canned-responses/{canned_id}"),
        _campaign("DELETE", "/canned-responses/{canned_id}"),
        _campaign("PUT", "/canned-responses/order"),
    ),
    "campaigns:members": (
        _campaign("GET", "/members"),
        _campaign("PUT", "/members"),
        _campaign("POST", "/members"),
        _campaign("PATCH", "/members/{agent_id}"),
        _campaign("DELETE", "/members/{agent_id}"),
    ),
    "campaigns:supervisors": (_campaign("GET", "/supervisors"), _campaign("PUT", "/supervisors")),
    "campaigns:dispositions": (DISPOSITIONS, _campaign("POST", "/dispositions")),
    "campaigns:disposition_rename": (_campaign("PATCH", "/dispositions/{disposition_id}"),),
    "campaigns:disposition_delete": (_campaign("DELETE", "/dispositions/{disposition_id}"),),
    "campaigns:blocked": (_campaign("GET", "/blocked-contacts"), _campaign("POST", "/blocked-contacts")),
    "campaigns:blocked_remove": (_campaign("DELETE", "/blocked-contacts/{blocked_id}"),),
    # Users and break reasons.
    "accounts:user_list": (USERS,),
    "accounts:user_create": (Op("POST", f"{API}/users"),),
    "accounts:user_edit": (USER, Op("PATCH", f"{API}/users/{{user_id}}")),
    "accounts:user_unlock": (Op("POST", f"{API}/users/{{user_id}}/unlock"),),
    "accounts:break_reasons": (
        BREAK_REASONS,
        Op("POST", f"{API}/break-reasons"),
        Op("PATCH", f"{API}/break-reasons/{{reason_id}}"),
    ),
    # One's own API tokens: the list, and a new one shown once.
    "accounts:api_tokens": (MY_TOKENS, Op("POST", f"{API}/me/tokens")),
    "accounts:api_token_revoke": (Op("DELETE", f"{API}/me/tokens/{{token_id}}"),),
    # A campaign's Facebook page: the token check (campaign table) and the parked events (settings).
    "facebook:check": (PAGE_CHECK,),
    # The settings page's other half is the server's own configuration (environment variables the
    # operator sets, docs/facebook.md); the pages' health is GET /pages.
    "facebook:settings": (PARKED, PAGES),
    "facebook:parked_replay": (PARKED_REPLAY,),
    # Outbound webhook endpoints (admins).
    "platform:webhook_list": (WEBHOOKS,),
    "platform:webhook_create": (Op("POST", f"{API}/webhooks"),),
    "platform:webhook_detail": (WEBHOOK, Op("GET", f"{API}/webhooks/{{webhook_id}}/deliveries")),
    "platform:webhook_edit": (WEBHOOK, WEBHOOK_PATCH),
    "platform:webhook_log": (Op("GET", f"{API}/webhooks/{{webhook_id}}/deliveries"),),
    "platform:webhook_test": (Op("POST", f"{API}/webhooks/{{webhook_id}}/test"),),
    # The page's button toggles; the API says which: PATCH {"enabled": true|false}.
    "platform:webhook_enable": (WEBHOOK_PATCH,),
    "platform:webhook_rotate": (Op("POST", f"{API}/webhooks/{{webhook_id}}/secret"),),
    "platform:webhook_delete": (Op("DELETE", f"{API}/webhooks/{{webhook_id}}"),),
    "platform:webhook_redeliver": (
        Op("POST", f"{API}/webhooks/{{webhook_id}}/deliveries/{{delivery_id}}/redeliver"),
    ),
    # Integrations and their tokens (admins). The list shows each one's campaigns and tokens.
    "platform:integration_list": (INTEGRATIONS,),
    "platform:integration_create": (Op("POST", f"{API}/integrations"),),
    "platform:integration_campaigns": (Op("PUT", f"{API}/integrations/{{integration_id}}/campaigns"),),
    "platform:integration_revoke": (Op("DELETE", f"{API}/integrations/{{integration_id}}"),),
    "platform:integration_token_create": (Op("POST", f"{API}/integrations/{{integration_id}}/tokens"),),
    "platform:integration_token_revoke": (
        Op("DELETE", f"{API}/integrations/{{integration_id}}/tokens/{{token_id}}"),
    ),
}

EXCLUDED: dict[str, str] = {
    "inbox:emoji": "The emoji picker's HTML (a typing aid); an emoji is plain text in a message.",
    "accounts:login": "The browser's session log-in; the API authenticates each request with a token.",
    "accounts:logout": "Ends the browser's session; a token is revoked instead (DELETE /me/tokens/{token_id}).",
    "accounts:agent_home_moved": "A permanent redirect for old bookmarks to inbox:agent_home.",
    "facebook:start": "Opens Facebook's log-in dialog in the admin's browser pop-up (OAuth): it needs a "
    "person logged in to Facebook, which a script is not.",
    "facebook:callback": "Facebook's OAuth redirect back into that pop-up, carrying the browser's "
    "state; only Facebook calls it.",
    "facebook:choose_page": "The pop-up's page picker, which holds the user token the OAuth dialog "
    "returned in the browser session.",
}


# --- the walk --------------------------------------------------------------------------------------


def page_url_names() -> set[str]:
    found: set[str] = set()

    def walk(patterns: list[Any], namespace: str | None) -> None:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, entry.namespace or namespace)
            elif isinstance(entry, URLPattern) and namespace in NAMESPACES and entry.name:
                found.add(f"{namespace}:{entry.name}")

    walk(get_resolver().url_patterns, None)
    return found


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


@pytest.fixture(scope="module")
def operations(django_db_blocker) -> set[tuple[str, str]]:
    with django_db_blocker.unblock():
        doc = Client().get(f"{API}/openapi.json").json()
    return {
        (method.upper(), _shape(path))
        for path, item in doc["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    }


def _missing(ops: set[Op], operations: set[tuple[str, str]]) -> list[str]:
    return sorted(f"{op.method} {op.path}" for op in ops if (op.method, _shape(op.path)) not in operations)


def test_every_page_url_has_an_api_twin_or_a_reason():
    names = page_url_names()
    assert {"inbox:take", "monitoring:board", "recordings:transcript", "campaigns:edit"} <= names
    unmapped = sorted(names - PAGE_ACTIONS.keys() - EXCLUDED.keys())
    assert not unmapped, (
        "page URLs with no API operation: add the operations to PAGE_ACTIONS, or the reason there is "
        f"none to EXCLUDED: {unmapped}"
    )


def test_the_table_names_only_urls_that_exist_and_each_once():
    names = page_url_names()
    assert not PAGE_ACTIONS.keys() & EXCLUDED.keys()
    assert not (PAGE_ACTIONS.keys() | EXCLUDED.keys()) - names, "remove the entries of URLs that are gone"
    assert all(PAGE_ACTIONS.values()) and all(EXCLUDED.values())


def test_every_mapped_operation_is_in_the_schema(operations):
    ops = {op for ops in PAGE_ACTIONS.values() for op in ops}
    assert not _missing(ops, operations), _missing(ops, operations)


def test_a_missing_operation_is_found(operations):
    assert _missing({Op("POST", f"{API}/conversations/{{id}}/seen")}, operations) == []
    assert _missing({Op("POST", f"{API}/conversations/{{id}}/dance")}, operations) == [
        f"POST {API}/conversations/{{id}}/dance"
    ]
