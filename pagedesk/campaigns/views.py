from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from pagedesk.accounts.models import User
from pagedesk.campaigns.selectors import campaign_list_for_user
from pagedesk.core.permissions import supervisor_required


@supervisor_required
def campaign_list_view(request: HttpRequest) -> HttpResponse:
    assert isinstance(request.user, User)
    return render(request, "campaigns/list.html", {"nav": "campaigns", "campaigns": campaign_list_for_user(user=request.user)})
