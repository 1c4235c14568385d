"""API shapes for users, presence and break reasons. Limits mirror the model columns, so text that
would not fit is refused here with a 422 instead of failing in the database."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _
from ninja import Field, Schema
from pydantic import field_validator

from pagedesk.accounts.selectors import seconds_in_status, user_is_locked
from pagedesk.api.schemas import InputSchema, ObjectId, OptionalFieldsSchema

# An address or "" (none). Django's validator checks it; this tells clients what it takes: the pattern
# is the common part of Django's rules (dot-atom local part, a domain with a TLD of 2+ letters), since
# "format: email" alone lets through "0@0.a", which Django refuses.
EMAIL_PATTERN = (
    r"^[-!#$%&'*+/=?^_`{}|~0-9A-Za-z]+(\.[-!#$%&'*+/=?^_`{}|~0-9A-Za-z]+)*"
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


def _email(value: str | None) -> str | None:
    if value:
        try:
            validate_email(value.strip())
        except ValidationError:
            raise ValueError(_("Enter a valid email address.")) from None
    return value


class BreakReasonRef(Schema):
    id: int
    name: str


class BreakReasonOut(Schema):
    id: int
    name: str
    position: int
    active: bool


class BreakReasonIn(InputSchema):
    name: str = Field(min_length=1, max_length=60)


class BreakReasonPatch(OptionalFieldsSchema):
    name: str | None = Field(None, min_length=1, max_length=60)
    active: bool | None = Field(None)


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

    @field_validator("email")
    @classmethod
    def check_email(cls, value: str | None) -> str | None:
        return _email(value)


class PresenceIn(InputSchema):
    presence: SettablePresence
    break_reason_id: ObjectId | None = Field(None, description="Required when presence is 'break'.")
    note: str = Field("", max_length=200)


class PresenceOut(Schema):
    agent_id: int
    presence: str
    break_reason: BreakReasonRef | None
    presence_changed_at: dt.datetime
    seconds_in_status: int

    @staticmethod
    def resolve_agent_id(obj: Any) -> int:
        return int(obj.pk)

    @staticmethod
    def resolve_seconds_in_status(obj: Any) -> int:
        return seconds_in_status(agent=obj)


class UserRef(Schema):
    id: int
    username: str
    name: str


class PresenceChangeOut(Schema):
    id: int
    presence: str
    break_reason: BreakReasonRef | None
    changed_at: dt.datetime
    changed_by: UserRef | None
    note: str
