from django.urls import path

from pagedesk.api.main import api
from pagedesk.api.routers import mount_routers

mount_routers()

urlpatterns = [path("", api.urls)]
