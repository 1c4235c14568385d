"""The API's body and query parser: text as pagedesk stores it (pagedesk/core/text.py).

A NUL in a JSON body is refused with a 422 naming the field (the API's documented error shape, as for
every other invalid field); it used to reach PostgreSQL and answer an HTML 500. A lone surrogate is
replaced by U+FFFD, and a NUL in a query parameter removed, since neither can be what a caller meant.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest
from django.utils.datastructures import MultiValueDict
from ninja.parser import Parser

from pagedesk.core.text import SURROGATE, clean_text


class NulInBody(ValueError):
    """Strings in the body hold NUL; `fields` are their dotted paths."""

    def __init__(self, fields: list[str]) -> None:
        super().__init__(", ".join(fields))
        self.fields = fields


def _clean(value: Any, path: list[str], bad: list[str]) -> Any:
    if isinstance(value, str):
        if "\x00" in value:
            bad.append(".".join(path) or "__all__")
        return SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_clean(item, [*path, str(index)], bad) for index, item in enumerate(value)]
    if isinstance(value, dict):
        return {_clean(key, path, bad): _clean(item, [*path, str(key)], bad) for key, item in value.items()}
    return value


class TextParser(Parser):
    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        bad: list[str] = []
        data = _clean(json.loads(request.body), [], bad)
        if bad:
            raise NulInBody(bad)
        return data

    def parse_querydict(
        self, data: MultiValueDict, list_fields: list[str], request: HttpRequest
    ) -> dict[str, Any]:
        parsed = super().parse_querydict(data, list_fields, request)
        return {
            key: [clean_text(v) for v in value] if isinstance(value, list) else clean_text(value)
            for key, value in parsed.items()
        }
