"""Schema helpers shared by the apps' API shapes."""

from __future__ import annotations

from typing import Annotated, ClassVar

from django.utils.translation import gettext as _
from ninja import Schema
from pydantic import Field, model_validator


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


# A row id as clients may send it: the 64-bit range of the primary keys. A larger number would make
# SQLite raise OverflowError (a 500) instead of simply matching nothing.
ObjectId = Annotated[int, Field(ge=1, le=2**63 - 1)]
