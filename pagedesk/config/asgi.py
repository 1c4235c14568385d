"""ASGI entry point: HTTP through Django, websockets through Channels.

One exception: the Messenger webhook path goes to a lean ASGI app that gives the same answers as its
Django view without the middleware stack, so Facebook's POSTs are acknowledged in a few milliseconds
(pagedesk/messenger/webhooks.py, docs/decisions/webhook-lean-path.md). `pagedesk serve`, the e2e tests'
live server and the benchmarks all serve this `application`.
"""

import functools
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pagedesk.config.settings")

from django.core.asgi import get_asgi_application

# Django must be set up before anything imports models (the consumers do).
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from pagedesk.config.websockets import websocket_urlpatterns  # noqa: E402
from pagedesk.core.db import default_executor_install  # noqa: E402
from pagedesk.messenger.webhooks import lean_webhook_path, messenger_webhook_asgi  # noqa: E402


@functools.cache
def _webhook_path(root_path: str) -> str:
    # Resolved on first use, from the URLconf, so the route in messenger/urls.py stays the one truth.
    return root_path.rstrip("/") + lean_webhook_path()


async def http_application(scope, receive, send):
    if scope["path"] == _webhook_path(scope.get("root_path", "")):
        await messenger_webhook_asgi(scope, receive, send)
    else:
        await django_asgi_app(scope, receive, send)


_router = ProtocolTypeRouter(
    {
        "http": http_application,
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)


async def application(scope, receive, send):
    # Whatever server runs us: the loop's default executor must close the connections Django opens
    # there for error pages (pagedesk.core.db.ConnectionClosingExecutor).
    default_executor_install()
    await _router(scope, receive, send)
