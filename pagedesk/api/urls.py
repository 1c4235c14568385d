from django.urls import include, path

from pagedesk.api.main import api, with_json_refusals
from pagedesk.api.routers import mount_routers

mount_routers()

# Not named `app_name`: Django would read a module-level app_name as this URLconf's own namespace.
_patterns, _app_name, _namespace = api.urls

urlpatterns = [path("", include((with_json_refusals(_patterns), _app_name), namespace=_namespace))]
