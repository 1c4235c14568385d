"""PostgreSQL: the stored tsvector column `text_search` on conversations_message (see fts.py)."""

from django.db import migrations


def forwards(apps, schema_editor):
    from pagedesk.recordings.fts import fts_ensure

    fts_ensure(schema_editor.connection)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE conversations_message DROP COLUMN IF EXISTS text_search")


class Migration(migrations.Migration):
    dependencies = [("recordings", "0001_fulltext")]

    operations = [migrations.RunPython(forwards, backwards)]
