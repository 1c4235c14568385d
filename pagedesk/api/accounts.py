"""REST endpoints for users, presence and break reasons (mounted at /api/v1/ by pagedesk.api).

Role rules are the UI's: managing users and break reasons is for administrators; an agent sets their
own presence; admins may set any agent's and supervisors those of agents in campaigns they supervise.
"""

# No `from __future__ import annotations` here: ninja's @paginate wraps the view, and ninja then
# resolves string annotations in the wrapper's module (ninja.pagination), where RoleName is unknown.
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Status
from ninja.pagination import paginate

from pagedesk.accounts.models import ApiToken, BreakReason, PresenceChange, Role, User
from pagedesk.accounts.selectors import (
    api_token_get_for_user,
    api_token_list_for_user,
    break_reason_get,
    break_reason_list,
    presence_change_list,
    user_get,
    user_list,
)
from pagedesk.accounts.services import (
    api_token_create,
    api_token_revoke,
    break_reason_create,
    break_reason_update,
    user_create,
    user_unlock,
    user_update,
)
from pagedesk.api.accounts_schemas import (
    BreakReasonIn,
    BreakReasonOut,
    BreakReasonPatch,
    MyTokenIn,
    PresenceChangeOut,
    PresenceIn,
    PresenceOut,
    RoleName,
    TokenCreatedOut,
    TokenOut,
    UserCreateIn,
    UserOut,
    UserPatchIn,
    token_created,
)
from pagedesk.api.pagination import PagePagination
from pagedesk.api.permissions import admin_user, request_user
from pagedesk.api.schemas import DELETE_REFUSALS, READ_REFUSALS, WRITE_REFUSALS, ObjectId
from pagedesk.campaigns.selectors import agent_get_for_user
from pagedesk.core.errors import ApplicationError, PermissionDenied
from pagedesk.routing.services import presence_set

router = Router()

HISTORY_LIMIT = Query(100, ge=1, le=500, description="How many changes to return, newest first.")


# --- Users -----------------------------------------------------------------------------------------


@router.get("/users", response={200: list[UserOut], **READ_REFUSALS}, tags=["users"])
@paginate(PagePagination)
def users_list(request: HttpRequest, role: RoleName | None = None) -> QuerySet[User]:
    """Every user (admins only), optionally of one role, by username, a page at a time."""
    admin_user(request)
    return user_list(role=role)


@router.post("/users", response={201: UserOut, **WRITE_REFUSALS}, tags=["users"])
def users_create(request: HttpRequest, payload: UserCreateIn) -> Status[User]:
    """Create a user (admins only); the password must pass the password validators."""
    admin_user(request)
    return Status(201, user_create(**payload.dict()))


@router.get("/users/{user_id}", response={200: UserOut, **READ_REFUSALS}, tags=["users"])
def users_get(request: HttpRequest, user_id: ObjectId) -> User:
    admin_user(request)
    return user_get(user_id=user_id)


@router.patch("/users/{user_id}", response={200: UserOut, **WRITE_REFUSALS}, tags=["users"])
def users_update(request: HttpRequest, user_id: ObjectId, payload: UserPatchIn) -> User:
    """Change role, names, email, active flag or password (admins only); omitted fields stay. A new
    password also lifts a lock-out (see POST /users/{user_id}/unlock).

    Deactivating an agent sets them Offline and returns their open conversations to the queue."""
    actor = admin_user(request)
    target = user_get(user_id=user_id)
    changes = payload.dict(exclude_unset=True)
    # The same guard as the user form: an admin cannot lock themselves out.
    if target.pk == actor.pk and (
        changes.get("role", Role.ADMIN) != Role.ADMIN or changes.get("is_active") is False
    ):
        raise ApplicationError(
            "cannot_lock_out_self",
            _("You cannot remove your own administrator role or deactivate yourself."),
            status=409,
        )
    return user_update(user=target, **changes)


@router.post("/users/{user_id}/unlock", response={200: UserOut, **WRITE_REFUSALS}, tags=["users"])
def users_unlock(request: HttpRequest, user_id: ObjectId) -> User:
    """Let a user log in again after too many wrong passwords (admins only).

    After `PAGEDESK_LOGIN_FAILURE_LIMIT` wrong passwords (default 5) log-in is refused, with a 429 page,
    for `PAGEDESK_LOGIN_COOLOFF_MINUTES` (default 15). This lifts that lock-out at once, from every
    address; a new password set with PATCH /users/{user_id} lifts it too. Unlocking a user who is not
    locked changes nothing. Answers the user, whose `locked` is then false.
    """
    admin_user(request)
    target = user_get(user_id=user_id)
    user_unlock(user=target)
    return target


@router.get("/me", response={200: UserOut, **READ_REFUSALS}, tags=["users"])
def me(request: HttpRequest) -> User:
    """The authenticated user."""
    return request_user(request)


# --- One's own API tokens (the "API tokens" page) ---------------------------------------------------


def _person(request: HttpRequest) -> User:
    """The user, if a person: an integration's tokens are its administrators' to manage."""
    user = request_user(request)
    if user.is_integration:
        raise PermissionDenied(
            "integration_tokens",
            _(
                "An integration's tokens are managed by administrators: "
                "POST /api/v1/integrations/{integration_id}/tokens."
            ),
        )
    return user


@router.get("/me/tokens", response={200: list[TokenOut], **READ_REFUSALS}, tags=["users"])
@paginate(PagePagination)
def me_tokens_list(request: HttpRequest) -> QuerySet[ApiToken]:
    """Your API tokens, newest first, revoked ones too (with `revoked_at`); never the tokens themselves."""
    return api_token_list_for_user(user=_person(request))


@router.post("/me/tokens", response={201: TokenCreatedOut, **WRITE_REFUSALS}, tags=["users"])
def me_tokens_create(request: HttpRequest, payload: MyTokenIn) -> Status[TokenCreatedOut]:
    """A new token acting as you, with your role; the answer's `token` is the only time it is shown
    (only its hash is stored). Revoke it when it is no longer needed or may have leaked."""
    token, raw = api_token_create(user=_person(request), name=payload.name)
    return Status(201, token_created(token, raw))


@router.delete("/me/tokens/{token_id}", response={204: None, **DELETE_REFUSALS}, tags=["users"])
def me_tokens_revoke(request: HttpRequest, token_id: ObjectId) -> Status[None]:
    """Revoke one of your tokens: requests with it are refused (401) from now on. Another user's
    token is not found (404). Revoking the token this request uses is allowed: it is its last."""
    api_token_revoke(token=api_token_get_for_user(user=_person(request), token_id=token_id))
    return Status(204, None)


# --- Presence --------------------------------------------------------------------------------------


def _presence_set(request: HttpRequest, agent_id: ObjectId, payload: PresenceIn) -> User:
    user = request_user(request)
    agent = agent_get_for_user(user=user, agent_id=agent_id)
    reason = (
        break_reason_get(reason_id=payload.break_reason_id, field="break_reason_id")
        if payload.break_reason_id is not None
        else None
    )
    return presence_set(
        agent=agent, presence=payload.presence, break_reason=reason, changed_by=user, note=payload.note
    )


@router.get("/me/presence", response={200: PresenceOut, **READ_REFUSALS}, tags=["presence"])
def me_presence_get(request: HttpRequest) -> User:
    user = request_user(request)
    return agent_get_for_user(user=user, agent_id=user.pk)


@router.put("/me/presence", response={200: PresenceOut, **WRITE_REFUSALS}, tags=["presence"])
def me_presence_set(request: HttpRequest, payload: PresenceIn) -> User:
    """Go available, on a break (with a reason id from /break-reasons) or offline.

    Offline returns the agent's open conversations to the head of their campaigns' queues (in the
    order they were first queued, keeping their queued and first-assigned times), each with a timeline
    entry, and routes them at once to other Available agents. The inbox asks "Return N conversations
    to the queue?" first; this endpoint does not ask. A break keeps them."""
    return _presence_set(request, request_user(request).pk, payload)


@router.get(
    "/me/presence/history", response={200: list[PresenceChangeOut], **READ_REFUSALS}, tags=["presence"]
)
def me_presence_history(request: HttpRequest, limit: int = HISTORY_LIMIT) -> list[PresenceChange]:
    user = request_user(request)
    return list(presence_change_list(agent=agent_get_for_user(user=user, agent_id=user.pk), limit=limit))


@router.get("/agents/{agent_id}/presence", response={200: PresenceOut, **READ_REFUSALS}, tags=["presence"])
def agent_presence_get(request: HttpRequest, agent_id: ObjectId) -> User:
    return agent_get_for_user(user=request_user(request), agent_id=agent_id)


@router.put("/agents/{agent_id}/presence", response={200: PresenceOut, **WRITE_REFUSALS}, tags=["presence"])
def agent_presence_set(request: HttpRequest, agent_id: ObjectId, payload: PresenceIn) -> User:
    """Set an agent's presence: admins for any agent, supervisors for agents they supervise.

    As for /me/presence, Offline returns the agent's open conversations to the head of their queues
    (no confirmation asked) and a break keeps them."""
    return _presence_set(request, agent_id, payload)


@router.get(
    "/agents/{agent_id}/presence/history",
    response={200: list[PresenceChangeOut], **READ_REFUSALS},
    tags=["presence"],
)
def agent_presence_history(
    request: HttpRequest, agent_id: ObjectId, limit: int = HISTORY_LIMIT
) -> list[PresenceChange]:
    agent = agent_get_for_user(user=request_user(request), agent_id=agent_id)
    return list(presence_change_list(agent=agent, limit=limit))


# --- Break reasons ---------------------------------------------------------------------------------


@router.get("/break-reasons", response={200: list[BreakReasonOut], **READ_REFUSALS}, tags=["break reasons"])
@paginate(PagePagination)
def break_reasons_list(request: HttpRequest, include_inactive: bool = False) -> QuerySet[BreakReason]:
    """The reasons agents choose from, in their menu order, a page at a time; inactive ones too with
    include_inactive (admins only)."""
    if include_inactive:
        admin_user(request)
    return break_reason_list(active_only=not include_inactive)


@router.post("/break-reasons", response={201: BreakReasonOut, **WRITE_REFUSALS}, tags=["break reasons"])
def break_reasons_create(request: HttpRequest, payload: BreakReasonIn) -> Status[BreakReason]:
    admin_user(request)
    return Status(201, break_reason_create(name=payload.name))


@router.patch(
    "/break-reasons/{reason_id}", response={200: BreakReasonOut, **WRITE_REFUSALS}, tags=["break reasons"]
)
def break_reasons_update(request: HttpRequest, reason_id: ObjectId, payload: BreakReasonPatch) -> BreakReason:
    """Rename, or retire (active=false) a reason; retired reasons stay on past presence history."""
    admin_user(request)
    return break_reason_update(
        reason=break_reason_get(reason_id=reason_id), **payload.dict(exclude_unset=True)
    )
