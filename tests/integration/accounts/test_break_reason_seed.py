"""Issue 12 #12b: a fresh install offers Lunch, Meeting and Training as break reasons (a data migration
that only seeds an empty table, and is reversible). The suite's database starts without them (tests/conftest.py),
so this test replays the migration itself."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from pagedesk.accounts.models import BreakReason
from pagedesk.accounts.services import break_reason_create

pytestmark = pytest.mark.django_db(transaction=True)

SEED = "0002_seed_break_reasons"


@pytest.fixture(autouse=True)
def accounts_back_at_latest():
    # Back to the newest accounts migration, not to the seed: a later migration left unapplied made
    # every test after this one that starts `pagedesk serve` fail ("the database is not up to date").
    yield
    call_command("migrate", "accounts", verbosity=0)


def names() -> list[str]:
    return list(BreakReason.objects.values_list("name", flat=True))


def migrate(target: str) -> None:
    call_command("migrate", "accounts", target, verbosity=0)


def test_migrating_an_empty_table_seeds_three_reasons_and_reversing_removes_them():
    migrate("0001")
    assert names() == []
    migrate(SEED)
    assert names() == ["Lunch", "Meeting", "Training"]
    assert all(reason.active for reason in BreakReason.objects.all())
    migrate("0001")
    assert names() == []
    migrate(SEED)


def test_reasons_an_admin_already_has_are_left_alone():
    migrate("0001")
    break_reason_create(name="Smoke")
    migrate(SEED)
    assert names() == ["Smoke"]
    migrate("0001")
    assert names() == ["Smoke"]
    migrate(SEED)
