"""Alembic migrations of the storage schema (env.py, script.py.mako, versions/)."""
