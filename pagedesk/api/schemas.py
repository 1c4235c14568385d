"""Schema helpers shared by the apps' API shapes."""

from __future__ import annotations

from typing import ClassVar

from django.utils.translation import gettext as _
from ninja import Schema
from pydantic import model_validator


class OptionalFieldsSchema(Schema):
    """A body whose fields may be left out (None = "not given"), but never sent as an explicit null.

    Views pass `.dict(exclude_unset=True)` on to the service, so an omitted field keeps its value; a
    null would otherwise reach a non-null column. Fields listed in `nullable` may be null.
    """

    nullable: ClassVar[frozenset[str]] = frozenset()

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
