"""Integrations and their tokens (administrators only; mounted at /api/v1/integrations).

An integration is a system working through the API (a CRM, a bot, a script), limited to its
campaigns; its tokens act as it. The raw token is answered once, at creation, and never again.
"""

# No `from __future__ import annotations` here: ninja's @paginate resolves the annotations.
import datetime as dt

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate
from pydantic import ConfigDict
from pydantic.config import JsonDict

from pagedesk.accounts.models import ApiToken
from pagedesk.api.accounts_schemas import TokenCreatedOut, TokenOut, token_created
from pagedesk.api.pagination import PagePagination
from pagedesk.api.permissions import admin_user
from pagedesk.api.schemas import DELETE_REFUSALS, READ_REFUSALS, WRITE_REFUSALS, InputSchema, ObjectId
from pagedesk.campaigns.models import Integration
from pagedesk.campaigns.selectors import integration_get, integration_list, integration_token_get
from pagedesk.campaigns.services import (
    INTEGRATION_NAME_MAX,
    integration_create,
    integration_revoke,
    integration_token_create,
    integration_token_revoke,
    integration_update_campaigns,
)
from pagedesk.platform.shapes import Ref

router = Router(tags=["integrations"])

# The examples below: Acme's CRM, limited to campaigns 1 and 2, with one token in use and one revoked.
CRM_TOKEN: JsonDict = {
    "id": 21,
    "name": "Production",
    "prefix": "pd_Jq3xR8v",
    "created_at": "2026-12-01T09:00:00Z",
    "last_used_at": "2026-12-07T10:14:00Z",
    "revoked_at": None,
}
OLD_TOKEN: JsonDict = {
    "id": 20,
    "name": "Trial",
    "prefix": "pd_8Hk2mQa",
    "created_at": "2026-11-20T15:30:00Z",
    "last_used_at": "2026-11-30T11:02:00Z",
    "revoked_at": "2026-12-01T09:01:00Z",
}
CRM: JsonDict = {
    "id": 4,
    "name": "Acme CRM",
    "username": "integration-acme-crm",
    "campaigns": [{"id": 1, "name": "Acme Support"}, {"id": 2, "name": "Billing"}],
    "created_at": "2026-11-20T15:29:00Z",
    "revoked_at": None,
    "tokens": [CRM_TOKEN, OLD_TOKEN],
}


class IntegrationOut(Schema):
    id: int
    name: str
    username: str = Field(description="Its user, the author of the messages it sends.")
    campaigns: list[Ref]
    created_at: dt.datetime
    revoked_at: dt.datetime | None = None
    tokens: list[TokenOut]

    @staticmethod
    def resolve_username(obj: Integration) -> str:
        return obj.user.username

    @staticmethod
    def resolve_campaigns(obj: Integration) -> list[Ref]:
        return [Ref(id=c.pk, name=c.name) for c in obj.campaigns.all()]

    @staticmethod
    def resolve_tokens(obj: Integration) -> list[ApiToken]:
        return list(obj.user.api_tokens.all())

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                CRM,
                {
                    **CRM,
                    "id": 5,
                    "name": "Helpbot",
                    "username": "integration-helpbot",
                    "campaigns": [{"id": 1, "name": "Acme Support"}],
                    "tokens": [],
                },
            ]
        }
    )


class IntegrationIn(InputSchema):
    # Not blank, no NUL: the published pattern says what integration_create checks.
    name: str = Field(
        max_length=INTEGRATION_NAME_MAX, pattern=r"^[^\x00]*[^\x00\s][^\x00]*$", examples=["Acme CRM"]
    )
    campaign_ids: list[ObjectId] = Field(min_length=1, max_length=500, examples=[[1, 2]])

    json_examples = [{"name": "Acme CRM", "campaign_ids": [1, 2]}]


class IntegrationCampaignsIn(InputSchema):
    campaign_ids: list[ObjectId] = Field(min_length=1, max_length=500, examples=[[1]])

    json_examples = [{"campaign_ids": [1]}]


class TokenIn(InputSchema):
    name: str = Field("", max_length=80, description="A label; the integration's name when empty.")

    json_examples = [{"name": "Production"}, {}]


@router.get("", response={200: list[IntegrationOut], **READ_REFUSALS})
@paginate(PagePagination)
def integrations_list(request: HttpRequest) -> QuerySet[Integration]:
    """Every integration (revoked ones too), by name, with campaigns and tokens."""
    admin_user(request)
    return integration_list()


@router.post("", response={201: IntegrationOut, **WRITE_REFUSALS})
def integrations_create(request: HttpRequest, payload: IntegrationIn) -> Status[Integration]:
    """Create an integration limited to `campaign_ids`; then create a token for it."""
    admin = admin_user(request)
    created = integration_create(name=payload.name, campaign_ids=payload.campaign_ids, created_by=admin)
    return Status(201, integration_get(integration_id=created.pk))


@router.get("/{integration_id}", response={200: IntegrationOut, **READ_REFUSALS})
def integrations_get(request: HttpRequest, integration_id: ObjectId) -> Integration:
    admin_user(request)
    return integration_get(integration_id=integration_id)


@router.put("/{integration_id}/campaigns", response={200: IntegrationOut, **WRITE_REFUSALS})
def integrations_set_campaigns(
    request: HttpRequest, integration_id: ObjectId, payload: IntegrationCampaignsIn
) -> Integration:
    """The campaigns it may work in from now on (its next request already sees the change)."""
    admin_user(request)
    integration_update_campaigns(
        integration=integration_get(integration_id=integration_id), campaign_ids=payload.campaign_ids
    )
    return integration_get(integration_id=integration_id)


@router.delete("/{integration_id}", response={204: None, **DELETE_REFUSALS})
def integrations_revoke(request: HttpRequest, integration_id: ObjectId) -> Status[None]:
    """Revoke the integration: every token of it is refused (401) from now on. Its messages stay."""
    admin_user(request)
    integration_revoke(integration=integration_get(integration_id=integration_id))
    return Status(204, None)


@router.post("/{integration_id}/tokens", response={201: TokenCreatedOut, **WRITE_REFUSALS})
def integration_tokens_create(
    request: HttpRequest, integration_id: ObjectId, payload: TokenIn
) -> Status[TokenCreatedOut]:
    """A new token for the integration; the answer's `token` is the only time it is shown."""
    admin_user(request)
    token, raw = integration_token_create(
        integration=integration_get(integration_id=integration_id), name=payload.name
    )
    return Status(201, token_created(token, raw))


@router.delete("/{integration_id}/tokens/{token_id}", response={204: None, **DELETE_REFUSALS})
def integration_tokens_revoke(
    request: HttpRequest, integration_id: ObjectId, token_id: ObjectId
) -> Status[None]:
    """Revoke one token (refused with 401 from now on); the integration's other tokens still work."""
    admin_user(request)
    integration = integration_get(integration_id=integration_id)
    integration_token_revoke(
        integration=integration, token=integration_token_get(integration=integration, token_id=token_id)
    )
    return Status(204, None)
