"""One alembic revision per file: ``v<revision id>.py``, each naming its ``down_revision`` (docs/storage.md)."""
