"""Token health: the periodic check marks revoked tokens invalid at once, and is scheduled exactly once."""

from __future__ import annotations

import pytest
from django_tasks_db.models import DBTaskResult

from pagedesk.campaigns.services import campaign_create
from pagedesk.core.startup import _hooks
from pagedesk.messenger import tasks_outbound
from pagedesk.messenger.models import PageConnection, TokenStatus
from pagedesk.messenger.tokens import page_connections_check_all, page_token_set
from pagedesk.realtime.events import CampaignChanged, CampaignTokenStatusChanged
from tests.integration.messenger.facebook_simulator import (
    ACME_PAGE_ID,
    ACME_SEED_PAGE_TOKEN,
)


@pytest.fixture
def acme(db) -> PageConnection:
    campaign = campaign_create(fields={"name": "Acme Support", "page_name": "Acme Support"})
    connection = PageConnection.objects.get(campaign=campaign)
    connection.page_id = ACME_PAGE_ID
    connection.token_status = TokenStatus.ACTIVE
    page_token_set(page_connection=connection, token=ACME_SEED_PAGE_TOKEN)
    connection.save()
    return connection


def health_tasks() -> list[DBTaskResult]:
    return list(DBTaskResult.objects.filter(task_path=tasks_outbound.token_health_task.module_path))


@pytest.mark.django_db
def test_periodic_check_marks_a_revoked_token_invalid_and_reschedules(
    fb, acme, published, django_capture_on_commit_callbacks
):
    assert page_connections_check_all() == {"active": 1}
    acme.refresh_from_db()
    assert acme.last_checked_at is not None
    assert "pages_messaging" in acme.granted_permissions

    fb.revoke_page(ACME_PAGE_ID)
    with django_capture_on_commit_callbacks(execute=True):
        counts = tasks_outbound.token_health_task.call()
    assert counts["invalid"] == 1
    acme.refresh_from_db()
    assert acme.token_status == "invalid"
    assert "session" in acme.token_invalid_reason.lower() or acme.token_invalid_reason
    changed = [(e, to) for e, to in published if isinstance(e, CampaignTokenStatusChanged)]
    assert changed[-1][0].token_status == "invalid"
    assert "admins" in changed[-1][1]
    assert any(isinstance(e, CampaignChanged) for e, _ in published)
    # It rescheduled itself about ten minutes ahead.
    assert len(health_tasks()) == 1

    # Invalid tokens are not re-checked (only re-activation brings them back): no more Graph calls.
    assert page_connections_check_all() == {}


@pytest.mark.django_db
def test_graph_outage_does_not_invalidate(fb, acme):
    fb.inject_error(endpoint="debug_token", code=2, status=500, is_transient=True)
    assert page_connections_check_all() == {"active": 1}
    acme.refresh_from_db()
    assert acme.token_status == "active"


@pytest.mark.django_db
def test_error_190_from_debug_token_marks_invalid_when_the_page_token_fails_too(fb, acme):
    fb.inject_error(endpoint="debug_token", code=190, status=400, message="Error validating access token")
    fb.inject_error(endpoint="me", code=190, status=400, message="Error validating access token")
    assert page_connections_check_all() == {"invalid": 1}


@pytest.mark.django_db
def test_a_wrong_app_secret_does_not_turn_working_pages_red(fb, acme):
    fb.inject_error(
        endpoint="debug_token", code=190, status=400, message="Invalid OAuth access token signature"
    )
    assert page_connections_check_all() == {"active": 1}
    acme.refresh_from_db()
    assert acme.token_status == "active"


@pytest.mark.django_db
def test_startup_hook_enqueues_exactly_once():
    assert tasks_outbound.token_health_schedule in _hooks
    assert tasks_outbound.token_health_schedule_once() is True
    assert tasks_outbound.token_health_schedule_once() is False
    tasks_outbound.token_health_schedule()
    assert len(health_tasks()) == 1


@pytest.mark.django_db
def test_the_table_refresh_runs_the_check_for_visible_campaigns_only(fb, acme, client_for, ada, sam):
    fb.revoke_page(ACME_PAGE_ID)
    # sam supervises nothing here: the check is refused rather than run.
    assert client_for(sam).post(f"/campaigns/{acme.campaign_id}/facebook/check").status_code == 403
    acme.refresh_from_db()
    assert acme.token_status == "active"

    response = client_for(ada).post(
        f"/campaigns/{acme.campaign_id}/facebook/check", HTTP_HX_REQUEST="true", follow=True
    )
    assert response.status_code == 200
    assert "token-invalid" in response.content.decode()
    acme.refresh_from_db()
    assert acme.token_status == "invalid"


@pytest.mark.django_db
def test_two_health_chains_collapse_into_one():
    # Two processes that started at once each armed a check; the first run finds the other waiting.
    tasks_outbound.token_health_task.enqueue()
    tasks_outbound.token_health_task.enqueue()
    tasks_outbound.token_health_task.call()
    assert len([row for row in health_tasks() if row.status == "READY"]) == 2
    DBTaskResult.objects.filter(pk=health_tasks()[0].pk).update(status="SUCCESSFUL")
    tasks_outbound.token_health_task.call()
    assert len([row for row in health_tasks() if row.status == "READY"]) == 1
