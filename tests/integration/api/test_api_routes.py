"""Every documented operation is reached by its method: none is hidden behind another router's view
of the same path.

ninja gives each router its own view of a path, and Django sends every request for that path to the
first router mounted with it. After the read and write branches were merged, the reads' view of
/conversations/{id}/messages answered the send (POST) with 405 "use GET", while the schema, and so
every test reading the schema, still listed the POST.
"""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.django_db

HTTP_METHODS = {"get", "post", "put", "patch", "delete"}


def test_no_documented_operation_is_answered_method_not_allowed(admin_api):
    paths = admin_api.get("/openapi.json").json()["paths"]
    refused = []
    for path, item in paths.items():
        # An id that names nothing: each operation refuses it (404, 422, …) without changing anything.
        concrete = re.sub(r"\{[^}]+\}", "999999", path).removeprefix("/api/v1")
        for method in sorted(set(item) & HTTP_METHODS):
            response = admin_api.call(method.upper(), concrete, None if method == "get" else {})
            if response.status_code == 405:
                refused.append(f"{method.upper()} {path}: {response.content[:120]!r}")
    assert not refused, "\n".join(refused)
