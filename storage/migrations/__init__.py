"""Alembic migrations of the gkwatch database (run by ``storage.db.init_db``)."""
