"""The API's body and query parser: text as pagedesk stores it (pagedesk/core/text.py).

A lone surrogate is replaced by U+FFFD, and a NUL in a query parameter removed, since neither can be what
a caller meant. A NUL in a body's field is refused with a 422 naming the field by the body's schema
(pagedesk.api.schemas.InputSchema), where the declared fields are known: keys the API ignores may hold
anything. A body that is not a JSON object is refused here: every body of this API is one, and ninja
read a list as an object with every field left out (a PATCH with `[null]` answered 200).
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext as _
from ninja.parser import Parser

from pagedesk.core.text import SURROGATE, clean_text


class BodyRefused(ValueError):
    """The body is JSON, but not one this API takes; `fields` are the messages per field."""

    def __init__(self, fields: dict[str, list[str]]) -> None:
        super().__init__("; ".join(" ".join(messages) for messages in fields.values()))
        self.fields = fields


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_clean(item) for item in value]
    if isinstance(value, dict):
        return {_clean(key): _clean(item) for key, item in value.items()}
    return value


class TextParser(Parser):
    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        data = _clean(json.loads(request.body))
        if not isinstance(data, dict):
            raise BodyRefused({"__all__": [_("The request body must be a JSON object.")]})
        return data

    def parse_querydict(
        self, data: MultiValueDict, list_fields: list[str], request: HttpRequest
    ) -> dict[str, Any]:
        parsed = super().parse_querydict(data, list_fields, request)
        return {
            key: [clean_text(v) for v in value] if isinstance(value, list) else clean_text(value)
            for key, value in parsed.items()
        }
