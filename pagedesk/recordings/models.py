"""No tables of its own: recordings read conversations. The full-text index is created by
migrations/0001_fulltext.py (see fts.py); this module exists so post_migrate reaches the app."""
