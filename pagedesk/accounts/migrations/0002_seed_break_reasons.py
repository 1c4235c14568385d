"""Give a fresh install break reasons to choose from (issue 12): with none, every agent's Break control
was greyed out on the first day. Only an empty table is seeded, so an admin's own list is never touched."""

from django.db import migrations

SEED = ["Lunch", "Meeting", "Training"]


def seed(apps, schema_editor):  # type: ignore[no-untyped-def]
    BreakReason = apps.get_model("accounts", "BreakReason")
    if BreakReason.objects.using(schema_editor.connection.alias).exists():
        return
    BreakReason.objects.using(schema_editor.connection.alias).bulk_create(
        BreakReason(name=name, position=position) for position, name in enumerate(SEED)
    )


def unseed(apps, schema_editor):  # type: ignore[no-untyped-def]
    # A reason an agent has used stays: presence history and users point at it (on_delete=PROTECT).
    BreakReason = apps.get_model("accounts", "BreakReason")
    alias = schema_editor.connection.alias
    BreakReason.objects.using(alias).filter(
        name__in=SEED, user__isnull=True, presencechange__isnull=True
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
