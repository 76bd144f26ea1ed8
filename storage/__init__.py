"""Persistence: SQLModel tables (``storage.models``), the engine (``storage.db``) and the
content-addressed archive of fetched bytes (``storage.archive``)."""
