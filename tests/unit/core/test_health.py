import pytest


@pytest.mark.django_db
def test_healthz_and_metrics_answer(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    body = client.get("/metrics").content.decode()
    assert "pagedesk_http_requests_total" in body


@pytest.mark.django_db(transaction=True)
async def test_readyz_checks_database_and_channel_layer(async_client):
    response = await async_client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "channel_layer": "ok"}
