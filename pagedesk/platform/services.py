"""Writes of the outbound webhooks' admin side: endpoints, their secrets, tests and redeliveries.

Every change of what an endpoint receives bumps the subscriptions' version (platform.subscriptions).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _

from pagedesk.accounts.models import User
from pagedesk.campaigns.models import Campaign
from pagedesk.core import clock
from pagedesk.core.errors import ApplicationError
from pagedesk.platform import signing
from pagedesk.platform.kicker import drains_request
from pagedesk.platform.models import EVENT_TYPES, DeliveryState, WebhookDelivery, WebhookEndpoint
from pagedesk.platform.outbox import ping_record
from pagedesk.platform.subscriptions import config_changed


@dataclass
class EndpointSpec:
    url: str
    event_types: list[str]
    campaign_ids: list[int]
    all_campaigns: bool = False
    description: str = ""


def _validate(spec: EndpointSpec) -> list[Campaign]:
    """The endpoint's campaigns, or a refusal naming every field at fault (the pages show each beside
    its input). The API's convention sets the status: 422 when a field is malformed (a URL that is not
    http(s) with a host, an unknown event type: the published schema says so), else 400 for the rules
    a well-formed request breaks (a host that cannot be found or is private, an unknown campaign id,
    no campaign chosen), which no schema can foresee."""
    errors: dict[str, list[str]] = {}
    codes: list[str] = []
    malformed = False
    try:
        signing.url_check(spec.url.strip())
    except signing.UnsafeUrl as exc:
        errors["url"] = [exc.message]
        codes.append(exc.code)
        malformed = exc.status == 422
    unknown = sorted(set(spec.event_types) - set(EVENT_TYPES))
    if unknown:
        errors["event_types"] = [
            _("Unknown event type(s): %(types)s. Choose from: %(known)s.")
            % {"types": ", ".join(unknown), "known": ", ".join(EVENT_TYPES)}
        ]
        codes.append("unknown_event_type")
        malformed = True
    elif not spec.event_types:
        errors["event_types"] = [_("Choose at least one event type.")]
        codes.append("no_event_types")
        malformed = True
    campaigns = list(Campaign.objects.filter(pk__in=set(spec.campaign_ids)))
    missing = sorted(set(spec.campaign_ids) - {c.pk for c in campaigns})
    if missing:
        errors["campaign_ids"] = [
            _("No campaign with id %(ids)s; choose among the existing campaigns.")
            % {"ids": ", ".join(str(m) for m in missing)}
        ]
        codes.append("unknown_campaign")
    elif not spec.all_campaigns and not campaigns:
        errors["campaign_ids"] = [_("Choose the campaigns whose events it receives, or all campaigns.")]
        codes.append("no_campaigns")
    if errors:
        message = "; ".join(f"{name}: {' '.join(msgs)}" for name, msgs in errors.items())
        raise ApplicationError(
            codes[0] if len(codes) == 1 else "invalid",
            message,
            status=422 if malformed else 400,
            field=next(iter(errors)),
            fields=errors,
        )
    return campaigns


def _secret_checked(secret: str | None) -> str:
    if secret is None or secret == "":
        return signing.secret_generate()
    if len(secret) < signing.SECRET_MIN_LENGTH or len(secret) > 200:
        raise ApplicationError(
            "invalid",
            _("A secret needs %(min)s to 200 characters; leave it empty to have one generated.")
            % {"min": signing.SECRET_MIN_LENGTH},
            status=422,
            field="secret",
        )
    return secret


def _ordered_types(types: Iterable[str]) -> list[str]:
    wanted = set(types)
    return [name for name in EVENT_TYPES if name in wanted]


def webhook_endpoint_create(
    *, spec: EndpointSpec, created_by: User, secret: str | None = None
) -> tuple[WebhookEndpoint, str]:
    """Register an endpoint; returns it and its secret in clear (shown once, never again)."""
    campaigns = _validate(spec)
    clear = _secret_checked(secret)
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.create(
            url=spec.url.strip(),
            description=spec.description.strip(),
            secret_encrypted=signing.secret_encrypt(clear),
            event_types=_ordered_types(spec.event_types),
            all_campaigns=spec.all_campaigns,
            created_by=created_by,
        )
        endpoint.campaigns.set(campaigns)
        config_changed()
    return endpoint, clear


def webhook_endpoint_update(*, endpoint: WebhookEndpoint, spec: EndpointSpec) -> WebhookEndpoint:
    campaigns = _validate(spec)
    with transaction.atomic():
        endpoint.url = spec.url.strip()
        endpoint.description = spec.description.strip()
        endpoint.event_types = _ordered_types(spec.event_types)
        endpoint.all_campaigns = spec.all_campaigns
        endpoint.save()
        endpoint.campaigns.set(campaigns)
        config_changed()
    return endpoint


def webhook_endpoint_secret_rotate(*, endpoint: WebhookEndpoint, secret: str | None = None) -> str:
    """A new secret, effective for the next attempt of every delivery; returned in clear once."""
    clear = _secret_checked(secret)
    endpoint.secret_encrypted = signing.secret_encrypt(clear)
    endpoint.save(update_fields=["secret_encrypted"])
    return clear


def webhook_endpoint_disable(*, endpoint: WebhookEndpoint, by: User) -> WebhookEndpoint:
    with transaction.atomic():
        endpoint.enabled = False
        endpoint.disabled_at = clock.now()
        endpoint.disabled_reason = _("Disabled by %(name)s.") % {"name": by.name}
        endpoint.save(update_fields=["enabled", "disabled_at", "disabled_reason"])
        config_changed()
    return endpoint


def webhook_endpoint_enable(*, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """Enable again with a clean slate; its pending deliveries go out now (within their 24 h)."""
    with transaction.atomic():
        endpoint.enabled = True
        endpoint.disabled_at = None
        endpoint.disabled_reason = ""
        endpoint.failing_since = None
        endpoint.paused_until = None
        endpoint.save(
            update_fields=["enabled", "disabled_at", "disabled_reason", "failing_since", "paused_until"]
        )
        config_changed()
        drains_request([endpoint.pk])
    return endpoint


def webhook_endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    with transaction.atomic():
        endpoint.delete()
        config_changed()


def webhook_endpoint_test(*, endpoint: WebhookEndpoint, by: User) -> WebhookDelivery:
    """Queue a `ping` to the endpoint (also a disabled one: testing is how an admin finds it fixed)."""
    return ping_record(endpoint=endpoint, by=by)


def webhook_delivery_redeliver(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """A new attempt of the same delivery (same id): now, out of the conversation's order, with a
    fresh 24 h of retries."""
    if delivery.state == DeliveryState.DELIVERING:
        raise ApplicationError(
            "in_flight", _("This delivery is being sent right now; wait for its outcome."), status=409
        )
    now = clock.now()
    with transaction.atomic():
        updated = (
            WebhookDelivery.objects.filter(pk=delivery.pk)
            .exclude(state=DeliveryState.DELIVERING)
            .update(
                state=DeliveryState.PENDING,
                replay=True,
                next_attempt_at=now,
                retry_until=now + signing.RETRY_WINDOW,
                claim="",
                claimed_until=None,
            )
        )
        if not updated:
            raise ApplicationError(
                "in_flight", _("This delivery is being sent right now; wait for its outcome."), status=409
            )
        drains_request([delivery.endpoint_id])
    delivery.refresh_from_db()
    return delivery
