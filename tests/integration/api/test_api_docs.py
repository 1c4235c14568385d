"""The API docs page (the top bar's "API" link) works without internet access and on a phone."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.django_db


def test_docs_page_uses_the_bundled_swagger_ui_and_fits_a_phone(client_for, alice):
    response = client_for(alice).get("/api/v1/docs")

    assert response.status_code == 200
    html = response.content.decode()
    # Swagger UI from a CDN left the page blank on a server without internet access.
    assert "cdn.jsdelivr.net" not in html
    assets = re.findall(r'(?:src|href)="(/static/ninja/[^"]+)"', html)
    assert {path.rsplit("/", 1)[1] for path in assets} >= {
        "swagger-ui.css",
        "swagger-ui-bundle.js",
        "swagger-ui-init.js",
    }
    for path in assets:
        assert client_for(alice).get(path).status_code == 200, path
    # Without it a phone lays the page out 980 px wide and zooms out.
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert 'id="swagger-settings"' in html and "/api/v1/openapi.json" in html
