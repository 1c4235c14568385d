"""Schema helpers shared by the apps' API shapes."""

from __future__ import annotations

import copy
import types
from typing import Annotated, Any, ClassVar, Union, get_args, get_origin

from django.utils.translation import gettext as _
from ninja import Schema
from pydantic import ConfigDict, Field, ValidationInfo, field_validator, model_validator

NO_NUL_PATTERN = r"^[^\x00]*$"


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list):
        return any(_holds_nul(item) for item in value)
    return False


def _scalars(annotation: Any) -> set[Any]:
    """The bool/int/float a field's type holds, through Optional, Annotated and lists."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _scalars(get_args(annotation)[0])
    if origin in (Union, types.UnionType, list, tuple, set, frozenset):
        return set().union(*(_scalars(arg) for arg in get_args(annotation)))
    return {annotation} & {bool, int, float}


def _flag_for_number(value: Any, scalars: set[Any]) -> str:
    """Why a JSON true/false was sent for a number or a number for true/false, or ""."""
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, bool) and scalars & {int, float} and bool not in scalars:
            return _("Send a number, not true or false.")
        if (
            isinstance(item, int | float)
            and not isinstance(item, bool)
            and bool in scalars
            and not scalars & {int, float}
        ):
            return _("Send true or false.")
    return ""


class InputSchema(Schema):
    """A request body (or part of one): a NUL in any of its fields is a 422 naming the field.

    PostgreSQL cannot store a NUL (it answered an HTML 500) and SQLite stored it into CSV exports. The
    check is on the declared fields only: keys the API ignores may hold anything, as the published
    schema allows. Nested objects are InputSchemas too and check their own fields.

    true/false and numbers are not interchangeable either: pydantic reads 0 as false and false as 0,
    so `{"active": 0}` deactivated a break reason although the schema says boolean. Text such as
    "true" or "5" is still read as the value it spells (query strings and forms send only text).

    `json_examples` are whole bodies as a client sends them, published as the schema's `examples`: a
    subclass cannot set `json_schema_extra` itself without losing the hooks below. Output shapes set
    theirs with `model_config = ConfigDict(json_schema_extra={"examples": [...]})`.
    """

    json_examples: ClassVar[list[dict[str, Any]]] = []

    @field_validator("*", mode="before")
    @classmethod
    def refuse_nul(cls, value: Any) -> Any:
        if _holds_nul(value):
            raise ValueError(_("Text cannot contain NUL characters."))
        return value

    @field_validator("*", mode="before")
    @classmethod
    def refuse_flag_for_number(cls, value: Any, info: ValidationInfo) -> Any:
        field = cls.model_fields.get(info.field_name or "")
        if field is not None and (problem := _flag_for_number(value, _scalars(field.annotation))):
            raise ValueError(problem)
        return value

    @staticmethod
    def _text_without_nul(schema: dict[str, Any], model: type[Any]) -> None:
        """Publish the rule above: a text field's pattern excludes NUL (unless it has its own)."""
        for prop in schema.get("properties", {}).values():
            # A nullable text (`str | None`) is an anyOf: its string option refuses NUL too.
            options = [prop, *prop.get("anyOf", [])]
            for target in [*options, *(option.get("items", {}) for option in options)]:
                if target.get("type") == "string" and "pattern" not in target and "enum" not in target:
                    target["pattern"] = NO_NUL_PATTERN
        if model.json_examples:
            schema["examples"] = copy.deepcopy(model.json_examples)

    model_config = ConfigDict(json_schema_extra=_text_without_nul)


class OptionalFieldsSchema(InputSchema):
    """A body whose fields may be left out (None = "not given"), but never sent as an explicit null.

    Views pass `.dict(exclude_unset=True)` on to the service, so an omitted field keeps its value; a
    null would otherwise reach a non-null column. Fields listed in `nullable` may be null.
    """

    nullable: ClassVar[frozenset[str]] = frozenset()

    @staticmethod
    def _omittable_not_null(schema: dict[str, Any], model: type[Any]) -> None:
        """The published schema says what the validator enforces: an omittable field is not nullable.

        pydantic documents `X | None = None` as "X or null", so clients (and schemathesis) sent the
        nulls the validator below refuses with a 422.
        """
        properties = schema.get("properties", {})
        for name, info in model.model_fields.items():
            if name in model.nullable:
                continue
            prop = properties.get(info.alias or name)
            if prop is None or "anyOf" not in prop:
                continue
            options = [option for option in prop["anyOf"] if option != {"type": "null"}]
            prop.pop("default", None)
            if len(options) == 1:
                del prop["anyOf"]
                prop.update(options[0])
            else:
                prop["anyOf"] = options
        InputSchema._text_without_nul(schema, model)

    model_config = ConfigDict(json_schema_extra=_omittable_not_null)

    @model_validator(mode="after")
    def refuse_explicit_nulls(self) -> OptionalFieldsSchema:
        nulls = sorted(
            name
            for name in self.model_fields_set
            if getattr(self, name) is None and name not in self.nullable
        )
        if nulls:
            raise ValueError(
                _("%(fields)s cannot be null; leave a field out to keep its value.")
                % {"fields": ", ".join(nulls)}
            )
        return self


# A row id as clients may send it: the 64-bit range of the primary keys. A larger number would make
# SQLite raise OverflowError (a 500) instead of simply matching nothing.
ObjectId = Annotated[int, Field(ge=1, le=2**63 - 1)]


class ErrorDetail(Schema):
    code: str = Field(description="Stable machine code, e.g. `not_found`, `invalid`, `forbidden`.")
    message: str = Field(description="What went wrong and how to fix it, in the user's language.")
    field: str | None = Field(None, description="The field at fault, when there is one.")
    fields: dict[str, list[str]] | None = Field(None, description="Messages per field at fault.")


class ErrorOut(Schema):
    """The one shape of every refusal (pagedesk.api.main)."""

    error: ErrorDetail

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"error": {"code": "not_found", "message": "There is no campaign with id 42."}},
                {
                    "error": {
                        "code": "invalid",
                        "message": "max_interactions_per_agent: Input should be less than or equal to 50",
                        "fields": {
                            "max_interactions_per_agent": ["Input should be less than or equal to 50"]
                        },
                    }
                },
                {"error": {"code": "forbidden", "message": "Only administrators can do this."}},
            ]
        }
    )


def examples_of(model: type[Any]) -> list[dict[str, Any]]:
    """The examples a shape publishes (InputSchema.json_examples or model_config's), or []."""
    if issubclass(model, InputSchema):
        return list(model.json_examples)
    extra = model.model_config.get("json_schema_extra")
    return list(extra.get("examples", [])) if isinstance(extra, dict) else []


def refusals(*statuses: int) -> dict[int, type[ErrorOut]]:
    """Response-map entries documenting the refusals an operation may answer with."""
    return dict.fromkeys(statuses, ErrorOut)


# What any operation may refuse with: no valid credentials (401), the role does not allow it (403), an
# id the caller may see does not exist or a page past the last (404), a malformed or out-of-range
# path or query value (422).
READ_REFUSALS = refusals(401, 403, 404, 422)
# Operations with a body add: a body that is not JSON or breaks a rule as a whole (400) and a
# conflict with stored state (409).
WRITE_REFUSALS = refusals(400, 401, 403, 404, 409, 422)
# A delete has no body, but may conflict (a campaign with conversations).
DELETE_REFUSALS = refusals(401, 403, 404, 409, 422)
