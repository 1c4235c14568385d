"""contact_lock: the row lock that serialises one customer's events; one query for a known customer."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from pagedesk.conversations.models import Contact
from pagedesk.conversations.services import contact_lock

PAGE, PSID = "104729538012345", "6789012345678901"


@pytest.mark.django_db
def test_creates_the_contact_once_then_finds_it_in_one_query():
    with transaction.atomic():
        created = contact_lock(page_id=PAGE, psid=PSID)
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        found = contact_lock(page_id=PAGE, psid=PSID)
    assert found.pk == created.pk
    assert Contact.objects.filter(page_id=PAGE, psid=PSID).count() == 1
    assert len([q for q in queries.captured_queries if q["sql"].startswith("SELECT")]) == 1


@pytest.mark.django_db(transaction=True)
def test_two_workers_locking_a_new_customer_at_once_share_one_row():
    barrier = threading.Barrier(2)
    found: list[int] = []
    errors: list[BaseException] = []

    def lock() -> None:
        try:
            barrier.wait(5)
            with transaction.atomic():
                found.append(contact_lock(page_id=PAGE, psid=PSID).pk)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=lock) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors
    assert len(found) == 2 and found[0] == found[1]
    assert Contact.objects.filter(page_id=PAGE, psid=PSID).count() == 1
