"""Full-text index over message text: a GIN expression index on PostgreSQL, FTS5 + triggers on SQLite."""

from django.db import migrations


def forwards(apps, schema_editor):
    from pagedesk.recordings.fts import fts_ensure

    fts_ensure(schema_editor.connection)


def backwards(apps, schema_editor):
    from pagedesk.recordings.fts import fts_drop

    fts_drop(schema_editor.connection)


class Migration(migrations.Migration):
    # CREATE VIRTUAL TABLE and CREATE INDEX are fine inside the migration transaction on both engines.
    dependencies = [("conversations", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
