"""Admin pages of the open platform, under /integrations/: integrations (and their tokens) and the
outbound webhook endpoints. Each part keeps its own URL list."""

from pagedesk.platform import integration_urls, webhook_urls

app_name = "platform"

urlpatterns = [*integration_urls.urlpatterns, *webhook_urls.urlpatterns]
