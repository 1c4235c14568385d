"""The Messenger webhook endpoint, GET (subscription handshake) and POST (events).

Thin on purpose: verify, parse, hand the typed events to `inbound_events_store`, answer. Everything slow
(conversations, profiles, downloads) happens in tasks, because Meta expects a 200 within seconds and
retries (then eventually disables the subscription) when it does not get one:
https://developers.facebook.com/docs/messenger-platform/webhooks#requirements
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from pagedesk.messenger import signatures
from pagedesk.messenger.ingest import inbound_events_store
from pagedesk.messenger.payloads import PayloadError, webhook_body_parse

logger = logging.getLogger(__name__)

# Meta batches at most 1,000 events per POST; even with long attachment URLs that is well under this.
# Django's DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB, meant for forms) is bypassed by reading the stream.
MAX_BODY_BYTES = 20 * 1024 * 1024


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message}}, status=status)


@csrf_exempt  # Facebook cannot send a CSRF token; the HMAC signature authenticates the POST instead.
@require_http_methods(["GET", "POST"])
def messenger_webhook_view(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _verify_subscription(request)
    return _receive(request)


def _verify_subscription(request: HttpRequest) -> HttpResponse:
    # https://developers.facebook.com/docs/messenger-platform/webhooks#verification-requests
    if request.GET.get("hub.mode") == "subscribe" and signatures.verify_token_matches(
        given=request.GET.get("hub.verify_token"), expected=settings.FACEBOOK_VERIFY_TOKEN
    ):
        return HttpResponse(request.GET.get("hub.challenge", ""), content_type="text/plain")
    return _error(403, "verify_token_mismatch", "The verify token does not match FACEBOOK_VERIFY_TOKEN.")


def _receive(request: HttpRequest) -> HttpResponse:
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return _error(413, "too_large", "The webhook body is larger than pagedesk accepts.")
    raw = request.read(MAX_BODY_BYTES + 1)
    if len(raw) > MAX_BODY_BYTES:
        return _error(413, "too_large", "The webhook body is larger than pagedesk accepts.")
    if not signatures.signature_is_valid(
        body=raw, header=request.headers.get("X-Hub-Signature-256"), secret=settings.FACEBOOK_APP_SECRET
    ):
        logger.warning("webhook POST with a missing or wrong X-Hub-Signature-256 refused")
        return _error(403, "bad_signature", "The X-Hub-Signature-256 header is missing or wrong.")
    try:
        events = webhook_body_parse(raw)
    except PayloadError as exc:
        logger.warning("malformed webhook body refused: %s", exc)
        return _error(400, "malformed", str(exc))
    inbound_events_store(events=events)
    return HttpResponse("EVENT_RECEIVED", content_type="text/plain")
