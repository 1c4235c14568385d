"""The websocket routes, wired here because the consumer (realtime) is below the rules it applies
(routing): the composition root gives it routing's SocketPolicy (docs/architecture.md)."""

from django.urls import path

from pagedesk.realtime.consumers import EventsConsumer
from pagedesk.routing.sockets import AgentSockets

events_consumer = EventsConsumer.as_asgi(policy=AgentSockets())

websocket_urlpatterns = [
    path("ws/events/", events_consumer),
]
