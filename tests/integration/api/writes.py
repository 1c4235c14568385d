"""Helpers for the write side of the conversation API: integrations and their token clients."""

from __future__ import annotations

from django.test import Client

from pagedesk.accounts.models import User
from pagedesk.campaigns.models import Campaign, Integration
from pagedesk.campaigns.services import integration_create, integration_token_create
from tests.integration.api.conftest import ApiClient


def make_integration(*campaigns: Campaign, name: str = "Acme Bot", by: User | None = None) -> Integration:
    return integration_create(name=name, campaign_ids=[c.pk for c in campaigns], created_by=by)


def integration_api(integration: Integration) -> ApiClient:
    _token, raw = integration_token_create(integration=integration)
    return ApiClient(Client(), {"HTTP_AUTHORIZATION": f"Bearer {raw}"})
