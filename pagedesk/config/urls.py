from django.contrib import admin
from django.urls import include, path

from pagedesk.core import views as core_views

urlpatterns = [
    path("", core_views.home_view, name="home"),
    path("healthz", core_views.healthz_view, name="healthz"),
    path("readyz", core_views.readyz_view, name="readyz"),
    path("metrics", core_views.metrics_view, name="metrics"),
    path("favicon.ico", core_views.favicon_view, name="favicon"),
    path("accounts/", include("pagedesk.accounts.urls")),
    path("campaigns/", include("pagedesk.campaigns.urls")),
    path("inbox/", include("pagedesk.inbox.urls")),
    path("monitoring/", include("pagedesk.monitoring.urls")),
    path("recordings/", include("pagedesk.recordings.urls")),
    path("integrations/", include("pagedesk.platform.urls")),
    path("", include("pagedesk.messenger.activation_urls")),
    path("api/v1/", include("pagedesk.api.urls")),
    path("webhooks/", include("pagedesk.messenger.urls")),
    path("django-admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
]

# The API answers a request Django refuses before any view (a body too large) in its JSON shape.
handler400 = "pagedesk.core.views.bad_request_view"
