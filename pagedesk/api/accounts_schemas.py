"""API shapes for users, presence and break reasons. Limits mirror the model columns, so text that
would not fit is refused here with a 422 instead of failing in the database."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _
from ninja import Field, Schema
from pydantic import ConfigDict, field_validator
from pydantic.config import JsonDict

from pagedesk.accounts.selectors import seconds_in_status, user_is_locked
from pagedesk.api.schemas import InputSchema, ObjectId, OptionalFieldsSchema

# An address or "" (none). Django's validator checks it; this tells clients what it takes: the pattern
# is the common part of Django's rules (dot-atom local part, a domain with a TLD of 2+ letters), since
# "format: email" alone lets through "0@0.a", which Django refuses. Both refuse a local part longer than
# RFC 5321's 64 characters (Django's validator does not: `_email` checks it; schemathesis found it).
EMAIL_PATTERN = (
    r"^(?=[^@]{1,64}@)[-!#$%&'*+/=?^_`{}|~0-9A-Za-z]+(\.[-!#$%&'*+/=?^_`{}|~0-9A-Za-z]+)*"
    r"@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)
EMAIL_FORMAT: dict[str, Any] = {
    "anyOf": [
        {"type": "string", "format": "email", "maxLength": 254, "pattern": EMAIL_PATTERN},
        {"type": "string", "maxLength": 0},
    ]
}

RoleName = Literal["admin", "supervisor", "agent"]
# What a person may set; wrap_up is entered and left by the system only.
SettablePresence = Literal["available", "break", "offline"]


# Shared by the examples below: the personas of the docs (admin ada, supervisor sam, agents alice and
# bob) and a break reason, as the API answers them.
LUNCH: JsonDict = {"id": 2, "name": "Lunch"}
ALICE: JsonDict = {
    "id": 3,
    "username": "alice",
    "role": "agent",
    "first_name": "Alice",
    "last_name": "Martin",
    "display_name": "",
    "name": "Alice Martin",
    "email": "alice@acme.example",
    "is_active": True,
    "presence": "available",
    "break_reason": None,
    "presence_changed_at": "2026-12-07T09:02:11+01:00",
    "locked": False,
}
BOB: JsonDict = {
    **ALICE,
    "id": 4,
    "username": "bob",
    "first_name": "Bob",
    "last_name": "Lee",
    "display_name": "Bobby",
    "name": "Bobby",
    "email": "bob@acme.example",
    "presence": "break",
    "break_reason": LUNCH,
    "presence_changed_at": "2026-12-07T13:05:40+01:00",
}
SAM_REF: JsonDict = {"id": 2, "username": "sam", "name": "Sam Ortiz"}


def _email(value: str | None) -> str | None:
    if value:
        try:
            validate_email(value.strip())
        except ValidationError:
            raise ValueError(_("Enter a valid email address.")) from None
        if len(value.strip().rpartition("@")[0]) > 64:
            raise ValueError(_("Enter a valid email address: at most 64 characters before the @."))
    return value


class BreakReasonRef(Schema):
    id: int
    name: str

    model_config = ConfigDict(json_schema_extra={"examples": [LUNCH]})


class BreakReasonOut(Schema):
    id: int
    name: str
    position: int
    active: bool

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {**LUNCH, "position": 1, "active": True},
                {"id": 5, "name": "Training", "position": 3, "active": False},
            ]
        }
    )


class BreakReasonIn(InputSchema):
    name: str = Field(min_length=1, max_length=60)

    json_examples = [{"name": "Lunch"}]


class BreakReasonPatch(OptionalFieldsSchema):
    name: str | None = Field(None, min_length=1, max_length=60)
    active: bool | None = Field(None)

    json_examples = [{"active": False}, {"name": "Coffee break"}]


class UserOut(Schema):
    id: int
    username: str
    role: str
    first_name: str
    last_name: str
    display_name: str
    name: str
    email: str
    is_active: bool
    presence: str
    break_reason: BreakReasonRef | None
    presence_changed_at: dt.datetime
    locked: bool = Field(
        description="Log-in refused after too many wrong passwords, until the cool-off ends or an "
        "administrator unlocks the user (POST /users/{user_id}/unlock) or sets a new password."
    )

    model_config = ConfigDict(json_schema_extra={"examples": [ALICE, BOB]})

    @staticmethod
    def resolve_locked(obj: Any) -> bool:
        return user_is_locked(user=obj)


class UserCreateIn(InputSchema):
    username: str = Field(min_length=1, max_length=150)
    role: RoleName
    password: str = Field(min_length=1, max_length=128)
    email: str = Field("", max_length=254, json_schema_extra=EMAIL_FORMAT)
    first_name: str = Field("", max_length=150)
    last_name: str = Field("", max_length=150)
    display_name: str = Field("", max_length=120)

    json_examples = [
        {
            "username": "bob",
            "role": "agent",
            "password": "plum-harbour-lantern-42",
            "email": "bob@acme.example",
            "first_name": "Bob",
            "last_name": "Lee",
            "display_name": "Bobby",
        },
        {"username": "sam", "role": "supervisor", "password": "quiet-orchid-river-7"},
    ]

    @field_validator("email")
    @classmethod
    def check_email(cls, value: str | None) -> str | None:
        return _email(value)


class UserPatchIn(OptionalFieldsSchema):
    """Any subset; omitted fields are unchanged. A password is validated like on the form."""

    role: RoleName | None = Field(None)
    email: str | None = Field(None, max_length=254, json_schema_extra=EMAIL_FORMAT)
    first_name: str | None = Field(None, max_length=150)
    last_name: str | None = Field(None, max_length=150)
    display_name: str | None = Field(None, max_length=120)
    is_active: bool | None = Field(None)
    password: str | None = Field(None, min_length=1, max_length=128)

    json_examples = [
        {"role": "supervisor"},
        {"is_active": False},
        {"display_name": "Ali", "email": "alice.martin@acme.example"},
        {"password": "amber-falcon-meadow-19"},
    ]

    @field_validator("email")
    @classmethod
    def check_email(cls, value: str | None) -> str | None:
        return _email(value)


class PresenceIn(InputSchema):
    presence: SettablePresence
    break_reason_id: ObjectId | None = Field(None, description="Required when presence is 'break'.")
    note: str = Field("", max_length=200)

    json_examples = [
        {"presence": "available"},
        {"presence": "break", "break_reason_id": 2, "note": "Back at 13:30"},
        {"presence": "offline"},
    ]


class PresenceOut(Schema):
    agent_id: int
    presence: str
    break_reason: BreakReasonRef | None
    presence_changed_at: dt.datetime
    seconds_in_status: int

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "agent_id": 4,
                    "presence": "break",
                    "break_reason": LUNCH,
                    "presence_changed_at": "2026-12-07T13:05:40+01:00",
                    "seconds_in_status": 754,
                },
                {
                    "agent_id": 3,
                    "presence": "available",
                    "break_reason": None,
                    "presence_changed_at": "2026-12-07T09:02:11+01:00",
                    "seconds_in_status": 3120,
                },
            ]
        }
    )

    @staticmethod
    def resolve_agent_id(obj: Any) -> int:
        return int(obj.pk)

    @staticmethod
    def resolve_seconds_in_status(obj: Any) -> int:
        return seconds_in_status(agent=obj)


class AccountRef(Schema):
    id: int
    username: str
    name: str

    model_config = ConfigDict(json_schema_extra={"examples": [SAM_REF]})


class PresenceChangeOut(Schema):
    id: int
    presence: str
    break_reason: BreakReasonRef | None
    changed_at: dt.datetime
    changed_by: AccountRef | None
    note: str

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 118,
                    "presence": "break",
                    "break_reason": LUNCH,
                    "changed_at": "2026-12-07T13:05:40+01:00",
                    "changed_by": None,
                    "note": "Back at 13:30",
                },
                {
                    "id": 121,
                    "presence": "offline",
                    "break_reason": None,
                    "changed_at": "2026-12-07T18:01:02+01:00",
                    "changed_by": SAM_REF,
                    "note": "",
                },
            ]
        }
    )


# --- API tokens (a person's own, and an integration's) --------------------------------------------

TOKEN: JsonDict = {
    "id": 21,
    "name": "Reporting script",
    "prefix": "pd_Jq3xR8v",
    "created_at": "2026-12-01T09:00:00+01:00",
    "last_used_at": "2026-12-07T10:14:00+01:00",
    "revoked_at": None,
}
REVOKED_TOKEN: JsonDict = {
    "id": 20,
    "name": "web",
    "prefix": "pd_8Hk2mQa",
    "created_at": "2026-11-20T15:30:00+01:00",
    "last_used_at": "2026-11-30T11:02:00+01:00",
    "revoked_at": "2026-12-01T09:01:00+01:00",
}


class TokenOut(Schema):
    id: int
    name: str
    prefix: str = Field(description="The token's first characters, to recognise it by.")
    created_at: dt.datetime
    last_used_at: dt.datetime | None = Field(None, description="Within a minute.")
    revoked_at: dt.datetime | None = None

    model_config = ConfigDict(json_schema_extra={"examples": [TOKEN, REVOKED_TOKEN]})


class TokenCreatedOut(TokenOut):
    token: str = Field(
        description="The token itself, shown this once: send it as `Authorization: Bearer <token>`.",
        examples=["pd_Jq3x…"],
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {**TOKEN, "last_used_at": None, "token": "pd_Jq3xR8vT2mWbK5nYc0LsF7hQ9dPzE4aGu1oXiV6tN3s"}
            ]
        }
    )


def token_created(token: Any, raw: str) -> TokenCreatedOut:
    """The answer to a token's creation: the row, and the raw token it will never be shown with again."""
    return TokenCreatedOut(
        id=token.pk,
        name=token.name,
        prefix=token.prefix,
        created_at=token.created_at,
        last_used_at=token.last_used_at,
        revoked_at=token.revoked_at,
        token=raw,
    )


class MyTokenIn(InputSchema):
    name: str = Field(
        "", max_length=80, description="A label to recognise it by in the token list; may be empty."
    )

    json_examples = [{"name": "Reporting script"}]
